"""The pieces every Slack message is made of: escaped text, links back to Tocsin, Block Kit.

Anything a person or an alert wrote (a title, a resolution, a name, an alert label) goes into
Slack through `escape`: Slack reads `&`, `<` and `>` as markup, so an unescaped title of
`<!channel>` would notify a whole channel, and `<https://evil|Acknowledge>` would pass for our
link. Nothing else is needed: `*`, `_` and `~` only style text.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse

from incidents.models import Incident


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def absolute_url(path: str) -> str:
    """A link into Tocsin as people outside it reach it (BASE_URL)."""
    return settings.BASE_URL + path


def incident_url(incident: Incident) -> str:
    return absolute_url(incident.get_absolute_url())


def url_for(name: str, **kwargs: Any) -> str:
    return absolute_url(reverse(name, kwargs=kwargs or None))


def link(url: str, label: str) -> str:
    """A mrkdwn link whose label is shown as typed, whatever it holds."""
    return f"<{url}|{escape(label)}>"


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def plain(text: str, *, limit: int = 0) -> dict[str, Any]:
    """Plain text (Slack does not read markup in it); cut to `limit` characters when given."""
    if limit and len(text) > limit:
        text = text[: limit - 1] + "…"
    return {"type": "plain_text", "text": text, "emoji": True}


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(text)}


def ephemeral(text: str) -> dict[str, Any]:
    """A reply only the person who typed or clicked sees."""
    return {"response_type": "ephemeral", "replace_original": False, "text": text}
