"""The paging engine, driven by calling its tick with explicit times (no sleeping, no workers)."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.actors import SYSTEM
from incidents import services as incident_services
from incidents.models import EventKind, Incident, Severity
from oncall.models import (
    ContactKind,
    Escalation,
    EscalationState,
    Notification,
    NotificationState,
)
from oncall.services import deliveries, escalations, paging_by_hand
from tests.factories import TeamFactory, declare
from tests.oncall.factories import (
    MONDAYS_NINE_UTC,
    contact,
    pageable,
    policy,
    rule,
    weekly_schedule,
)

pytestmark = pytest.mark.django_db


def paged(incident: Incident) -> list[str]:
    """Who was paged, in order, one entry per person and level (not per contact method)."""
    rows = Notification.objects.filter(incident=incident).order_by("created_at", "id")
    seen: list[str] = []
    for row in rows.select_related("user"):
        entry = f"{row.user.username}@{row.level_index}"
        if entry not in seen:
            seen.append(entry)
    return seen


def start(incident: Incident, **kwargs) -> Escalation:
    escalation = escalations.escalation_start(incident=incident, now=incident.declared_at, **kwargs)
    assert escalation is not None
    return escalation


def test_declaring_a_paging_severity_starts_an_escalation_due_now():
    policy((5, [pageable("alice")]))
    incident = declare(severity_name="SEV2")

    escalation = start(incident)

    assert escalation.state == EscalationState.ACTIVE
    assert escalation.next_at == incident.declared_at
    assert incident.timeline.filter(kind=EventKind.PAGE, message__contains="started").exists()


@pytest.mark.parametrize("severity", ["SEV3", "SEV4"])
def test_severities_that_do_not_page_start_nothing(severity):
    policy((5, [pageable("alice")]))
    incident = declare(severity_name=severity)

    assert escalations.escalation_start(incident=incident, now=incident.declared_at) is None
    assert not Escalation.objects.exists()


def test_an_incident_declared_long_ago_is_history_and_is_not_paged():
    policy((5, [pageable("alice")]))
    incident = declare(severity_name="SEV1")

    later = incident.declared_at + timedelta(hours=2)
    assert escalations.escalation_start(incident=incident, now=later) is None


def test_starting_twice_keeps_one_escalation():
    policy((5, [pageable("alice")]))
    incident = declare()

    first = start(incident)
    second = start(incident)

    assert first.pk == second.pk
    assert Escalation.objects.count() == 1


def test_first_level_is_paged_at_once():
    policy((5, [pageable("alice")]))
    incident = declare()
    start(incident)

    escalations.tick(now=incident.declared_at)

    assert paged(incident) == ["alice@0"]
    assert incident.timeline.filter(message="Paged Alice (level 1)").exists()


def test_next_level_is_paged_when_the_first_does_not_acknowledge_in_time():
    policy((5, [pageable("alice")]), (10, [pageable("bob")]))
    incident = declare()
    start(incident)
    t0 = incident.declared_at

    escalations.tick(now=t0)
    escalations.tick(now=t0 + timedelta(minutes=4, seconds=59))
    assert paged(incident) == ["alice@0"]

    escalations.tick(now=t0 + timedelta(minutes=5))
    assert paged(incident) == ["alice@0", "bob@1"]


def test_acknowledging_stops_the_escalation_and_cancels_pages_not_yet_sent():
    alice = pageable("alice")
    rule(alice.contact_methods.get(), minutes=0)
    rule(contact(alice, kind=ContactKind.SMS), minutes=1)
    policy((5, [alice]), (10, [pageable("bob")]))
    incident = declare()
    start(incident)
    t0 = incident.declared_at
    escalations.tick(now=t0)

    incident_services.incident_acknowledge(incident=incident, actor=alice)
    escalations.escalation_stop(incident_id=incident.pk, reason="acknowledged")
    escalations.tick(now=t0 + timedelta(minutes=30))

    assert paged(incident) == ["alice@0"]
    sms = Notification.objects.get(contact_method__kind=ContactKind.SMS)
    assert sms.state == NotificationState.CANCELLED
    assert Escalation.objects.get().state == EscalationState.STOPPED


def test_an_acknowledged_incident_is_not_paged_even_if_its_escalation_was_not_stopped():
    # The subscriber that stops escalations runs after commit; the tick checks by itself.
    policy((5, [pageable("alice")]), (10, [pageable("bob")]))
    incident = declare()
    start(incident)
    t0 = incident.declared_at
    escalations.tick(now=t0)

    incident_services.incident_acknowledge(incident=incident, actor=SYSTEM)
    escalations.tick(now=t0 + timedelta(minutes=5))

    assert paged(incident) == ["alice@0"]
    assert Escalation.objects.get().state == EscalationState.STOPPED


def test_the_policy_repeats_when_nobody_acknowledges():
    policy((5, [pageable("alice")]), (10, [pageable("bob")]), repeat=1)
    incident = declare()
    start(incident)
    t0 = incident.declared_at

    for minutes in (0, 5, 15, 20, 30, 60):
        escalations.tick(now=t0 + timedelta(minutes=minutes))

    rows = Notification.objects.filter(incident=incident).order_by("created_at")
    assert [(n.user.username, n.key.split(":")[3]) for n in rows] == [
        ("alice", "0"),
        ("bob", "0"),
        ("alice", "1"),
        ("bob", "1"),
    ]
    assert Escalation.objects.get().state == EscalationState.EXHAUSTED


def test_a_schedule_target_pages_whoever_is_on_call_then():
    alice, bob = pageable("alice"), pageable("bob")
    t0 = timezone.now()
    # Alice's week ended a day ago; Bob's runs now.
    schedule = weekly_schedule([alice, bob], start=t0 - timedelta(days=8))
    policy((5, [schedule]))
    incident = declare()
    start(incident)

    escalations.tick(now=incident.declared_at)

    assert paged(incident) == ["bob@0"]


def test_a_schedule_with_nobody_on_call_records_that_nobody_was_paged():
    schedule = weekly_schedule([pageable("alice")], start=timezone.now() + timedelta(days=3))
    policy((5, [schedule]))
    incident = declare()
    start(incident)

    escalations.tick(now=incident.declared_at)

    assert paged(incident) == []
    assert incident.timeline.filter(message__startswith="Nobody to page at level 1").exists()


def test_team_leads_target_pages_each_lead():
    team = TeamFactory(name="Platform")
    lead_one, lead_two = pageable("lena"), pageable("leo")
    team.leads.add(lead_one, lead_two)
    policy((5, [team]))
    incident = declare()
    start(incident)

    escalations.tick(now=incident.declared_at)

    assert sorted(paged(incident)) == ["lena@0", "leo@0"]


def test_a_tick_reads_each_schedule_once_however_many_escalations_page_it(weekly, alice, bob):
    contact(alice)
    policy((5, [weekly]))
    incidents = [declare(title=f"Burst {n}") for n in range(8)]
    for incident in incidents:
        escalations.escalation_start(incident=incident, now=MONDAYS_NINE_UTC, manual=True)

    with CaptureQueriesContext(connection) as queries:
        escalations.escalations_advance_due(now=MONDAYS_NINE_UTC)

    layer_reads = [q for q in queries if 'FROM "oncall_schedulelayer"' in q["sql"]]
    assert len(layer_reads) == 1
    assert all(paged(incident) == ["alice@0"] for incident in incidents)


def test_sev1_pages_management_levels_at_once_as_well():
    policy(
        (5, [pageable("alice")]),
        (10, [pageable("bob")]),
        (15, [pageable("maria")]),
        management=(3,),
    )
    incident = declare(severity_name="SEV1")
    start(incident)

    escalations.tick(now=incident.declared_at)

    assert paged(incident) == ["alice@0", "maria@0"]


def test_sev2_reaches_management_only_by_escalating():
    policy((5, [pageable("alice")]), (10, [pageable("maria")]), management=(2,))
    incident = declare(severity_name="SEV2")
    start(incident)

    escalations.tick(now=incident.declared_at)

    assert paged(incident) == ["alice@0"]


def test_notification_rules_are_steps_due_at_their_delay(django_capture_on_commit_callbacks):
    alice = pageable("alice")
    email = alice.contact_methods.get()
    sms = contact(alice, kind=ContactKind.SMS)
    rule(email, minutes=0)
    rule(sms, minutes=1)
    policy((5, [alice]))
    incident = declare()
    start(incident)
    t0 = incident.declared_at
    escalations.escalation_advance(escalation_id=Escalation.objects.get().pk, now=t0)
    queued: list[int] = []

    def dispatch(at):
        with django_capture_on_commit_callbacks(execute=True):
            deliveries.notifications_dispatch_due(now=at, enqueue=queued.extend)
        return [Notification.objects.get(pk=pk).contact_method for pk in queued]

    assert dispatch(t0) == [email]
    assert dispatch(t0 + timedelta(seconds=59)) == [email]
    assert dispatch(t0 + timedelta(minutes=1)) == [email, sms]


def test_someone_without_a_verified_method_is_recorded_as_unreachable():
    alice = pageable("alice")
    alice.contact_methods.update(verified_at=None)
    policy((5, [alice]))
    incident = declare()
    start(incident)

    escalations.tick(now=incident.declared_at)

    assert not Notification.objects.exists()
    assert incident.timeline.filter(
        message="Could not page Alice (level 1): no verified contact method."
    ).exists()


def test_a_level_fires_once_however_often_it_is_ticked():
    policy((5, [pageable("alice")]))
    incident = declare()
    escalation = start(incident)
    t0 = incident.declared_at

    assert escalations.escalation_advance(escalation_id=escalation.pk, now=t0) is True
    assert escalations.escalation_advance(escalation_id=escalation.pk, now=t0) is False
    escalations.tick(now=t0 + timedelta(seconds=1))

    assert Notification.objects.count() == 1


def test_paged_people_become_participants_so_they_can_see_a_private_incident():
    alice = pageable("alice")
    policy((5, [alice]))
    incident = declare(private=True)
    start(incident)

    escalations.tick(now=incident.declared_at)

    assert incident.participants.filter(pk=alice.pk).exists()


def test_the_tick_starts_an_escalation_the_declared_subscriber_missed():
    policy((5, [pageable("alice")]))
    incident = declare(severity_name="SEV2")

    just_before = incident.declared_at + escalations.MISSED_START_AFTER - timedelta(seconds=1)
    escalations.tick(now=just_before)
    assert not Escalation.objects.exists()
    after = incident.declared_at + escalations.MISSED_START_AFTER
    escalations.tick(now=after)
    escalations.tick(now=after)

    assert paged(incident) == ["alice@0"]


def test_the_integration_policy_wins_over_the_team_and_the_default():
    from alerts.services import ingest, processing
    from tests.alerts.factories import firing, make_integration

    policy((5, [pageable("dora")]), name="Default")
    routed = policy((5, [pageable("ian")]), name="Database", default=False)
    integration = make_integration()
    integration.escalation_policy = routed
    integration.save()
    ingest.alert_events_ingest(
        integration=integration, events=[firing("fp-1", severity="critical")]
    )
    processing.alerts_process_pending(integration_id=integration.pk)
    incident = Incident.objects.get()

    start(incident)
    escalations.tick(now=incident.declared_at)

    assert paged(incident) == ["ian@0"]


def test_manual_page_reaches_one_person_now():
    alice = pageable("alice")
    responder = pageable("rosa")
    incident = declare(severity_name="SEV4", actor=responder)

    paging_by_hand.page_user_for_incident(incident=incident, user=alice, actor=responder)

    assert paged(incident) == ["alice@None"]
    assert incident.timeline.filter(message="Paged Alice (paged by Rosa)").exists()


def test_paging_a_team_pages_whoever_its_policy_names_first_and_leaves_the_escalation(
    weekly, alice, bob, team
):
    contact(alice)
    contact(bob)
    database = policy((5, [weekly]), (10, [bob]), name="Database", default=False)
    database.team = team
    database.save()
    responder = pageable("rosa")
    incident = declare(severity_name="SEV4", actor=responder)

    paged_people = paging_by_hand.page_team_for_incident(
        incident=incident, team=team, actor=responder, now=MONDAYS_NINE_UTC + timedelta(days=8)
    )

    # The weekly rotation's second week is Bob's: he is the team's on-call, not level 2.
    assert paged_people == [bob]
    assert paged(incident) == ["bob@None"]
    assert not Escalation.objects.filter(incident=incident).exists()
    assert incident.timeline.filter(
        message="Paged Bob Brown (Payments on call, paged by Rosa)"
    ).exists()


def test_paging_a_team_without_a_policy_is_refused_and_pages_nobody(team):
    responder = pageable("rosa")
    incident = declare(severity_name="SEV4", actor=responder)

    with pytest.raises(ValidationError, match="Payments has no escalation policy"):
        paging_by_hand.page_team_for_incident(incident=incident, team=team, actor=responder)

    assert not Notification.objects.exists()


def test_paging_by_hand_hands_out_that_incidents_pages_only(django_capture_on_commit_callbacks):
    # A web request must not hand out every due page in the system: the tick does that.
    alice, bob = pageable("alice"), pageable("bob")
    responder = pageable("rosa")
    elsewhere = declare(severity_name="SEV4", actor=responder, title="Elsewhere")
    paging_by_hand.page_user_for_incident(incident=elsewhere, user=bob, actor=responder)
    incident = declare(severity_name="SEV4", actor=responder)

    with django_capture_on_commit_callbacks(execute=True):
        paging_by_hand.page_user_for_incident(incident=incident, user=alice, actor=responder)

    assert Notification.objects.get(user=alice).state == NotificationState.QUEUED
    assert Notification.objects.get(user=bob).state == NotificationState.PENDING


def test_a_person_paged_by_hand_after_the_acknowledgement_is_still_paged(smtp_stub):
    alice, expert = pageable("alice"), pageable("dba")
    policy((5, [alice]))
    incident = declare()
    start(incident)
    escalations.tick(now=incident.declared_at)
    incident_services.incident_acknowledge(incident=incident, actor=alice)
    escalations.escalation_stop(incident_id=incident.pk, reason="acknowledged")

    paging_by_hand.page_user_for_incident(incident=incident, user=expert, actor=alice)
    manual = Notification.objects.get(user=expert)
    deliveries.notification_deliver(notification_id=manual.pk)

    manual.refresh_from_db()
    assert manual.state == NotificationState.SENT
    assert len(smtp_stub.messages_to("dba@example.com")) == 1


def test_the_engines_tasks_run_on_their_own_queue():
    # A storm of alerts queued for processing must not hold up a tick or a delivery.
    from config.celery import app
    from oncall import tasks

    for task in (
        tasks.tick,
        tasks.start_escalation,
        tasks.fire_escalation,
        tasks.deliver_notification,
    ):
        assert app.amqp.router.route({}, task.name)["queue"].name == "paging"


def test_one_broken_escalation_does_not_stop_the_others(manager):
    from oncall.models import ScheduleLayer

    broken_schedule = weekly_schedule([pageable("zed")], start=timezone.now(), name="Broken")
    ScheduleLayer.objects.update(time_zone="Mars/Olympus")  # as a bad edit in the admin
    broken = policy((5, [broken_schedule]), name="Broken", default=False)
    policy((5, [pageable("alice")]))
    first = declare(title="Broken schedule")
    second = declare(title="Healthy")
    escalations.escalation_start(incident=first, policy=broken, now=first.declared_at)
    start(second)

    escalations.tick(now=second.declared_at + timedelta(seconds=1))

    assert paged(second) == ["alice@0"]
    # The broken one is looked at again later, not every second.
    assert Escalation.objects.get(incident=first).next_at > second.declared_at + timedelta(
        seconds=30
    )


def test_an_incident_no_policy_applies_to_is_noted_once():
    incident = declare(severity_name="SEV1")
    later = incident.declared_at + escalations.MISSED_START_AFTER

    for seconds in range(3):
        escalations.tick(now=later + timedelta(seconds=seconds))

    assert (
        incident.timeline.filter(message__startswith="Nobody was paged: no escalation").count() == 1
    )


def test_raising_the_severity_hours_after_declaring_pages_at_once():
    policy((5, [pageable("alice")]))
    incident = declare(severity_name="SEV3")
    hours_later = incident.declared_at + timedelta(hours=3)

    escalation = escalations.escalation_start(
        incident=incident, now=hours_later, just_declared=False
    )
    assert escalation is None  # SEV3 does not page
    incident_services.incident_set_severity(
        incident=incident, actor=SYSTEM, severity=Severity.objects.get(name="SEV1")
    )
    escalation = escalations.escalation_start(
        incident=incident, now=hours_later, just_declared=False
    )

    assert escalation is not None


def test_escalating_an_exhausted_policy_runs_it_again():
    alice, rosa = pageable("alice"), pageable("rosa")
    policy((5, [alice]))
    incident = declare()
    start(incident)
    t0 = incident.declared_at
    escalations.tick(now=t0)
    escalations.tick(now=t0 + timedelta(minutes=5))
    assert Escalation.objects.get().state == EscalationState.EXHAUSTED

    paging_by_hand.escalate_now(incident=incident, actor=rosa, now=t0 + timedelta(minutes=6))
    escalations.tick(now=t0 + timedelta(minutes=6))

    assert Notification.objects.filter(user=alice).count() == 2


def test_only_people_who_can_respond_are_paged_by_hand(viewer):
    rosa = pageable("rosa")
    incident = declare(private=True, actor=rosa)

    with pytest.raises(ValidationError):
        paging_by_hand.page_user_for_incident(incident=incident, user=viewer, actor=rosa)
    assert not incident.participants.filter(pk=viewer.pk).exists()


def test_declaring_queues_the_start_and_the_task_pages_the_first_level(
    django_capture_on_commit_callbacks,
):
    from oncall import tasks

    policy((5, [pageable("alice")]))
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(severity_name="SEV2")

    # The subscriber only queued the task (no worker here); run its body as a worker would.
    assert not Escalation.objects.exists()
    assert tasks.start_escalation(incident.pk) is True
    assert paged(incident) == ["alice@0"]


def test_acknowledging_stops_paging_through_the_subscriber(django_capture_on_commit_callbacks):
    alice = pageable("alice")
    policy((5, [alice]), (10, [pageable("bob")]))
    incident = declare()
    start(incident)

    with django_capture_on_commit_callbacks(execute=True):
        incident_services.incident_acknowledge(incident=incident, actor=alice)

    assert Escalation.objects.get().state == EscalationState.STOPPED


def test_raising_a_running_escalation_to_sev1_pages_management_at_once():
    policy((5, [pageable("alice")]), (15, [pageable("maria")]), management=(2,))
    incident = declare(severity_name="SEV2")
    start(incident)
    escalations.tick(now=incident.declared_at)
    assert paged(incident) == ["alice@0"]

    incident_services.incident_set_severity(
        incident=incident, actor=SYSTEM, severity=Severity.objects.get(name="SEV1")
    )
    escalations.escalation_start(
        incident=incident, now=incident.declared_at + timedelta(minutes=1), just_declared=False
    )
    escalations.escalation_start(
        incident=incident, now=incident.declared_at + timedelta(minutes=2), just_declared=False
    )

    assert sorted(paged(incident)) == ["alice@0", "maria@1"]
    assert Notification.objects.filter(user__username="maria").count() == 1


@pytest.mark.parametrize(
    ("severity", "queued"), [("SEV1", 1), ("SEV2", 1), ("SEV3", 0), ("SEV4", 0)]
)
def test_declaring_queues_paging_only_for_a_severity_that_pages(
    severity, queued, monkeypatch, django_capture_on_commit_callbacks
):
    # A storm of SEV3s queued ahead of real pages on the paging queue held them up by seconds.
    from oncall import tasks

    started: list[int] = []
    monkeypatch.setattr(tasks.start_escalation, "delay", lambda pk, **kwargs: started.append(pk))

    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(severity_name=severity)

    assert started == [incident.pk] * queued


def test_raising_to_a_paging_severity_queues_paging_and_lowering_does_not(
    monkeypatch, django_capture_on_commit_callbacks
):
    from oncall import tasks
    from tests.factories import severity

    started: list[int] = []
    monkeypatch.setattr(tasks.start_escalation, "delay", lambda pk, **kwargs: started.append(pk))
    responder = pageable("rosa")
    incident = declare(severity_name="SEV3", actor=responder)

    with django_capture_on_commit_callbacks(execute=True):
        incident_services.incident_set_severity(
            incident=incident, actor=responder, severity=severity("SEV2")
        )
    with django_capture_on_commit_callbacks(execute=True):
        incident_services.incident_set_severity(
            incident=incident, actor=responder, severity=severity("SEV4")
        )

    assert started == [incident.pk]
