"""What uses an escalation policy, as the apps above oncall know it.

The policy pages say what routes incidents to each policy (alerts: the integrations that name
it), yet oncall may not import the apps above it. Such an app registers a function in its
AppConfig.ready(), as it registers a policy resolver (oncall/policy_resolvers.py): given the
policies a page shows and who looks, it returns what uses each of them. A page calls each
function once for all its policies, so its query count does not grow with the policies.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from accounts.models import User
from oncall.models import EscalationPolicy


@dataclass(frozen=True)
class PolicyUse:
    name: str
    note: str  # what it is and whose: "Prometheus Alertmanager · Payments"
    url: str | None = None  # its page, when the viewer may open it


# The uses of each policy by its id; a policy nothing of the app uses may be left out.
PolicyUsage = Callable[[Sequence[EscalationPolicy], User], dict[int, list[PolicyUse]]]

_usages: dict[str, PolicyUsage] = {}


def register_policy_usage(usage: PolicyUsage) -> None:
    """Add a source of uses; registering the same function again replaces it (ready() may
    rerun)."""
    _usages[f"{usage.__module__}.{usage.__qualname__}"] = usage


def policy_uses(
    policies: Sequence[EscalationPolicy], *, viewer: User
) -> dict[int, list[PolicyUse]]:
    """Every policy's uses, registered apps in registration order; [] for an unused one."""
    found: dict[int, list[PolicyUse]] = {policy.pk: [] for policy in policies}
    if not policies:
        return found
    for usage in _usages.values():
        for policy_id, uses in usage(policies, viewer).items():
            found.setdefault(policy_id, []).extend(uses)
    return found
