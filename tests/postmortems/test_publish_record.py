"""Publishing renders the generated parts once more, so the published record says it is
published and lists the action items it has, while every word the team wrote stays."""

import pytest

from postmortems import document
from postmortems.models import Postmortem, PostmortemRevision
from postmortems.services.action_items import action_item_create
from postmortems.services.workflow import postmortem_publish
from tests.postmortems.workflow_support import approved, draft

pytestmark = pytest.mark.django_db


def section_body(postmortem: Postmortem, key: str) -> str:
    postmortem.refresh_from_db()
    return next(s.body for s in document.from_json(postmortem.sections) if s.key == key)


def test_the_published_record_says_published(commander, responder):
    postmortem = approved(draft(commander), commander, responder)
    assert "- **Status:** Draft" in section_body(postmortem, document.HEADER_KEY)

    postmortem_publish(postmortem=postmortem, actor=commander)

    assert "- **Status:** Published" in section_body(postmortem, document.HEADER_KEY)


def test_the_published_record_lists_the_action_items_added_since_the_draft(commander, responder):
    postmortem = approved(draft(commander), commander, responder)
    action_item_create(incident=postmortem.incident, actor=commander, title="Cap the pool size")
    assert "Cap the pool size" not in section_body(postmortem, "action-items")

    postmortem_publish(postmortem=postmortem, actor=commander)

    items = section_body(postmortem, "action-items")
    assert "Alert on error rate" in items
    assert "Cap the pool size" in items


def test_publishing_keeps_the_teams_words_and_records_one_revision(commander, responder):
    postmortem = approved(draft(commander), commander, responder)
    written = {s.key: s.body for s in document.from_json(postmortem.sections) if s.edited}
    revisions = PostmortemRevision.objects.filter(postmortem=postmortem).count()

    postmortem_publish(postmortem=postmortem, actor=commander)

    postmortem.refresh_from_db()
    after = {s.key: s.body for s in document.from_json(postmortem.sections)}
    assert written
    assert {key: after[key] for key in written} == written
    latest = PostmortemRevision.objects.filter(postmortem=postmortem).first()
    assert latest is not None
    assert (latest.number, latest.summary) == (revisions, "Published")
    # A revision keeps the written sections (document.revision_json).
    assert latest.sections == document.revision_json(document.from_json(postmortem.sections))
