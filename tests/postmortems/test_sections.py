"""Saving a section (postmortem_save_section): a revision per save, and a save over someone
else's newer words refused instead of silently undoing them."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from postmortems.models import Postmortem, PostmortemStatus
from postmortems.services.postmortems import (
    SECTION_MAX_CHARS,
    PostmortemConflict,
    StaleSection,
    postmortem_save_section,
)
from tests.postmortems.document_support import body, drafted, write

pytestmark = pytest.mark.django_db


def save(postmortem: Postmortem, actor, key: str, text: str, base: int) -> Postmortem:
    return postmortem_save_section(
        postmortem=postmortem, actor=actor, key=key, body=text, base_revision=base
    )


def test_a_save_replaces_the_section_and_records_a_revision(commander, clock):
    postmortem = drafted(commander)

    saved = save(postmortem, commander, "root-cause", "A pool too small.\r\nFor peak.", 0)

    assert body(postmortem, "root-cause") == "A pool too small.\nFor peak."
    assert saved.revision == 1
    revision = postmortem.revisions.get(number=1)
    assert (revision.author, revision.summary, revision.created_at) == (
        commander,
        "Edited Root Cause",
        clock.now,
    )


def test_saving_the_same_text_records_nothing(commander):
    postmortem = drafted(commander)
    write(postmortem, commander, "root-cause", "Same.")

    write(postmortem, commander, "root-cause", "Same.\n")

    assert postmortem.revisions.count() == 2  # the draft and the one edit


def test_two_people_editing_different_sections_both_land(commander, responder):
    postmortem = drafted(commander)

    save(postmortem, commander, "root-cause", "Cole's words.", 0)
    save(postmortem, responder, "lessons-learned", "Rosa's words.", 0)

    assert body(postmortem, "root-cause") == "Cole's words."
    assert body(postmortem, "lessons-learned") == "Rosa's words."


def test_a_save_over_a_section_changed_since_the_editor_opened_is_refused(commander, responder):
    postmortem = drafted(commander)
    save(postmortem, commander, "lessons-learned", "Unrelated.", 0)
    save(postmortem, commander, "root-cause", "Cole's words.", 1)

    with pytest.raises(StaleSection) as refused:
        save(postmortem, responder, "root-cause", "Rosa's words.", 1)

    assert body(postmortem, "root-cause") == "Cole's words."
    assert "changed by Cole Commander" in str(refused.value)
    assert refused.value.revision == 2
    assert refused.value.changed_by.number == 2
    assert refused.value.section.body == "Cole's words."


def test_saving_again_from_the_revision_the_refusal_names_replaces_their_words(
    commander, responder
):
    postmortem = drafted(commander)
    save(postmortem, commander, "root-cause", "Cole's words.", 0)
    with pytest.raises(StaleSection) as refused:
        save(postmortem, responder, "root-cause", "Rosa's words.", 0)

    save(postmortem, responder, "root-cause", "Rosa's words.", refused.value.revision)

    assert body(postmortem, "root-cause") == "Rosa's words."


def test_a_revision_from_the_future_is_refused(commander):
    postmortem = drafted(commander)

    with pytest.raises(ValidationError) as refused:
        save(postmortem, commander, "root-cause", "x", 99)

    assert "revision" in refused.value.message_dict


def test_generated_and_unknown_sections_are_refused(commander):
    postmortem = drafted(commander)

    for key in ("timeline", "header", "no-such-section"):
        with pytest.raises(ValidationError) as refused:
            save(postmortem, commander, key, "x", 0)
        assert "key" in refused.value.message_dict
    assert postmortem.revisions.count() == 1


def test_a_section_too_long_is_refused(commander):
    postmortem = drafted(commander)

    with pytest.raises(ValidationError) as refused:
        save(postmortem, commander, "root-cause", "x" * (SECTION_MAX_CHARS + 1), 0)

    assert "body" in refused.value.message_dict
    assert postmortem.revisions.count() == 1


def test_a_published_postmortem_is_read_only(commander):
    postmortem = drafted(commander)
    Postmortem.objects.filter(pk=postmortem.pk).update(status=PostmortemStatus.PUBLISHED)

    with pytest.raises(PostmortemConflict, match="read-only"):
        save(postmortem, commander, "root-cause", "Late words.", 0)

    assert body(postmortem, "root-cause") == "### Contributing Factors"
    assert postmortem.revisions.count() == 1


def test_a_viewer_may_not_edit(commander, viewer):
    postmortem = drafted(commander)

    with pytest.raises(PermissionDenied):
        save(postmortem, viewer, "root-cause", "x", 0)
