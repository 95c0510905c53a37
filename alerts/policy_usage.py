"""The integrations routed to each escalation policy, for oncall's policy pages: registered
with oncall.policy_usage in AlertsConfig.ready()."""

from collections.abc import Sequence

from django.urls import reverse

from accounts.models import User
from alerts import selectors
from oncall.models import EscalationPolicy
from oncall.policy_usage import PolicyUse


def integrations_using(
    policies: Sequence[EscalationPolicy], viewer: User
) -> dict[int, list[PolicyUse]]:
    found: dict[int, list[PolicyUse]] = {}
    for integration in selectors.integrations_routing_to(policy_ids=[p.pk for p in policies]):
        policy_id = integration.escalation_policy_id
        if policy_id is None:  # never: the selector filtered on it, but the field may be null
            continue
        # Only managers may open an integration's page; others read its name.
        url = (
            reverse("alerts:integration-detail", args=[integration.pk])
            if viewer.can_manage
            else None
        )
        found.setdefault(policy_id, []).append(
            PolicyUse(
                name=integration.name,
                note=f"{integration.get_kind_display()} · {integration.team.name}",
                url=url,
            )
        )
    return found
