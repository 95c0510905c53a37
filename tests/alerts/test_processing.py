"""What happens to alerts once they are stored: grouping, severity, resolution, storms."""

from dataclasses import replace
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.models import Alert, AlertStatus
from alerts.parsers import AlertEvent
from alerts.services.ingest import alert_events_ingest
from alerts.services.processing import DECLARE_PER_BATCH, alerts_process_pending
from incidents.models import EventKind, Incident, Source, Status
from tests.alerts.factories import firing, make_integration, resolved


def ingest_and_process(integration, *events):
    alert_events_ingest(integration=integration, events=events)
    return alerts_process_pending(integration_id=integration.pk)


def test_a_new_firing_alert_declares_an_incident(db):
    integration = make_integration()

    result = ingest_and_process(integration, firing("fp1", severity="critical"))

    incident = Incident.objects.get()
    assert result.incidents_declared == 1
    assert incident.title == "HighErrorRate on checkout"
    assert incident.severity.name == "SEV1"
    assert incident.source == Source.ALERTMANAGER
    assert incident.team == integration.team
    assert Alert.objects.get().incident == incident
    assert incident.timeline.filter(kind=EventKind.ALERT).count() == 1


def test_a_repeated_firing_alert_updates_it_without_a_new_incident(db):
    integration = make_integration()
    event = firing("fp1")
    ingest_and_process(integration, event)
    timeline_before = Incident.objects.get().timeline.count()

    ingest_and_process(integration, event)

    alert = Alert.objects.get()
    assert alert.times_seen == 2
    assert Incident.objects.count() == 1
    assert Incident.objects.get().timeline.count() == timeline_before


def test_a_new_alert_of_the_same_group_joins_the_open_incident(db):
    integration = make_integration()
    ingest_and_process(integration, firing("fp1", instance="a"))

    ingest_and_process(integration, firing("fp2", instance="b"))

    incident = Incident.objects.get()
    assert incident.alerts.count() == 2


def test_an_alert_of_another_group_declares_another_incident(db):
    integration = make_integration()
    ingest_and_process(integration, firing("fp1", service="checkout"))

    ingest_and_process(integration, firing("fp2", service="search"))

    assert Incident.objects.count() == 2


def test_every_alert_resolved_moves_the_incident_to_monitoring(db):
    integration = make_integration()
    started = timezone.now() - timedelta(minutes=5)
    ingest_and_process(integration, firing("fp1", at=started), firing("fp2", at=started, x="2"))

    ingest_and_process(integration, resolved("fp1", started=started))
    assert Incident.objects.get().status == Status.DETECTED
    ingest_and_process(integration, resolved("fp2", started=started, x="2"))

    assert Incident.objects.get().status == Status.MONITORING


def test_every_alert_resolved_resolves_when_the_integration_says_so(db):
    integration = make_integration(auto_resolve=True)
    started = timezone.now() - timedelta(minutes=5)
    ingest_and_process(integration, firing("fp1", at=started))

    ingest_and_process(integration, resolved("fp1", started=started))

    assert Incident.objects.get().status == Status.RESOLVED


def test_a_stale_firing_after_the_resolution_changes_nothing(db):
    integration = make_integration()
    started = timezone.now() - timedelta(minutes=5)
    ingest_and_process(integration, firing("fp1", at=started))
    ingest_and_process(integration, resolved("fp1", started=started))

    ingest_and_process(integration, firing("fp1", at=started))

    assert Alert.objects.get().status == AlertStatus.RESOLVED
    assert Incident.objects.get().status == Status.MONITORING


def test_a_resolve_for_an_unknown_key_declares_nothing(db):
    integration = make_integration()

    ingest_and_process(integration, resolved("nobody", started=timezone.now()))

    assert Incident.objects.count() == 0


def test_a_storm_beyond_the_cap_collects_in_one_storm_incident(db):
    integration = make_integration(max_incidents_per_minute=3)

    ingest_and_process(integration, *[firing(f"fp{n}", service=f"svc{n}") for n in range(10)])

    incidents = Incident.objects.all()
    storm = incidents.get(labels__tocsin_storm=str(integration.pk))
    assert incidents.count() == 4
    assert storm.alerts.count() == 7
    assert Alert.objects.filter(incident__isnull=True).count() == 0


def test_after_an_auto_resolve_a_new_alert_of_the_group_in_the_same_batch_opens_anew(db):
    integration = make_integration(auto_resolve=True)
    started = timezone.now() - timedelta(minutes=5)
    ingest_and_process(integration, firing("fp1", at=started))

    later = timezone.now() - timedelta(seconds=1)
    ingest_and_process(
        integration,
        resolved("fp1", started=started, ended=later - timedelta(seconds=1)),
        firing("fp2", at=later, instance="b"),
    )

    first, second = Incident.objects.order_by("number")
    assert first.status == Status.RESOLVED
    assert second.status == Status.DETECTED
    assert list(second.alerts.values_list("dedup_key", flat=True)) == ["fp2"]


