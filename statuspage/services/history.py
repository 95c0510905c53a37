"""History entered after the fact: the status page's side of incidents.services.
incident_move_history. The demo runs each step through the services now and then moves what
they stamped to when the step happened; the incidents' rows move there, and so must the public
incident, its updates and the components' state spans, or the page would show six months of
incidents all published today.

`moved_to(field)` is an SQL expression of the stamped value (the demo's Clock.planned): a row
stamped before the steps being moved keeps its time, so earlier history stays where it is.
Neither function records anything else or notifies anyone: the moved stamps are the record.
"""

from collections.abc import Callable, Iterable

from django.db import transaction
from django.db.models import Expression, F

from incidents.models import Incident
from statuspage import versions
from statuspage.models import (
    Component,
    ComponentOverride,
    ComponentStateChange,
    PublicIncident,
    PublicUpdate,
)

MovedTo = Callable[[str], Expression | F]


def _components_move(component_ids: Iterable[int], moved_to: MovedTo) -> None:
    ids = list(component_ids)
    # One UPDATE moves both ends of a span, so a span is never seen ending before it starts.
    ComponentStateChange.objects.filter(component_id__in=ids).update(
        started_at=moved_to("started_at"), ended_at=moved_to("ended_at")
    )
    Component.objects.filter(pk__in=ids).update(
        created_at=moved_to("created_at"), state_since=moved_to("state_since")
    )


def components_history_move(*, moved_to: MovedTo) -> None:
    """Move when the components were made and their spans: a catalog made today whose
    history begins earlier."""
    with transaction.atomic():
        _components_move(Component.objects.values_list("pk", flat=True), moved_to)
        versions.bump()


def public_history_move(*, incident: Incident, moved_to: MovedTo) -> None:
    """Move what publishing `incident` stamped: its public copy, its public updates, the
    overrides set for it and its components' spans. Nothing when it was never published."""
    with transaction.atomic():
        pi = PublicIncident.objects.select_for_update().filter(incident=incident).first()
        if pi is None:
            return
        PublicIncident.objects.filter(pk=pi.pk).update(
            created_at=moved_to("created_at"),
            updated_at=moved_to("updated_at"),
            monitoring_at=moved_to("monitoring_at"),
            resolved_at=moved_to("resolved_at"),
        )
        PublicUpdate.objects.filter(public_incident=pi).update(created_at=moved_to("created_at"))
        ComponentOverride.objects.filter(public_incident=pi).update(set_at=moved_to("set_at"))
        _components_move(pi.components.values_list("pk", flat=True), moved_to)
        versions.bump()
