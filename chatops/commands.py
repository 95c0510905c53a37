"""`/incident` and its subcommands: parsed and checked in the request, carried out in a task.

Slack wants an answer within 3 seconds, so the request (chatops.views.commands) stores the
command and `answer` checks it against the database only: a mistake is answered at once with
what to type instead, an accepted command with a short acknowledgement. The task
(`process_command`) checks it again from the stored row and carries it out through the
services, with the linked Tocsin user as the actor; the outcome, or the service's refusal, goes
back through the command's response_url.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from chatops import blocks, modals
from chatops.actors import link_url, linked_user, not_linked_text, refusal_text
from chatops.models import InboundRequest
from chatops.once import Answer, act_once
from chatops.selectors import incident_for_channel
from chatops.services import people, responses
from incidents import services as incident_services
from incidents.models import Incident, RoleKind, Severity, Source, Status, Team
from incidents.permissions import Action, can, can_view
from incidents.selectors import incident_get_for_user
from oncall import selectors as oncall_selectors
from oncall.services import paging_by_hand
from ops.problems import Conflict

Message = dict[str, object]

INCIDENT_REF = re.compile(r"INC-?(\d{1,9})", re.IGNORECASE)
# The manifest asks Slack to escape mentions (should_escape): <@U123|name>, or <@U123>.
MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")

# Subcommands that act on one incident, with the words people also type for them.
INCIDENT_COMMANDS = (
    "ack",
    "status",
    "severity",
    "lead",
    "role",
    "note",
    "update",
    "page",
    "resolve",
    "reopen",
)
COMMAND_ALIASES = {
    "acknowledge": "ack",
    "sev": "severity",
    "commander": "lead",
    "command": "lead",
    "resolved": "resolve",
}
# These take free text after the subcommand, so an `INC-n` there is part of the text.
FREE_TEXT_COMMANDS = frozenset({"note", "update", "resolve", "reopen"})

ROLE_ALIASES: dict[str, RoleKind] = {
    "commander": RoleKind.COMMANDER,
    "ic": RoleKind.COMMANDER,
    "lead": RoleKind.COMMANDER,
    "communications": RoleKind.COMMUNICATIONS,
    "communications_lead": RoleKind.COMMUNICATIONS,
    "comms": RoleKind.COMMUNICATIONS,
    "comms_lead": RoleKind.COMMUNICATIONS,
    "technical_lead": RoleKind.TECHNICAL_LEAD,
    "technical": RoleKind.TECHNICAL_LEAD,
    "tech": RoleKind.TECHNICAL_LEAD,
    "tech_lead": RoleKind.TECHNICAL_LEAD,
    "techlead": RoleKind.TECHNICAL_LEAD,
    "scribe": RoleKind.SCRIBE,
    "subject_expert": RoleKind.SUBJECT_EXPERT,
    "expert": RoleKind.SUBJECT_EXPERT,
    "sme": RoleKind.SUBJECT_EXPERT,
}
ROLE_NAMES = "commander, comms, tech, scribe, expert"

USAGE = {
    "ack": "`/incident ack`",
    "status": "`/incident status <status>`, e.g. `/incident status identified`",
    "severity": "`/incident severity <SEVn>`, e.g. `/incident severity SEV2`",
    "lead": "`/incident lead @someone`",
    "role": f"`/incident role <role> @someone` (roles: {ROLE_NAMES})",
    "note": "`/incident note <text>`",
    "update": "`/incident update [--public] <text>`",
    "page": "`/incident page @someone` or `/incident page team <team>`",
    "resolve": "`/incident resolve [resolution]`",
    "reopen": "`/incident reopen [reason]`",
}

HELP = "\n".join(
    [
        "*/incident* commands. In an incident's channel, or anywhere as "
        "`/incident INC-42 <command>`:",
        "• `ack`: acknowledge the incident",
        "• `status <status>`: " + ", ".join(s.value for s in Status),
        "• `severity <SEVn>`: change the severity",
        "• `lead @someone`: make someone the incident commander",
        f"• `role <role> @someone`: assign a role ({ROLE_NAMES})",
        "• `note <text>`: add a note to the timeline",
        "• `update [--public] <text>`: post a status update (public ones go on the status page)",
        "• `page @someone` or `page team <team>`: page someone, or a team's on-call",
        "• `resolve [resolution]`, `reopen [reason]`",
        "Anywhere:",
        "• `declare [title]`: declare an incident",
        "• `link`: link your Slack account to your Tocsin account",
        "• `oncall [team]`: who is on call now, and who is next",
        "• `help`: this list",
    ]
)


@dataclass(frozen=True)
class Parsed:
    name: str  # the subcommand, aliases resolved; "" for none
    number: int | None  # the INC-n typed, if any
    rest: str  # what follows the subcommand, as typed


@dataclass(frozen=True)
class Refused:
    text: str


@dataclass(frozen=True)
class Accepted:
    """An incident subcommand that passed every check the request can make."""

    name: str
    actor: User
    incident: Incident
    status: Status | None = None
    severity: Severity | None = None
    role: RoleKind | None = None
    user: User | None = None  # who is made lead, given a role, or paged
    team: Team | None = None  # whose on-call is paged
    text: str = ""
    public: bool = False


def _head(text: str) -> tuple[str, str]:
    parts = text.strip().split(None, 1)
    if not parts:
        return "", ""
    return parts[0], parts[1] if len(parts) > 1 else ""


def parse(text: str) -> Parsed:
    first, rest = _head(text)
    number = None
    if match := INCIDENT_REF.fullmatch(first):
        number = int(match.group(1))
        first, rest = _head(rest)
    name = first.lower()
    name = COMMAND_ALIASES.get(name, name)
    if number is None and name in INCIDENT_COMMANDS and name not in FREE_TEXT_COMMANDS:
        # `/incident ack INC-42` reads as naturally as `/incident INC-42 ack`.
        second, after = _head(rest)
        if match := INCIDENT_REF.fullmatch(second):
            number = int(match.group(1))
            rest = after
    return Parsed(name=name, number=number, rest=rest.strip())


def _ephemeral(text: str) -> Message:
    return {"response_type": "ephemeral", "text": text}


def _quoted(text: str) -> str:
    """What the person typed, quoted back to them as code."""
    return f"`{blocks.escape(text.replace('`', "'"))}`"


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


# --- checking -----------------------------------------------------------------------------


def check(payload: dict[str, object], parsed: Parsed) -> Refused | Accepted:
    """Everything the request can tell before acting: reads only."""
    name = parsed.name
    if name not in INCIDENT_COMMANDS:
        return Refused(
            f"{_quoted('/incident ' + name)} is not a command I know. "
            "Type `/incident help` for the list."
        )
    arguments = _arguments(name, parsed.rest)
    if isinstance(arguments, Refused):
        return arguments
    channel_id = str(payload.get("channel_id", ""))
    if parsed.number is None and incident_for_channel(channel_id) is None:
        typed = f"/incident INC-42 {name}{' ' + parsed.rest if parsed.rest else ''}"
        return Refused(
            "This is not an incident channel. Run it in the incident's channel, or name the "
            f"incident first: {_quoted(typed)}."
        )
    actor = linked_user(str(payload.get("user_id", "")))
    if actor is None:
        return Refused(not_linked_text())
    incident = _incident(actor, parsed.number, channel_id)
    if incident is None:
        return Refused(
            f"There is no INC-{parsed.number} that you can see. "
            "Check the number on the incident list."
        )
    if not can(actor, Action.RESPOND, incident):
        return Refused(
            f"Your Tocsin role ({actor.get_role_display()}) may not change incidents, so "
            f"`{name}` was not done. Ask an admin to make you a responder."
        )
    people = _people(name, parsed.rest)
    if isinstance(people, Refused):
        return people
    team: Team | None = None
    if name == "page" and people is None:
        found = _team(arguments.team_name)
        if isinstance(found, Refused):
            return found
        team = found
    return Accepted(
        name=name,
        actor=actor,
        incident=incident,
        user=people,
        team=team,
        status=arguments.status,
        severity=arguments.severity,
        role=arguments.role,
        text=arguments.text,
        public=arguments.public,
    )


def _incident(actor: User, number: int | None, channel_id: str) -> Incident | None:
    if number is not None:
        try:
            return incident_get_for_user(user=actor, number=number)
        except Incident.DoesNotExist:
            return None
    incident = incident_for_channel(channel_id)
    if incident is None or not can_view(actor, incident):
        return None
    return incident


def _missing(name: str, what: str) -> Refused:
    return Refused(f"`{name}` needs {what}. Type {USAGE[name]}.")


@dataclass(frozen=True)
class Arguments:
    status: Status | None = None
    severity: Severity | None = None
    role: RoleKind | None = None
    text: str = ""
    public: bool = False
    team_name: str = ""


def _arguments(name: str, rest: str) -> Refused | Arguments:
    """The subcommand's arguments, or what is wrong with them."""
    words = rest.split()
    if name == "status":
        if not words:
            return _missing(name, "a status")
        value = words[0].lower()
        if value not in Status.values:
            valid = ", ".join(s.value for s in Status)
            return Refused(
                f"{_quoted(words[0])} is not a status. Valid statuses: {valid}. "
                "Type e.g. `/incident status identified`."
            )
        return Arguments(status=Status(value), text=" ".join(words[1:]))
    if name == "severity":
        if not words:
            return _missing(name, "a severity")
        severity = severity_named(words[0])
        if severity is None:
            valid = ", ".join(Severity.objects.values_list("name", flat=True))
            return Refused(
                f"{_quoted(words[0])} is not a severity. Valid severities: {blocks.escape(valid)}. "
                "Type e.g. `/incident severity SEV2`."
            )
        return Arguments(severity=severity)
    if name == "lead":
        if not words:
            return _missing(name, "someone to lead")
        return Arguments()
    if name == "role":
        if len(words) < 2:
            return _missing(name, "a role and someone to take it")
        role = ROLE_ALIASES.get(words[0].lower().replace("-", "_"))
        if role is None:
            return Refused(
                f"{_quoted(words[0])} is not a role. Roles: {ROLE_NAMES}. "
                "Type e.g. `/incident role comms @someone`."
            )
        return Arguments(role=role)
    if name in ("note", "update"):
        public = False
        text = rest
        if name == "update" and words and words[0].lower() == "--public":
            public = True
            text = rest.split(None, 1)[1] if len(words) > 1 else ""
        if not text.strip():
            return _missing(name, "some text")
        return Arguments(text=text.strip(), public=public)
    if name == "page":
        if not words:
            return _missing(name, "someone or a team to page")
        if words[0].lower() == "team":
            if len(words) < 2:
                return _missing(name, "a team's name")
            return Arguments(team_name=" ".join(words[1:]))
        return Arguments()
    # ack takes nothing; resolve and reopen take an optional text.
    return Arguments(text=rest)


