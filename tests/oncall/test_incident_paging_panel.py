"""The incident page's paging panel: where paging stands, the pages sent, paging, escalating."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from incidents import panels as incident_panels
from incidents import selectors as incident_selectors
from incidents import services as incident_services
from incidents.models import Incident
from incidents.permissions import can_view
from oncall import panels
from oncall.models import (
    ContactKind,
    Escalation,
    EscalationState,
    Notification,
    NotificationState,
)
from oncall.services import escalations
from tests.factories import TeamFactory, UserFactory, declare
from tests.oncall.factories import contact, pageable, policy, rule

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def signed_in(client, responder):
    client.force_login(responder)
    return client


@pytest.fixture
def incident(responder) -> Incident:
    return declare(responder, title="Checkout is failing")


def page(client, incident: Incident) -> str:
    return client.get(incident.get_absolute_url()).content.decode()


def action(name: str, incident: Incident) -> str:
    return reverse(f"oncall:{name}", kwargs={"number": incident.number})


def hhmm(at, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).strftime("%H:%M")


def start(incident: Incident, *, levels: int = 2, **kwargs) -> Escalation:
    people = [pageable(f"level{n}") for n in range(1, levels + 1)]
    policy(*[(5, [person]) for person in people], **kwargs)
    escalation = escalations.escalation_start(incident=incident, manual=True)
    assert escalation is not None
    return escalation


def fire(escalation: Escalation, *, at=None) -> Escalation:
    assert escalations.escalation_advance(escalation_id=escalation.pk, now=at or timezone.now())
    escalation.refresh_from_db()
    return escalation


def test_the_panel_is_registered_by_the_oncall_app():
    assert panels.TEMPLATE in incident_panels._panels


def test_an_incident_no_policy_pages_says_so(signed_in, incident):
    html = page(signed_in, incident)

    assert 'id="paging-panel"' in html
    assert "No escalation policy is paging this incident." in html
    assert "No pages have been sent for this incident." in html


def test_an_active_escalation_shows_its_policy_level_and_next_time_in_my_zone(
    signed_in, responder, incident
):
    responder.timezone = "Asia/Kolkata"
    responder.save(update_fields=["timezone"])
    escalation = fire(start(incident, levels=3))

    html = page(signed_in, incident)

    assert '<span class="tag tag--paging">Paging</span>' in html
    assert "Policy <strong>Payments</strong>:" in html
    assert "level 1 of 3 paged; level 2 is paged at" in html
    assert f">{hhmm(escalation.next_at, 'Asia/Kolkata')} IST</time>" in html


def test_an_escalation_not_fired_yet_says_its_first_level_is_paged_now(signed_in, incident):
    start(incident)

    html = page(signed_in, incident)

    assert "level 1 of 2 is paged now." in html


def test_a_stopped_escalation_says_when_and_why(signed_in, incident):
    fire(start(incident))
    escalations.escalation_stop(incident_id=incident.pk, reason="acknowledged")
    stopped_at = Escalation.objects.get().stopped_at

    html = page(signed_in, incident)

    assert '<span class="tag">Stopped</span>' in html
    assert f"{hhmm(stopped_at, 'UTC')} UTC</time>: acknowledged." in html


def test_an_exhausted_escalation_says_nobody_acknowledged_and_until_when_to_answer(
    signed_in, incident
):
    escalation = fire(start(incident, levels=1))
    assert escalation.state == EscalationState.EXHAUSTED

    html = page(signed_in, incident)

    assert '<span class="tag tag--exhausted">Exhausted</span>' in html
    assert "paged all 1 level and nobody has acknowledged." in html
    assert "The last level has until <time datetime=" in html
    assert f">{hhmm(escalation.stopped_at, 'UTC')} UTC</time> to answer." in html


def test_pages_are_grouped_by_person_with_method_state_and_attempts(signed_in, incident, responder):
    ann, bob = pageable("ann"), pageable("bob", kind=ContactKind.SMS)
    rule(contact(ann, kind=ContactKind.VOICE), minutes=5)
    rule(ann.contact_methods.get(kind=ContactKind.EMAIL), minutes=0)
    escalations.page_user_for_incident(incident=incident, user=ann, actor=responder)
    escalations.page_user_for_incident(incident=incident, user=bob, actor=responder)
    now = timezone.now()
    Notification.objects.filter(user=ann, contact_method__kind=ContactKind.EMAIL).update(
        state=NotificationState.SENT, sent_at=now, attempts=1
    )
    Notification.objects.filter(user=bob).update(
        state=NotificationState.FAILED, attempts=2, last_error="Twilio: unknown number"
    )
    voice = Notification.objects.get(user=ann, contact_method__kind=ContactKind.VOICE)

    html = page(signed_in, incident)

    assert html.index(">Ann</p>") < html.index(">Bob</p>")
    assert f'id="page-{voice.pk}"' in html
    assert "pending, due at" in html
    assert f">{hhmm(voice.due_at, 'UTC')} UTC</time>" in html
    assert f'sent at <time datetime="{timezone.localtime(now).isoformat()}"' in html
    assert 'failed: <span class="paging-page__error">Twilio: unknown number</span>' in html
    assert "paged by hand · 2 attempts" in html
    assert "paged by hand · 1 attempt<" in html
    assert 'Pages <span class="count">3</span>' in html


def test_a_cancelled_page_says_why(signed_in, incident):
    # A policy's pages are cancelled when paging stops; pages by hand are not.
    fire(start(incident))
    escalations.escalation_stop(incident_id=incident.pk, reason="acknowledged")

    html = page(signed_in, incident)

    assert "cancelled: acknowledged" in html


def test_pages_from_a_policy_say_their_level(signed_in, incident):
    fire(start(incident))

    html = page(signed_in, incident)

    assert "level 1 · 0 attempts" in html


def test_addresses_are_not_shown_to_everyone_who_sees_the_incident(signed_in, incident, responder):
    escalations.page_user_for_incident(
        incident=incident, user=pageable("ann", kind=ContactKind.SMS), actor=responder
    )

    html = page(signed_in, incident)

    assert ">SMS</span>" in html
    assert "+15005550006" not in html


@pytest.mark.parametrize("people", [1, 20])
def test_the_panel_costs_four_queries_however_many_pages(
    responder, incident, people, django_assert_max_num_queries
):
    fire(start(incident, levels=1))
    for n in range(people):
        escalations.page_user_for_incident(
            incident=incident, user=pageable(f"p{n}"), actor=responder
        )
    request = RequestFactory().get(incident.get_absolute_url())
    request.user = responder
    seen = incident_selectors.incident_get_for_user(user=responder, number=incident.number)

    # The escalation with its level count, the pages, the people and the teams to page.
    with django_assert_max_num_queries(4):
        context = panels.incident_paging_context(seen, request)
        html = render_to_string(panels.TEMPLATE, {"incident": seen, **context}, request=request)

    assert html.count('class="paging-person"') == people + 1


def test_the_panel_refreshes_itself_only_while_pages_are_on_their_way(signed_in, incident):
    start(incident)
    live = page(signed_in, incident)
    escalations.escalation_stop(incident_id=incident.pk, reason="acknowledged")

    still = page(signed_in, incident)

    assert 'hx-trigger="every 20s"' in live
    assert 'hx-trigger="every 20s"' not in still


def test_the_panel_alone_is_served_for_its_refresh(signed_in, incident):
    response = signed_in.get(action("incident-paging", incident), headers=HTMX)

    content = response.content.decode()
    assert response.status_code == 200
    assert content.lstrip().startswith('<section class="card paging-panel" id="paging-panel"')
    assert "<html" not in content


def test_page_a_person_creates_a_page_for_each_of_their_steps(signed_in, incident):
    cole = pageable("cole")
    rule(contact(cole, kind=ContactKind.SMS), minutes=1)
    rule(cole.contact_methods.get(kind=ContactKind.EMAIL), minutes=0)

    response = signed_in.post(action("incident-page-user", incident), {"user": cole.pk})

    pages = Notification.objects.filter(incident=incident, user=cole).order_by("due_at")
    assert response.status_code == 302
    assert response["Location"] == incident.get_absolute_url()
    assert [p.contact_method.kind for p in pages] == [ContactKind.EMAIL, ContactKind.SMS]
    assert pages[1].due_at - pages[0].due_at == timedelta(minutes=1)
    assert incident.participants.filter(pk=cole.pk).exists()
    assert "Paged Cole." in page(signed_in, incident)


def test_page_a_person_over_htmx_answers_with_the_panel(signed_in, incident):
    cole = pageable("cole")

    response = signed_in.post(
        action("incident-page-user", incident), {"user": cole.pk}, headers=HTMX
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert content.lstrip().startswith('<section class="card paging-panel"')
    assert 'role="status" id="paging-notice">Paged Cole.</p>' in content
    assert ">Cole</p>" in content


def test_paging_someone_without_a_verified_method_says_nobody_was_paged(signed_in, incident):
    nobody = UserFactory(username="nobody", first_name="No", last_name="Body")

    signed_in.post(action("incident-page-user", incident), {"user": nobody.pk})

    assert not Notification.objects.exists()
    html = page(signed_in, incident)
    assert "No Body has no verified contact method, so nobody was paged." in html
    assert "No Body (no verified contact method)</option>" in html


def test_page_a_person_without_choosing_is_a_form_error_and_pages_nobody(signed_in, incident):
    response = signed_in.post(action("incident-page-user", incident), {"user": ""}, headers=HTMX)

    assert response.status_code == 400
    assert 'id="page-user_error1">This field is required.' in response.content.decode()
    assert not Notification.objects.exists()


def test_page_a_person_who_does_not_exist_is_a_message_not_an_error(signed_in, incident):
    response = signed_in.post(action("incident-page-user", incident), {"user": "99999"})

    assert response.status_code == 302
    assert "Select a valid choice" in page(signed_in, incident)
    assert not Notification.objects.exists()


@pytest.fixture
def database_team():
    """A team whose policy's first level is Dee."""
    team = TeamFactory(name="Database", slug="database")
    made = policy((5, [pageable("dee")]), name="Database on call", default=False)
    made.team = team
    made.save()
    return team


