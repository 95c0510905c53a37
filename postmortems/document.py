"""A postmortem as a list of sections, and the rules that keep the team's words.

A template renders Markdown. Its `# ` line is the title; what comes before the first `## ` is
the header; each `## Heading` opens a section. Three markers, each an HTML comment on a line of
its own inside a section, say how the section behaves; they are taken out of the text:

    <!-- generated -->      rendered from the incident on every refresh; not edited by hand
    <!-- required -->       must have words in it before the postmortem is published
    <!-- prompt: … -->      the question the editor shows while the section is empty

A written section remembers the text the template last gave it (`generated_body`). Refreshing
from the incident replaces it only while it is still that text: once someone has written in it,
refresh never touches it again. Sections the team kept that a new rendering lacks stay. A
generated section keeps no copy: its body is the template's text by definition.

A revision keeps the written sections only (`revision_json`): the generated ones can be
rendered again from the incident, and at 5,000 timeline entries they were a megabyte a save.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from django.utils.text import slugify

HEADER_KEY = "header"

_MARKER = re.compile(r"^[ \t]*<!--\s*(generated|required|prompt:(?P<prompt>.*?))\s*-->[ \t]*$")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


_HEADING_OR_LABEL = re.compile(r"^(#+\s.*|[-*+]?\s*(\*\*[^*]*:\*\*|_[^_]*:_|[^:]*:))$")


def _meaningful_lines(text: str) -> set[str]:
    lines = (line.strip() for line in _COMMENT.sub("", text).splitlines())
    return {line for line in lines if line and not _HEADING_OR_LABEL.match(line)}


@dataclass(frozen=True)
class Section:
    key: str
    heading: str
    body: str
    generated: bool = False
    required: bool = False
    prompt: str = ""
    # What the template last rendered here; a written section whose body still equals it
    # has not been touched by a person.
    generated_body: str = ""

    @property
    def edited(self) -> bool:
        return not self.generated and self.body != self.generated_body

    @property
    def filled(self) -> bool:
        """Someone wrote in it: it has a line the template did not give it, other than a
        heading or a bare label ("- **Users affected:**"). Words the template filled in from
        the incident do not count, so a required section always carries a person's words.
        (A section both generated and required, which nobody can write in, counts as filled
        when it has text.)"""
        return bool(_meaningful_lines(self.body) - _meaningful_lines(self.generated_body))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_FIELDS = frozenset(field.name for field in fields(Section))


def from_json(data: Iterable[dict[str, Any]]) -> list[Section]:
    # Keys this code does not know (written by a newer version) are left out, not a TypeError.
    return [Section(**{k: v for k, v in item.items() if k in _FIELDS}) for item in data]


def to_json(sections: Iterable[Section]) -> list[dict[str, Any]]:
    return [section.as_dict() for section in sections]


# What a revision keeps of a section: what the stale-save check compares (the body, by key)
# and what its diff shows (the heading and the body).
REVISION_FIELDS = ("key", "heading", "body")


def revision_json(sections: Iterable[Section]) -> list[dict[str, Any]]:
    """The written sections, as a revision keeps them (from_json reads them back)."""
    return [
        {name: getattr(section, name) for name in REVISION_FIELDS}
        for section in sections
        if not section.generated
    ]


def normalize_body(text: str) -> str:
    """A section's text as stored: LF line ends (browsers send CRLF), no blank lines around."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")


@dataclass(frozen=True)
class Parsed:
    title: str
    sections: list[Section]


# ATX headings as CommonMark reads them: up to three spaces of indent, an optional closing
# run of #s. "### Contributing Factors" is not a level-2 heading, so it stays in its section.
_TITLE = re.compile(r"^ {0,3}#(?:[ \t]+(?P<text>.*?))?(?:[ \t]+#+)?[ \t]*$")
_HEADING = re.compile(r"^ {0,3}##(?:[ \t]+(?P<text>.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(?P<run>`{3,}|~{3,})(?P<info>.*)$")


def _lines(markdown: str) -> Iterator[tuple[str, bool]]:
    """Each line, and whether it is code (a fenced block, its fences included): a `## ` or
    a marker in code is text, not structure. A fence closes on a run of the same character
    at least as long as the one that opened it, as CommonMark has it."""
    fence: str | None = None
    for line in markdown.splitlines():
        match = _FENCE.match(line)
        if fence is None:
            if match and not (match["run"][0] == "`" and "`" in match["info"]):
                fence = match["run"]
                yield line, True
                continue
            yield line, False
        else:
            closes = (
                match is not None
                and match["run"][0] == fence[0]
                and len(match["run"]) >= len(fence)
                and not match["info"].strip()
            )
            if closes:
                fence = None
            yield line, True


