"""An incident with a timeline past anything a postmortem can hold (an alert storm: 25,000
entries, where the default template used to write past rendering.MAX_OUTPUT at about 20,000)
is drafted all the same: its key moments and its course in full, the alerts and pages up to
the limit, and a line saying how many more the incident page has. A draft that cannot be
rendered at all is a message on the page, never a 500."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.actors import SYSTEM
from incidents.models import EventKind, Incident, Source, TimelineEvent
from incidents.services import incident_resolve
from postmortems import tasks
from postmortems.context import MESSAGE_LIMIT, TIMELINE_LIMIT, postmortem_context
from postmortems.models import Postmortem, PostmortemTemplate
from postmortems.rendering import MAX_OUTPUT
from postmortems.services.postmortems import postmortem_markdown
from tests.factories import declare, severity
from tests.postmortems.document_support import body, drafted

pytestmark = pytest.mark.django_db

STORM = 25_000
PERMALINK = "https://example.slack.com/archives/C1/p9"


def kind_of(n: int) -> tuple[EventKind, bool, dict[str, object]]:
    """Entry n of the storm: five highlighted notes, five Slack pins, a note every hundred
    entries, and alerts and pages in turn between them."""
    if n % 5000 == 7:
        return EventKind.NOTE, True, {}
    if n % 5000 == 11:
        return EventKind.SLACK, False, {"pinned": True, "permalink": PERMALINK}
    if n % 100 == 3:
        return EventKind.NOTE, False, {}
    return (EventKind.ALERT if n % 2 == 0 else EventKind.PAGE), False, {}


def storm_incident(clock, commander, *, entries: int = STORM, **declare_kwargs) -> Incident:
    """A resolved SEV1 whose timeline has `entries` entries besides its own, written in bulk
    as the alert processor writes them."""
    began = clock.now
    incident = declare(commander, severity=severity("SEV1"), **declare_kwargs)
    rows = []
    for n in range(entries):
        kind, highlighted, data = kind_of(n)
        rows.append(
            TimelineEvent(
                incident=incident,
                kind=kind,
                occurred_at=began + timedelta(seconds=n),
                source=Source.ALERTMANAGER,
                message=f"Entry {n}: HighErrorRate on checkout",
                data=data,
                highlighted=highlighted,
            )
        )
    TimelineEvent.objects.bulk_create(rows, batch_size=5000)
    clock.advance(hours=8)
    incident_resolve(incident=incident, actor=commander, resolution="Rolled back.")
    return incident


def context_for(incident: Incident, postmortem: Postmortem | None = None) -> dict:
    incident = Incident.objects.select_related("severity", "team", "commander").get(pk=incident.pk)
    return postmortem_context(incident=incident, postmortem=postmortem)


def number(message: str) -> int:
    return int(message.split(":")[0].removeprefix("Entry "))


def test_the_timeline_keeps_key_moments_and_the_course_and_the_oldest_alerts_up_to_the_limit(
    clock, commander
):
    small = storm_incident(clock, commander, entries=10)
    incident = storm_incident(clock, commander)
    with CaptureQueriesContext(connection) as counted:
        context_for(small)

    with CaptureQueriesContext(connection) as big:
        context = context_for(incident)

    assert len(big) == len(counted)
    timeline = context["timeline"]
    assert len(timeline) == TIMELINE_LIMIT
    assert [entry["at"] for entry in timeline] == sorted(entry["at"] for entry in timeline)
    storm = [entry for entry in timeline if entry["message"].startswith("Entry ")]
    kept = {number(entry["message"]) for entry in storm}
    key = {n for n in range(STORM) if n % 5000 in (7, 11)}
    notes = {n for n in range(STORM) if n % 100 == 3}
    assert {number(entry["message"]) for entry in context["key_moments"]} == key
    assert key | notes <= kept
    # Every entry the services wrote (declared, resolved) is there too, and the alerts and
    # pages that fill the rest are the first ones.
    own = TimelineEvent.objects.filter(incident=incident).count() - STORM
    assert len(timeline) - len(storm) == own
    routine = sorted(kept - key - notes)
    first_routine = [n for n in range(STORM) if n not in key and n not in notes]
    assert routine == first_routine[: len(routine)]
    assert context["timeline_omitted"] == STORM + own - TIMELINE_LIMIT
    assert context["timeline_omitted_kinds"] == "alerts and pages"


def test_unpinned_slack_messages_wait_with_the_alerts_and_key_moments_always_come(clock, commander):
    incident = storm_incident(clock, commander, entries=TIMELINE_LIMIT + 50)
    last = clock.now - timedelta(minutes=1)
    TimelineEvent.objects.bulk_create(
        [
            TimelineEvent(
                incident=incident,
                kind=EventKind.SLACK,
                occurred_at=last,
                message="Taken back in Slack",
                data={"pinned": False},
            ),
            TimelineEvent(
                incident=incident,
                kind=EventKind.ALERT,
                occurred_at=last,
                message="The last alert, highlighted",
                highlighted=True,
            ),
        ]
    )

    context = context_for(incident)

    messages = [entry["message"] for entry in context["timeline"]]
    assert "The last alert, highlighted" in messages
    assert "Taken back in Slack" not in messages
    assert context["timeline_omitted_kinds"] == "alerts, pages and Slack messages"


def test_a_storm_is_drafted_with_a_line_saying_how_many_entries_the_incident_page_has(
    clock, commander, settings
):
    settings.BASE_URL = "https://tocsin.example.com"
    incident = storm_incident(clock, commander)

    assert tasks.draft_postmortem(incident.pk) is True

    postmortem = Postmortem.objects.get(incident=incident)
    omitted = TimelineEvent.objects.filter(incident=incident).count() - TIMELINE_LIMIT
    timeline = body(postmortem, "timeline")
    assert timeline.endswith(
        f"\n\n{omitted} more entries (alerts and pages) are on the incident page: "
        f"<https://tocsin.example.com/incidents/{incident.number}/>"
    )
    assert timeline.count("\n| ") == TIMELINE_LIMIT + 1  # the rows and the header row
    assert len(postmortem_markdown(postmortem)) < MAX_OUTPUT // 4
    assert postmortem.revisions.get().summary == "Drafted from the incident"


def test_long_messages_are_shortened_so_a_timeline_of_key_moments_stays_renderable(
    clock, commander
):
    """The worst a timeline can be: every entry a key moment, each a 10,000-character note
    (written twice: in the key moments and in the full timeline)."""
    incident = declare(commander, severity=severity("SEV1"))
    words = ("The gateway timed out again " * 400)[:10_000]
    TimelineEvent.objects.bulk_create(
        TimelineEvent(
            incident=incident,
            kind=EventKind.NOTE,
            occurred_at=clock.now + timedelta(seconds=n),
            actor=commander,
            message=f"{n} {words}",
            highlighted=True,
        )
        for n in range(TIMELINE_LIMIT + 200)
    )
    clock.advance(hours=1)
    incident_resolve(incident=incident, actor=commander, resolution="Rolled back.")

    assert tasks.draft_postmortem(incident.pk) is True

    context = context_for(incident)
    assert len(context["key_moments"]) == TIMELINE_LIMIT
    for entry in context["key_moments"]:
        assert entry["message"].endswith("…")
        assert MESSAGE_LIMIT - 10 < len(entry["message"]) <= MESSAGE_LIMIT + 1
    markdown = postmortem_markdown(Postmortem.objects.get(incident=incident))
    assert len(markdown) < MAX_OUTPUT * 3 // 5  # 1.1 MB: every line of the timeline twice


def huge(incident: Incident) -> Incident:
    """The incident with a summary past what any template may write (as the Django admin,
    which has no length limit, can leave it)."""
    Incident.objects.filter(pk=incident.pk).update(summary="x" * (MAX_OUTPUT + 1))
    return incident


def test_starting_a_postmortem_that_cannot_be_rendered_says_why_on_the_page(client, commander):
    incident = declare(commander, severity=severity("SEV3"))
    incident_resolve(incident=incident, actor=commander, resolution="Fixed.")
    PostmortemTemplate.objects.create(name="Ours", body="# {{ 1 // 0 }}\n", is_default=True)
    client.force_login(commander)

    response = client.post(reverse("postmortems:start", args=[huge(incident).number]))

    assert response.status_code == 409
    content = response.content.decode()
    assert "The postmortem could not be drafted: The template &#x27;Ours&#x27; failed" in content
    assert "ZeroDivisionError" in content
    assert "and so did the built-in one (The template wrote more than 2,000,000" in content
    assert not Postmortem.objects.filter(incident=incident).exists()


def test_refreshing_a_postmortem_that_cannot_be_rendered_says_why_and_changes_nothing(
    client, commander
):
    postmortem = drafted(commander)
    sections = postmortem.sections
    client.force_login(commander)

    huge(postmortem.incident)
    response = client.post(reverse("postmortems:refresh", args=[postmortem.incident.number]))

    assert response.status_code == 409
    assert "The postmortem could not be refreshed: The template wrote more than" in (
        response.content.decode()
    )
    postmortem.refresh_from_db()
    assert (postmortem.sections, postmortem.revision) == (sections, 0)


def test_the_system_drafts_nothing_for_an_incident_that_cannot_be_rendered(commander):
    incident = declare(commander, severity=severity("SEV1"))
    incident_resolve(incident=incident, actor=SYSTEM, resolution="Fixed.")

    with pytest.raises(Exception, match="wrote more than 2,000,000 characters"):
        tasks.draft_postmortem(huge(incident).pk)

    assert not Postmortem.objects.filter(incident=incident).exists()