def test_page_a_team_pages_its_first_level_and_says_who(signed_in, incident, database_team):
    response = signed_in.post(action("incident-page-team", incident), {"team": database_team.pk})

    assert response.status_code == 302
    assert [n.user.username for n in Notification.objects.filter(incident=incident)] == ["dee"]
    assert not Escalation.objects.filter(incident=incident).exists()
    assert "Paged Database: Dee." in page(signed_in, incident)


def test_only_teams_a_policy_pages_are_offered(signed_in, incident, database_team):
    TeamFactory(name="Nobody's team", slug="nobody")

    html = page(signed_in, incident)

    assert f'<option value="{database_team.pk}">Database</option>' in html
    assert "Nobody&#x27;s team" not in html


def test_no_team_to_page_offers_no_team_form(signed_in, incident):
    assert 'id="page-team"' not in page(signed_in, incident)


def test_page_a_team_without_choosing_is_a_form_error_and_pages_nobody(
    signed_in, incident, database_team
):
    response = signed_in.post(action("incident-page-team", incident), {"team": ""}, headers=HTMX)

    assert response.status_code == 400
    assert 'id="page-team-team_error1">This field is required.' in response.content.decode()
    assert not Notification.objects.exists()


def test_page_a_team_nobody_is_on_call_for_says_so(signed_in, incident, database_team):
    Notification.objects.all().delete()
    database_team.escalation_policies.get().levels.get().targets.all().delete()

    signed_in.post(action("incident-page-team", incident), {"team": database_team.pk})

    assert not Notification.objects.exists()
    assert "Nobody is on call for Database right now, so nobody was paged." in page(
        signed_in, incident
    )


