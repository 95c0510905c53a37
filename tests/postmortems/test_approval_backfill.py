"""Approvals given before approvals named their revision learn it from the revisions: the last
one saved when the reviewer decided (migration 0003)."""

import importlib

import pytest
from django.apps import apps

from postmortems.models import ReviewRequest
from postmortems.services.workflow import postmortem_request_review, postmortem_review
from tests.postmortems.workflow_support import add_action_item, draft, fill_required, write

pytestmark = pytest.mark.django_db

migration = importlib.import_module("postmortems.migrations.0003_review_approved_revision")


def test_an_approval_from_before_learns_the_revision_it_approved(commander, responder, clock):
    postmortem = fill_required(draft(commander), commander)
    add_action_item(postmortem, commander)
    postmortem = postmortem_request_review(
        postmortem=postmortem, actor=commander, reviewers=[responder]
    )
    clock.advance(minutes=5)
    postmortem_review(postmortem=postmortem, actor=responder, approve=True)
    approved_at = postmortem.revision
    clock.advance(minutes=5)
    write(postmortem, commander, "root-cause", "Written after the approval.")
    ReviewRequest.objects.update(approved_revision=None)  # as the rows were before 0003

    migration.backfill(apps, None)

    assert ReviewRequest.objects.get().approved_revision == approved_at
