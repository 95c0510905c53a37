"""How drafts come about when things go wrong: resolving queues a draft only where one is
required; the tick drafts what a lost task missed, including after a second resolve; one
incident that cannot be drafted neither stops the others nor is tried every five seconds; and
whatever one of the tick's steps raises, reminders and emails still go out."""

import json
import logging
from datetime import date, datetime

import pytest
import redis
from django.conf import settings

from incidents.models import Incident
from incidents.services import incident_reopen, incident_resolve
from postmortems import tasks
from postmortems.models import OutgoingEmail, Postmortem
from postmortems.rendering import MAX_OUTPUT
from postmortems.services import emails
from postmortems.services.action_items import action_item_create
from postmortems.services.postmortems import (
    CATCH_UP_RETRY_AFTER,
    CATCH_UP_WINDOW_DAYS,
    drafts_catch_up,
)
from tests.factories import UserFactory, declare, severity

pytestmark = pytest.mark.django_db

DRAFT_TASK = "postmortems.tasks.draft_postmortem"
FAILED = "postmortem draft of incident"


def queued(task: str) -> list[dict]:
    """The messages for `task` waiting on the broker (Redis: a list per queue)."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    found = []
    for key in client.scan_iter("celery*"):
        if client.type(key) != b"list":
            continue
        for raw in client.lrange(key, 0, -1):
            message = json.loads(raw)
            if message["headers"]["task"] == task:
                found.append(message)
    return found


def resolved(commander, name: str = "SEV1", **kwargs) -> Incident:
    incident = declare(commander, severity=severity(name), **kwargs)
    return incident_resolve(incident=incident, actor=commander, resolution="Fixed.")


def cannot_be_rendered(incident: Incident) -> Incident:
    """A summary past what any template may write (the Django admin sets no length limit)."""
    Incident.objects.filter(pk=incident.pk).update(summary="x" * (MAX_OUTPUT + 1))
    return incident


def has_postmortem(incident: Incident) -> bool:
    return Postmortem.objects.filter(incident=incident).exists()


def failures(caplog, incident: Incident) -> int:
    return sum(1 for r in caplog.records if r.getMessage().startswith(f"{FAILED} {incident.pk} "))


def test_resolving_a_sev3_queues_nothing_and_a_sev1_queues_its_draft(
    commander, django_capture_on_commit_callbacks
):
    sev3 = declare(commander, severity=severity("SEV3"))
    sev1 = declare(commander, severity=severity("SEV1"))

    with django_capture_on_commit_callbacks(execute=True):
        incident_resolve(incident=sev3, actor=commander, resolution="Fixed.")
    assert queued(DRAFT_TASK) == []

    with django_capture_on_commit_callbacks(execute=True):
        incident_resolve(incident=sev1, actor=commander, resolution="Fixed.")
    (message,) = queued(DRAFT_TASK)
    assert message["headers"]["argsrepr"] == f"({sev1.pk},)"


def test_the_tick_drafts_what_a_lost_task_missed_after_giving_it_half_a_minute(clock, commander):
    incident = resolved(commander)  # its task is never run: lost

    assert drafts_catch_up() == []
    clock.advance(seconds=31)
    assert drafts_catch_up() == [incident.pk]

    assert has_postmortem(incident)
    assert drafts_catch_up() == []


def test_an_incident_resolved_again_after_the_window_is_drafted(clock, commander):
    incident = resolved(commander)
    clock.advance(hours=24 * (CATCH_UP_WINDOW_DAYS + 1))
    incident_reopen(incident=incident, actor=commander, reason="It came back.")
    incident_resolve(incident=incident, actor=commander, resolution="Fixed again.")
    clock.advance(seconds=31)

    assert drafts_catch_up() == [incident.pk]
    assert has_postmortem(incident)


def test_nothing_resolved_before_the_window_is_drafted(clock, commander):
    resolved(commander)
    clock.advance(hours=24 * CATCH_UP_WINDOW_DAYS, seconds=1)

    assert drafts_catch_up() == []


def test_one_draft_that_fails_is_logged_and_the_others_are_drafted(clock, commander, caplog):
    broken = cannot_be_rendered(resolved(commander, title="Broken"))
    clock.advance(seconds=1)
    fine = resolved(commander, title="Fine")
    clock.advance(seconds=31)

    assert drafts_catch_up() == [fine.pk]

    assert has_postmortem(fine)
    assert not has_postmortem(broken)
    assert failures(caplog, broken) == 1
    record = next(r for r in caplog.records if r.getMessage().startswith(FAILED))
    assert record.levelno == logging.ERROR
    assert "wrote more than 2,000,000 characters" in str(record.exc_info[1])


def test_a_draft_that_failed_is_tried_again_after_an_hour_not_every_tick(clock, commander, caplog):
    broken = cannot_be_rendered(resolved(commander))
    clock.advance(seconds=31)
    drafts_catch_up()

    for _ in range(3):
        clock.advance(seconds=5)
        drafts_catch_up()
    assert failures(caplog, broken) == 1

    clock.advance(hours=CATCH_UP_RETRY_AFTER.total_seconds() / 3600)
    drafts_catch_up()
    assert failures(caplog, broken) == 2

    Incident.objects.filter(pk=broken.pk).update(summary="Fixed by an admin.")
    clock.advance(hours=CATCH_UP_RETRY_AFTER.total_seconds() / 3600, seconds=1)
    assert drafts_catch_up() == [broken.pk]


def due_work(clock, commander) -> tuple[OutgoingEmail, object]:
    """An email due now and an action item whose reminder is due: what the tick's other two
    steps have to do."""
    owner = UserFactory(username="olga", first_name="Olga", last_name="Owner")
    item = action_item_create(
        incident=declare(commander),
        actor=commander,
        title="Add an alert on queue depth",
        owner=owner,
        due_date=date(2026, 3, 5),
    )
    clock.now = datetime(2026, 3, 4, 12, 0, tzinfo=clock.now.tzinfo)
    email = emails.email_queue(key="test:1", to="rosa@example.com", subject="Hi", text="Hi.\n")
    assert email is not None
    return email, item


def reminded(item) -> bool:
    return OutgoingEmail.objects.filter(key__startswith=f"reminder:{item.pk}:").exists()


def test_a_draft_that_fails_does_not_stop_the_ticks_reminders_and_emails(
    clock, commander, caplog, django_capture_on_commit_callbacks
):
    broken = cannot_be_rendered(resolved(commander))
    email, item = due_work(clock, commander)

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.tick() == []

    assert failures(caplog, broken) == 1
    assert reminded(item)
    assert OutgoingEmail.objects.get(pk=email.pk).claimed_at == clock.now


def test_a_step_that_raises_does_not_stop_the_steps_after_it(
    clock, commander, caplog, redis_refused, django_capture_on_commit_callbacks
):
    """The cache (where drafts_catch_up remembers failures) refuses every call."""
    resolved(commander)
    email, item = due_work(clock, commander)

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.tick() == ["drafts_catch_up"]

    assert "postmortems tick: drafts_catch_up failed" in caplog.text
    assert reminded(item)
    assert OutgoingEmail.objects.get(pk=email.pk).claimed_at == clock.now
