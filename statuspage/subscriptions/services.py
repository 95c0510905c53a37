"""Writes about subscribers: sign-up, confirmation, unsubscribe, webhook subscribers, and the
fan-out of a public event into one outbox row per subscriber concerned."""

import hashlib
import logging
import secrets
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from oncall.notifiers.webhook import destination_refused
from postmortems.services.emails import email_queue
from statuspage.models import (
    MAINTENANCE_EVENTS,
    Component,
    ComponentStateChange,
    DeliveryState,
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
    PublicUpdate,
    Subscriber,
    SubscriberKind,
    SubscriberNotification,
)
from statuspage.subscriptions import tokens

logger = logging.getLogger(__name__)

THROTTLE_WINDOW = 3600


class Throttled(Exception):
    """Too many sign-ups from this address or for this mailbox: nothing was sent."""


class InvalidSubscriber(ValueError):
    """A subscriber that cannot be made: its message says why (shown to staff)."""


def normalise_address(address: str) -> str:
    return address.strip().lower()


def _over_limit(key: str, limit: int) -> bool:
    """Count one more sign-up under `key` in the current window; True past `limit`."""
    try:
        cache.add(key, 0, timeout=THROTTLE_WINDOW)
        count = cache.incr(key)
    except Exception:
        # Redis down: sign-ups go on unthrottled rather than failing; the status page and
        # its form matter most when things are down.
        logger.warning("status page sign-up throttle unavailable")
        return False
    return int(count) > limit


def subscription_request(
    *,
    address: str,
    components: list[Component] | None,
    client_address: str,
    now: datetime | None = None,
) -> None:
    """A sign-up from the public form: queue a confirmation email to `address`.

    The answer is the same whether the address is new, waiting for confirmation, subscribed
    or unsubscribed, so the form cannot tell who is subscribed. A new address gets an
    unconfirmed row; an existing one is left as it is until the link is followed (the choice
    of components travels in the link). Raises Throttled past the per-address or per-IP limit.
    """
    now = now or timezone.now()
    address = normalise_address(address)
    digest = hashlib.sha256(address.encode()).hexdigest()[:32]
    # Both counters move on every attempt, so hammering one address also spends the IP's.
    address_over = _over_limit(
        f"statuspage:signup:address:{digest}", settings.STATUSPAGE_SIGNUPS_PER_ADDRESS
    )
    ip_over = _over_limit(
        f"statuspage:signup:ip:{client_address or 'unknown'}", settings.STATUSPAGE_SIGNUPS_PER_IP
    )
    if address_over or ip_over:
        raise Throttled
    codes = None if components is None else tuple(sorted(c.code for c in components))
    sign_up = tokens.SignUp(address=address, components=codes, issued_at=now)
    with transaction.atomic():
        # get_or_create: two sign-ups for a new address at once make one row (the second
        # meets the unique constraint and reads the first's).
        subscriber, created = Subscriber.objects.get_or_create(
            kind=SubscriberKind.EMAIL,
            address=address,
            defaults={"all_components": components is None, "created_at": now},
        )
        if created and components:
            subscriber.components.set(components)
        context = {
            "page_name": settings.STATUSPAGE_NAME,
            "confirm_url": tokens.confirmation_url(sign_up),
            "hours": settings.STATUSPAGE_CONFIRM_HOURS,
            "components": [str(c) for c in components] if components else None,
        }
        email_queue(
            key=f"statuspage:confirm:{subscriber.pk}:{secrets.token_hex(6)}",
            to=address,
            subject=render_to_string("statuspage/email/confirm_subject.txt", context),
            text=render_to_string("statuspage/email/confirm.txt", context),
            html=render_to_string("statuspage/email/confirm.html", context),
            now=now,
        )


VOID_LINK = "This confirmation link is no longer valid. Sign up again to subscribe."


def _void(sign_up: tokens.SignUp, subscriber: Subscriber | None) -> bool:
    """Whether a genuine, unexpired link may no longer confirm: its subscriber is gone (a
    sign-up makes the row before it sends the link, so the row was deleted since), or the link
    was sent before the row was made again or before the address unsubscribed. An old link
    must not undo an unsubscribe, nor bring back an address that was removed."""
    if subscriber is None or sign_up.issued_at is None:
        return True
    if sign_up.issued_at < subscriber.created_at:
        return True
    return (
        subscriber.unsubscribed_at is not None and sign_up.issued_at <= subscriber.unsubscribed_at
    )


def _subscriber_of(sign_up: tokens.SignUp) -> Subscriber | None:
    return Subscriber.objects.filter(
        kind=SubscriberKind.EMAIL, address__iexact=sign_up.address
    ).first()