def test_page_a_team_does_not_page_a_viewer_into_a_private_incident(client, responder):
    # Paging makes people participants, who see a private incident: responders only, as for
    # "page a person".
    team = TeamFactory(name="Database", slug="database")
    lead = UserFactory(username="vera", first_name="Vera", last_name="", role=Role.VIEWER)
    contact(lead)
    team.leads.add(lead)
    made = policy((5, [team]), name="Database on call", default=False)
    made.team = team
    made.save()
    incident = declare(responder, title="Card data exposed", private=True)
    client.force_login(responder)

    client.post(action("incident-page-team", incident), {"team": team.pk})

    assert not can_view(lead, incident)
    assert not Notification.objects.exists()
    assert incident.timeline.filter(
        message="Did not page Vera for Database: their role may not respond to incidents."
    ).exists()


def test_a_viewers_team_page_is_refused_and_pages_nobody(client, viewer, incident, database_team):
    client.force_login(viewer)

    response = client.post(action("incident-page-team", incident), {"team": database_team.pk})

    assert response.status_code == 403
    assert not Notification.objects.exists()


def test_escalate_starts_the_policy_when_nothing_pages(signed_in, incident):
    policy((5, [pageable("ann")]))

    response = signed_in.post(action("incident-escalate", incident))

    escalation = Escalation.objects.get(incident=incident)
    assert response.status_code == 302
    assert escalation.state == EscalationState.ACTIVE
    assert "Escalated: Payments pages level 1 now." in page(signed_in, incident)


