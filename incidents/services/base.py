"""What every incident service shares: the lock that checks permissions, and the last check of
input behind the forms and serializers."""

from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError

from accounts.actors import Actor
from incidents.locks import incident_lock
from incidents.models import Incident
from incidents.permissions import Action, require
from ops.text import UNSTORABLE_MESSAGE, unstorable_paths
from ops.timestamps import FUTURE_EVENT, event_time_error

IMPACT_IN_FUTURE = "The start of impact cannot be in the future."


def impact_after_detection(detected_at: datetime) -> str:
    return (
        "The start of impact cannot be after the incident was detected "
        f"({detected_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC)."
    )


def lock_for(actor: Actor, action: Action, incident: Incident | int) -> Incident:
    """Lock the incident's row, then check `actor` may do `action` to it as the locked row
    stands. The caller is inside a transaction."""
    incident = incident_lock(incident)
    require(actor, action, incident)
    return incident


def check_input(texts: dict[str, Any], times: dict[str, datetime], *, now: datetime) -> None:
    """The last line behind the forms and serializers, for every caller: text PostgreSQL can
    store (labels' keys included) and times in the plausible window (ops.timestamps), the
    start of impact never in the future nor after detection."""
    errors: dict[str, str] = {}
    for path in unstorable_paths(texts):
        errors.setdefault(path.split(".")[0], UNSTORABLE_MESSAGE)
    for name, value in times.items():
        if value > now:
            errors[name] = IMPACT_IN_FUTURE if name == "started_at" else FUTURE_EVENT
        elif error := event_time_error(value, now=now):
            errors[name] = error
    started, detected = times.get("started_at"), times.get("detected_at")
    if started and detected and started > detected and "started_at" not in errors:
        errors["started_at"] = impact_after_detection(detected)
    if errors:
        raise ValidationError(errors)
