"""A postmortem as a list of sections, and the rules that keep the team's words.

A template renders Markdown. Its `# ` line is the title; what comes before the first `## ` is
the header; each `## Heading` opens a section. Three markers, each an HTML comment on a line of
its own inside a section, say how the section behaves; they are taken out of the text:

    <!-- generated -->      rendered from the incident on every refresh; not edited by hand
    <!-- required -->       must have words in it before the postmortem is published
    <!-- prompt: … -->      the question the editor shows while the section is empty

A written section remembers the text the template last gave it (`generated_body`). Refreshing
from the incident replaces it only while it is still that text: once someone has written in it,
refresh never touches it again. Sections the team kept that a new rendering lacks stay.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
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
        the incident do not count, so a required section always carries a person's words."""
        return bool(_meaningful_lines(self.body) - _meaningful_lines(self.generated_body))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def from_json(data: Iterable[dict[str, Any]]) -> list[Section]:
    return [Section(**item) for item in data]


def to_json(sections: Iterable[Section]) -> list[dict[str, Any]]:
    return [section.as_dict() for section in sections]


@dataclass(frozen=True)
class Parsed:
    title: str
    sections: list[Section]


def parse(markdown: str) -> Parsed:
    """Split a rendered template into its title and sections."""
    title = ""
    headings: list[str] = []
    bodies: list[list[str]] = [[]]
    fence: str | None = None
    for line in markdown.splitlines():
        stripped = line.strip()
        # A `## ` inside a fenced code block is code, not a heading.
        if stripped.startswith(("```", "~~~")):
            marker = stripped[:3]
            fence = None if fence == marker else (fence or marker)
        if fence is None and line.startswith("## "):
            headings.append(line[3:].strip())
            bodies.append([])
            continue
        if fence is None and not title and not headings and line.startswith("# "):
            title = line[2:].strip()
            continue
        bodies[-1].append(line)
    sections = [_section(HEADER_KEY, "", bodies[0], generated_by_default=True)]
    seen = {HEADER_KEY}
    for heading, lines in zip(headings, bodies[1:], strict=True):
        key = base = slugify(heading) or "section"
        number = 2
        while key in seen:
            key, number = f"{base}-{number}", number + 1
        seen.add(key)
        sections.append(_section(key, heading, lines))
    return Parsed(title=title, sections=sections)


def _section(
    key: str, heading: str, lines: list[str], *, generated_by_default: bool = False
) -> Section:
    generated, required, prompt = generated_by_default, False, ""
    kept = []
    for line in lines:
        match = _MARKER.match(line)
        if match is None:
            kept.append(line)
        elif match.group("prompt") is not None:
            prompt = match.group("prompt").strip()
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
        prompt=prompt,
        generated_body=body,
    )


def refresh(current: list[Section], rendered: list[Section]) -> list[Section]:
    """The document after re-rendering: generated sections and untouched written ones take
    the new text; every section someone wrote in keeps its words, even one the template no
    longer has (it stays after the section it followed)."""
    old = {section.key: section for section in current}
    result: list[Section] = []
    for new in rendered:
        kept = old.get(new.key)
        if kept is None or new.generated or not kept.edited:
            result.append(new)
        else:
            result.append(replace(new, body=kept.body))
    present = {section.key for section in result}
    for index, section in enumerate(current):
        if section.key in present or not section.edited:
            continue
        after = current[index - 1].key if index else None
        position = next(
            (i + 1 for i, placed in enumerate(result) if placed.key == after), len(result)
        )
        result.insert(position, section)
        present.add(section.key)
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
            changed[index] = replace(section, body=body.replace("\r\n", "\n").strip("\n"))
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
