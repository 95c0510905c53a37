"""`/incident declare`: the modal opened in the request (the trigger id expires in 3 s), the
web form when Slack cannot open it, the submission checked inline and declared once."""

from __future__ import annotations

import time

import pytest

from accounts.models import User
from chatops.interactions import process_interaction
from chatops.modals import CALLBACK_ID
from chatops.models import InboundRequest, SlackCall
from incidents.models import Incident, Severity, Source
from tests.chatops.commands_support import command, link, race, run_tasks
from tests.chatops.slack_requests import post_signed, selected_option, view_submission
from tests.factories import ServiceFactory, TeamFactory


@pytest.fixture
def rosa(responder: User) -> User:
    return link(responder, "U0ROSA")


def test_declare_opens_the_modal_in_the_request(client, slack_signing_secret, slack_stub, rosa):
    response = command(client, slack_signing_secret, "declare Checkout down", user_id="U0ROSA")
    assert response.status_code == 200
    assert response.content == b""
    [opened] = slack_stub.calls_to("views.open")
    view = opened["view"]
    assert view["callback_id"] == CALLBACK_ID
    blocks = {block["block_id"]: block for block in view["blocks"]}
    assert blocks["title"]["element"]["initial_value"] == "Checkout down"
    options = blocks["severity"]["element"]["options"]
    sev1 = Severity.objects.get(name="SEV1")
    assert options[0]["text"]["text"] == "SEV1"
    assert options[0]["description"]["text"] == sev1.description[:75]
    assert set(blocks) >= {"title", "severity", "summary", "options"}


def test_declare_lists_teams_and_services(client, slack_signing_secret, slack_stub, rosa):
    service = ServiceFactory(name="checkout")
    command(client, slack_signing_secret, "declare", user_id="U0ROSA")
    [opened] = slack_stub.calls_to("views.open")
    blocks = {block["block_id"]: block for block in opened["view"]["blocks"]}
    assert blocks["services"]["element"]["type"] == "multi_static_select"
    assert [o["value"] for o in blocks["services"]["element"]["options"]] == [str(service.pk)]
    assert [o["value"] for o in blocks["team"]["element"]["options"]] == [str(service.team.pk)]


def test_a_stalled_views_open_falls_back_to_the_web_form(
    client, slack_signing_secret, slack_stub, rosa, settings
):
    settings.SLACK_MODAL_TIMEOUT = 0.3
    slack_stub.stall_next(3)
    started = time.monotonic()
    response = command(client, slack_signing_secret, "declare", user_id="U0ROSA")
    assert time.monotonic() - started < 2
    text = response.json()["text"]
    assert response.json()["response_type"] == "ephemeral"
    assert f"{settings.BASE_URL}/incidents/new/" in text


def test_an_expired_trigger_falls_back_to_the_web_form(
    client, slack_signing_secret, slack_stub, rosa, settings
):
    slack_stub.fail_next("expired_trigger_id", method="views.open")
    response = command(client, slack_signing_secret, "declare", user_id="U0ROSA")
    assert f"{settings.BASE_URL}/incidents/new/" in response.json()["text"]


def test_declare_needs_a_linked_account(client, slack_signing_secret, slack_stub, rosa):
    response = command(client, slack_signing_secret, "declare", user_id="U0NOBODY")
    assert "not linked" in response.json()["text"]
    assert slack_stub.calls_to("views.open") == []


def test_a_viewer_may_not_declare(client, slack_signing_secret, slack_stub, viewer):
    link(viewer, "U0VIC")
    response = command(client, slack_signing_secret, "declare", user_id="U0VIC")
    assert "may not declare incidents" in response.json()["text"]
    assert slack_stub.calls_to("views.open") == []


def submit(client, secret, values, *, user_id="U0ROSA", view_id=None):
    request = view_submission(CALLBACK_ID, values, user_id=user_id, view_id=view_id)
    return post_signed(client, "/slack/interactions", *request, secret=secret)


