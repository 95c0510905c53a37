"""Reads of integrations and alerts, each checking who asks."""

from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet, Window

from accounts.models import User
from alerts.models import Alert, Integration
from incidents.models import Incident

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


def incident_alerts(*, incident: Incident, limit: int = INCIDENT_ALERTS_SHOWN) -> list[Alert]:
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


def incident_escalation_policy_id(incident: Incident) -> int | None:
    """The escalation policy the incident's first alert's integration routes to, if any:
    registered with oncall.policy_resolvers, which asks it before the team's and the default."""
    return (
        Alert.objects.filter(incident=incident, integration__escalation_policy__isnull=False)
        .values_list("integration__escalation_policy", flat=True)
        .first()
    )
