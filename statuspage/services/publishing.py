"""What the public is told of incidents: the public copy of an incident, made by its first
public update and kept in step with it afterwards.

Two ways in, both idempotent: the subscribers call these after an incident's change commits,
and the communications lead's panel (public_update_post) publishes with a public name and
state overrides in the same transaction as the update itself, after which the update's event
finds its work done. Only statuspage's rows are written; incidents are read.
"""

from collections.abc import Mapping
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.actors import Actor, actor_user
from incidents import services as incident_services
from incidents.models import Incident, Status, StatusUpdate
from incidents.permissions import Action, require
from statuspage import versions
from statuspage.hosted.services import hosted_push_queue
from statuspage.models import (
    Component,
    ComponentOverride,
    ComponentState,
    PublicIncident,
    PublicStatus,
    PublicUpdate,
)
from statuspage.services.components import components_sync
from statuspage.services.states import StateMove, states_recompute
from statuspage.subscriptions.services import notify_public_update

PUBLIC_STATUS: dict[str, PublicStatus] = {
    Status.DETECTED: PublicStatus.INVESTIGATING,
    Status.ACKNOWLEDGED: PublicStatus.INVESTIGATING,
    Status.INVESTIGATING: PublicStatus.INVESTIGATING,
    Status.IDENTIFIED: PublicStatus.IDENTIFIED,
    Status.MONITORING: PublicStatus.MONITORING,
    Status.RESOLVED: PublicStatus.RESOLVED,
}

RESOLVED_TEXT = "This incident has been resolved."

# How far back the tick looks for public updates never published: far longer than any
# outage of the workers, short enough that the look-up stays small.
CATCH_UP_WINDOW = timedelta(days=7)

# What the communications lead may set a component to for an incident; maintenance is the
# maintenance windows' own state.
OVERRIDE_STATES = (
    ComponentState.OPERATIONAL,
    ComponentState.DEGRADED_PERFORMANCE,
    ComponentState.PARTIAL_OUTAGE,
    ComponentState.MAJOR_OUTAGE,
)

NAME_MAX_LENGTH = PublicIncident._meta.get_field("name").max_length or 200

# component id → a state from OVERRIDE_STATES, or None to follow the severity again.
Overrides = Mapping[int, str | None]


def incident_components(incident: Incident) -> list[Component]:
    """The components of the incident's public services (made if missing)."""
    components_sync()
    return list(
        Component.objects.filter(service__in=incident.services.filter(public=True))
        .select_related("service")
        .order_by("position", "pk")
    )


def _withdrawn(incident: Incident) -> bool:
    """A private incident, or one merged into another, is not shown."""
    return incident.private or incident.merged_into_id is not None


def _in_step(pi: PublicIncident, incident: Incident, *, now: datetime) -> bool:
    """Bring `pi`'s status, impact, times, visibility and components in line with the
    incident; whether anything changed. Caller holds `pi`'s row lock."""
    changed = False
    status = PUBLIC_STATUS[incident.status]
    impact = incident.severity.statuspage_impact
    # Made private (or merged away) it disappears; made public again it stays withdrawn
    # until a new public update says what the public should be told.
    if _withdrawn(incident) and not pi.withdrawn:
        pi.withdrawn, changed = True, True
    if pi.impact != impact:
        pi.impact, changed = impact, True
    if pi.status != status:
        pi.status, changed = status, True
        if status == PublicStatus.MONITORING and pi.monitoring_at is None:
            pi.monitoring_at = now
    if status == PublicStatus.RESOLVED and pi.resolved_at is None:
        pi.resolved_at, changed = now, True
    elif status != PublicStatus.RESOLVED and pi.resolved_at is not None:
        pi.resolved_at, changed = None, True  # reopened
    components = incident_components(incident)
    before = list(pi.components.select_related("service").order_by("position", "pk"))
    if {c.pk for c in components} != {c.pk for c in before}:
        if pi.name == public_name_default(before):
            # Nobody chose the name, so it keeps saying what is affected.
            pi.name = public_name_default(components)
        pi.components.set(components)
        changed = True
    if changed:
        pi.updated_at = now
        pi.save()
    if changed:
        versions.bump()
    return changed


def _affected(pi: PublicIncident, moves: list[StateMove]) -> list[dict[str, str]]:
    mine = set(pi.components.values_list("pk", flat=True))
    return [move.as_affected() for move in moves if move.component_id in mine]