def severity_named(name: str) -> Severity | None:
    """`SEV2`, `sev2` or `2`."""
    name = name.strip()
    if name.isdigit():
        name = f"SEV{name}"
    return Severity.objects.filter(name__iexact=name).first()


def _people(name: str, rest: str) -> Refused | User | None:
    """Who `lead`, `role` and `page` name (the last word), as a Tocsin user."""
    words = rest.split()
    if name == "lead":
        mention = words[0]
    elif name == "role":
        mention = words[1]
    elif name == "page" and words[0].lower() != "team":
        mention = words[0]
    else:
        return None
    return user_for_mention(mention, usage=USAGE[name])


def user_for_mention(mention: str, *, usage: str) -> Refused | User:
    match = MENTION.fullmatch(mention)
    if match is not None:
        user = linked_user(match.group(1))
        if user is None:
            return Refused(
                f"<@{match.group(1)}> has not linked their Slack account to Tocsin, so I "
                "cannot tell who they are. They can link it by typing `/incident link`."
            )
        return user
    # Slack leaves `@name` as typed when no Slack member has that name: someone who is in
    # Tocsin but not in Slack can still be named by their exact Tocsin username.
    user = None
    if mention.startswith("@"):
        user = User.objects.filter(username=mention.removeprefix("@"), is_active=True).first()
    if user is None:
        return Refused(f"I do not know who {_quoted(mention)} is. Mention them with @: {usage}.")
    return user