def subscription_confirmable(*, token: str) -> tokens.SignUp:
    """What a confirmation link would confirm, written nowhere (the page that asks before
    confirming: mail scanners fetch links, and a fetch must not subscribe anyone).

    Raises tokens.InvalidToken as subscription_confirm does."""
    sign_up = tokens.confirmation_load(token)
    if _void(sign_up, _subscriber_of(sign_up)):
        raise tokens.InvalidToken(VOID_LINK)
    return sign_up


def subscription_confirm(*, token: str, now: datetime | None = None) -> Subscriber:
    """Confirm a sign-up (a POST from the page the link opens): the address is subscribed to
    what the link says.

    Raises tokens.InvalidToken (forged, altered, expired, or void: sent before an unsubscribe,
    or for a subscriber since deleted) before anything is written.
    """
    now = now or timezone.now()
    sign_up = tokens.confirmation_load(token)
    with transaction.atomic():
        subscriber = (
            Subscriber.objects.select_for_update()
            .filter(kind=SubscriberKind.EMAIL, address__iexact=sign_up.address)
            .first()
        )
        if subscriber is None or _void(sign_up, subscriber):
            raise tokens.InvalidToken(VOID_LINK)
        subscriber.all_components = sign_up.components is None
        subscriber.confirmed_at = subscriber.confirmed_at or now
        subscriber.unsubscribed_at = None
        subscriber.save(update_fields=["all_components", "confirmed_at", "unsubscribed_at"])
        if sign_up.components is None:
            subscriber.components.clear()
        else:
            subscriber.components.set(Component.objects.filter(code__in=sign_up.components))
    return subscriber


def subscriber_by_token(token: str) -> Subscriber | None:
    return Subscriber.objects.filter(token=token).first()


def subscriber_unsubscribe(*, token: str, now: datetime | None = None) -> Subscriber | None:
    """One click: the subscriber hears nothing more (notifications still waiting included).
    None when no subscriber holds `token`. Unsubscribing twice changes nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().filter(token=token).first()
        if subscriber is None:
            return None
        if subscriber.unsubscribed_at is None:
            subscriber.unsubscribed_at = now
            subscriber.save(update_fields=["unsubscribed_at"])
            # Those a worker holds are on their way already; the rest are not sent.
            SubscriberNotification.objects.filter(
                subscriber=subscriber, state=DeliveryState.PENDING
            ).update(state=DeliveryState.FAILED, last_error="Unsubscribed before it was sent.")
    return subscriber


def webhook_subscriber_create(
    *, url: str, components: list[Component] | None = None, now: datetime | None = None
) -> Subscriber:
    """A webhook subscriber, created by staff: active at once, with a fresh signing secret.
    Raises InvalidSubscriber when the URL may not be posted to (not http(s), not public)."""
    now = now or timezone.now()
    url = url.strip()
    refused = webhook_url_refused(url)
    if refused:
        raise InvalidSubscriber(refused)
    with transaction.atomic():
        subscriber = Subscriber.objects.create(
            kind=SubscriberKind.WEBHOOK,
            address=url,
            all_components=not components,
            secret=new_webhook_secret(),
            created_at=now,
            confirmed_at=now,
        )
        if components:
            subscriber.components.set(components)
    return subscriber


def new_webhook_secret() -> str:
    return secrets.token_hex(32)


def webhook_url_refused(url: str) -> str:
    """Why `url` cannot be a webhook subscriber's, or "" when it can."""
    if not url.lower().startswith(("https://", "http://")):
        return "A webhook URL starts with https:// or http://."
    return destination_refused(url)


# The fan-out. One INSERT … SELECT per event: every active subscriber concerned gets its row,
# whatever their number, and ON CONFLICT makes a second call (a rerun, a second worker) add
# nothing. A subscriber to chosen components hears of an event touching any of them; an event
# naming no component concerns everyone. Plain SQL that PostgreSQL and SQLite (`make run`)
# both speak: the event's few components are one parameter each.
_FAN_OUT = """
INSERT INTO {notification} (
    subscriber_id, event_key, public_update_id, maintenance_id, maintenance_event,
    component_change_id, state, attempts, due_at, created_at, last_error
)
SELECT s.id, %(event_key)s, %(public_update)s, %(maintenance)s, %(maintenance_event)s,
       %(component_change)s, 'pending', 0, %(now)s, %(now)s, ''
FROM {subscriber} s
WHERE s.confirmed_at IS NOT NULL
  AND s.unsubscribed_at IS NULL
  AND s.disabled_at IS NULL
  {kind}
  {concerned}
ON CONFLICT (subscriber_id, event_key) DO NOTHING
"""
_CONCERNED = """
  AND (
    s.all_components
    OR EXISTS (
      SELECT 1 FROM {chosen} c
      WHERE c.subscriber_id = s.id AND c.component_id IN ({components})
    )
  )
"""


