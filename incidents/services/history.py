"""History entered after the fact (the demo's)."""

from collections.abc import Callable

from django.db import transaction
from django.db.models import Expression, F

from incidents.locks import incident_lock
from incidents.models import ChecklistItem, Incident, RoleAssignment, StatusUpdate, TimelineEvent


def incident_move_history(*, incident: Incident, moved_to: Callable[[str], Expression | F]) -> None:
    """Move the times an incident's steps stamped to the times `moved_to(field)` gives (an SQL
    expression of the stamped value), for history entered after the fact: the demo runs each
    step through these services now and moves it to when it happened. It records no timeline
    entry and publishes nothing: the moved stamps are the record.
    """
    with transaction.atomic():
        incident_lock(incident)
        TimelineEvent.objects.filter(incident=incident).update(occurred_at=moved_to("occurred_at"))
        RoleAssignment.objects.filter(incident=incident).update(assigned_at=moved_to("assigned_at"))
        StatusUpdate.objects.filter(incident=incident).update(posted_at=moved_to("posted_at"))
        ChecklistItem.objects.filter(incident=incident).update(done_at=moved_to("done_at"))
        stamps = (
            "declared_at",
            "acknowledged_at",
            "identified_at",
            "mitigated_at",
            "resolved_at",
            "last_resolved_at",
            "updated_at",
        )
        Incident.objects.filter(pk=incident.pk).update(
            **{field: moved_to(field) for field in stamps}
        )
