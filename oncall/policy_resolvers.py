"""Which escalation policy pages an incident, as the apps above oncall know it.

oncall may not import the apps above it, yet one of them may route an incident to a policy
(alerts: the integration an alert came through names one). Such an app registers a resolver in
its AppConfig.ready(), as apps add panels to the incident page (incidents/panels.py); oncall
asks the resolvers in registration order before it falls back to the team's policy and then the
default.
"""

from collections.abc import Callable

from incidents.models import Incident

# The id of the policy that should page the incident, or None when the app has no say.
PolicyResolver = Callable[[Incident], int | None]

_resolvers: dict[str, PolicyResolver] = {}


def register_policy_resolver(resolver: PolicyResolver) -> None:
    """Add a resolver; registering the same function again replaces it (ready() may rerun)."""
    _resolvers[f"{resolver.__module__}.{resolver.__qualname__}"] = resolver


def resolved_policy_id(incident: Incident) -> int | None:
    """The first registered resolver's answer for the incident, or None when none has one."""
    for resolver in _resolvers.values():
        policy_id = resolver(incident)
        if policy_id is not None:
            return policy_id
    return None