def _resolve_publicly(pi: PublicIncident, moves: list[StateMove], *, now: datetime) -> None:
    """Say it is resolved, unless the last public update already did."""
    if pi.withdrawn or pi.status != PublicStatus.RESOLVED:
        return
    last = pi.updates.order_by("-created_at", "-id").first()
    if last is not None and last.status == PublicStatus.RESOLVED:
        return
    resolved = PublicUpdate.objects.create(
        public_incident=pi,
        status=PublicStatus.RESOLVED,
        body=RESOLVED_TEXT,
        created_at=now,
        affected_components=_affected(pi, moves),
    )
    notify_public_update(resolved.pk, now=now)


def public_incident_sync(*, incident_id: int, now: datetime | None = None) -> bool:
    """After a change to an incident (severity, status, resolve, reopen, services,
    visibility, merge): its public copy in step and the components' states recomputed;
    whether the copy changed. An incident never published has nothing to change."""
    now = now or timezone.now()
    with transaction.atomic():
        pi = PublicIncident.objects.select_for_update().filter(incident_id=incident_id).first()
        if pi is None:
            return False
        incident = Incident.objects.select_related("severity").get(pk=incident_id)
        changed = _in_step(pi, incident, now=now)
        moves = states_recompute(now=now)
        _resolve_publicly(pi, moves, now=now)
        if changed or moves:
            hosted_push_queue(pi.pk)
    return changed


def public_incidents_catch_up(*, now: datetime | None = None) -> int:
    """The tick's catch-up for a subscriber that failed: sync every public incident still
    shown as open, and every one shown whose incident has since been made private, merged
    away or reopened (a resolved one is otherwise left be). The number synced."""
    ids = list(
        PublicIncident.objects.filter(withdrawn=False)
        .filter(
            Q(resolved_at__isnull=True)
            | Q(incident__private=True)
            | Q(incident__merged_into__isnull=False)
            | ~Q(incident__status=Status.RESOLVED)
        )
        .values_list("incident_id", flat=True)
    )
    for incident_id in ids:
        public_incident_sync(incident_id=incident_id, now=now)
    return len(ids)


def public_updates_catch_up(*, now: datetime | None = None) -> int:
    """The tick's catch-up for a public update whose event never ran (its process died
    after the commit, or the handler failed): publish every public update of the last
    CATCH_UP_WINDOW that has no public copy, oldest first. The number published."""
    now = now or timezone.now()
    missed = list(
        StatusUpdate.objects.filter(
            public=True,
            posted_at__gte=now - CATCH_UP_WINDOW,
            incident__private=False,
            incident__merged_into__isnull=True,
        )
        .filter(~Exists(PublicUpdate.objects.filter(status_update=OuterRef("pk"))))
        .order_by("posted_at", "pk")
        .values_list("pk", flat=True)
    )
    # public_update_record publishes each once, even beside the late event itself.
    return sum(public_update_record(status_update_id=pk, now=now) is not None for pk in missed)


def public_service_changed(*, service_id: int, now: datetime | None = None) -> None:
    """A service made public or private, or renamed: what the page shows of it changed
    though no component row did. Its open public incidents gain or lose its component, the
    states follow, and the page's version moves so no cached render or ETag outlives it."""
    now = now or timezone.now()
    with transaction.atomic():
        components_sync(now=now)
        incident_ids = list(
            PublicIncident.objects.filter(withdrawn=False, resolved_at__isnull=True)
            .filter(incident__services=service_id)
            .values_list("incident_id", flat=True)
            .distinct()
        )
        for incident_id in incident_ids:
            public_incident_sync(incident_id=incident_id, now=now)
        states_recompute(now=now)
        versions.bump()


def public_name_default(components: list[Component]) -> str:
    """A public incident's name when nobody chose one, made only of what is public: the
    internal title may say more than the public should ("customer X's database dropped"),
    and the composer, the API and Slack publish without a name. The communications lead
    renames it from the incident page's panel."""
    if not components:
        return "Service disruption"
    name = "Degraded service: " + ", ".join(str(c) for c in components)
    if len(name) > NAME_MAX_LENGTH:
        name = name[: NAME_MAX_LENGTH - 1] + "…"
    return name


