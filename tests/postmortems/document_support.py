"""What the document, page and revision tests share: a resolved incident with its
postmortem, drafted through the services as resolving does, and a section's text."""

from typing import Any

from accounts.models import User
from incidents.services import incident_resolve
from postmortems import document
from postmortems.models import Postmortem
from postmortems.services.postmortems import postmortem_create, postmortem_save_section
from tests.factories import declare, severity


def drafted(actor: User, **declare_kwargs: Any) -> Postmortem:
    """A resolved SEV2 declared by `actor`, and its postmortem drafted from the default
    template."""
    declare_kwargs.setdefault("severity", severity("SEV2"))
    declare_kwargs.setdefault("summary", "Checkout returned 500s for EU customers.")
    incident = declare(actor, **declare_kwargs)
    incident_resolve(incident=incident, actor=actor, resolution="Rolled back to v41.")
    return postmortem_create(incident=incident, actor=actor)


def body(postmortem: Postmortem, key: str) -> str:
    postmortem.refresh_from_db()
    return next(s.body for s in document.from_json(postmortem.sections) if s.key == key)


def write(postmortem: Postmortem, actor: User, key: str, text: str) -> Postmortem:
    """Save `text` into a section as an editor opened on the current revision does."""
    postmortem.refresh_from_db()
    return postmortem_save_section(
        postmortem=postmortem,
        actor=actor,
        key=key,
        body=text,
        base_revision=postmortem.revision,
    )