def test_a_burst_of_one_group_finds_its_incident_without_a_query_per_alert(
    db, django_assert_max_num_queries
):
    integration = make_integration()
    events = [firing(f"fp{n}", instance=f"i{n}") for n in range(40)]
    alert_events_ingest(integration=integration, events=events)

    # Declaring the incident costs its own queries; the 40 alerts add none of their own (one
    # statement each for their lookups, incidents and timeline entries measured 175 queries).
    with django_assert_max_num_queries(25):
        alerts_process_pending(integration_id=integration.pk)

    incident = Incident.objects.get()
    assert incident.alerts.count() == 40
    assert incident.timeline.filter(kind=EventKind.ALERT).count() == 40


def queries_to_process(integration, events) -> int:
    alert_events_ingest(integration=integration, events=events)
    with CaptureQueriesContext(connection) as queries:
        alerts_process_pending(integration_id=integration.pk)
    return len(queries)


def test_a_batch_costs_the_same_queries_for_ten_alerts_as_for_forty(db):
    integration = make_integration()
    started = timezone.now() - timedelta(minutes=5)
    services_ = [f"svc{n}" for n in range(5)]
    ingest_and_process(
        integration,
        *[firing(f"{svc}-0", at=started, service=svc) for svc in services_],
        *[firing(f"{svc}-keep", at=started, service=svc, instance="keep") for svc in services_],
    )

    def batch(size: int, tag: str) -> list:
        # New alerts joining the five groups' incidents, and resolutions that leave each
        # incident with an alert still firing (so no incident changes status).
        joining = [
            firing(f"{tag}{n}", service=services_[n % 5], instance=f"{tag}{n}")
            for n in range(size - 5)
        ]
        resolving = [resolved(f"{svc}-0", started=started, service=svc) for svc in services_]
        return joining + resolving if tag == "a" else joining

    small = queries_to_process(integration, batch(10, "a"))
    large = queries_to_process(integration, batch(40, "b"))

    assert Incident.objects.count() == 5
    assert not Alert.objects.filter(incident__isnull=True).exists()
    assert small <= 13
    assert large <= small


def test_more_severe_alerts_joining_in_one_batch_raise_the_incident_once_to_the_highest(db):
    integration = make_integration()
    ingest_and_process(integration, firing("fp0", severity="info"))

    ingest_and_process(
        integration,
        firing("fp1", severity="warning", instance="b"),
        firing("fp2", severity="critical", instance="c"),
        firing("fp3", severity="error", instance="d"),
    )

    incident = Incident.objects.get()
    assert incident.severity.name == "SEV1"
    raises = incident.timeline.filter(kind=EventKind.SEVERITY_CHANGED)
    assert list(raises.values_list("data__from", "data__to")) == [("SEV4", "SEV1")]


def test_a_burst_of_new_groups_is_declared_a_few_incidents_per_batch(db):
    # Each declaration holds the incident counter until the batch commits: a long batch of
    # them would hold up every other integration's incidents.
    integration = make_integration(max_incidents_per_minute=1000)
    alert_events_ingest(
        integration=integration,
        events=[firing(f"fp{n}", service=f"svc{n}") for n in range(DECLARE_PER_BATCH + 5)],
    )

    first = alerts_process_pending(integration_id=integration.pk)

    assert first.incidents_declared == DECLARE_PER_BATCH
    assert first.more_pending
    assert Alert.objects.filter(needs_processing=True).count() == 5

    second = alerts_process_pending(integration_id=integration.pk)

    assert second.incidents_declared == 5
    assert not second.more_pending
    assert Incident.objects.count() == DECLARE_PER_BATCH + 5
    assert not Alert.objects.filter(incident__isnull=True).exists()


def test_acknowledging_a_burst_costs_no_query_per_alert(db):
    def queries_to_acknowledge(count: int) -> int:
        integration = make_integration(name=f"Prometheus {count}")
        at = timezone.now() - timedelta(minutes=1)
        keys = [f"k{count}-{n}" for n in range(count)]
        ingest_and_process(integration, *[firing(k, at=at, instance=k) for k in keys])
        alert_events_ingest(integration=integration, events=[acknowledged(k, at) for k in keys])
        with CaptureQueriesContext(connection) as queries:
            alerts_process_pending(integration_id=integration.pk)
        return len(queries)

    small, large = queries_to_acknowledge(5), queries_to_acknowledge(40)

    assert Incident.objects.filter(status=Status.ACKNOWLEDGED).count() == 2
    assert large <= small


def acknowledged(key: str, at) -> AlertEvent:
    return AlertEvent(
        dedup_key=key,
        status=AlertStatus.ACKNOWLEDGED,
        title="HighErrorRate on checkout",
        starts_at=at,
        event_at=at + timedelta(seconds=1),
        labels={"alertname": "HighErrorRate", "service": "checkout", "instance": key},
    )


def test_an_alert_with_a_blank_title_still_declares_its_incident(db):
    # A generic webhook's title template may render only spaces; refusing the incident would
    # fail the batch, and every later one, holding up the integration's other alerts.
    integration = make_integration()

    ingest_and_process(integration, replace(firing("fp1"), title="   "), firing("fp2", service="x"))

    assert sorted(Incident.objects.values_list("title", flat=True)) == [
        "Alert fp1",
        "HighErrorRate on x",
    ]