def _public_incident_for(incident: Incident, *, name: str | None, now: datetime) -> PublicIncident:
    """The incident's public copy, made if this is its first public update; locked. Never
    named after the incident's internal title."""
    pk = PublicIncident.objects.filter(incident=incident).values_list("pk", flat=True).first()
    if pk is None:
        pk = PublicIncident.objects.get_or_create(
            incident=incident,
            defaults={
                "name": name or public_name_default(incident_components(incident)),
                "status": PUBLIC_STATUS[incident.status],
                "impact": incident.severity.statuspage_impact,
                "started_at": incident.started_at,
                "created_at": now,
                "updated_at": now,
            },
        )[0].pk
    return PublicIncident.objects.select_for_update().get(pk=pk)


def public_update_record(
    *,
    status_update_id: int,
    now: datetime | None = None,
    name: str | None = None,
    overrides: Overrides | None = None,
    actor: Actor | None = None,
) -> PublicUpdate | None:
    """Publish a public status update: the public incident (made by the first one), the
    update's text, the components' states and what it moved. Recorded once per update; a
    private incident's, an internal one's or a merged incident's is never published."""
    now = now or timezone.now()
    with transaction.atomic():
        update = (
            StatusUpdate.objects.select_related("incident__severity")
            .filter(pk=status_update_id, public=True)
            .first()
        )
        if update is None or _withdrawn(update.incident):
            return None
        incident = update.incident
        pi = _public_incident_for(incident, name=name, now=now)
        existing = PublicUpdate.objects.filter(status_update=update).first()
        if existing is not None:
            return existing
        if name and pi.name != name:
            pi.name = name
            pi.save(update_fields=["name"])
        if pi.withdrawn:
            # A new public update is what brings a withdrawn incident back.
            pi.withdrawn = False
            pi.save(update_fields=["withdrawn"])
        _in_step(pi, incident, now=now)
        if overrides:
            _overrides_apply(pi, overrides, actor=actor, now=now)
        moves = states_recompute(now=now)
        public = PublicUpdate.objects.create(
            public_incident=pi,
            status_update=update,
            status=PUBLIC_STATUS[update.status],
            body=update.message,
            created_at=now,
            affected_components=_affected(pi, moves),
        )
        pi.updated_at = now
        pi.save(update_fields=["updated_at"])
        versions.bump()
        hosted_push_queue(pi.pk)
        notify_public_update(public.pk, now=now)
    return public


def _overrides_apply(
    pi: PublicIncident, overrides: Overrides, *, actor: Actor | None, now: datetime
) -> None:
    """Caller holds `pi`'s row lock. Components no longer the incident's are ignored."""
    mine = set(pi.components.values_list("pk", flat=True))
    for component_id, state in overrides.items():
        if component_id not in mine:
            continue
        if state is None:
            ComponentOverride.objects.filter(public_incident=pi, component_id=component_id).delete()
            continue
        ComponentOverride.objects.update_or_create(
            public_incident=pi,
            component_id=component_id,
            defaults={
                "state": state,
                "set_at": now,
                "set_by": actor_user(actor) if actor is not None else None,
            },
        )


def public_update_post(
    *,
    incident: Incident,
    actor: Actor,
    message: str,
    name: str | None = None,
    overrides: Overrides | None = None,
) -> PublicUpdate:
    """The communications lead's public update from the incident page: the update, the
    public name and the components' overrides in one transaction, all or nothing."""
    require(actor, Action.RESPOND, incident)
    if incident.private:
        raise ValidationError({"message": "A private incident cannot have public status updates."})
    name = (name or "").strip() or None
    if name is not None and len(name) > NAME_MAX_LENGTH:
        raise ValidationError(
            {"name": f"The public name can be at most {NAME_MAX_LENGTH} characters."}
        )
    overrides = dict(overrides or {})
    allowed = {c.pk for c in incident_components(incident)}
    for component_id, state in overrides.items():
        if component_id not in allowed:
            raise ValidationError({"overrides": "That component is not this incident's."})
        if state is not None and state not in OVERRIDE_STATES:
            raise ValidationError({"overrides": f"“{state}” is not a state to choose."})
    with transaction.atomic():
        update = incident_services.incident_post_update(
            incident=incident, actor=actor, message=message, public=True
        )
        public = public_update_record(
            status_update_id=update.pk,
            now=update.posted_at,
            name=name,
            overrides=overrides,
            actor=actor,
        )
        if public is None:
            # The incident went private or was merged between the check and its lock.
            raise ValidationError({"message": "This incident cannot be published."})
    return public