def valid_values(**more):
    sev1 = Severity.objects.get(name="SEV1")
    values = {
        "title": {"value": "Checkout down"},
        "severity": {"value": selected_option(str(sev1.pk), "SEV1")},
        "summary": {"value": "Payments fail"},
    }
    values.update(more)
    return values


def test_a_submission_without_title_or_severity_shows_errors_on_the_fields(
    client, slack_signing_secret, slack_stub, rosa
):
    response = submit(client, slack_signing_secret, {"title": {"value": ""}})
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"title", "severity"}
    run_tasks()
    assert not Incident.objects.exists()


def test_a_valid_submission_declares_from_slack_and_tells_the_declarer(
    client, slack_signing_secret, slack_stub, rosa, settings
):
    team = TeamFactory(name="Payments")
    service = ServiceFactory(name="checkout", team=team)
    slack_stub.add_user("U0ROSA", "rosa@example.com")
    values = valid_values(
        team={"value": selected_option(str(team.pk))},
        services={
            "value": {
                "type": "multi_static_select",
                "selected_options": [{"value": str(service.pk)}],
            }
        },
        options={
            "value": {
                "type": "checkboxes",
                "selected_options": [{"value": "take_command"}],
            }
        },
    )
    response = submit(client, slack_signing_secret, values)
    assert response.status_code == 200
    assert response.content == b""
    run_tasks()
    incident = Incident.objects.get()
    assert (incident.title, incident.summary, incident.severity.name) == (
        "Checkout down",
        "Payments fail",
        "SEV1",
    )
    assert incident.source == Source.SLACK
    assert incident.team == team
    assert list(incident.services.all()) == [service]
    assert incident.commander == rosa
    assert incident.declared_by == rosa
    assert not incident.private
    [dm] = slack_stub.messages_to("U0ROSA")
    assert f"{settings.BASE_URL}/incidents/{incident.number}/" in dm["text"]
    assert incident.ref in dm["text"]


def test_a_double_submission_declares_once(client, slack_signing_secret, slack_stub, rosa):
    slack_stub.add_user("U0ROSA", "rosa@example.com")
    for _ in range(2):
        submit(client, slack_signing_secret, valid_values(), view_id="V0SAME")
    run_tasks()
    assert Incident.objects.count() == 1
    assert len(slack_stub.messages_to("U0ROSA")) == 1


def test_an_unlinked_submission_is_refused_on_the_form(
    client, slack_signing_secret, slack_stub, db
):
    response = submit(client, slack_signing_secret, valid_values(), user_id="U0NOBODY")
    assert "not linked" in response.json()["errors"]["title"]
    run_tasks()
    assert not Incident.objects.exists()


def test_the_declarers_message_shows_the_title_as_typed(
    client, slack_signing_secret, slack_stub, rosa, settings
):
    slack_stub.add_user("U0ROSA", "rosa@example.com")
    title = "<!channel> | <https://evil|Ack> & co"

    submit(client, slack_signing_secret, valid_values(title={"value": title}))
    run_tasks()

    incident = Incident.objects.get()
    [dm] = slack_stub.messages_to("U0ROSA")
    assert dm["text"].startswith(
        f"You declared <{settings.BASE_URL}{incident.get_absolute_url()}|{incident.ref}: "
        "&lt;!channel&gt; | &lt;https://evil|Ack&gt; &amp; co> (SEV1)."
    )


# serialized_rollback restores the seeded severities that the flush after the test removes.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_overlapping_runs_of_a_submission_declare_once(
    client, slack_signing_secret, slack_stub, rosa
):
    submit(client, slack_signing_secret, valid_values(), view_id="V0SAME")
    inbound = InboundRequest.objects.get()

    assert race(lambda: process_interaction(inbound)) == []

    assert Incident.objects.count() == 1
    assert SlackCall.objects.filter(key="declared:V0SAME").count() == 1
