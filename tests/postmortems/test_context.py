"""What a postmortem template is given: plain data, every fact read from the incident, with a
fixed number of queries however long the timeline."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.actors import SYSTEM
from alerts.models import Alert, AlertStatus
from incidents.models import EventKind, Incident, RoleKind, Source, Status
from incidents.services import incident_assign_role, incident_resolve
from incidents.timeline import TimelineEntry, incident_record_event, incident_record_events
from postmortems.context import narrative, postmortem_context
from postmortems.services.action_items import action_item_create
from postmortems.services.postmortems import postmortem_create, template_default
from tests.alerts.factories import make_integration
from tests.factories import declare
from tests.postmortems.golden_incident import (
    ALERT_SOURCE,
    DASHBOARD,
    IMPACT_BEGAN,
    PERMALINK,
    RUNBOOK,
    build,
)

PLAIN = (dict, list, str, int, bool, float, datetime, date, type(None))
T = datetime(2026, 3, 1, 14, 2, tzinfo=UTC)


def context_for(incident, postmortem=None):
    incident = Incident.objects.select_related("severity", "team", "commander").get(pk=incident.pk)
    return postmortem_context(incident=incident, postmortem=postmortem)


def walk(value, path="context"):
    """Every value in `value`, with where it is, keys included."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(key, f"{path} key {key!r}")
            yield from walk(item, f"{path}[{key!r}]")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}[{index}]")


@pytest.fixture
def golden(clock, commander, responder):
    return build(clock, commander=commander, technical_lead=responder)


def test_the_context_is_plain_data_only(golden):
    postmortem = postmortem_create(incident=golden.incident, actor=golden.commander)
    postmortem.authors.add(golden.technical_lead)

    context = context_for(golden.incident, postmortem)

    found = {path: type(value) for path, value in walk(context) if type(value) not in PLAIN}
    assert found == {}
    # Not a subclass either (a TextChoices member is a str with an enum behind it).
    assert type(context["timeline"][0]["kind"]) is str
    assert type(context["roles"][0]["key"]) is str


def test_the_postmortems_authors_are_named_in_the_context(golden):
    postmortem = postmortem_create(incident=golden.incident, actor=golden.commander)
    postmortem.authors.add(golden.technical_lead)

    context = context_for(golden.incident, postmortem)

    assert context["postmortem"]["authors"] == ["Cole Commander", "Rosa Responder"]
    assert context["postmortem"]["status"] == "Draft"


def test_without_a_postmortem_there_are_no_authors_yet(golden):
    assert context_for(golden.incident)["postmortem"]["authors"] == []


def test_key_moments_are_the_highlighted_entries_and_slack_pins_each_with_its_actor(golden):
    context = context_for(golden.incident)

    moments = [
        (m["at_utc"], m["actor"], m["highlighted"], m["pinned"], m["permalink"])
        for m in context["key_moments"]
    ]
    assert moments == [
        ("2026-03-01 23:52", "Rosa Responder", True, False, ""),
        ("2026-03-01 23:55", "Rosa Responder", False, True, PERMALINK),
    ]


def test_the_timeline_is_in_utc_oldest_first_and_leaves_out_what_was_taken_back(golden):
    timeline = context_for(golden.incident)["timeline"]

    assert [entry["at"] for entry in timeline] == sorted(entry["at"] for entry in timeline)
    assert all(entry["at"].tzinfo is UTC for entry in timeline)
    assert not [entry for entry in timeline if "Is it the database?" in entry["message"]]
    assert timeline[0]["actor"] == "Tocsin"


def test_a_slack_entry_marked_not_pinned_or_with_a_non_https_link_is_not_led_or_linked(
    clock, commander
):
    incident = declare(commander)
    for pinned, link in ((False, "https://example.slack.com/p1"), (True, "javascript:alert(1)")):
        incident_record_event(
            incident=incident,
            kind=EventKind.SLACK,
            source=Source.SLACK,
            message=f"pinned={pinned}",
            actor=SYSTEM,
            data={"pinned": pinned, "permalink": link},
        )

    context = context_for(incident)

    assert [(m["message"], m["permalink"]) for m in context["key_moments"]] == [("pinned=True", "")]


