"""The declare modal: opened by `/incident declare`, checked on submission, declared in a task.

`views.open` is the one Slack call made inside a request: the trigger id it needs expires 3 s
after the person typed the command. It gets a short timeout (SLACK_MODAL_TIMEOUT), and when it
fails the person is sent to the web form instead. The submission is checked in its request with
the web's DeclareForm, so its errors show on the modal's fields; a valid one is stored under
the view's id (a double submit declares once) and declared by a task.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from slack_sdk.errors import SlackApiError, SlackClientError

from chatops import blocks, interactions
from chatops.actors import DM_KIND, dm_add, dm_payload, linked_user, not_linked_text, refusal_text
from chatops.client import slack_client
from chatops.models import InboundKind
from chatops.once import Answer, act_once
from chatops.services.inbound import inbound_store
from incidents import services as incident_services
from incidents.forms import DeclareForm
from incidents.models import Service, Severity, Source, Team
from incidents.permissions import Action, can

logger = logging.getLogger(__name__)

CALLBACK_ID = "declare_incident"
# The task's half of a valid submission: no button carries it, only the stored request does.
DECLARE_SUBMITTED = "declare_incident_submitted"
# Every input of the modal has this action id; blocks are named after DeclareForm's fields.
VALUE = "value"
OPTIONS_BLOCK = "options"
PRIVATE = "private"
TAKE_COMMAND = "take_command"

# Slack's limits: an option's text and description, and a select's options.
OPTION_TEXT_MAX = 75
OPTIONS_MAX = 100


def _option(value: str, text: str, description: str = "") -> dict[str, Any]:
    option: dict[str, Any] = {"text": blocks.plain(text, limit=OPTION_TEXT_MAX), "value": value}
    if description:
        option["description"] = blocks.plain(description, limit=OPTION_TEXT_MAX)
    return option


def _input(
    block_id: str, label: str, element: dict[str, Any], *, optional: bool = False
) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": blocks.plain(label),
        "element": {**element, "action_id": VALUE},
        "optional": optional,
    }


def declare_view(*, title: str) -> dict[str, Any]:
    """The modal: title (prefilled), severity with the playbook's descriptions, summary, team,
    services, private, and whether the declarer takes command (as on the web form)."""
    severities = [
        _option(str(s.pk), s.name, s.description) for s in Severity.objects.order_by("rank")
    ][:OPTIONS_MAX]
    teams = [_option(str(t.pk), t.name) for t in Team.objects.order_by("name")[:OPTIONS_MAX]]
    services = [_option(str(s.pk), s.name) for s in Service.objects.order_by("name")[:OPTIONS_MAX]]
    title_input: dict[str, Any] = {"type": "plain_text_input", "max_length": 200}
    if title:
        title_input["initial_value"] = title[:200]
    inputs = [
        _input("title", "Title", title_input),
        _input(
            "severity",
            "Severity",
            {
                "type": "static_select",
                "placeholder": blocks.plain("How bad is it?"),
                "options": severities,
            },
        ),
        _input(
            "summary",
            "Summary",
            {
                "type": "plain_text_input",
                "multiline": True,
                "placeholder": blocks.plain("What is broken, for whom, since when."),
            },
            optional=True,
        ),
    ]
    if teams:
        inputs.append(
            _input(
                "team",
                "Team",
                {"type": "static_select", "placeholder": blocks.plain("None"), "options": teams},
                optional=True,
            )
        )
    if services:
        inputs.append(
            _input(
                "services",
                "Services",
                {
                    "type": "multi_static_select",
                    "placeholder": blocks.plain("Affected services"),
                    "options": services,
                },
                optional=True,
            )
        )
    take_command = _option(TAKE_COMMAND, "I am the commander")
    inputs.append(
        _input(
            OPTIONS_BLOCK,
            "Options",
            {
                "type": "checkboxes",
                "options": [
                    _option(PRIVATE, "Private", "Only its participants and admins will see it."),
                    take_command,
                ],
                "initial_options": [take_command],
            },
            optional=True,
        )
    )
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "title": blocks.plain("Declare an incident", limit=24),
        "submit": blocks.plain("Declare"),
        "close": blocks.plain("Cancel"),
        "blocks": inputs,
    }


def declare_open(*, trigger_id: str, title: str) -> bool:
    """Open the modal within the trigger id's 3 s; False when Slack could not."""
    if not trigger_id:
        return False
    try:
        slack_client(timeout=settings.SLACK_MODAL_TIMEOUT).views_open(
            trigger_id=trigger_id, view=declare_view(title=title)
        )
    except (SlackApiError, SlackClientError, OSError) as error:
        logger.warning("could not open the declare modal: %r", error)
        return False
    return True


def web_declare_url() -> str:
    return blocks.url_for("incidents:declare")


