"""On call's addresses: one namespace, "oncall:", and the paths people and machines hold.

Ack links sit in pages already sent, Twilio calls back the addresses in its settings, calendar
apps poll feed addresses and people bookmark pages: these paths never change.
"""

import pytest
from django.urls import reverse

from tests.factories import declare

KEPT = [
    ("oncall:ack", {"token": "t0k"}, "/ack/t0k"),
    ("oncall:twilio-sms", {}, "/hooks/twilio/sms"),
    ("oncall:twilio-voice", {"notification_id": 42}, "/hooks/twilio/voice/42"),
    ("oncall:schedule-list", {}, "/schedules/"),
    ("oncall:schedule-create", {}, "/schedules/new"),
    ("oncall:my-feed-rotate", {}, "/schedules/my-feed/rotate"),
    ("oncall:schedule-detail", {"pk": 7}, "/schedules/7/"),
    ("oncall:schedule-edit", {"pk": 7}, "/schedules/7/edit"),
    ("oncall:schedule-delete", {"pk": 7}, "/schedules/7/delete"),
    ("oncall:schedule-rotate-feed", {"pk": 7}, "/schedules/7/rotate-feed"),
    ("oncall:layer-create", {"pk": 7}, "/schedules/7/layers/new"),
    ("oncall:layer-change", {"pk": 7, "layer_id": 3}, "/schedules/7/layers/3/edit"),
    ("oncall:layer-end", {"pk": 7, "layer_id": 3}, "/schedules/7/layers/3/end"),
    ("oncall:override-create", {"pk": 7}, "/schedules/7/overrides/new"),
    ("oncall:override-delete", {"pk": 7, "override_id": 5}, "/schedules/7/overrides/5/delete"),
    ("oncall:policy-list", {}, "/policies/"),
    ("oncall:policy-create", {}, "/policies/new"),
    ("oncall:policy-detail", {"pk": 2}, "/policies/2/"),
    ("oncall:policy-edit", {"pk": 2}, "/policies/2/edit"),
    ("oncall:policy-delete", {"pk": 2}, "/policies/2/delete"),
    ("oncall:oncall-now", {}, "/oncall/now"),
    ("oncall:team-oncall", {"slug": "payments"}, "/oncall/teams/payments/now"),
    ("oncall:schedule-feed", {"token": "t0k"}, "/oncall/schedules/t0k.ics"),
    ("oncall:user-feed", {"token": "t0k"}, "/oncall/users/t0k.ics"),
    ("oncall:paging-settings", {}, "/me/paging/"),
    ("oncall:contact-method-add", {}, "/me/paging/methods/"),
    ("oncall:contact-method-verify", {"pk": 4}, "/me/paging/methods/4/verify/"),
    ("oncall:contact-method-send-code", {"pk": 4}, "/me/paging/methods/4/send-code/"),
    ("oncall:contact-method-test", {"pk": 4}, "/me/paging/methods/4/test/"),
    ("oncall:contact-method-delete", {"pk": 4}, "/me/paging/methods/4/delete/"),
    ("oncall:notification-rule-add", {}, "/me/paging/rules/"),
    ("oncall:notification-rules-recommended", {}, "/me/paging/rules/recommended/"),
    ("oncall:notification-rule-delete", {"pk": 4}, "/me/paging/rules/4/delete/"),
]

# The incident page's paging actions live under the incident's own address.
INCIDENT_PAGING = [
    ("oncall:incident-paging", "/incidents/12/paging/"),
    ("oncall:incident-page-user", "/incidents/12/page/"),
    ("oncall:incident-page-team", "/incidents/12/page-team/"),
    ("oncall:incident-escalate", "/incidents/12/escalate/"),
]


@pytest.mark.parametrize(("name", "kwargs", "path"), KEPT)
def test_address_people_and_machines_hold_is_kept(name, kwargs, path):
    assert reverse(name, kwargs=kwargs or None) == path


@pytest.mark.parametrize(("name", "path"), INCIDENT_PAGING)
def test_incident_paging_action_is_under_the_incident(name, path):
    assert reverse(name, kwargs={"number": 12}) == path


def test_incident_paging_panel_answers_at_its_incident_address(client, responder):
    incident = declare(responder, title="Checkout is failing")
    client.force_login(responder)

    assert client.get(f"/incidents/{incident.number}/paging/").status_code == 200
    assert client.get(f"/me/incidents/{incident.number}/paging/").status_code == 404


@pytest.mark.parametrize(
    ("path", "current"),
    [("/schedules/", True), ("/policies/", True), ("/me/paging/", False), ("/", False)],
)
def test_main_navigation_marks_on_call_on_its_own_pages_only(client, responder, path, current):
    client.force_login(responder)

    html = client.get(path).content.decode()

    assert ('href="/schedules/" aria-current="page">On call</a>' in html) is current
