"""Shared by the postmortems API tests: incidents resolved with a postmortem, and its URLs."""

from typing import Any

from accounts.models import User
from incidents.models import Incident
from incidents.services import incident_resolve
from postmortems.models import ActionItem, Postmortem, PostmortemRevision
from postmortems.services.postmortems import postmortem_create
from tests.factories import declare, severity
from tests.incidents.api_support import API


def resolved(commander: User, **kwargs: Any) -> Incident:
    kwargs.setdefault("severity", severity("SEV1"))
    kwargs.setdefault("summary", "Checkout returned 500s for every payment.")
    incident = declare(commander, commander=commander, **kwargs)
    return incident_resolve(incident=incident, actor=commander, resolution="Rolled back.")


def with_postmortem(commander: User, **kwargs: Any) -> Postmortem:
    """A resolved incident's postmortem, drafted as resolving drafts it."""
    return postmortem_create(incident=resolved(commander, **kwargs), actor=commander)


def postmortem_url(incident: Incident, action: str = "") -> str:
    return f"{API}/incidents/{incident.number}/postmortem/" + (f"{action}/" if action else "")


def section_body(postmortem: Postmortem, key: str) -> str:
    postmortem.refresh_from_db()
    return next(s["body"] for s in postmortem.sections if s["key"] == key)


def written_rows() -> dict[str, Any]:
    """Everything a postmortem write may touch, to prove a refused one wrote nothing."""
    return {
        "postmortems": list(Postmortem.objects.order_by("pk").values()),
        "revisions": PostmortemRevision.objects.count(),
        "authors": Postmortem.authors.through.objects.count(),
        "factors": Postmortem.contributing_factors.through.objects.count(),
        "action_items": list(ActionItem.objects.order_by("pk").values()),
    }
