"""Finding the audit entry a change wrote."""

from auditlog.models import LogEntry
from django.db.models import Model

from accounts.models import User


def entries_for(obj: Model) -> list[LogEntry]:
    return list(LogEntry.objects.get_for_object(obj).order_by("timestamp", "pk"))


def last_entry(obj: Model) -> LogEntry:
    entries = entries_for(obj)
    assert entries, f"no audit entry for {obj!r}"
    return entries[-1]


def assert_by(entry: LogEntry, person: User | None) -> None:
    """`person` made the change; None: Tocsin itself."""
    if person is None:
        assert entry.actor_id is None and entry.actor_email is None, entry.actor
    else:
        assert entry.actor_id == person.pk, entry.actor