def fallback_text() -> str:
    return (
        "Slack could not open the declare form just now. "
        f"Declare the incident on the web instead: {web_declare_url()}"
    )


# --- the submission ------------------------------------------------------------------------


def _state(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    values = (view.get("state") or {}).get("values") or {}
    return {block: (actions or {}).get(VALUE) or {} for block, actions in values.items()}


def _form_data(view: dict[str, Any]) -> dict[str, Any]:
    state = _state(view)

    def selected(block: str) -> str:
        option = state.get(block, {}).get("selected_option") or {}
        return str(option.get("value", ""))

    def chosen(block: str) -> list[str]:
        return [str(o.get("value", "")) for o in state.get(block, {}).get("selected_options") or []]

    options = chosen(OPTIONS_BLOCK)
    return {
        "title": str(state.get("title", {}).get("value") or ""),
        "severity": selected("severity"),
        "summary": str(state.get("summary", {}).get("value") or ""),
        "team": selected("team"),
        "services": chosen("services"),
        PRIVATE: PRIVATE in options,
        TAKE_COMMAND: TAKE_COMMAND in options,
    }


def _block_for(field: str) -> str:
    if field in (PRIVATE, TAKE_COMMAND):
        return OPTIONS_BLOCK
    if field in ("title", "severity", "summary", "team", "services"):
        return field
    return "title"


def _errors(errors: dict[str, str]) -> dict[str, Any]:
    return {"response_action": "errors", "errors": errors}


def declare_submitted(
    interaction: interactions.Interaction, view: dict[str, Any]
) -> dict[str, Any] | None:
    """Inline: check the submission; a valid one is stored for the task, once per view."""
    actor = linked_user(interaction.slack_user_id)
    if actor is None:
        return _errors(
            {"title": "Your Slack account is not linked to Tocsin. Type /incident link to link it."}
        )
    if not can(actor, Action.DECLARE):
        return _errors({"title": "Your Tocsin role may not declare incidents."})
    form = DeclareForm(data=_form_data(view))
    if not form.is_valid():
        errors: dict[str, str] = {}
        for field, messages in form.errors.items():
            errors.setdefault(_block_for(field), " ".join(str(m) for m in messages))
        return _errors(errors)
    data = form.cleaned_data
    fields = {
        "title": data["title"],
        "severity": data["severity"].pk,
        "summary": data["summary"],
        "team": data["team"].pk if data["team"] else None,
        "services": [service.pk for service in data["services"]],
        "private": data["private"],
        "take_command": data["take_command"],
    }
    # Keyed by the view: Slack sends a second submission when the button is clicked twice.
    inbound_store(
        key=f"declare:{view.get('id', '')}",
        kind=InboundKind.INTERACTION,
        payload={
            "interaction": interaction.payload,
            "action": {"action_id": DECLARE_SUBMITTED, "declare": fields},
        },
    )
    return None


def declare_from_submission(interaction: interactions.Interaction, action: dict[str, Any]) -> None:
    """The task: declare the incident a valid submission describes, and tell the declarer."""
    fields = action.get("declare")
    if not isinstance(fields, dict):
        return
    slack_user_id = interaction.slack_user_id
    view_id = str(interaction.view.get("id", ""))
    reply_key = f"declared:{view_id}"
    actor = linked_user(slack_user_id)
    if actor is None:
        dm_add(slack_user_id, not_linked_text(), key=reply_key)
        return

    def declare() -> Answer:
        team_id = fields.get("team")
        incident = incident_services.incident_declare(
            actor=actor,
            title=str(fields.get("title", "")),
            severity=Severity.objects.get(pk=int(fields.get("severity") or 0)),
            summary=str(fields.get("summary", "")),
            services=Service.objects.filter(pk__in=fields.get("services") or []),
            team=Team.objects.filter(pk=team_id).first() if team_id else None,
            private=bool(fields.get("private")),
            commander=actor if fields.get("take_command") else None,
            source=Source.SLACK,
        )
        declared = blocks.link(blocks.incident_url(incident), f"{incident.ref}: {incident.title}")
        text = (
            f"You declared {declared} ({blocks.escape(incident.severity.name)}). "
            "Its channel is on its way."
        )
        return Answer(dm_payload(slack_user_id, text), incident.pk)

    try:
        # The declaration and its reply commit together, once: a second run of this task,
        # even one running at the same moment, declares no second incident.
        act_once(kind=DM_KIND, key=reply_key, act=declare)
    except (ValidationError, PermissionDenied, Severity.DoesNotExist) as refusal:
        dm_add(
            slack_user_id,
            f"The incident was not declared: {refusal_text(refusal)} "
            f"You can declare it on the web: {web_declare_url()}",
            key=reply_key,
        )


def connect() -> None:
    interactions.register_view(CALLBACK_ID, declare_submitted, inline=True)
    interactions.register_action(DECLARE_SUBMITTED, declare_from_submission)
