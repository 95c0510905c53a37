"""`/incident` and its subcommands: parsed and checked in the request, carried out in a task.

Slack wants an answer within 3 seconds, so the request (chatops.views.commands) stores the
command and `answer` checks it against the database only: a mistake is answered at once with
what to type instead, an accepted command with a short acknowledgement. The task
(`process_command`) checks it again from the stored row and carries it out through the
services, with the linked Tocsin user as the actor; the outcome, or the service's refusal, goes
back through the command's response_url. Parsing and checking are chatops.command_parsing's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from chatops import actors, blocks, buttons, modals
from chatops.actors import link_url, linked_user, not_linked_text, refusal_text
from chatops.command_parsing import (
    HELP,
    INCIDENT_COMMANDS,
    Accepted,
    Refused,
    acknowledgement,
    check,
    parse,
    quoted,
    team_named,
)
from chatops.models import InboundRequest
from chatops.once import Answer, act_once
from chatops.selectors import incident_for_channel
from chatops.services import people, responses
from incidents import services as incident_services
from incidents.models import Incident, RoleKind, Source, Status
from incidents.permissions import Action, can, can_view
from oncall import selectors as oncall_selectors
from oncall.services import paging_by_hand
from ops.problems import Conflict

Message = dict[str, object]


def _ephemeral(text: str) -> Message:
    return {"response_type": "ephemeral", "text": text}


def answer(inbound: InboundRequest) -> Message | None:
    """The HTTP answer to a slash command (an ephemeral message), given within Slack's 3 s."""
    payload = inbound.payload
    parsed = parse(str(payload.get("text", "")))
    if parsed.name == "" and parsed.number is None:
        incident = incident_for_channel(str(payload.get("channel_id", "")))
        if incident is not None:
            return _ephemeral(_summary(payload, incident))
    if parsed.name in ("", "help"):
        return _ephemeral(HELP)
    if parsed.name == "link":
        return _ephemeral(_link(payload))
    if parsed.name == "declare":
        return _declare(payload, title=parsed.rest)
    if parsed.name == "oncall":
        return _ephemeral(_oncall(payload, team_name=parsed.rest))
    verdict = check(payload, parsed)
    if isinstance(verdict, Refused):
        return _ephemeral(verdict.text)
    return _ephemeral(acknowledgement(verdict))


def process_command(inbound: InboundRequest) -> None:
    """The task side of a command that was accepted.

    The command is checked again from the stored row: the request and this task run side by
    side (the task is queued as soon as the row is stored), so the request cannot hand its
    verdict over. A command refused here was refused in the request too, which said so.
    """
    payload = inbound.payload
    parsed = parse(str(payload.get("text", "")))
    if parsed.name not in INCIDENT_COMMANDS:
        return
    verdict = check(payload, parsed)
    if not isinstance(verdict, Accepted):
        return
    carry_out(verdict, response_url=str(payload.get("response_url", "")), key=inbound.key)


def carry_out(order: Accepted, *, response_url: str, key: str) -> None:
    """Do what was asked and say how it went, once per `key` even if two runs of the task
    overlap (chatops.once)."""

    def act() -> Answer:
        message = blocks.ephemeral(_act(order))
        return Answer({"response_url": response_url, "message": message}, order.incident.pk)

    try:
        act_once(kind=responses.KIND, key=f"response:{key}", act=act)
    except (Conflict, PermissionDenied, ValidationError) as refusal:
        responses.respond(
            response_url,
            blocks.ephemeral(f"{order.incident.ref}: {refusal_text(refusal)}"),
            key=key,
            incident_id=order.incident.pk,
        )


# --- acting (in the task) ------------------------------------------------------------------


def _act(order: Accepted) -> str:
    """Carry out the order through the services; returns what to tell the person."""
    incident, actor, ref = order.incident, order.actor, order.incident.ref
    if order.name == "ack":
        before = incident.status
        incident = incident_services.incident_acknowledge(
            incident=incident, actor=actor, source=Source.SLACK
        )
        if before != Status.DETECTED:
            return f"{ref} was already acknowledged: it is {incident.get_status_display()}."
        return f"You acknowledged {ref}."
    if order.name == "status":
        incident = incident_services.incident_set_status(
            incident=incident, actor=actor, status=_given(order.status), source=Source.SLACK
        )
        return f"{ref} is now {incident.get_status_display()}."
    if order.name == "severity":
        severity = _given(order.severity)
        unchanged = incident.severity_id == severity.pk
        incident_services.incident_set_severity(
            incident=incident, actor=actor, severity=severity, source=Source.SLACK
        )
        if unchanged:
            return f"{ref} is already {severity.name}."
        return f"{ref} is now {severity.name}."
    if order.name in ("lead", "role"):
        user = _given(order.user)
        role = RoleKind.COMMANDER if order.name == "lead" else _given(order.role)
        incident_services.incident_assign_role(
            incident=incident, actor=actor, role=role, user=user, source=Source.SLACK
        )
        return f"{blocks.escape(user.display_name)} is now {role.label.lower()} of {ref}."
    if order.name == "note":
        incident_services.incident_add_note(
            incident=incident, actor=actor, text=order.text, source=Source.SLACK
        )
        return f"Your note is on {ref}'s timeline."
    if order.name == "update":
        incident_services.incident_post_update(
            incident=incident,
            actor=actor,
            message=order.text,
            public=order.public,
            source=Source.SLACK,
        )
        return f"Posted {'a public' if order.public else 'an internal'} update on {ref}."
    if order.name == "page":
        return _page(order)
    if order.name == "resolve":
        incident_services.incident_resolve(
            incident=incident, actor=actor, resolution=order.text, source=Source.SLACK
        )
        return f"{ref} is resolved."
    if order.name == "reopen":
        incident_services.incident_reopen(
            incident=incident, actor=actor, reason=order.text, source=Source.SLACK
        )
        return f"{ref} is reopened and back to investigating."
    raise ValueError(f"no action for {order.name!r}")


