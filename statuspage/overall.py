"""The page's overall status: Statuspage's `status` {indicator, description}.

One rule for everything that states it (the page's banner, status.json and summary.json, the
webhook payload's page): the worst of the visible components' states, the unresolved public
incidents' impacts, and maintenance in progress. An incident's impact counts even where no
component shows it (an incident of minor impact on no listed component still makes the page
"minor"). Statuspage answers "maintenance" while a maintenance is in progress and nothing is
worse: hosted pages do, though its reference lists only the other four, and widgets handle it.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from incidents.models import StatusPageImpact
from statuspage.models import ComponentState

# Least to most severe: worst wins.
INDICATORS = ("none", "maintenance", "minor", "major", "critical")
DESCRIPTIONS = {
    "none": "All Systems Operational",
    "maintenance": "Service Under Maintenance",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
}
STATE_INDICATOR: dict[str, str] = {
    ComponentState.OPERATIONAL: "none",
    ComponentState.UNDER_MAINTENANCE: "maintenance",
    ComponentState.DEGRADED_PERFORMANCE: "minor",
    ComponentState.PARTIAL_OUTAGE: "major",
    ComponentState.MAJOR_OUTAGE: "critical",
}
IMPACT_INDICATOR: dict[str, str] = {
    StatusPageImpact.NONE: "none",
    StatusPageImpact.MINOR: "minor",
    StatusPageImpact.MAJOR: "major",
    StatusPageImpact.CRITICAL: "critical",
}


@dataclass(frozen=True)
class OverallStatus:
    indicator: str
    description: str

    @property
    def maintenance(self) -> bool:
        """Nothing worse than planned maintenance is going on."""
        return self.indicator == "maintenance"

    def as_payload(self) -> dict[str, str]:
        return {"indicator": self.indicator, "description": self.description}


def overall_status(
    *, states: Iterable[str], impacts: Iterable[str], maintenance_active: bool
) -> OverallStatus:
    levels = [STATE_INDICATOR.get(state, "none") for state in states]
    levels += [IMPACT_INDICATOR.get(impact, "none") for impact in impacts]
    if maintenance_active:
        levels.append("maintenance")
    worst = max(levels, key=INDICATORS.index, default="none")
    return OverallStatus(worst, DESCRIPTIONS[worst])
