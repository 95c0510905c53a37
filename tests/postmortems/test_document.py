"""Splitting a rendered template into sections, and the section rules (postmortems/document.py)."""

from postmortems import document
from postmortems.default_template import BODY
from postmortems.document import HEADER_KEY, Section


def keys(markdown: str) -> list[str]:
    return [section.key for section in document.parse(markdown).sections]


def section(markdown: str, key: str) -> Section:
    return next(s for s in document.parse(markdown).sections if s.key == key)


def test_title_header_and_sections_are_split_at_level_two_headings():
    parsed = document.parse(
        "# Postmortem: INC-7\n**Date:** 2026-03-01\n\n## Summary\nWords.\n\n### Detail\nMore.\n"
    )

    assert parsed.title == "Postmortem: INC-7"
    assert [(s.key, s.heading) for s in parsed.sections] == [
        (HEADER_KEY, ""),
        ("summary", "Summary"),
    ]
    assert parsed.sections[0].body == "**Date:** 2026-03-01"
    assert parsed.sections[1].body == "Words.\n\n### Detail\nMore."


def test_the_header_is_generated_and_written_sections_are_not():
    parsed = document.parse("# T\nhead\n## Words\ntext\n")

    assert parsed.sections[0].generated
    assert not parsed.sections[1].generated


def test_markers_set_the_flags_and_leave_the_text():
    markdown = (
        "# T\n## Root Cause\n<!-- required -->\n<!-- prompt: What allowed it? -->\ntext\n"
        "## Timeline\n  <!-- generated -->\n| a |\n"
    )

    root, timeline = document.parse(markdown).sections[1:]

    assert (root.required, root.generated, root.prompt, root.body) == (
        True,
        False,
        "What allowed it?",
        "text",
    )
    assert (timeline.generated, timeline.body) == (True, "| a |")


def test_a_section_with_subsections_asks_each_question_in_order():
    markdown = (
        "# T\n## Root Cause\n<!-- prompt: What allowed it? -->\n\n### Contributing Factors\n"
        "<!-- prompt: What made it worse? -->\n"
    )

    assert section(markdown, "root-cause").prompt == "What allowed it? What made it worse?"


def test_a_heading_inside_a_fenced_code_block_is_code():
    markdown = "# T\n## Logs\n```\n## not a heading\n# nor a title\n```\nafter\n## Next\n"

    assert keys(markdown) == [HEADER_KEY, "logs", "next"]
    assert section(markdown, "logs").body == "```\n## not a heading\n# nor a title\n```\nafter"


def test_a_fence_closes_only_on_its_own_character_and_length():
    markdown = (
        "# T\n## Logs\n````\n```\n## still code\n```\n## still code too\n````\n## Next\n"
        "~~~\n```\n## code in tildes\n~~~\n"
    )

    assert keys(markdown) == [HEADER_KEY, "logs", "next"]
    assert "## still code too" in section(markdown, "logs").body
    assert "## code in tildes" in section(markdown, "next").body


def test_a_marker_inside_code_is_text_not_a_marker():
    markdown = "# T\n## How to mark\n```\n<!-- generated -->\n```\n"

    how = section(markdown, "how-to-mark")

    assert not how.generated
    assert "<!-- generated -->" in how.body


def test_crlf_templates_parse_like_lf_ones():
    lf = "# T\r\n## Root Cause\r\n<!-- required -->\r\nline one\r\nline two\r\n"

    parsed = document.parse(lf)

    assert parsed.title == "T"
    assert parsed.sections[1].required
    assert parsed.sections[1].body == "line one\nline two"


def test_headings_as_commonmark_reads_them():
    markdown = "# T #\n## Closed heading ##\nx\n ## Indented\ny\n##NotAHeading\n### Third\n"

    parsed = document.parse(markdown)

    assert parsed.title == "T"
    assert [s.heading for s in parsed.sections[1:]] == ["Closed heading", "Indented"]
    assert parsed.sections[2].body == "y\n##NotAHeading\n### Third"


