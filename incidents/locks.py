"""The incident row lock every app takes before changing an incident."""

from collections.abc import Iterable

from incidents.models import OPEN_STATUSES, Incident


def incident_lock(incident: Incident | int) -> Incident:
    """Re-read the incident under a row lock; the caller is inside a transaction.

    The one way any app locks an incident row.

    FOR NO KEY UPDATE of the incident's row alone, without joins: FOR UPDATE with
    select_related would also lock the severity row every incident shares; FOR UPDATE blocks
    the inserts of timeline entries, alerts and pages that reference the incident (their
    foreign-key checks take KEY SHARE); and a join is re-checked against the incident's new
    version after a concurrent update, so a severity changed meanwhile made the row vanish
    (DoesNotExist). All three were measured under load.
    """
    pk = incident if isinstance(incident, int) else incident.pk
    return Incident.objects.select_for_update(no_key=True).get(pk=pk)


def incidents_lock_open(pks: Iterable[int]) -> set[int]:
    """Lock the open incidents among `pks`, in pk order (the order every app locks several in),
    and return their pks; the caller is inside a transaction. Rows alone, as incident_lock."""
    return set(
        Incident.objects.select_for_update(no_key=True)
        .filter(pk__in=list(pks), status__in=OPEN_STATUSES)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
