"""The incident page's paging panel: where paging stands, the pages sent, paging, escalating."""

import re
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
from oncall.services import escalations, paging_by_hand
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


def test_the_panel_is_registered_by_the_oncall_app_near_the_top():
    registered = incident_panels._panels[panels.TEMPLATE]

    assert registered.placement == incident_panels.Placement.TOP


def test_a_paging_incident_just_declared_says_its_first_level_is_being_paged(signed_in, incident):
    # The start_escalation task has not run yet: the panel must not say nothing pages.
    html = page(signed_in, incident)

    assert 'id="paging-panel"' in html
    assert '<span class="tag tag--paging">Starting</span>' in html
    assert "the escalation policy's first level is being paged." in html
    assert "No escalation policy" not in html
    assert "No pages have been sent for this incident." in html


def test_an_incident_no_policy_applies_to_says_so(signed_in, incident):
    assert escalations.escalation_start(incident=incident) is None

    html = page(signed_in, incident)

    assert "No escalation policy applies to this incident, so nobody is paged on its own." in html
    assert "Starting" not in html


def test_a_severity_that_does_not_page_says_so(signed_in, responder):
    incident = declare(responder, severity_name="SEV3")

    html = page(signed_in, incident)

    assert "No escalation policy is paging this incident. SEV3 does not page on its own." in html


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
    paging_by_hand.page_user_for_incident(incident=incident, user=ann, actor=responder)
    paging_by_hand.page_user_for_incident(incident=incident, user=bob, actor=responder)
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
    assert "paged by Rosa Responder · 2 attempts" in html
    assert "paged by Rosa Responder · 1 attempt<" in html
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


def test_pages_from_before_labels_were_kept_still_say_what_paged_them(signed_in, incident):
    fire(start(incident))
    paging_by_hand.page_user_for_incident(
        incident=incident, user=pageable("cole"), actor=incident.declared_by
    )
    Notification.objects.update(label="")

    html = page(signed_in, incident)

    assert "level 1 · 0 attempts" in html
    assert "paged by hand · 0 attempts" in html


