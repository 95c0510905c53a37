"""Paging by hand until the incident is resolved: a person, a team, the next level
("escalate"), after an acknowledgement and after a reopen; refused once resolved, or when the
escalation moved on from the level the person confirmed."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from incidents import services as incident_services
from incidents.models import Incident
from oncall import subscribers
from oncall.models import Escalation, EscalationState, Notification, NotificationState
from oncall.services import deliveries, escalations, paging_by_hand
from oncall.services.paging_by_hand import PagingConflict
from tests.factories import TeamFactory, declare
from tests.oncall.factories import pageable, policy, rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def rosa():
    return pageable("rosa")


@pytest.fixture
def people():
    alice, bob, carol = pageable("alice"), pageable("bob"), pageable("carol")
    policy((5, [alice]), (10, [bob]), (15, [carol]))
    return alice, bob, carol


def acknowledge(incident: Incident, actor) -> None:
    """Acknowledge and run what its subscriber does after commit."""
    incident_services.incident_acknowledge(incident=incident, actor=actor)
    escalations.escalation_stop(incident_id=incident.pk, reason="acknowledged")


def paged(incident: Incident) -> list[tuple[str, str]]:
    rows = Notification.objects.filter(incident=incident).order_by("id").select_related("user")
    return [(row.user.username, row.label) for row in rows]


def running(incident: Incident) -> Escalation:
    escalation = escalations.escalation_start(incident=incident, now=incident.declared_at)
    assert escalation is not None
    escalations.tick(now=incident.declared_at)
    escalation.refresh_from_db()
    return escalation


def test_escalating_an_acknowledged_incident_pages_the_next_level_once(people, rosa):
    incident = declare(actor=rosa)
    running(incident)
    acknowledge(incident, rosa)

    escalated = paging_by_hand.escalate_now(incident=incident, actor=rosa, level=2)

    assert escalated is not None
    assert (escalated.policy.name, escalated.level) == ("Payments", 2)
    assert [user.username for user in escalated.paged or []] == ["bob"]
    assert paged(incident)[-1] == ("bob", "level 2, escalated by Rosa")
    assert incident.timeline.filter(message="Rosa escalated to level 2 of Payments").exists()
    escalation = Escalation.objects.get(incident=incident)
    assert escalation.state == EscalationState.STOPPED
    assert escalation.level_index == 2  # the next Escalate pages level 3


def test_a_level_escalated_to_after_the_acknowledgement_is_delivered(people, rosa, smtp_stub):
    incident = declare(actor=rosa)
    running(incident)
    acknowledge(incident, rosa)
    paging_by_hand.escalate_now(incident=incident, actor=rosa)
    bob = Notification.objects.get(user__username="bob")

    deliveries.notification_deliver(notification_id=bob.pk)

    bob.refresh_from_db()
    assert bob.state == NotificationState.SENT
    assert len(smtp_stub.messages_to("bob@example.com")) == 1


def test_the_policy_does_not_carry_on_by_itself_after_escalating_an_acknowledged_incident(
    people, rosa
):
    incident = declare(actor=rosa)
    running(incident)
    acknowledge(incident, rosa)
    paging_by_hand.escalate_now(incident=incident, actor=rosa)
    before = paged(incident)

    escalations.tick(now=incident.declared_at + timedelta(hours=1))

    assert paged(incident) == before


def test_escalating_an_acknowledged_incident_walks_the_levels_then_says_none_is_left(people, rosa):
    incident = declare(actor=rosa)
    running(incident)
    acknowledge(incident, rosa)

    paging_by_hand.escalate_now(incident=incident, actor=rosa, level=2)
    paging_by_hand.escalate_now(incident=incident, actor=rosa, level=3)
    with pytest.raises(ValidationError, match="Every level of Payments has been paged"):
        paging_by_hand.escalate_now(incident=incident, actor=rosa)

    assert [name for name, _ in paged(incident)] == ["alice", "bob", "carol"]


def test_escalating_an_incident_acknowledged_before_anything_paged_pages_level_1(people, rosa):
    incident = declare(actor=rosa, severity_name="SEV3")
    acknowledge(incident, rosa)

    escalated = paging_by_hand.escalate_now(incident=incident, actor=rosa, level=1)

    assert escalated is not None
    assert paged(incident) == [("alice", "level 1, escalated by Rosa")]
    escalation = Escalation.objects.get(incident=incident)
    assert (escalation.state, escalation.level_index) == (EscalationState.STOPPED, 1)


def test_escalating_a_reopened_incident_pages_the_level_after_the_last_one_paged(people, rosa):
    incident = declare(actor=rosa)
    running(incident)
    acknowledge(incident, rosa)
    incident_services.incident_resolve(incident=incident, actor=rosa)
    incident_services.incident_reopen(incident=incident, actor=rosa)

    paging_by_hand.escalate_now(incident=incident, actor=rosa, level=2)

    assert paged(incident)[-1] == ("bob", "level 2, escalated by Rosa")


def test_escalating_for_another_level_than_the_one_confirmed_pages_nobody(people, rosa):
    incident = declare(actor=rosa)
    escalation = running(incident)
    escalations.tick(now=escalation.next_at)  # level 2, while Rosa read "pages level 2"

    with pytest.raises(PagingConflict, match="Escalate now pages level 3 of Payments"):
        paging_by_hand.escalate_now(incident=incident, actor=rosa, level=2)

    assert [name for name, _ in paged(incident)] == ["alice", "bob"]
    assert not incident.timeline.filter(message__contains="escalated").exists()


def test_escalating_after_levels_were_removed_pages_the_last_level_the_panel_offers(people, rosa):
    incident = declare(actor=rosa)
    escalation = running(incident)
    escalations.tick(now=escalation.next_at)  # level 2 is paged; level 3 is next
    escalation.policy.levels.filter(position__gte=1).delete()  # only level 1 is left

    escalated = paging_by_hand.escalate_now(incident=incident, actor=rosa, level=1)

    assert escalated is not None
    assert escalated.level == 1


@pytest.mark.parametrize("how", ["person", "team", "escalate"])
def test_nobody_is_paged_for_a_resolved_incident(people, rosa, how):
    team = TeamFactory(name="Database", slug="database")
    made = policy((5, [pageable("dee")]), name="Database on call", default=False)
    made.team = team
    made.save()
    incident = declare(actor=rosa)
    stale = Incident.objects.get(pk=incident.pk)  # the view a form was rendered from
    incident_services.incident_resolve(incident=incident, actor=rosa)

    with pytest.raises(PagingConflict, match=f"{incident.ref} is resolved"):
        if how == "person":
            paging_by_hand.page_user_for_incident(incident=stale, user=people[0], actor=rosa)
        elif how == "team":
            paging_by_hand.page_team_for_incident(incident=stale, team=team, actor=rosa)
        else:
            paging_by_hand.escalate_now(incident=stale, actor=rosa)

    assert not Notification.objects.exists()
    assert not Escalation.objects.filter(state=EscalationState.ACTIVE).exists()


def test_a_person_is_paged_again_once_the_incident_is_reopened(people, rosa):
    alice = people[0]
    incident = declare(actor=rosa)
    incident_services.incident_resolve(incident=incident, actor=rosa)
    incident_services.incident_reopen(incident=incident, actor=rosa)

    paging_by_hand.page_user_for_incident(incident=incident, user=alice, actor=rosa)

    assert paged(incident) == [("alice", "paged by Rosa")]


def test_resolving_cancels_the_pages_by_hand_not_yet_sent(rosa):
    dba = pageable("dba")
    rule(dba.contact_methods.get(), minutes=5)  # a second step, five minutes on
    incident = declare(actor=rosa)
    paging_by_hand.page_user_for_incident(incident=incident, user=dba, actor=rosa)
    incident_services.incident_resolve(incident=incident, actor=rosa)

    subscribers.stop_paging(
        subscribers.events.IncidentResolved(incident_id=incident.pk, actor_id=rosa.pk)
    )

    assert set(Notification.objects.values_list("state", "last_error")) == {
        (NotificationState.CANCELLED, "resolved")
    }


def test_acknowledging_leaves_the_pages_by_hand_to_be_sent(rosa):
    incident = declare(actor=rosa)
    paging_by_hand.page_user_for_incident(incident=incident, user=pageable("dba"), actor=rosa)

    subscribers.stop_paging(
        subscribers.events.IncidentAcknowledged(incident_id=incident.pk, actor_id=rosa.pk)
    )

    assert Notification.objects.get().state == NotificationState.PENDING


def test_a_team_is_paged_after_the_acknowledgement(people, rosa):
    team = TeamFactory(name="Database", slug="database")
    made = policy((5, [pageable("dee")]), name="Database on call", default=False)
    made.team = team
    made.save()
    incident = declare(actor=rosa)
    acknowledge(incident, rosa)

    paged_people = paging_by_hand.page_team_for_incident(incident=incident, team=team, actor=rosa)

    assert [user.username for user in paged_people] == ["dee"]
    assert paged(incident) == [("dee", "Database on call, paged by Rosa")]