def test_headings_that_slugify_alike_get_their_own_keys():
    markdown = "# T\n## Notes\na\n## notes\nb\n## Header\nc\n## ***\nd\n## ???\ne\n"

    assert keys(markdown) == [HEADER_KEY, "notes", "notes-2", "header-2", "section", "section-2"]


def test_the_default_template_has_every_playbook_section():
    headings = [s.heading for s in document.parse(BODY).sections[1:]]

    assert headings == [
        "Executive Summary",
        "Key Figures",
        "Impact",
        "Timeline",
        "Root Cause",
        "Detection",
        "Response",
        "Action Items",
        "Lessons Learned",
        "Supporting Information",
    ]


def test_json_round_trip_ignores_fields_it_does_not_know():
    sections = document.parse("# T\n## A\n<!-- required -->\ntext\n").sections
    stored = document.to_json(sections)
    stored[1]["written_by_a_newer_version"] = True

    assert document.from_json(stored) == sections


def test_with_body_replaces_one_written_section_with_lf_line_ends():
    sections = document.parse("# T\n## A\nold\n## B\nkeep\n").sections

    changed = document.with_body(sections, "a", "\r\nnew\r\nlines\rhere\n\n")

    assert [s.body for s in changed] == ["", "new\nlines\nhere", "keep"]
    assert changed[1].generated_body == "old"


def test_with_body_refuses_generated_sections_and_unknown_keys():
    sections = document.parse("# T\n## Figures\n<!-- generated -->\n1\n").sections

    for key, error in (("figures", ValueError), ("nope", KeyError)):
        try:
            document.with_body(sections, key, "x")
        except error:
            continue
        raise AssertionError(f"{key}: no {error.__name__}")


def test_to_markdown_puts_the_title_header_and_sections_back_together():
    sections = document.parse("# T\nhead\n## A\n\n## B\ntext\n").sections

    assert document.to_markdown("New title", sections) == (
        "# New title\n\nhead\n\n## A\n\n## B\n\ntext\n"
    )


def test_a_required_section_counts_as_filled_only_with_a_persons_words():
    template = "# T\n## Impact\n<!-- required -->\n- **Duration:** 7 min\n- **Users affected:**\n"
    impact = section(template, "impact")

    labels_only = document.with_body([impact], "impact", "- **Users affected:**\n### Notes")[0]
    written = document.with_body(
        [impact], "impact", "- **Duration:** 7 min\n- **Users affected:** 1,200 in the EU"
    )[0]

    assert document.unfilled_required([impact]) == [impact]
    assert not labels_only.filled
    assert written.filled
    assert document.unfilled_required([written]) == []


def test_a_generated_section_keeps_no_copy_of_its_text_and_a_written_one_does():
    header, figures, impact = document.parse(
        "# T\nhead\n## Figures\n<!-- generated -->\n| 7 min |\n## Impact\n- **Duration:** 7 min\n"
    ).sections

    assert [(s.body, s.generated_body) for s in (header, figures)] == [
        ("head", ""),
        ("| 7 min |", ""),
    ]
    assert impact.generated_body == "- **Duration:** 7 min"
    assert not figures.edited
    assert not impact.edited


def test_a_revision_keeps_the_written_sections_only_and_reads_back_as_their_markdown():
    sections = document.parse(
        "# T\nhead\n## Figures\n<!-- generated -->\n| 7 min |\n"
        "## Root Cause\n<!-- required -->\n<!-- prompt: Why? -->\nThe pool.\n## Lessons\n"
    ).sections

    kept = document.revision_json(sections)

    assert kept == [
        {"key": "root-cause", "heading": "Root Cause", "body": "The pool."},
        {"key": "lessons", "heading": "Lessons", "body": ""},
    ]
    assert document.to_markdown("T", document.from_json(kept)) == (
        "# T\n\n## Root Cause\n\nThe pool.\n\n## Lessons\n"
    )