def test_figures_say_what_they_measure(golden):
    context = context_for(golden.incident)

    assert context["figures"] == {
        "time_to_detect": "2 min",
        "time_to_acknowledge": "6 min",
        "time_to_mitigate": "32 min",
        "time_to_resolve": "57 min",
    }
    assert [(f["label"], f["definition"]) for f in context["figure_list"]] == [
        ("Time to detect", "from impact beginning to detection"),
        ("Time to acknowledge", "from impact beginning to the first acknowledgement"),
        ("Time to mitigate", "from impact beginning to mitigation (first moved to monitoring)"),
        ("Time to resolve", "from impact beginning to resolution"),
    ]
    assert context["duration"] == "57 min"


def test_detection_by_an_alert_counts_the_alerts_and_names_the_first(golden):
    detection = context_for(golden.incident)["detection"]

    assert detection == {
        "method": "Alert",
        "source": "Alertmanager",
        "alerts": 1,
        "first_alert": "HighErrorRate on checkout",
        "time_to_detect": "2 min",
    }


def test_an_incident_declared_by_a_person_was_detected_by_a_human_report(clock, commander):
    began = clock.now - timedelta(minutes=30)
    incident = declare(commander, started_at=began, detected_at=began + timedelta(minutes=12))

    detection = context_for(incident)["detection"]

    assert (detection["method"], detection["source"], detection["alerts"]) == (
        "Human report",
        "Web",
        0,
    )
    assert detection["time_to_detect"] == "12 min"


def test_supporting_links_come_from_alert_annotations_and_sources_each_once(golden):
    integration = make_integration(name="Second")
    for key, notes, source_url in (
        ("a2", {"runbook_url": RUNBOOK, "logs_url": "https://logs.example.com/q"}, ""),
        ("a3", {"playbook_url": "https://wiki.example.com/pb", "x_url": "javascript:1"}, "ftp:x"),
    ):
        Alert.objects.create(
            integration=integration,
            incident=golden.incident,
            dedup_key=key,
            status=AlertStatus.RESOLVED,
            title=key,
            annotations=notes,
            source_url=source_url,
            starts_at=IMPACT_BEGAN + timedelta(minutes=5),
            event_at=IMPACT_BEGAN,
            first_seen_at=IMPACT_BEGAN,
            last_seen_at=IMPACT_BEGAN,
        )

    links = context_for(golden.incident)["links"]

    assert links == [
        {"url": RUNBOOK, "label": "Runbook"},
        {"url": DASHBOARD, "label": "Dashboard"},
        {"url": ALERT_SOURCE, "label": "Alert source"},
        {"url": "https://logs.example.com/q", "label": "Logs"},
        {"url": "https://wiki.example.com/pb", "label": "Playbook"},
    ]


def incident_at(**moments: datetime | None) -> Incident:
    """An incident with these times only, for the narrative (which reads nothing else)."""
    defaults = {"started_at": T, "detected_at": T, "declared_at": T}
    return Incident(**{**defaults, **moments})


def test_the_narrative_tells_each_moment_with_its_offset_from_impact():
    incident = incident_at(
        detected_at=T + timedelta(minutes=7),
        declared_at=T + timedelta(minutes=7),
        acknowledged_at=T + timedelta(minutes=10),
        mitigated_at=T + timedelta(minutes=48),
        resolved_at=T + timedelta(hours=1, minutes=13),
    )

    assert narrative(incident, reopened=0) == (
        "Impact began 2026-03-01 14:02 UTC, detected 14:09 (+7 min), acknowledged 14:12 "
        "(+10 min), mitigated 14:50 (+48 min) and resolved 15:15 (+1 h 13 min)."
    )


