"""What `/incident …` asks for: the text parsed, and checked against the database (reads only).

The request checks a command to answer it at once, and the task checks it again from the
stored row before carrying it out (chatops.commands); the announcement's buttons read
severities and incident references the same way (chatops.buttons).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import Q

from accounts.models import User
from chatops import blocks
from chatops.actors import linked_user, not_linked_text
from chatops.selectors import incident_for_channel
from incidents.models import Incident, RoleKind, Severity, Status, Team
from incidents.permissions import Action, can, can_view
from incidents.selectors import incident_get_for_user

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


def quoted(text: str) -> str:
    """What the person typed, quoted back to them as code."""
    return f"`{blocks.escape(text.replace('`', "'"))}`"


def check(payload: dict[str, object], parsed: Parsed) -> Refused | Accepted:
    """Everything the request can tell before acting: reads only."""
    name = parsed.name
    if name not in INCIDENT_COMMANDS:
        return Refused(
            f"{quoted('/incident ' + name)} is not a command I know. "
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
            f"incident first: {quoted(typed)}."
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
        found = team_named(arguments.team_name)
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
                f"{quoted(words[0])} is not a status. Valid statuses: {valid}. "
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
                f"{quoted(words[0])} is not a severity. Valid severities: {blocks.escape(valid)}. "
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
                f"{quoted(words[0])} is not a role. Roles: {ROLE_NAMES}. "
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
        return Refused(f"I do not know who {quoted(mention)} is. Mention them with @: {usage}.")
    return user


def team_named(name: str) -> Refused | Team:
    team = Team.objects.filter(Q(slug__iexact=name) | Q(name__iexact=name)).first()
    if team is None:
        known = ", ".join(Team.objects.order_by("name").values_list("slug", flat=True)[:30])
        return Refused(
            f"There is no team called {quoted(name)}. Teams: {blocks.escape(known) or 'none yet'}."
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
