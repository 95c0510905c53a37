"""Refresh from the incident: the generated parts follow the incident, every word the team
wrote stays (document.refresh, and postmortem_refresh on a real incident)."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied

from incidents.services import incident_add_note, incident_update_details
from postmortems import document
from postmortems.models import Postmortem, PostmortemStatus
from postmortems.services.postmortems import PostmortemConflict, postmortem_refresh
from tests.postmortems.document_support import body, drafted, write

TEMPLATE = """\
# Postmortem
**Status:** {status}

## Timeline
<!-- generated -->
{timeline}

## Root Cause
<!-- required -->
{root}

## Lessons
{lessons}
"""


def render(**values: str) -> list[document.Section]:
    values = {"status": "Draft", "timeline": "- 14:02 one", "root": "", "lessons": "", **values}
    return document.parse(TEMPLATE.format(**values)).sections


def by_key(sections: list[document.Section]) -> dict[str, str]:
    return {s.key: s.body for s in sections}


def test_an_edited_section_keeps_its_words_while_generated_ones_update():
    current = document.with_body(render(), "root-cause", "The pool was too small.\r\n")

    refreshed = document.refresh(current, render(timeline="- 14:02 one\n- 14:09 two"))

    assert by_key(refreshed) == {
        "header": "**Status:** Draft",
        "timeline": "- 14:02 one\n- 14:09 two",
        "root-cause": "The pool was too small.",
        "lessons": "",
    }


def test_an_untouched_written_section_takes_the_new_template_text():
    current = render(lessons="Ask the team.")

    refreshed = document.refresh(current, render(lessons="Ask the whole team."))

    assert by_key(refreshed)["lessons"] == "Ask the whole team."


def test_the_header_follows_the_incident():
    refreshed = document.refresh(render(), render(status="In review"))

    assert by_key(refreshed)["header"] == "**Status:** In review"


def test_a_written_section_the_template_no_longer_has_stays_in_place():
    current = document.with_body(render(), "root-cause", "Our words.")
    without_root = document.parse(
        "# Postmortem\n**Status:** Draft\n## Timeline\n<!-- generated -->\nnew\n## Lessons\n"
    ).sections

    refreshed = document.refresh(current, without_root)

    assert [s.key for s in refreshed] == ["header", "timeline", "root-cause", "lessons"]
    assert by_key(refreshed)["root-cause"] == "Our words."
    assert by_key(refreshed)["timeline"] == "new"


def test_a_kept_section_follows_the_nearest_earlier_section_still_there():
    current = document.parse("# T\n## A\n## B\n## C\n## D\n").sections
    current = document.with_body(current, "c", "Ours.")
    rendered = document.parse("# T\n## A\n## D\n").sections

    refreshed = document.refresh(current, rendered)

    # B was untouched and went; C stays after A, not at the end.
    assert [s.key for s in refreshed] == ["header", "a", "c", "d"]


def test_an_untouched_section_the_template_no_longer_has_goes():
    refreshed = document.refresh(render(), document.parse("# T\n## Timeline\n").sections)

    assert [s.key for s in refreshed] == ["header", "timeline"]


def test_a_written_section_the_template_now_generates_keeps_the_teams_words():
    current = document.with_body(render(), "lessons", "Test restores monthly.")
    now_generated = document.parse(
        TEMPLATE.replace("## Lessons\n", "## Lessons\n<!-- generated -->\n").format(
            status="Draft", timeline="t", root="", lessons="generated lessons"
        )
    ).sections

    refreshed = {s.key: s for s in document.refresh(current, now_generated)}

    assert refreshed["lessons"].body == "Test restores monthly."
    assert not refreshed["lessons"].generated


def test_the_templates_new_flags_and_prompt_apply_to_a_kept_section():
    current = document.with_body(render(), "lessons", "Ours.")
    rendered = document.parse(
        "# T\n## Lessons\n<!-- required -->\n<!-- prompt: What would you tell a team? -->\n"
    ).sections

    lessons = document.refresh(current, rendered)[1]

    assert (lessons.body, lessons.required, lessons.prompt) == (
        "Ours.",
        True,
        "What would you tell a team?",
    )


def test_refresh_twice_changes_nothing_the_second_time():
    current = document.with_body(render(), "root-cause", "Ours.")
    once = document.refresh(current, render(timeline="new"))

    assert document.refresh(once, render(timeline="new")) == once


@pytest.mark.django_db
def test_refresh_brings_new_timeline_entries_and_figures_and_keeps_the_team_text(
    commander, responder, clock
):
    postmortem = drafted(commander)
    incident = postmortem.incident
    team_text = "The connection pool was sized for last year's traffic.\n\n| a | b |\n|---|---|"
    write(postmortem, responder, "root-cause", team_text)
    write(postmortem, commander, "lessons-learned", "Load-test the pool before sales.")
    figures_before = body(postmortem, "key-figures")
    clock.advance(minutes=30)
    incident_add_note(incident=incident, actor=commander, text="Found the pool limit in logs")
    incident_update_details(
        incident=incident, actor=commander, started_at=incident.started_at - timedelta(minutes=7)
    )

    postmortem_refresh(postmortem=postmortem, actor=responder)

    assert "Found the pool limit in logs" in body(postmortem, "timeline")
    assert body(postmortem, "key-figures") != figures_before
    assert "Time to detect | 7 min" in body(postmortem, "key-figures")
    assert body(postmortem, "root-cause") == team_text
    assert body(postmortem, "lessons-learned") == "Load-test the pool before sales."
    latest = postmortem.revisions.first()
    assert (latest.summary, latest.author) == ("Refreshed from the incident", responder)
    assert by_key(document.from_json(latest.sections))["root-cause"] == team_text


@pytest.mark.django_db
def test_refresh_with_nothing_new_records_no_revision(commander, clock):
    postmortem = drafted(commander)
    revisions = postmortem.revisions.count()
    clock.advance(minutes=5)

    refreshed = postmortem_refresh(postmortem=postmortem, actor=commander)

    assert postmortem.revisions.count() == revisions
    assert refreshed.refreshed_at == clock.now


@pytest.mark.django_db
def test_a_published_postmortem_is_not_refreshed(commander):
    postmortem = drafted(commander)
    Postmortem.objects.filter(pk=postmortem.pk).update(status=PostmortemStatus.PUBLISHED)
    incident_add_note(incident=postmortem.incident, actor=commander, text="late note")
    before = Postmortem.objects.get(pk=postmortem.pk).sections

    with pytest.raises(PostmortemConflict):
        postmortem_refresh(postmortem=postmortem, actor=commander)

    assert Postmortem.objects.get(pk=postmortem.pk).sections == before


@pytest.mark.django_db
def test_a_viewer_may_not_refresh(commander, viewer):
    postmortem = drafted(commander)

    with pytest.raises(PermissionDenied):
        postmortem_refresh(postmortem=postmortem, actor=viewer)