def _team(name: str) -> Refused | Team:
    team = Team.objects.filter(Q(slug__iexact=name) | Q(name__iexact=name)).first()
    if team is None:
        known = ", ".join(Team.objects.order_by("name").values_list("slug", flat=True)[:30])
        return Refused(
            f"There is no team called {_quoted(name)}. Teams: {blocks.escape(known) or 'none yet'}."
        )
    return team


def acknowledgement(order: Accepted) -> str:
    ref = order.incident.ref
    user = blocks.escape(order.user.display_name) if order.user else ""
    team = blocks.escape(order.team.name) if order.team else ""
    texts = {
        "ack": f"Acknowledging {ref}…",
        "status": f"Setting {ref}'s status to {order.status}…",
        "severity": f"Setting {ref}'s severity to {order.severity}…",
        "lead": f"Making {user} commander of {ref}…",
        "role": f"Making {user} {RoleKind(order.role).label.lower() if order.role else ''}"
        f" of {ref}…",
        "note": f"Adding your note to {ref}…",
        "update": f"Posting {'a public' if order.public else 'an internal'} update on {ref}…",
        "page": f"Paging {user or (team + ' on call')} for {ref}…",
        "resolve": f"Resolving {ref}…",
        "reopen": f"Reopening {ref}…",
    }
    return texts[order.name]


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
        team = _team(team_name)
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
            f"Your Slack account is linked to the Tocsin user {_quoted(linked.username)}. "
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
    # Imported here: the buttons reuse this module's parsing.
    from chatops import actors, buttons

    actors.connect()
    modals.connect()
    buttons.connect()
