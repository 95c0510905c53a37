from datetime import datetime

from django.utils import timezone

from ops.models import Heartbeat


def heartbeat_record(*, kind: str, name: str, hostname: str, now: datetime | None = None) -> None:
    """Say that `kind`/`name` is alive: one upsert, safe from any number of processes."""
    Heartbeat.objects.bulk_create(
        [Heartbeat(kind=kind, name=name, hostname=hostname[:255], seen_at=now or timezone.now())],
        update_conflicts=True,
        unique_fields=["kind", "name"],
        update_fields=["hostname", "seen_at"],
    )