def _given[T](value: T | None) -> T:
    """An argument check() made sure of."""
    if value is None:
        raise ValueError("check() let a command through without its argument")
    return value


def _page(order: Accepted) -> str:
    ref = order.incident.ref
    if order.user is not None:
        paging_by_hand.page_user_for_incident(
            incident=order.incident, user=order.user, actor=order.actor
        )
        return f"Paging {blocks.escape(order.user.display_name)} for {ref}."
    team = _given(order.team)
    paged = paging_by_hand.page_team_for_incident(
        incident=order.incident, team=team, actor=order.actor
    )
    team_name = blocks.escape(team.name)
    if not paged:
        return f"Nobody is on call for {team_name} right now, so nobody was paged."
    names = blocks.escape(", ".join(user.display_name for user in paged))
    return f"Paging {team_name} on call for {ref}: {names}."


# --- answered in the request ---------------------------------------------------------------


def _declare(payload: dict[str, object], *, title: str) -> Message | None:
    """Open the declare modal now: its trigger id expires 3 s after the command was typed."""
    actor = linked_user(str(payload.get("user_id", "")))
    if actor is None:
        return _ephemeral(not_linked_text())
    if not can(actor, Action.DECLARE):
        return _ephemeral(
            f"Your Tocsin role ({actor.get_role_display()}) may not declare incidents. "
            "Ask a responder, or an admin to make you one."
        )
    if modals.declare_open(trigger_id=str(payload.get("trigger_id", "")), title=title):
        return None
    return _ephemeral(modals.fallback_text())


def _oncall(payload: dict[str, object], *, team_name: str) -> str:
    """Who is on call now and next, per schedule: reads only, so answered in the request."""
    actor = linked_user(str(payload.get("user_id", "")))
    if actor is None:
        return not_linked_text()
    now = timezone.now()
    if team_name:
        team = team_named(team_name)
        if isinstance(team, Refused):
            return team.text
        on_call = oncall_selectors.team_on_call(team=team, now=now).schedules
        heading = f"On call for {blocks.escape(team.name)}:"
        if not on_call:
            return f"{blocks.escape(team.name)} has no on-call schedule."
    else:
        on_call = oncall_selectors.on_call_everywhere(now)
        heading = "On call now:"
        if not on_call:
            return "There are no on-call schedules yet."
    lines = [heading]
    for item in sorted(on_call, key=lambda o: o.schedule.name):
        who = blocks.escape(item.user.display_name) if item.user else "nobody"
        line = f"• *{blocks.escape(item.schedule.name)}*: {who}"
        if item.user and item.until:
            line += f" until {_slack_time(item.until)}"
        if item.next_shift is not None and item.next_user is not None:
            next_name = blocks.escape(item.next_user.display_name)
            line += f"; next {next_name} from {_slack_time(item.next_shift.start)}"
        lines.append(line)
    return "\n".join(lines)


def _summary(payload: dict[str, object], incident: Incident) -> str:
    """`/incident` alone in an incident's channel: where that incident stands."""
    actor = linked_user(str(payload.get("user_id", "")))
    if actor is not None and not can_view(actor, incident):
        return HELP
    commander = blocks.escape(incident.commander.display_name) if incident.commander else "nobody"
    return "\n".join(
        [
            f"*{blocks.link(blocks.incident_url(incident), f'{incident.ref}: {incident.title}')}*",
            f"Severity: {blocks.escape(incident.severity.name)} · "
            f"Status: {incident.get_status_display()} · Commander: {commander}",
            "Type `/incident help` for what you can do here.",
        ]
    )


def _link(payload: dict[str, object]) -> str:
    """`/incident link`: a link, valid for a few minutes, that ties this Slack account to the
    Tocsin account that opens it."""
    slack_user_id = str(payload.get("user_id", ""))
    linked = linked_user(slack_user_id)
    if linked is not None:
        return (
            f"Your Slack account is linked to the Tocsin user {quoted(linked.username)}. "
            f"To change that, unlink it on your Tocsin profile first: {link_url()}"
        )
    token = urlencode({"token": people.slack_link_token(slack_user_id)})
    url = f"{blocks.url_for('chatops:slack-link-confirm')}?{token}"
    minutes = people.LINK_TOKEN_MAX_AGE // 60
    return (
        f"Open {blocks.link(url, 'this link')} while signed in to Tocsin and confirm, to act "
        f"in Slack as your Tocsin user. It works for {minutes} minutes and only for you: "
        "do not share it."
    )


def _slack_time(moment: datetime) -> str:
    """Shown in each reader's own time zone by Slack; the fallback is UTC."""
    fallback = moment.astimezone(UTC).strftime("%a %d %b %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def connect() -> None:
    """Register the declare modal and the announcement's buttons (chatops/apps.py ready())."""
    actors.connect()
    modals.connect()
    buttons.connect()