def test_the_narrative_gives_the_date_when_the_day_changes_and_says_when_declared_later():
    incident = incident_at(
        started_at=T.replace(hour=23, minute=50),
        detected_at=T.replace(hour=23, minute=58),
        declared_at=T.replace(hour=23, minute=58) + timedelta(minutes=5),
        resolved_at=T.replace(hour=23, minute=50) + timedelta(days=1, hours=2),
    )

    assert narrative(incident, reopened=2) == (
        "Impact began 2026-03-01 23:50 UTC, detected 23:58 (+8 min), declared 2026-03-02 00:03 "
        "(+13 min) and resolved 2026-03-03 01:50 (+1 d 2 h). It was reopened 2 times."
    )


def test_the_narrative_of_an_incident_detected_when_it_began_and_still_open():
    assert narrative(incident_at(), reopened=0) == (
        "Impact began 2026-03-01 14:02 UTC and detected 14:02 (+0 s)."
    )


def test_the_narrative_tells_moments_in_the_order_they_happened():
    incident = incident_at(
        identified_at=T + timedelta(minutes=3), acknowledged_at=T + timedelta(minutes=5)
    )

    assert narrative(incident, reopened=0) == (
        "Impact began 2026-03-01 14:02 UTC, detected 14:02 (+0 s), identified 14:05 (+3 min) "
        "and acknowledged 14:07 (+5 min)."
    )


def resolved_incident_with(entries: int, clock, commander, responder) -> Incident:
    incident = declare(commander, started_at=clock.now - timedelta(hours=1))
    incident_assign_role(
        incident=incident, actor=commander, role=RoleKind.COMMANDER, user=commander
    )
    incident_assign_role(incident=incident, actor=commander, role=RoleKind.SCRIBE, user=responder)
    action_item_create(incident=incident, actor=commander, title="Add an alert", owner=responder)
    incident_record_events(
        entries=[
            TimelineEntry(
                incident=incident,
                kind=EventKind.SLACK if n % 50 == 0 else EventKind.NOTE,
                actor=responder if n % 2 else SYSTEM,
                source=Source.WEB,
                message=f"Entry {n}",
                at=clock.now - timedelta(minutes=59) + timedelta(seconds=n),
                data={"pinned": True, "permalink": PERMALINK} if n % 50 == 0 else {},
            )
            for n in range(entries)
        ]
    )
    clock.advance()
    incident_resolve(incident=incident, actor=commander, resolution="Fixed.")
    return incident


def test_the_context_costs_the_same_queries_for_10_and_300_timeline_entries(
    clock, commander, responder, django_assert_num_queries
):
    short = resolved_incident_with(10, clock, commander, responder)
    long = resolved_incident_with(300, clock, commander, responder)
    postmortem = postmortem_create(incident=short, actor=commander)
    short = Incident.objects.select_related("severity", "team", "commander").get(pk=short.pk)
    long = Incident.objects.select_related("severity", "team", "commander").get(pk=long.pk)
    with CaptureQueriesContext(connection) as counted:
        postmortem_context(incident=short, postmortem=postmortem)

    with django_assert_num_queries(len(counted)):
        context = postmortem_context(incident=long, postmortem=postmortem)

    assert len(counted) <= 7
    assert len(context["timeline"]) > 300
    assert len(context["key_moments"]) == 6


def test_drafting_costs_the_same_queries_for_10_and_300_timeline_entries(
    clock, commander, responder, django_assert_num_queries
):
    short = resolved_incident_with(10, clock, commander, responder)
    long = resolved_incident_with(300, clock, commander, responder)
    template_default()  # created by the first draft ever, once
    with CaptureQueriesContext(connection) as counted:
        postmortem_create(incident=short, actor=commander)

    with django_assert_num_queries(len(counted)):
        postmortem = postmortem_create(incident=long, actor=commander)

    assert postmortem.incident.status == Status.RESOLVED
