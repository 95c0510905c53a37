"""What happens to alerts once they are stored: grouping, severity, resolution, storms."""

from datetime import timedelta

from django.utils import timezone

from alerts.models import Alert, AlertStatus
from alerts.services import alert_events_ingest, alerts_process_pending
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

    # Per alert: its alert→incident update and its timeline entry; the group lookup and the
    # storm count are made once for the batch (a lookup per alert measured 175 queries).
    with django_assert_max_num_queries(40 * 2 + 25):
        alerts_process_pending(integration_id=integration.pk)

    assert Incident.objects.get().alerts.count() == 40
