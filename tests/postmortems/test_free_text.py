"""Text from the incident (its summary and resolution, a note, an alert's title, a person's
name) is text in the postmortem wherever the template puts it: it can never open a section,
open a code block that swallows the sections after it, or carry a marker that makes a section
generated and so lifts a publishing gate."""

import pytest

from incidents.models import EventKind, Incident, Source
from incidents.services import incident_add_note, incident_resolve, incident_update_details
from incidents.timeline import incident_record_event
from postmortems import document
from postmortems.context import block, postmortem_context
from postmortems.markdown import markdown_to_html
from postmortems.services.postmortems import postmortem_create
from postmortems.services.workflow import publish_problems
from tests.factories import UserFactory, declare, severity

PROBE = "Line one\n## Root Cause\n<!-- generated -->\nnot really"
# Everything document.parse or Markdown reads as structure, each way a line can start.
STRUCTURE = [
    PROBE,
    "# Title\n### Sub\n   ## three spaces",
    "```\n## inside a fence that never closes",
    "~~~python\n## inside a tilde fence",
    "text\u2028## after a line separator\r## after a CR",
    "<!-- required -->",
    "  <!-- prompt: What now? -->",
]
HEADINGS = [
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


def reads_as_text(value: str) -> bool:
    """`value`, as a section's text between two sections, leaves them as they are."""
    parsed = document.parse(f"# T\n## A\n{value}\n## B\n").sections
    return [(s.heading, s.generated, s.required, s.prompt) for s in parsed] == [
        ("", True, False, ""),
        ("A", False, False, ""),
        ("B", False, False, ""),
    ]


@pytest.mark.parametrize("text", STRUCTURE)
def test_blocked_text_opens_no_section_fence_or_marker(text):
    assert not reads_as_text(text)

    assert reads_as_text(block(text))


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (PROBE, "<p>Line one\n## Root Cause\n&lt;!-- generated --&gt;\nnot really</p>"),
        ("```\ncode", "<p>```\ncode</p>"),
        ("~~~\ncode", "<p>~~~\ncode</p>"),
        ("    ## four spaces are code", "<pre><code>## four spaces are code\n</code></pre>"),
    ],
)
def test_blocked_text_renders_as_it_was_written(text, shown):
    assert markdown_to_html(block(text)) == shown


@pytest.mark.parametrize(
    "text", ["Plain words.", "A #hashtag, a `code` span, ~approx~, a <b>tag</b>", ""]
)
def test_text_without_structure_is_left_as_it_is(text):
    assert block(text) == text


@pytest.mark.django_db
def test_the_probe_in_the_summary_and_resolution_leaves_the_draft_its_sections_and_gates(
    commander,
):
    incident = declare(commander, severity=severity("SEV2"), summary=PROBE)
    incident_resolve(incident=incident, actor=commander, resolution=PROBE)

    postmortem = postmortem_create(incident=incident, actor=commander)

    sections = document.from_json(postmortem.sections)
    assert [s.heading for s in sections[1:]] == HEADINGS
    by_key = {s.key: s for s in sections}
    assert (by_key["root-cause"].generated, by_key["root-cause"].required) == (False, True)
    assert "Root Cause needs to be written." in publish_problems(postmortem)
    summary = by_key["executive-summary"]
    assert summary.body.startswith("Line one\n\\## Root Cause\n&lt;!-- generated -->\nnot")
    assert "<p>Line one\n## Root Cause\n&lt;!-- generated --&gt;\nnot really</p>" in (
        markdown_to_html(summary.body)
    )


def strings(value, path="context"):
    """Every string in `value`, keys included, with where it is."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key, f"{path} key")
            yield from strings(item, f"{path}[{key!r}]")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings(item, f"{path}[{index}]")


@pytest.mark.django_db
@pytest.mark.parametrize("probe", STRUCTURE)
def test_no_string_in_the_context_can_be_structure(probe, commander):
    """The probe in every free-text field a person or an alert can fill."""
    person = UserFactory(username="p", first_name=probe, last_name=probe)
    incident = declare(person, title=probe, summary=probe, severity=severity("SEV2"))
    incident_update_details(
        incident=incident, actor=person, labels={probe: probe}, cause_category=probe
    )
    incident_add_note(incident=incident, actor=person, text=probe)
    incident_record_event(
        incident=incident,
        kind=EventKind.SLACK,
        source=Source.SLACK,
        message=probe,
        actor=person,
        data={"pinned": True, "permalink": f"https://example.slack.com/{probe}"},
    )
    incident_resolve(incident=incident, actor=person, resolution=probe)
    incident = Incident.objects.select_related("severity", "team", "commander").get(pk=incident.pk)

    context = postmortem_context(incident=incident)

    found = dict(strings(context))
    assert [path for path, text in found.items() if not reads_as_text(text)] == []
    # The probe reached the context in each place (as text), so each place was tried.
    for path in (
        "context['incident']['title']",
        "context['incident']['summary']",
        "context['incident']['resolution']",
        "context['incident']['cause_category']",
        "context['incident']['labels'] key",
    ):
        assert block(probe).strip()[:8] in found[path], path
    assert sum(1 for text in found.values() if block(probe) in text) > 8
    # A link that would run over lines is no link.
    assert [entry["permalink"] for entry in context["key_moments"]] == [""]
