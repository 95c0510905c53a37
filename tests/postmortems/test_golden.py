"""The postmortem drafted for a fixed incident is, byte for byte, the Markdown in
golden/postmortem.md: every section of the playbook there, filled from the incident.

After a deliberate change to the default template or the context, run with
TOCSIN_UPDATE_GOLDEN=1 to rewrite the file (the run still fails), read its diff, and commit it.
"""

import difflib
import os
from pathlib import Path

import pytest

from postmortems.services.postmortems import postmortem_create, postmortem_markdown
from tests.postmortems.golden_incident import build

GOLDEN = Path(__file__).parent / "golden" / "postmortem.md"
SECTIONS = (
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
)


@pytest.fixture
def drafted(db, clock, settings, commander, responder):
    settings.BASE_URL = "https://tocsin.example.com"
    golden = build(clock, commander=commander, technical_lead=responder)
    return postmortem_create(incident=golden.incident, actor=commander)


def test_the_draft_of_the_fixed_incident_is_the_golden_file(drafted):
    markdown = postmortem_markdown(drafted)

    if os.environ.get("TOCSIN_UPDATE_GOLDEN"):
        GOLDEN.write_text(markdown, encoding="utf-8")
        pytest.fail(f"Rewrote {GOLDEN}; read its diff and commit it.")
    expected = GOLDEN.read_text(encoding="utf-8")
    if markdown != expected:
        diff = difflib.unified_diff(
            expected.splitlines(keepends=True),
            markdown.splitlines(keepends=True),
            fromfile=str(GOLDEN),
            tofile="drafted",
        )
        pytest.fail("The draft differs from the golden file:\n" + "".join(diff), pytrace=False)


def test_the_draft_has_every_section_of_the_playbook_in_order(drafted):
    markdown = postmortem_markdown(drafted)

    headings = [line[3:] for line in markdown.splitlines() if line.startswith("## ")]
    assert headings == list(SECTIONS)
    for subheading in (
        "### Key moments",
        "### Full timeline",
        "### Contributing Factors",
        "### What went well",
        "### What didn't go well",
        "### Where we got lucky",
    ):
        assert f"\n{subheading}\n" in markdown


def test_the_draft_used_the_default_template_without_falling_back(drafted):
    assert drafted.revisions.get().summary == "Drafted from the incident"
