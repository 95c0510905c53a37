"""Reads for the postmortem page, its revisions and their diffs: each a fixed number of
queries, however many sections or revisions there are."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

from django.db.models import QuerySet

from accounts.models import User
from incidents.models import Incident
from incidents.selectors import incident_get_for_user
from postmortems import document
from postmortems.models import Postmortem, PostmortemRevision


def postmortem_page_get(*, user: User, number: int) -> tuple[Incident, Postmortem | None]:
    """The incident `user` may see, and its postmortem if it has one. Incident.DoesNotExist
    when there is no such incident or it is hidden from them."""
    incident = incident_get_for_user(user=user, number=number)
    postmortem = Postmortem.objects.filter(incident=incident).first()
    if postmortem is not None:
        # The same row, already read with its severity, team, commander and roles.
        postmortem.incident = incident
    return incident, postmortem


def revision_latest(postmortem: Postmortem) -> PostmortemRevision | None:
    return (
        PostmortemRevision.objects.filter(postmortem=postmortem)
        .select_related("author")
        .defer("sections")
        .first()
    )


def revision_list(postmortem: Postmortem) -> QuerySet[PostmortemRevision]:
    """Newest first, without the documents they hold."""
    return (
        PostmortemRevision.objects.filter(postmortem=postmortem)
        .select_related("author")
        .defer("sections")
        .order_by("-number")
    )


def people_names(incident: Incident) -> list[str]:
    """How the incident's people may be named in its postmortem: full names, first names and
    usernames of its participants (the declarer and everyone who held a role) and commander,
    for the blameless linter."""
    people = incident.participants.values_list("first_name", "last_name", "username")
    commander = incident.commander
    rows = list(people)
    if commander is not None:
        rows.append((commander.first_name, commander.last_name, commander.username))
    names: set[str] = set()
    for first, last, username in rows:
        names.update(name for name in (f"{first} {last}".strip(), first, username) if name)
    return sorted(names)


@dataclass(frozen=True)
class DiffLine:
    kind: Literal["hunk", "add", "remove", "context", "file"]
    text: str


@dataclass(frozen=True)
class RevisionDiff:
    revision: PostmortemRevision
    previous: PostmortemRevision | None
    lines: list[DiffLine]

    @property
    def added(self) -> int:
        return sum(1 for line in self.lines if line.kind == "add")

    @property
    def removed(self) -> int:
        return sum(1 for line in self.lines if line.kind == "remove")


def revision_diff(*, postmortem: Postmortem, number: int) -> RevisionDiff:
    """Revision `number` against the one before it, as a unified diff of the Markdown.
    PostmortemRevision.DoesNotExist if there is no such revision."""
    pair = list(
        PostmortemRevision.objects.filter(postmortem=postmortem, number__lte=number)
        .select_related("author")
        .order_by("-number")[:2]
    )
    if not pair or pair[0].number != number:
        raise PostmortemRevision.DoesNotExist(f"No revision {number}.")
    revision = pair[0]
    previous = pair[1] if len(pair) > 1 else None
    # The title is not part of a revision; both sides carry today's, so only sections differ.
    after = document.to_markdown(postmortem.title, document.from_json(revision.sections))
    before = (
        document.to_markdown(postmortem.title, document.from_json(previous.sections))
        if previous is not None
        else ""
    )
    return RevisionDiff(revision, previous, _unified(before, after, revision, previous))


def _unified(
    before: str, after: str, revision: PostmortemRevision, previous: PostmortemRevision | None
) -> list[DiffLine]:
    lines = difflib.unified_diff(
        before.splitlines(),
        after.splitlines(),
        fromfile=f"revision {previous.number}" if previous is not None else "(nothing)",
        tofile=f"revision {revision.number}",
        n=3,
        lineterm="",
    )
    # The first two lines name the sides ("--- revision 3", "+++ revision 4").
    return [
        DiffLine("file" if index < 2 else _kind(line), line) for index, line in enumerate(lines)
    ]


def _kind(line: str) -> Literal["hunk", "add", "remove", "context"]:
    if line.startswith("@@"):
        return "hunk"
    if line.startswith("+"):
        return "add"
    if line.startswith("-"):
        return "remove"
    return "context"