def parse(markdown: str) -> Parsed:
    """Split a rendered template into its title and sections."""
    title = ""
    headings: list[str] = []
    bodies: list[list[tuple[str, bool]]] = [[]]
    for line, code in _lines(markdown):
        heading = None if code else _HEADING.match(line)
        if heading is not None:
            headings.append((heading["text"] or "").strip())
            bodies.append([])
            continue
        top = None if code or title or headings else _TITLE.match(line)
        if top is not None and top["text"]:
            title = top["text"].strip()
            continue
        bodies[-1].append((line, code))
    sections = [_section(HEADER_KEY, "", bodies[0], generated_by_default=True)]
    seen = {HEADER_KEY}
    for heading_text, lines in zip(headings, bodies[1:], strict=True):
        # Two headings that slugify alike ("Notes", "notes"; or one named "Header") get
        # numbered keys, in order, so every section has its own.
        key = base = slugify(heading_text) or "section"
        number = 2
        while key in seen:
            key, number = f"{base}-{number}", number + 1
        seen.add(key)
        sections.append(_section(key, heading_text, lines))
    return Parsed(title=title, sections=sections)


def _section(
    key: str, heading: str, lines: list[tuple[str, bool]], *, generated_by_default: bool = False
) -> Section:
    generated, required, prompts = generated_by_default, False, []
    kept = []
    for line, code in lines:
        match = None if code else _MARKER.match(line)
        if match is None:
            kept.append(line)
        elif match.group("prompt") is not None:
            # A section with subsections (Root Cause, Contributing Factors) asks each one's
            # question, in order.
            prompts.append(match.group("prompt").strip())
        elif match.group(1) == "generated":
            generated = True
        else:
            required = True
    body = "\n".join(kept).strip("\n")
    return Section(
        key=key,
        heading=heading,
        body=body,
        generated=generated,
        required=required,
        prompt=" ".join(prompt for prompt in prompts if prompt),
        generated_body="" if generated else body,
    )


def refresh(current: list[Section], rendered: list[Section]) -> list[Section]:
    """The document after re-rendering: generated sections and untouched written ones take
    the new text; every section someone wrote in keeps its words, even one the template no
    longer has (it stays after the nearest section before it that is still there), or one
    the template now generates (it stays written: the team's words outrank the template's)."""
    old = {section.key: section for section in current}
    result: list[Section] = []
    for new in rendered:
        kept = old.get(new.key)
        if kept is None or not kept.edited:
            result.append(new)
        elif new.generated:
            result.append(kept)
        else:
            # The template's heading, flags and prompt; the team's words. generated_body
            # becomes the new text, so a team that later reverts to it gets refreshes again.
            result.append(replace(new, body=kept.body))
    for index, section in enumerate(current):
        placed = [placed.key for placed in result]
        if section.key in placed or not section.edited:
            continue
        before = next(
            (earlier.key for earlier in reversed(current[:index]) if earlier.key in placed), None
        )
        result.insert(placed.index(before) + 1 if before else min(1, len(result)), section)
    return result


def with_body(sections: list[Section], key: str, body: str) -> list[Section]:
    """The document with one written section's text replaced. KeyError if there is no such
    section; ValueError if it is generated."""
    for index, section in enumerate(sections):
        if section.key == key:
            if section.generated:
                raise ValueError(
                    f"{section.heading or 'The header'} is generated from the incident."
                )
            changed = list(sections)
            changed[index] = replace(section, body=normalize_body(body))
            return changed
    raise KeyError(key)


def to_markdown(title: str, sections: Iterable[Section]) -> str:
    parts = [f"# {title}"]
    for section in sections:
        if section.key == HEADER_KEY:
            if section.body.strip():
                parts.append(section.body.strip("\n"))
            continue
        parts.append(f"## {section.heading}")
        if section.body.strip():
            parts.append(section.body.strip("\n"))
    return "\n\n".join(parts) + "\n"


def unfilled_required(sections: Iterable[Section]) -> list[Section]:
    return [section for section in sections if section.required and not section.filled]
