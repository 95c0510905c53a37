"""Components and their groups: a component for every public service, and the staff's edits
of how the page shows them."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.actors import Actor
from incidents.models import Service
from incidents.permissions import Action, require
from statuspage import versions
from statuspage.models import Component, ComponentGroup, ComponentStateChange


def components_sync(*, now: datetime | None = None) -> list[Component]:
    """Make a Component, with its first (operational) span, for every public service that
    has none; the components made. A service made private keeps its component (and its
    history): the selectors hide it, and it comes back as it was if made public again.

    Safe to run beside itself: a component another process made first is skipped
    (ignore_conflicts on the service's unique key), as is a second open span (the
    one-open-span constraint).
    """
    # Component.service has no reverse accessor (incidents knows nothing of components).
    missing = Service.objects.filter(public=True).exclude(
        pk__in=Component.objects.values("service_id")
    )
    if not missing.exists():
        return []
    now = now or timezone.now()
    with transaction.atomic():
        Component.objects.bulk_create(
            [
                Component(service=service, state_since=now, created_at=now)
                for service in missing.order_by("name")
            ],
            ignore_conflicts=True,
        )
        made = list(
            Component.objects.exclude(
                pk__in=ComponentStateChange.objects.filter(ended_at__isnull=True).values(
                    "component_id"
                )
            ).select_related("service")
        )
        ComponentStateChange.objects.bulk_create(
            [
                ComponentStateChange(component=c, state=c.state, started_at=c.state_since)
                for c in made
            ],
            ignore_conflicts=True,
        )
        if made:
            versions.bump()
    return made


def component_update(
    *,
    actor: Actor,
    component: Component,
    public_name: str,
    description: str,
    group: ComponentGroup | None,
    position: int,
    hosted_component_id: str | None = None,
) -> Component:
    """`hosted_component_id`: its id on the hosted Statuspage (statuspage.hosted), blank for
    none; None leaves it as it is."""
    require(actor, Action.MANAGE_CATALOG)
    component.public_name = public_name.strip()
    component.description = description.strip()
    component.group = group
    component.position = position
    fields = ["public_name", "description", "group", "position", "updated_at"]
    if hosted_component_id is not None:
        component.hosted_component_id = hosted_component_id.strip()
        fields.append("hosted_component_id")
    component.save(update_fields=fields)
    versions.bump()
    return component


def _group_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "A group needs a name."})
    return name


def group_create(
    *, actor: Actor, name: str, description: str = "", position: int = 0
) -> ComponentGroup:
    require(actor, Action.MANAGE_CATALOG)
    group = ComponentGroup(
        name=_group_name(name), description=description.strip(), position=position
    )
    _save_group(group)
    return group


def group_update(
    *, actor: Actor, group: ComponentGroup, name: str, description: str, position: int
) -> ComponentGroup:
    require(actor, Action.MANAGE_CATALOG)
    group.name = _group_name(name)
    group.description = description.strip()
    group.position = position
    _save_group(group)
    return group


def _save_group(group: ComponentGroup) -> None:
    try:
        with transaction.atomic():
            group.save()
            versions.bump()
    except IntegrityError as exc:
        raise ValidationError({"name": "Another group has this name."}) from exc


def group_delete(*, actor: Actor, group: ComponentGroup) -> None:
    """Its components stay, ungrouped."""
    require(actor, Action.MANAGE_CATALOG)
    with transaction.atomic():
        group.delete()
        versions.bump()