def _fan_out(
    *,
    event_key: str,
    components: list[int],
    public_update_id: int | None = None,
    maintenance_id: int | None = None,
    maintenance_event: str = "",
    component_change_id: int | None = None,
    kind: SubscriberKind | None = None,
    now: datetime,
) -> int:
    """`kind`: only subscribers of that kind (default: all)."""
    params: dict[str, Any] = {
        "event_key": event_key,
        "public_update": public_update_id,
        "maintenance": maintenance_id,
        "maintenance_event": maintenance_event,
        "component_change": component_change_id,
        "now": connection.ops.adapt_datetimefield_value(now),
    }
    only_kind = ""
    if kind:
        params["kind"] = kind
        only_kind = "AND s.kind = %(kind)s"
    concerned = ""
    if components:
        params |= {f"component_{index}": pk for index, pk in enumerate(components)}
        concerned = _CONCERNED.format(
            chosen=Subscriber.components.through._meta.db_table,
            components=", ".join(f"%(component_{index})s" for index in range(len(components))),
        )
    sql = _FAN_OUT.format(
        notification=SubscriberNotification._meta.db_table,
        subscriber=Subscriber._meta.db_table,
        kind=only_kind,
        concerned=concerned,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        created: int = cursor.rowcount
    if created:
        transaction.on_commit(_dispatch_soon, robust=True)
    return created


def _dispatch_soon() -> None:
    # Lazily: tasks import the delivery module, which imports nothing from here back.
    from statuspage.subscriptions import tasks

    tasks.deliver_due.delay()


def notify_public_update(public_update_id: int, *, now: datetime | None = None) -> int:
    """Queue a notification of a public update to every subscriber concerned; how many rows
    were added. Call inside the publishing transaction: the rows commit with the update."""
    now = now or timezone.now()
    update = (
        PublicUpdate.objects.select_related("public_incident").filter(pk=public_update_id).first()
    )
    if update is None or update.public_incident.withdrawn:
        return 0
    components = list(update.public_incident.components.values_list("pk", flat=True))
    return _fan_out(
        event_key=f"update:{update.code}",
        components=components,
        public_update_id=update.pk,
        now=now,
    )


def notify_maintenance(
    *, maintenance_id: int, event: str, now: datetime | None = None, occurrence: str = ""
) -> int:
    """Queue a notification of a maintenance event (MAINTENANCE_EVENTS: scheduled, 60 minutes
    before, started, completed, cancelled, rescheduled, extended) to every subscriber
    concerned; how many rows were added. Call inside the transaction that made the event
    happen; each event of a maintenance is told once however often this runs. An event that
    may happen more than once (a reschedule) names its `occurrence` (the code of the update
    that records it), so each is told once."""
    now = now or timezone.now()
    if event not in MAINTENANCE_EVENTS:
        raise ValueError(f"unknown maintenance event {event!r}")
    maintenance = Maintenance.objects.filter(pk=maintenance_id).first()
    if maintenance is None:
        return 0
    components = list(maintenance.components.values_list("pk", flat=True))
    return _fan_out(
        event_key=f"maintenance:{maintenance.code}:{event}"
        + (f":{occurrence}" if occurrence else ""),
        components=components,
        maintenance_id=maintenance.pk,
        maintenance_event=event,
        now=now,
    )


# A maintenance update's status, as the event it tells of.
_UPDATE_EVENT: dict[str, str] = {
    MaintenanceStatus.SCHEDULED: "scheduled",
    MaintenanceStatus.IN_PROGRESS: "started",
    MaintenanceStatus.VERIFYING: "verifying",
    MaintenanceStatus.COMPLETED: "completed",
    MaintenanceStatus.CANCELLED: "cancelled",
}


def notify_maintenance_event(maintenance_update_id: int, *, now: datetime | None = None) -> int:
    """notify_maintenance for the event a MaintenanceUpdate records."""
    update = MaintenanceUpdate.objects.filter(pk=maintenance_update_id).first()
    if update is None:
        return 0
    return notify_maintenance(
        maintenance_id=update.maintenance_id, event=_UPDATE_EVENT[update.status], now=now
    )


def notify_component_changes(*, component_ids: list[int], now: datetime | None = None) -> int:
    """Queue a notification of each public component's state change to every webhook
    subscriber concerned (Statuspage's `component_update`); how many rows were added.

    Call inside the transaction that moved the components, with their row locks held: the
    change told is each one's open span, the one that move opened. Emails are not told of
    component changes (Statuspage emails incidents and maintenance only), nor is anyone told
    of a component the public does not see."""
    now = now or timezone.now()
    changes = ComponentStateChange.objects.filter(
        component_id__in=component_ids,
        ended_at__isnull=True,
        component__service__public=True,
    ).values_list("pk", "component_id")
    return sum(
        _fan_out(
            event_key=f"component:{change_id}",
            components=[component_id],
            component_change_id=change_id,
            kind=SubscriberKind.WEBHOOK,
            now=now,
        )
        for change_id, component_id in changes.order_by("pk")
    )
