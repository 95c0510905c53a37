"""Reads of integrations and alerts. Those for people check who asks; those for webhooks and
the processor (token lookup, open alert for a key, due alerts) are the system's own."""

import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypedDict

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet, Window
from django.utils import timezone

from accounts.models import User
from alerts.models import Alert, AlertStatus, Integration, hash_token
from incidents.models import Incident
from ops.text import is_storable

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

# The newest alerts an incident page lists; an alert storm may hold thousands.
INCIDENT_ALERTS_SHOWN = 50


def can_read_integrations(user: User) -> bool:
    """Responders may see how alerts reach them; only the token's prefix is ever readable."""
    return user.is_active and user.can_respond


def integration_list(*, user: User) -> QuerySet[Integration]:
    if not can_read_integrations(user):
        raise PermissionDenied("You may not see integrations.")
    return Integration.objects.select_related("team", "default_severity").order_by("name", "pk")


def integration_get_for_user(*, user: User, pk: int) -> Integration:
    """Raises Integration.DoesNotExist for an unknown id, PermissionDenied for viewers."""
    return integration_list(user=user).get(pk=pk)


def alerts_set_aside(*, integration: Integration) -> list[Alert]:
    """Changed alerts whose processing failed on its own and waits to be tried again."""
    return list(
        Alert.objects.filter(integration=integration, needs_processing=True, process_failures__gt=0)
        .only("dedup_key", "title", "process_failures", "process_after")
        .order_by("event_at", "id")[:20]
    )


class Total(TypedDict):
    total: int  # how many alerts the incident has, however many were loaded


if TYPE_CHECKING:
    CountedAlert = WithAnnotations[Alert, Total]
else:
    # At run time the alias cannot be subscripted (it is for the type checker alone).
    CountedAlert = Alert


def incident_alerts(
    *, incident: Incident, limit: int = INCIDENT_ALERTS_SHOWN
) -> list[CountedAlert]:
    """The incident's newest alerts, each annotated with `total`, the count of all of them.

    One query however many alerts there are: the window count rides along with the rows.
    Caller has checked the user may see the incident.
    """
    return list(
        Alert.objects.filter(incident=incident)
        .select_related("integration")
        .annotate(total=Window(Count("id")))
        .order_by("-last_seen_at", "-id")[:limit]
    )


# Webhook deliveries look their integration up by token hash, a database round trip on every
# request. Each process keeps what it found for a moment: a pause or a new token takes effect
# here at once and in the other processes within TOKEN_CACHE_SECONDS. Unknown tokens are never
# kept, so guessing cannot grow the cache.
TOKEN_CACHE_SECONDS = 2.0
_TOKEN_CACHE_MAX = 1000
_token_cache: dict[str, tuple[Integration, float]] = {}


def forget_cached_tokens() -> None:
    _token_cache.clear()


def integration_for_token(token: str) -> Integration | None:
    """The integration a token belongs to, active or paused; None for an unknown token."""
    # Our tokens are URL-safe ASCII; anything else (a lone surrogate cannot even be hashed)
    # is simply unknown.
    if not token or len(token) > 200 or not token.isascii() or not is_storable(token):
        return None
    digest = hash_token(token)
    now = time.monotonic()
    cached = _token_cache.get(digest)
    if cached is not None and cached[1] > now:
        return cached[0]
    integration = Integration.objects.filter(token_hash=digest).first()
    if integration is not None:
        if len(_token_cache) >= _TOKEN_CACHE_MAX:
            _token_cache.clear()
        _token_cache[digest] = (integration, now + TOKEN_CACHE_SECONDS)
    return integration


def integrations_with_pending_alerts(*, older_than: timedelta = timedelta(0)) -> list[int]:
    """For the sweeper: integrations holding changed alerts nobody processed in time."""
    now = timezone.now()
    cutoff = now - older_than
    return list(
        Alert.objects.filter(alerts_due(now), last_seen_at__lte=cutoff)
        .values_list("integration_id", flat=True)
        .distinct()
        .order_by()
    )


def alert_open_for_key(*, integration: Integration, dedup_key: str) -> Alert | None:
    """The alert a follow-up event (acknowledge, resolve) applies to: firing or acknowledged.

    As PagerDuty does, follow-ups for a key that is unknown or already resolved are dropped:
    they must not open an incident, and an acknowledgement must not revive a resolved alert.
    """
    return (
        Alert.objects.filter(integration=integration, dedup_key=dedup_key)
        .exclude(status=AlertStatus.RESOLVED)
        .first()
    )


def alerts_due(now: datetime) -> Q:
    """Changed alerts to process now: all but those set aside after failing on their own."""
    return Q(needs_processing=True) & (Q(process_after__isnull=True) | Q(process_after__lte=now))


def incident_escalation_policy_id(incident: Incident) -> int | None:
    """The escalation policy the incident's first alert's integration routes to, if any:
    registered with oncall.policy_resolvers, which asks it before the team's and the default."""
    return (
        Alert.objects.filter(incident=incident, integration__escalation_policy__isnull=False)
        .values_list("integration__escalation_policy", flat=True)
        .first()
    )


def integrations_routing_to(*, policy_ids: Iterable[int]) -> list[Integration]:
    """The integrations that route their incidents to these escalation policies, with teams:
    one query. For the policy pages, which show them to everyone who may see the policies."""
    return list(
        Integration.objects.filter(escalation_policy__in=policy_ids)
        .select_related("team")
        .order_by("name", "pk")
    )