def test_addresses_are_not_shown_to_everyone_who_sees_the_incident(signed_in, incident, responder):
    paging_by_hand.page_user_for_incident(
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
        paging_by_hand.page_user_for_incident(
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


def test_the_panel_refreshes_itself_while_the_incident_is_open(signed_in, incident, responder):
    starting = page(signed_in, incident)
    start(incident)
    paging = page(signed_in, incident)
    incident_services.incident_acknowledge(incident=incident, actor=responder)
    acknowledged = page(signed_in, incident)
    incident_services.incident_resolve(incident=incident, actor=responder)

    resolved = page(signed_in, incident)

    # Every 2 s until the first level is paged (within a second or two of declaring).
    assert 'hx-trigger="every 2s, visibilitychange from:document"' in starting
    assert 'hx-trigger="every 5s, visibilitychange from:document"' in paging
    # Someone may still page people by hand, or another browser escalate.
    assert 'hx-trigger="every 5s, visibilitychange from:document"' in acknowledged
    assert "hx-trigger" not in resolved.split('id="paging-live"')[1].split(">")[0]


def test_the_panel_is_near_the_top_of_the_incident_page_above_the_timeline(signed_in, incident):
    html = page(signed_in, incident)

    assert html.index('id="incident-status"') < html.index('id="paging-panel"')
    assert html.index('id="paging-panel"') < html.index('id="timeline"')


def test_an_incident_action_over_htmx_re_renders_the_panel_with_it(signed_in, incident):
    response = signed_in.post(
        reverse("incidents:acknowledge", args=[incident.number]), headers=HTMX
    )

    content = response.content.decode()
    assert content.lstrip().startswith('<div id="incident-panel"')
    assert content.index('id="paging-panel"') < content.index('id="timeline"')
    assert 'id="page-person"' in content


def live(client, incident: Incident, version: str = ""):
    url = action("incident-paging-live", incident)
    return client.get(url, {"v": version} if version else {}, headers=HTMX)


def version_of(content: str) -> str:
    match = re.search(r'paging/live/\?v=([0-9a-f]+)"', content)
    assert match, content
    return match[1]


def test_the_polled_state_shows_level_1_paged_once_the_task_ran(signed_in, incident):
    before = live(signed_in, incident).content.decode()
    fire(start(incident))

    after = live(signed_in, incident, version_of(before))

    assert "Starting" in before
    assert after.status_code == 200
    content = after.content.decode()
    assert content.lstrip().startswith('<div id="paging-live"')
    assert "level 1 of 2 paged; level 2 is paged at" in content
    assert ">Level1</p>" in content


def test_the_polled_state_answers_204_while_nothing_changed(signed_in, incident):
    fire(start(incident))
    first = live(signed_in, incident).content.decode()

    again = live(signed_in, incident, version_of(first))

    assert again.status_code == 204
    assert again.content == b""


def test_the_polled_state_stops_polling_once_resolved(signed_in, incident, responder):
    incident_services.incident_resolve(incident=incident, actor=responder)

    content = live(signed_in, incident).content.decode()

    assert "hx-trigger" not in content
    assert "Resolved: no more pages are sent for it." in content


@pytest.mark.parametrize("people", [1, 20])
def test_the_polled_state_costs_constant_queries(
    signed_in, responder, incident, people, django_assert_max_num_queries
):
    fire(start(incident, levels=1))
    for n in range(people):
        paging_by_hand.page_user_for_incident(
            incident=incident, user=pageable(f"p{n}"), actor=responder
        )

    # The session and its user, then the incident, its escalation and its pages.
    with django_assert_max_num_queries(5):
        response = live(signed_in, incident)

    assert response.content.decode().count('class="paging-person"') == people + 1


def test_the_polled_state_reloads_the_page_once_signed_out(client, incident):
    response = live(client, incident)

    assert response.status_code == 204
    assert response["HX-Refresh"] == "true"


def test_the_polled_state_without_htmx_asks_to_sign_in(client, incident):
    response = client.get(action("incident-paging-live", incident))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_the_polled_state_of_a_private_incident_is_not_shown_to_outsiders(
    client, outsider, responder
):
    private = declare(responder, private=True)
    client.force_login(outsider)

    assert live(client, private).status_code == 404


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


def escalate(client, incident: Incident, level: int | None, **kwargs):
    data = {} if level is None else {"level": level}
    return client.post(action("incident-escalate", incident), data, **kwargs)


def test_escalate_starts_the_policy_when_nothing_pages(signed_in, incident):
    policy((5, [pageable("ann")]))

    response = escalate(signed_in, incident, 1)

    escalation = Escalation.objects.get(incident=incident)
    assert response.status_code == 302
    assert escalation.state == EscalationState.ACTIVE
    assert "Escalated: level 1 of Payments is paged now." in page(signed_in, incident)


def test_escalate_pages_the_next_level_now(signed_in, incident):
    escalation = fire(start(incident))
    assert escalation.next_at > timezone.now()

    escalate(signed_in, incident, 2, headers=HTMX)

    escalation.refresh_from_db()
    assert escalation.next_at <= timezone.now()
    assert escalation.level_index == 1


def test_escalate_asks_first_naming_the_level_it_pages(signed_in, incident):
    fire(start(incident))

    html = page(signed_in, incident)

    assert '<summary class="button button--danger" id="escalate">Escalate…</summary>' in html
    assert '<input type="hidden" name="level" value="2">' in html
    assert "Pages level 2 of <strong>Payments</strong> now, without waiting" in html
    assert ">Page level 2 now</button>" in html


def test_escalate_without_confirming_a_level_pages_nobody_and_asks(signed_in, incident):
    escalation = fire(start(incident))

    response = escalate(signed_in, incident, None, headers=HTMX)

    content = response.content.decode()
    assert response.status_code == 400
    assert "confirm the level to page" in content
    assert '<details class="action paging-actions__escalate" open>' in content
    escalation.refresh_from_db()
    assert escalation.level_index == 1
    assert escalation.next_at > timezone.now()


def test_escalate_confirmed_for_a_level_already_paged_is_refused(signed_in, incident):
    # Level 2 was paged by the policy while the person read "Pages level 2 now".
    escalation = fire(start(incident, levels=3))
    fire(escalation, at=escalation.next_at)
    pages = Notification.objects.count()

    response = escalate(signed_in, incident, 2, headers=HTMX)

    content = response.content.decode()
    assert response.status_code == 409
    assert "Escalate now pages level 3 of Payments, not level 2. Nobody was paged" in content
    assert '<input type="hidden" name="level" value="3">' in content
    assert Notification.objects.count() == pages
    escalation.refresh_from_db()
    assert escalation.next_at > timezone.now()


def test_escalate_without_a_policy_is_a_message_not_an_error(signed_in, incident):
    response = escalate(signed_in, incident, 1, headers=HTMX)

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

    response = escalate(client, incident, 1, headers=HTMX)

    assert response.status_code == 403
    assert 'role="alert" id="paging-notice">Your role may not page' in response.content.decode()
    assert not Escalation.objects.exists()


def test_someone_who_cannot_see_a_private_incident_cannot_page_for_it(client, outsider, responder):
    private = declare(responder, private=True)
    client.force_login(outsider)

    response = client.post(action("incident-page-user", private), {"user": pageable("ann").pk})

    assert response.status_code == 404
    assert not Notification.objects.exists()


def test_an_acknowledged_incident_still_offers_every_action(signed_in, incident, responder):
    fire(start(incident))
    incident_services.incident_acknowledge(incident=incident, actor=responder)

    html = page(signed_in, incident)

    assert 'id="page-person"' in html
    assert 'id="escalate"' in html
    assert "Pages level 2 of <strong>Payments</strong> now, once: the incident is acknowledged" in (
        html
    )


def test_a_reopened_incident_offers_every_action_again(signed_in, incident, responder):
    fire(start(incident))
    incident_services.incident_acknowledge(incident=incident, actor=responder)
    incident_services.incident_resolve(incident=incident, actor=responder)
    incident_services.incident_reopen(incident=incident, actor=responder)

    html = page(signed_in, incident)

    assert 'id="page-person"' in html
    assert 'id="escalate"' in html


def test_page_a_person_after_the_acknowledgement_pages_them(signed_in, incident, responder):
    incident_services.incident_acknowledge(incident=incident, actor=responder)

    response = signed_in.post(
        action("incident-page-user", incident), {"user": pageable("dba").pk}, headers=HTMX
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert 'id="paging-notice">Paged Dba.</p>' in content
    assert Notification.objects.get().state == NotificationState.PENDING


def test_page_a_person_after_reopening_pages_them(signed_in, incident, responder):
    incident_services.incident_resolve(incident=incident, actor=responder)
    incident_services.incident_reopen(incident=incident, actor=responder)

    response = signed_in.post(action("incident-page-user", incident), {"user": pageable("dba").pk})

    assert response.status_code == 302
    assert Notification.objects.filter(incident=incident, user__username="dba").exists()


def test_an_acknowledged_incidents_panel_never_says_nobody_is_paged_above_a_page_on_its_way(
    signed_in, incident, responder, django_capture_on_commit_callbacks
):
    fire(start(incident))
    with django_capture_on_commit_callbacks(execute=True):
        incident_services.incident_acknowledge(incident=incident, actor=responder)
    paging_by_hand.page_user_for_incident(incident=incident, user=pageable("dba"), actor=responder)
    Notification.objects.filter(user__username="dba").update(state=NotificationState.SENDING)

    html = page(signed_in, incident)

    assert "sending…" in html
    assert "nobody is paged" not in html
    assert "1 on its way" in html
    assert "cancelled: acknowledged" in html  # level 1's page, not yet sent


def test_a_resolved_incident_offers_no_actions(signed_in, incident, responder):
    incident_services.incident_resolve(incident=incident, actor=responder, resolution="Fixed.")

    html = page(signed_in, incident)

    assert 'id="escalate"' not in html
    assert 'id="page-person"' not in html
    assert "Resolved: no more pages are sent for it." in html


@pytest.mark.parametrize(
    ("name", "data"),
    [("incident-page-user", "person"), ("incident-page-team", "team"), ("incident-escalate", "")],
)
def test_a_page_from_a_form_shown_before_resolving_is_refused(
    signed_in, incident, responder, database_team, name, data
):
    policy((5, [pageable("ann")]), name="Default")
    post = {"person": {"user": pageable("cole").pk}, "team": {"team": database_team.pk}}
    incident_services.incident_resolve(incident=incident, actor=responder)

    response = signed_in.post(action(name, incident), post.get(data, {"level": 1}), headers=HTMX)

    content = response.content.decode()
    assert response.status_code == 409
    assert f'id="paging-notice">{incident.ref} is resolved: reopen it to page anyone' in content
    assert 'id="page-person"' not in content
    assert not Notification.objects.exists()
    assert not Escalation.objects.filter(state=EscalationState.ACTIVE).exists()


def test_a_plain_page_from_a_form_shown_before_resolving_says_so_on_the_page(
    signed_in, incident, responder
):
    incident_services.incident_resolve(incident=incident, actor=responder)

    response = signed_in.post(action("incident-page-user", incident), {"user": pageable("a").pk})

    assert response.status_code == 302
    assert "is resolved: reopen it to page anyone for it." in page(signed_in, incident)
    assert not Notification.objects.exists()


def test_escalate_after_the_acknowledgement_pages_the_next_level_once(
    signed_in, incident, responder
):
    escalation = fire(start(incident, levels=3))
    incident_services.incident_acknowledge(incident=incident, actor=responder)

    response = escalate(signed_in, incident, 2, headers=HTMX)

    content = response.content.decode()
    assert response.status_code == 200
    assert 'id="paging-notice">Escalated: paged level 2 of Payments: Level2.</p>' in content
    assert "level 2, escalated by Rosa Responder · 0 attempts" in content
    assert '<input type="hidden" name="level" value="3">' in content
    escalation.refresh_from_db()
    assert escalation.state == EscalationState.STOPPED  # it does not run on by itself
    assert escalation.next_at is None


def test_only_people_who_may_respond_are_offered_to_page(signed_in, incident, viewer):
    html = page(signed_in, incident)
    response = signed_in.post(action("incident-page-user", incident), {"user": viewer.pk})

    assert "Vic Viewer" not in html
    assert response.status_code == 302
    assert not Notification.objects.exists()
