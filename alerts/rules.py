"""How an alert's severity is decided: the playbook's `determine_severity`, made configurable."""

import re
from collections.abc import Mapping

# Label values that mean critical business impact whatever else the alert says.
CRITICAL_INDICATORS = frozenset({"database_down", "complete_outage", "security_breach"})

# Error-rate thresholds (percent, exclusive) and the severity each one reaches.
ERROR_RATE_THRESHOLDS = ((50.0, "SEV1"), (10.0, "SEV2"), (1.0, "SEV3"))

_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%?\s*$")


def _error_rate(labels: Mapping[str, str], annotations: Mapping[str, str]) -> float | None:
    for source in (labels, annotations):
        match = _NUMBER.match(str(source.get("error_rate", "")))
        if match:
            return float(match[1])
    return None


def severity_candidates(
    *,
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    severity_hint: str,
    severity_map: Mapping[str, str],
) -> list[str]:
    """Every severity name a rule assigns; the caller takes the most severe that exists."""
    found: list[str] = []
    if any(str(value) in CRITICAL_INDICATORS for value in labels.values()):
        found.append("SEV1")
    rate = _error_rate(labels, annotations)
    if rate is not None:
        for threshold, name in ERROR_RATE_THRESHOLDS:
            if rate > threshold:
                found.append(name)
                break
    hint = (severity_hint or labels.get("severity", "")).strip().lower()
    if hint and hint in severity_map:
        found.append(severity_map[hint])
    return found
