"""What each figure measures, in words the report prints next to it (DESIGN.md, "Reports").

Time to detect runs from the start of impact to detection. Time to acknowledge, to mitigate
and to resolve run from the anchor (REPORTS_MTTR_ANCHOR): detection by default, the playbook's
MTTR. Each ends at the first arrival (Incident.resolved_at is the first resolution; reopens are
counted on their own), so a relapse does not stretch the figure.
"""

from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings


class Anchor(StrEnum):
    STARTED = "started"
    DETECTED = "detected"
    DECLARED = "declared"

    @property
    def field(self) -> str:
        return f"{self.value}_at"

    @property
    def words(self) -> str:
        return {
            Anchor.STARTED: "the start of impact",
            Anchor.DETECTED: "detection",
            Anchor.DECLARED: "declaration",
        }[self]


def mttr_anchor() -> Anchor:
    """The configured anchor; a setting that names none is refused by the system check."""
    return Anchor(settings.REPORTS_MTTR_ANCHOR)


@dataclass(frozen=True)
class Metric:
    key: str  # time_to_detect, time_to_acknowledge, time_to_mitigate, time_to_resolve
    short: str  # TTD, MTTA … as managers say it
    label: str
    start_field: str
    end_field: str
    definition: str


def metrics(anchor: Anchor | None = None) -> list[Metric]:
    anchor = anchor or mttr_anchor()
    since = anchor.words
    return [
        Metric(
            "time_to_detect",
            "MTTD",
            "Time to detect",
            "started_at",
            "detected_at",
            "From the start of impact to detection.",
        ),
        Metric(
            "time_to_acknowledge",
            "MTTA",
            "Time to acknowledge",
            anchor.field,
            "acknowledged_at",
            f"From {since} to the first acknowledgement.",
        ),
        Metric(
            "time_to_mitigate",
            "MTTM",
            "Time to mitigate",
            anchor.field,
            "mitigated_at",
            f"From {since} to the first move to Monitoring (impact mitigated).",
        ),
        Metric(
            "time_to_resolve",
            "MTTR",
            "Time to resolve",
            anchor.field,
            "resolved_at",
            f"From {since} to the first resolution; reopens are counted separately.",
        ),
    ]
