"""The review meeting's panel on the postmortem page: its time in the viewer's zone, and for
responders a form that moves it and a button that cancels it. Bad input is a form error and
writes nothing."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from incidents.services import incident_resolve
from postmortems import tasks
from postmortems.models import OutgoingEmail, ReviewMeeting
from tests.factories import declare, severity

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def meeting(clock, settings, commander) -> ReviewMeeting:
    """Resolved on Sunday 1 March 2026 09:00 UTC; proposed for Wednesday 4 March 14:00 UTC."""
    settings.ORGANISATION_TIME_ZONE = "UTC"
    incident = declare(commander, severity=severity("SEV1"), commander=commander)
    incident_resolve(incident=incident, actor=commander, resolution="Rolled back.")
    tasks.draft_postmortem(incident.pk)
    return ReviewMeeting.objects.select_related("postmortem__incident").get(
        postmortem__incident=incident
    )


@pytest.fixture
def in_new_york(responder):
    responder.timezone = "America/New_York"
    responder.save(update_fields=["timezone"])
    return responder


def url(meeting: ReviewMeeting) -> str:
    return reverse("postmortems:meeting", kwargs={"number": meeting.postmortem.incident.number})


def unchanged(meeting: ReviewMeeting) -> bool:
    """The meeting as proposed, and no email about any change to it."""
    fresh = ReviewMeeting.objects.get(pk=meeting.pk)
    changes = OutgoingEmail.objects.filter(key__startswith=f"invite:{meeting.pk}:").exclude(
        key__startswith=f"invite:{meeting.pk}:0:"
    )
    return (fresh.starts_at, fresh.sequence, fresh.cancelled) == (
        meeting.starts_at,
        0,
        False,
    ) and not changes.exists()


def test_the_panel_shows_the_meeting_in_the_viewers_zone(signed_in, in_new_york, meeting):
    response = signed_in.get(url(meeting))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Wednesday 4 March 2026, 09:00 to 10:00 EST" in html
    assert "America/New_York" in html
    assert 'value="2026-03-04T09:00"' in html
    assert "Timeline review 10 min" in html
    assert 'id="meeting-move"' in html and 'id="meeting-cancel"' in html


def test_a_viewer_sees_the_meeting_without_the_form(client, viewer, meeting):
    client.force_login(viewer)

    html = client.get(url(meeting)).content.decode()

    assert "Wednesday 4 March 2026, 14:00 to 15:00 UTC" in html
    assert 'id="meeting-move"' not in html


def test_moving_it_reads_the_time_in_the_viewers_zone_and_sends_the_update(
    signed_in, in_new_york, meeting
):
    response = signed_in.post(url(meeting), {"starts_at": "2026-03-05T10:30"}, headers=HTMX)

    assert response.status_code == 200
    moved = ReviewMeeting.objects.get(pk=meeting.pk)
    assert (moved.starts_at, moved.sequence) == (utc(2026, 3, 5, 15, 30), 1)
    html = response.content.decode()
    assert "Moved the review meeting to Thu 5 Mar 2026 10:30 (America/New_York)" in html
    assert "Thursday 5 March 2026, 10:30 to 11:30 EST" in html
    assert OutgoingEmail.objects.filter(key__startswith=f"invite:{meeting.pk}:1:").exists()


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("2026-02-27T10:00", "Choose a time in the future."),
        ("next tuesday", "Enter a date and time, such as 2026-03-04 14:00."),
        ("", "This field is required."),
        # New York's clocks skip from 02:00 to 03:00 on 8 March 2026.
        (
            "2026-03-08T02:30",
            "couldn\N{RIGHT SINGLE QUOTATION MARK}t be interpreted in time zone America/New_York",
        ),
    ],
)
def test_bad_input_is_a_form_error_and_writes_nothing(
    signed_in, in_new_york, meeting, value, error
):
    response = signed_in.post(url(meeting), {"starts_at": value}, headers=HTMX)

    assert response.status_code == 400
    assert error in response.content.decode()
    assert unchanged(meeting)


def test_a_plain_form_post_goes_back_to_the_postmortem(signed_in, meeting):
    response = signed_in.post(url(meeting), {"starts_at": "2026-03-05T10:30"})

    assert response.status_code == 302
    number = meeting.postmortem.incident.number
    assert response["Location"].endswith(f"/incidents/{number}/postmortem/#meeting-panel")
    assert ReviewMeeting.objects.get(pk=meeting.pk).sequence == 1


def test_cancelling_from_the_panel(signed_in, meeting):
    response = signed_in.post(url(meeting), {"action": "cancel"}, headers=HTMX)

    assert response.status_code == 200
    cancelled = ReviewMeeting.objects.get(pk=meeting.pk)
    assert (cancelled.cancelled, cancelled.sequence) == (True, 1)
    html = response.content.decode()
    assert "Cancelled the review meeting" in html
    assert 'id="meeting-cancel"' not in html
    assert ">Schedule</button>" in html


def test_a_viewer_may_not_move_it(client, viewer, meeting):
    client.force_login(viewer)

    fragment = client.post(url(meeting), {"starts_at": "2026-03-05T10:30"}, headers=HTMX)
    page = client.post(url(meeting), {"action": "cancel"})

    assert fragment.status_code == 403
    assert "may not change this meeting" in fragment.content.decode()
    assert page.status_code == 403
    assert unchanged(meeting)


def test_an_incident_without_a_postmortem_has_no_meeting_page(signed_in, commander):
    incident = declare(commander, severity=severity("SEV3"))

    response = signed_in.get(reverse("postmortems:meeting", kwargs={"number": incident.number}))

    assert response.status_code == 404