def test_escalate_pages_the_next_level_now(signed_in, incident):
    escalation = fire(start(incident))
    assert escalation.next_at > timezone.now()

    signed_in.post(action("incident-escalate", incident), headers=HTMX)

    escalation.refresh_from_db()
    assert escalation.next_at <= timezone.now()
    assert escalation.level_index == 1


def test_escalate_without_a_policy_is_a_message_not_an_error(signed_in, incident):
    response = signed_in.post(action("incident-escalate", incident), headers=HTMX)

    assert response.status_code == 400
    assert "Nobody was paged: no escalation policy applies" in response.content.decode()
    # Recorded as stopped (so nothing retries it), and nobody paged.
    assert not Escalation.objects.exclude(state="stopped").exists()
    assert not Notification.objects.exists()


def test_a_viewer_sees_the_panel_without_the_actions(client, viewer, incident):
    client.force_login(viewer)

    html = page(client, incident)

    assert 'id="paging-panel"' in html
    assert 'id="page-person"' not in html
    assert 'id="escalate"' not in html


def test_a_responder_sees_both_actions(signed_in, incident):
    html = page(signed_in, incident)

    assert 'id="page-person"' in html
    assert 'id="escalate"' in html


def test_a_viewers_page_is_refused_and_pages_nobody(client, viewer, incident):
    client.force_login(viewer)

    response = client.post(action("incident-page-user", incident), {"user": pageable("ann").pk})

    assert response.status_code == 403
    assert "may not page people" in response.content.decode()
    assert not Notification.objects.exists()


def test_a_viewers_escalation_over_htmx_is_refused_with_a_notice(client, viewer, incident):
    client.force_login(viewer)
    policy((5, [pageable("ann")]))

    response = client.post(action("incident-escalate", incident), headers=HTMX)

    assert response.status_code == 403
    assert 'role="alert" id="paging-notice">Your role may not page' in response.content.decode()
    assert not Escalation.objects.exists()


def test_someone_who_cannot_see_a_private_incident_cannot_page_for_it(client, outsider, responder):
    private = declare(responder, private=True)
    client.force_login(outsider)

    response = client.post(action("incident-page-user", private), {"user": pageable("ann").pk})

    assert response.status_code == 404
    assert not Notification.objects.exists()


def test_an_acknowledged_incident_offers_no_actions(signed_in, incident, responder):
    incident_services.incident_acknowledge(incident=incident, actor=responder)

    html = page(signed_in, incident)

    assert 'id="page-person"' not in html
    assert "Acknowledged: nobody is paged for it any more." in html


def test_a_resolved_incident_offers_no_actions(signed_in, incident, responder):
    incident_services.incident_resolve(incident=incident, actor=responder, resolution="Fixed.")

    html = page(signed_in, incident)

    assert 'id="escalate"' not in html
    assert "Resolved: nobody is paged for it." in html


def test_only_people_who_may_respond_are_offered_to_page(signed_in, incident, viewer):
    html = page(signed_in, incident)
    response = signed_in.post(action("incident-page-user", incident), {"user": viewer.pk})

    assert "Vic Viewer" not in html
    assert response.status_code == 302
    assert not Notification.objects.exists()
