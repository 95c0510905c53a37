"""Drafting a postmortem proposes its review meeting and invites everyone who took part by
email, with an iCalendar invitation; moving it sends an update of the same event, cancelling
it a cancellation.

The invitations go through the outbox's real task (run eagerly) and Django's SMTP mailer to a
real SMTP server on loopback; each is read back with icalendar, as a calendar app would.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from icalendar import Calendar, Event

from accounts.models import User
from incidents.models import ChecklistItem, EventKind, Incident, RoleKind, TimelineEvent
from incidents.services import incident_add_responders, incident_assign_role, incident_resolve
from postmortems import tasks
from postmortems.models import OutgoingEmail, Postmortem, ReviewMeeting
from postmortems.services import meetings
from postmortems.services.postmortems import postmortem_create
from tests.chatops.outbox_helpers import eager  # noqa: F401
from tests.factories import UserFactory, declare, severity

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager")]

COLE, ROSA, ALICE, BOB = (
    "cole@example.com",
    "rosa@example.com",
    "alice@example.com",
    "bob@example.com",
)
EVERYONE = {COLE, ROSA, ALICE, BOB}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def run(django_capture_on_commit_callbacks) -> Callable[..., Any]:
    def run(work: Callable[[], Any]) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return work()

    return run


@pytest.fixture
def tick(run) -> Callable[[], None]:
    return lambda: run(tasks.tick)


@pytest.fixture
def incident(clock, settings, commander, responder, alice, bob) -> Incident:
    """A SEV1 resolved on Sunday 1 March 2026 at 09:00 UTC (the clock's T0): Cole commanded,
    Rosa was technical lead, Alice and Bob were brought in; so were a colleague without an
    email address and Alice's second account, with her address in capitals."""
    settings.ORGANISATION_TIME_ZONE = "UTC"
    settings.BASE_URL = "https://tocsin.example"
    settings.DEFAULT_FROM_EMAIL = "Tocsin <tocsin@tocsin.example>"
    incident = declare(commander, severity=severity("SEV1"), commander=commander)
    incident_assign_role(
        incident=incident, actor=commander, role=RoleKind.TECHNICAL_LEAD, user=responder
    )
    no_email = UserFactory(username="nomail", email="")
    # Named so it sorts before Alice: which account speaks for a shared address must not
    # hang on names (a random name once decided it, and so the zone her invitation showed).
    alice_again = UserFactory(
        username="alice2", first_name="Al", last_name="Adams", email="ALICE@example.com"
    )
    incident_add_responders(incident=incident, users=[alice, bob, no_email, alice_again])
    incident_resolve(incident=incident, actor=commander, resolution="Rolled back the deploy.")
    return incident


@pytest.fixture
def meeting(incident) -> ReviewMeeting:
    """Drafted as the worker does on the task resolving queued."""
    assert tasks.draft_postmortem(incident.pk)
    return ReviewMeeting.objects.get(postmortem__incident=incident)


def calendar_part(message: EmailMessage) -> EmailMessage:
    [part] = [
        part
        for part in message.walk()
        if part.get_content_type() == "text/calendar" and not part.is_attachment()
    ]
    return part


def invitations(stub, address: str) -> list[tuple[str, Calendar, Event]]:
    """What `address` received, in order: (the part's method, the calendar, its event)."""
    received = []
    for message in stub.messages_to(address):
        part = calendar_part(message)
        calendar = Calendar.from_ical(part.get_content())
        [event] = calendar.events
        received.append((part.get_param("method"), calendar, event))
    return received


def attendees(event: Event) -> set[str]:
    return {str(address).removeprefix("mailto:") for address in event.attendees}


def text_body(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def test_drafting_the_postmortem_proposes_an_hour_on_the_third_business_day(meeting):
    # Resolved on a Sunday: Monday, Tuesday, Wednesday at 14:00.
    assert meeting.starts_at == utc(2026, 3, 4, 14, 0)
    assert meeting.duration == timedelta(minutes=60)
    assert (meeting.sequence, meeting.cancelled) == (0, False)
    assert meeting.uid.endswith("@tocsin.example")


def test_everyone_who_took_part_is_invited_once_with_a_calendar_request(
    meeting, incident, smtp_stub, tick
):
    tick()
    tick()

    assert {rcpt for mail in smtp_stub.messages for rcpt in mail.rcpt_tos} == EVERYONE
    for address in EVERYONE:
        [(method, calendar, event)] = invitations(smtp_stub, address)
        assert method == "REQUEST"
        assert calendar["METHOD"] == "REQUEST"
        assert event["UID"] == meeting.uid
        assert event["SEQUENCE"] == 0
        assert event.start == utc(2026, 3, 4, 14, 0)
        assert event.end == utc(2026, 3, 4, 15, 0)
        assert attendees(event) == EVERYONE
        assert str(event["ORGANIZER"]) == "mailto:tocsin@tocsin.example"
        assert event["SUMMARY"] == f"Postmortem review: INC-{incident.number} Checkout is failing"
    assert OutgoingEmail.objects.filter(key__startswith=f"invite:{meeting.pk}:0:").count() == 4


def test_the_invitation_carries_the_playbooks_agenda_and_the_postmortems_link(
    meeting, incident, smtp_stub, tick
):
    tick()

    [(_method, _calendar, event)] = invitations(smtp_stub, COLE)
    description = str(event["DESCRIPTION"])
    link = f"https://tocsin.example/incidents/{incident.number}/postmortem/"
    for line in (
        "Agenda (60 min):",
        "1. Timeline review (10 min)",
        "2. Root cause analysis (20 min)",
        "3. Impact assessment (10 min)",
        "4. Action items (15 min)",
        "5. Process improvements (5 min)",
        f"The postmortem: {link}",
    ):
        assert line in description
    assert str(event["URL"]) == link
    [message] = smtp_stub.messages_to(COLE)
    assert message["Subject"] == f"Postmortem review: INC-{incident.number} Checkout is failing"
    assert f'href="{link}"' in message.get_body(("html",)).get_content()


def test_the_email_gives_the_time_in_the_recipients_zone_and_in_utc(
    incident, alice, smtp_stub, tick
):
    alice.timezone = "Europe/Berlin"
    alice.save(update_fields=["timezone"])
    tasks.draft_postmortem(incident.pk)

    tick()

    [message] = smtp_stub.messages_to(ALICE)
    text = text_body(message)
    assert "Wednesday 4 March 2026, 15:00 to 16:00 (Europe/Berlin)" in text
    assert "2026-03-04 14:00 UTC" in text
    [to_bob] = smtp_stub.messages_to(BOB)
    assert "Wednesday 4 March 2026, 14:00 to 15:00 (UTC)" in text_body(to_bob)


def test_a_shared_address_gets_the_zone_the_account_that_names_one_has(incident, smtp_stub, tick):
    # The account with the zone is the newer one, and sorts after Alice's by name.
    alice2 = User.objects.get(username="alice2")
    alice2.first_name, alice2.timezone = "Zoe", "Asia/Tokyo"
    alice2.save(update_fields=["first_name", "timezone"])
    tasks.draft_postmortem(incident.pk)

    tick()

    [message] = smtp_stub.messages_to(ALICE)
    assert "Wednesday 4 March 2026, 23:00 to 00:00 (Asia/Tokyo)" in text_body(message)


def test_moving_the_meeting_sends_each_attendee_an_update_of_the_same_event(
    meeting, commander, smtp_stub, clock, tick
):
    tick()
    clock.advance(hours=1)

    moved = meetings.meeting_move(
        meeting=meeting, starts_at=utc(2026, 3, 5, 10, 0), actor=commander
    )
    tick()
    tick()

    assert moved.sequence == 1
    for address in EVERYONE:
        first, update = invitations(smtp_stub, address)
        assert first[2]["SEQUENCE"] == 0
        method, calendar, event = update
        assert (method, calendar["METHOD"]) == ("REQUEST", "REQUEST")
        assert event["UID"] == meeting.uid
        assert event["SEQUENCE"] == 1
        assert event.start == utc(2026, 3, 5, 10, 0)
        assert attendees(event) == EVERYONE
        assert smtp_stub.messages_to(address)[1]["Subject"].startswith("Moved: Postmortem review")


def test_a_move_before_the_invitations_went_out_sends_only_the_update(
    meeting, commander, smtp_stub, tick
):
    meetings.meeting_move(meeting=meeting, starts_at=utc(2026, 3, 5, 10, 0), actor=commander)

    tick()

    for address in EVERYONE:
        [(_method, _calendar, event)] = invitations(smtp_stub, address)
        assert (event["SEQUENCE"], event.start) == (1, utc(2026, 3, 5, 10, 0))


def test_moving_it_to_the_time_it_has_sends_nothing(meeting, commander, smtp_stub, tick):
    tick()

    same = meetings.meeting_move(meeting=meeting, starts_at=meeting.starts_at, actor=commander)
    tick()

    assert same.sequence == 0
    assert len(smtp_stub.messages) == 4


def test_cancelling_tells_every_calendar_to_drop_the_event(
    meeting, commander, smtp_stub, clock, tick
):
    tick()

    cancelled = meetings.meeting_cancel(meeting=meeting, actor=commander)
    meetings.meeting_cancel(meeting=meeting, actor=commander)  # a second click
    tick()
    tick()

    assert (cancelled.cancelled, cancelled.sequence) == (True, 1)
    for address in EVERYONE:
        _invitation, (method, calendar, event) = invitations(smtp_stub, address)
        assert (method, calendar["METHOD"]) == ("CANCEL", "CANCEL")
        assert (event["UID"], event["SEQUENCE"], event["STATUS"]) == (meeting.uid, 1, "CANCELLED")
        message = smtp_stub.messages_to(address)[1]
        assert message["Subject"].startswith("Cancelled: Postmortem review")
        assert "is cancelled" in text_body(message)


def test_a_cancelled_meeting_set_again_is_requested_with_the_next_sequence(
    meeting, commander, smtp_stub, tick
):
    tick()
    meetings.meeting_cancel(meeting=meeting, actor=commander)
    tick()

    again = meetings.meeting_move(meeting=meeting, starts_at=meeting.starts_at, actor=commander)
    tick()

    assert (again.cancelled, again.sequence) == (False, 2)
    _invitation, _cancel, (method, _calendar, event) = invitations(smtp_stub, ROSA)
    assert (method, event["SEQUENCE"], event["STATUS"]) == ("REQUEST", 2, "CONFIRMED")


def test_cancelling_before_the_invitations_went_out_sends_nothing(
    meeting, commander, smtp_stub, tick
):
    meetings.meeting_cancel(meeting=meeting, actor=commander)
    tick()

    assert smtp_stub.messages == []
    assert not OutgoingEmail.objects.exists()


def test_a_cancellation_goes_only_to_those_an_invitation_reached(
    meeting, incident, commander, smtp_stub, tick
):
    tick()
    late = UserFactory(username="lena", email="lena@example.com")
    incident_add_responders(incident=incident, users=[late])
    meetings.meeting_cancel(meeting=meeting, actor=commander)
    tick()

    assert smtp_stub.messages_to("lena@example.com") == []
    for address in EVERYONE:
        _invitation, (method, _calendar, _event) = invitations(smtp_stub, address)
        assert method == "CANCEL"


def test_a_time_in_the_past_is_refused_and_nothing_is_written(meeting, commander, clock):
    with pytest.raises(ValidationError) as refused:
        meetings.meeting_move(
            meeting=meeting, starts_at=clock.now - timedelta(minutes=1), actor=commander
        )

    assert refused.value.message_dict == {"starts_at": ["Choose a time in the future."]}
    meeting.refresh_from_db()
    assert (meeting.sequence, meeting.starts_at) == (0, utc(2026, 3, 4, 14, 0))
    assert OutgoingEmail.objects.count() == 4


def test_a_viewer_may_not_move_or_cancel_the_meeting(meeting, viewer):
    with pytest.raises(PermissionDenied):
        meetings.meeting_move(meeting=meeting, starts_at=utc(2026, 3, 5, 10, 0), actor=viewer)
    with pytest.raises(PermissionDenied):
        meetings.meeting_cancel(meeting=meeting, actor=viewer)

    meeting.refresh_from_db()
    assert (meeting.sequence, meeting.cancelled) == (0, False)


def test_proposing_the_meeting_ticks_the_commanders_schedule_postmortem(meeting, incident):
    item = ChecklistItem.objects.get(incident=incident, title="Schedule postmortem")
    assert item.done_at is not None
    assert TimelineEvent.objects.filter(
        incident=incident, kind=EventKind.CHECKLIST, message__contains="Schedule postmortem"
    ).exists()


def test_drafting_again_proposes_no_second_meeting(meeting, incident, commander):
    postmortem = postmortem_create(incident=incident, actor=commander)
    again = meetings.meeting_propose(postmortem=postmortem)

    assert again.pk == meeting.pk
    assert ReviewMeeting.objects.count() == 1
    assert OutgoingEmail.objects.count() == 4


def test_a_postmortem_without_a_meeting_gets_one_when_someone_sets_it(
    meeting, incident, commander, smtp_stub, tick
):
    # A postmortem drafted before meetings were proposed.
    OutgoingEmail.objects.all().delete()
    meeting.delete()
    postmortem = Postmortem.objects.get(incident=incident)

    scheduled = meetings.meeting_schedule(
        postmortem=postmortem, starts_at=utc(2026, 3, 6, 9, 30), actor=commander
    )
    tick()

    assert (scheduled.sequence, scheduled.starts_at) == (0, utc(2026, 3, 6, 9, 30))
    [(method, _calendar, event)] = invitations(smtp_stub, BOB)
    assert (method, event["UID"], event.start) == ("REQUEST", scheduled.uid, scheduled.starts_at)
