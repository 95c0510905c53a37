"""Pushing public incidents to a hosted Atlassian Statuspage: create, then PATCH what changed,
in order and coalesced, through 429s, 5xx, lost answers and dead workers.

The hosted page is a real HTTP server on loopback speaking Statuspage's API
(tests/stubs/atlassian_statuspage.py); the worker's round, `deliver_due(now)`, is called
directly, with `now` moved by hand where waiting matters.
"""

import logging
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from config.celery import app
from statuspage.hosted import services, tasks
from statuspage.hosted.client import retry_after_seconds
from statuspage.hosted.services import LEASE, deliver_due, hosted_push_queue
from statuspage.models import PublicIncident
from statuspage.models_hosted import HostedPush, PushState
from tests.harness import in_thread
from tests.statuspage.hosted_fixtures import (
    component,
    hosted_fixture,  # noqa: F401
    post_update,
    publish,
    set_state,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(db):
    return component("API", "cmpapi0001", state="partial_outage")


@pytest.fixture
def web(db):
    return component("Web", "cmpweb0002", state="partial_outage")


def push_row(incident: PublicIncident) -> HostedPush:
    return HostedPush.objects.get(public_incident=incident)


def hosted_id(incident: PublicIncident) -> str:
    incident.refresh_from_db(fields=["hosted_incident_id"])
    return incident.hosted_incident_id


def incident_fields(request) -> dict:
    return request.json()["incident"]


def test_first_push_creates_the_hosted_incident(hosted, api, web):
    internal = component("Internal batch")  # not on the hosted page: left out
    incident = publish(components=[api, web, internal], impact="major")

    assert deliver_due() == {"sent": 1}

    [create] = hosted.incident_requests()
    assert (create.method, create.path) == ("POST", f"/v1/pages/{hosted.page_id}/incidents")
    assert create.headers["authorization"] == f"OAuth {hosted.api_key}"
    assert incident_fields(create) == {
        "name": "Checkout errors",
        "status": "investigating",
        "body": "We are investigating failed payments.",
        "impact_override": "major",
        "component_ids": ["cmpapi0001", "cmpweb0002"],
        "components": {"cmpapi0001": "partial_outage", "cmpweb0002": "partial_outage"},
        "deliver_notifications": True,
        "metadata": {"tocsin": {"public_incident": incident.code}},
    }
    created = hosted.only_incident()
    assert hosted_id(incident) == created["id"]
    assert hosted.components["cmpapi0001"] == "partial_outage"
    assert push_row(incident).state == PushState.DONE


def test_a_new_public_update_is_patched_with_its_status_and_notifies(hosted, api):
    incident = publish(components=[api])
    deliver_due()

    post_update(incident, "identified", "A failed database failover; we are fixing it.")
    assert deliver_due() == {"sent": 1}

    patch = hosted.incident_requests()[-1]
    assert (patch.method, patch.path) == (
        "PATCH",
        f"/v1/pages/{hosted.page_id}/incidents/{hosted_id(incident)}",
    )
    assert incident_fields(patch) == {
        "status": "identified",
        "body": "A failed database failover; we are fixing it.",
        "deliver_notifications": True,
    }
    assert [u["body"] for u in hosted.only_incident()["incident_updates"]] == [
        "A failed database failover; we are fixing it.",
        "We are investigating failed payments.",
    ]


def test_a_component_change_alone_is_patched_without_repeating_the_update(hosted, api):
    incident = publish(components=[api])
    deliver_due()

    set_state(api, "major_outage", incident=incident)
    deliver_due()

    patch = hosted.incident_requests()[-1]
    assert incident_fields(patch) == {
        "component_ids": ["cmpapi0001"],
        "components": {"cmpapi0001": "major_outage"},
        "deliver_notifications": False,
    }
    assert len(hosted.only_incident()["incident_updates"]) == 1


def test_nothing_changed_sends_nothing(hosted, api):
    incident = publish(components=[api])
    deliver_due()

    hosted_push_queue(incident.pk)
    assert deliver_due() == {"sent": 1}

    assert len(hosted.incident_requests()) == 1


def test_resolution_resolves_the_hosted_incident_and_its_components(hosted, api):
    incident = publish(components=[api])
    deliver_due()

    api.state = "operational"
    api.save(update_fields=["state"])
    post_update(incident, "resolved", "Payments work again.")
    deliver_due()

    assert incident_fields(hosted.incident_requests()[-1]) == {
        "status": "resolved",
        "body": "Payments work again.",
        "component_ids": ["cmpapi0001"],
        "components": {"cmpapi0001": "operational"},
        "deliver_notifications": True,
    }
    assert hosted.only_incident()["status"] == "resolved"
    assert hosted.components["cmpapi0001"] == "operational"


def test_a_component_no_longer_affected_is_told_its_state(hosted, api, web):
    incident = publish(components=[api, web])
    deliver_due()

    web.state = "operational"
    web.save(update_fields=["state"])
    incident.components.remove(web)
    hosted_push_queue(incident.pk)
    deliver_due()

    assert incident_fields(hosted.incident_requests()[-1]) == {
        "component_ids": ["cmpapi0001"],
        "components": {"cmpweb0002": "operational", "cmpapi0001": "partial_outage"},
        "deliver_notifications": False,
    }


def test_a_burst_of_component_changes_is_one_patch_with_the_latest_state(hosted, api, web):
    incident = publish(components=[api])
    deliver_due()

    set_state(api, "major_outage", incident=incident)
    set_state(api, "degraded_performance", incident=incident)
    incident.components.add(web)
    set_state(web, "major_outage", incident=incident)
    assert deliver_due() == {"sent": 1}

    [_create, patch] = hosted.incident_requests()
    assert incident_fields(patch) == {
        "component_ids": ["cmpapi0001", "cmpweb0002"],
        "components": {"cmpapi0001": "degraded_performance", "cmpweb0002": "major_outage"},
        "deliver_notifications": False,
    }


def test_each_public_update_of_a_burst_reaches_the_hosted_page_in_order(hosted, api):
    incident = publish(components=[api])
    deliver_due()

    for n, status in enumerate(("identified", "identified", "monitoring", "resolved"), 1):
        post_update(incident, status, f"Update {n}")
    set_state(api, "operational", incident=incident)
    assert deliver_due() == {"sent": 1}

    [_create, *patches] = hosted.incident_requests()
    assert [incident_fields(p) for p in patches[:3]] == [
        {"body": f"Update {n}", "status": status, "deliver_notifications": True}
        for n, status in enumerate(("identified", "identified", "monitoring"), 1)
    ]
    assert incident_fields(patches[3]) == {
        "status": "resolved",
        "body": "Update 4",
        "component_ids": ["cmpapi0001"],
        "components": {"cmpapi0001": "operational"},
        "deliver_notifications": True,
    }
    bodies = [u["body"] for u in reversed(hosted.only_incident()["incident_updates"])]
    assert bodies == [
        "We are investigating failed payments.",
        "Update 1",
        "Update 2",
        "Update 3",
        "Update 4",
    ]


def test_updates_before_the_first_push_are_a_create_then_a_patch_each(hosted, api):
    incident = publish(components=[api])
    post_update(incident, "identified", "Found it.")
    post_update(incident, "monitoring", "Fixed; watching.")

    deliver_due()

    create, found, fixed = hosted.incident_requests()
    assert create.method == "POST"
    assert incident_fields(create)["status"] == "investigating"
    assert incident_fields(create)["body"] == "We are investigating failed payments."
    assert incident_fields(found) == {
        "body": "Found it.",
        "status": "identified",
        "deliver_notifications": True,
    }
    assert incident_fields(fixed) == {
        "body": "Fixed; watching.",
        "status": "monitoring",
        "deliver_notifications": True,
    }
    assert hosted.only_incident()["status"] == "monitoring"


def test_a_missed_update_refused_by_a_server_error_is_sent_on_the_retry(hosted, api):
    incident = publish(components=[api])
    deliver_due()
    post_update(incident, "identified", "Found it.")
    post_update(incident, "monitoring", "Fixed; watching.")
    hosted.fail_next(503)

    assert deliver_due() == {"retry": 1}
    assert deliver_due(timezone.now() + timedelta(minutes=1)) == {"sent": 1}

    bodies = [u["body"] for u in reversed(hosted.only_incident()["incident_updates"])]
    assert bodies == ["We are investigating failed payments.", "Found it.", "Fixed; watching."]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_pushes_of_one_incident_go_one_at_a_time_in_order(hosted):
    """Changes made while the create is on its way wait for it, and go as one PATCH with the
    latest state; a second worker meanwhile finds nothing to take."""
    api = component("API", "cmpapi0001", state="partial_outage")
    hosted.stall_next(1.0)
    incident = publish(components=[api])
    first_worker = in_thread(deliver_due)
    try:
        _wait_for(lambda: hosted.incident_requests())
        post_update(incident, "identified", "Found it.")
        post_update(incident, "monitoring", "Fixed; watching.")
        assert deliver_due() == {}
    finally:
        first_worker.join(timeout=10)

    assert [r.method for r in hosted.incident_requests()] == ["POST", "PATCH", "PATCH"]
    assert hosted.max_in_flight == 1
    assert incident_fields(hosted.incident_requests()[-1])["body"] == "Fixed; watching."
    row = push_row(incident)
    assert (row.state, row.done, row.wanted) == (PushState.DONE, 3, 3)


def test_rate_limit_waits_as_long_as_retry_after_says(hosted, api):
    hosted.fail_next(429, message="Rate limit exceeded", retry_after="30")
    incident = publish(components=[api])
    now = timezone.now()

    assert deliver_due(now) == {"rate_limited": 1}
    row = push_row(incident)
    assert (row.state, row.due_at, row.attempts) == (
        PushState.PENDING,
        now + timedelta(seconds=30),
        0,
    )

    assert deliver_due(now + timedelta(seconds=29)) == {}
    assert deliver_due(now + timedelta(seconds=30)) == {"sent": 1}
    assert [r.status for r in hosted.incident_requests()] == [429, 201]
    assert hosted_id(incident) == hosted.only_incident()["id"]


def test_retry_after_as_an_http_date_or_garbled():
    in_a_minute = timezone.now() + timedelta(minutes=1)
    assert 55 <= retry_after_seconds(in_a_minute.strftime("%a, %d %b %Y %H:%M:%S GMT")) <= 60
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("999999") == 3600


def test_a_rate_limit_ends_the_round_for_every_incident(hosted, api, web):
    first = publish(components=[api], name="First")
    second = publish(components=[web], name="Second")
    hosted.fail_next(429, retry_after="10")

    assert deliver_due() == {"rate_limited": 1}

    assert len(hosted.incident_requests()) == 1
    assert {push_row(first).state, push_row(second).state} == {PushState.PENDING}


def test_a_server_error_backs_off_then_looks_before_creating_again(hosted, api):
    hosted.fail_next(500, message="Internal error")
    incident = publish(components=[api])
    now = timezone.now()

    assert deliver_due(now) == {"retry": 1}
    row = push_row(incident)
    assert (row.state, row.attempts) == (PushState.PENDING, 1)
    assert row.due_at == now + timedelta(seconds=5)
    assert "500" in row.last_error
    assert deliver_due(now + timedelta(seconds=4)) == {}

    assert deliver_due(now + timedelta(seconds=5)) == {"sent": 1}
    # The 500 might have created it: the page is searched before a second POST.
    assert [(r.method, r.status) for r in hosted.incident_requests()] == [
        ("POST", 500),
        ("GET", 200),
        ("POST", 201),
    ]
    assert hosted_id(incident) == hosted.only_incident()["id"]
    assert (push_row(incident).attempts, push_row(incident).last_error) == (0, "")


def test_backoff_doubles_and_gives_up_after_max_attempts(hosted, api):
    hosted.fail_next(503, times=services.MAX_ATTEMPTS)
    incident = publish(components=[api])
    now = timezone.now()
    waits = []
    for _ in range(services.MAX_ATTEMPTS):
        deliver_due(now)
        row = push_row(incident)
        waits.append((row.due_at - now).total_seconds())
        now = row.due_at

    assert waits[:4] == [5, 10, 20, 40]
    assert row.state == PushState.FAILED
    assert "503" in row.last_error
    assert hosted.incidents == {}


def test_a_refused_push_fails_at_once_with_the_answer_kept(hosted, api):
    hosted.fail_next(400, message="Component cmpapi0001 is archived")
    incident = publish(components=[api])
    now = timezone.now()

    assert deliver_due(now) == {"failed": 1}

    row = push_row(incident)
    assert row.state == PushState.FAILED
    assert "400" in row.last_error and "Component cmpapi0001 is archived" in row.last_error
    assert deliver_due(now + timedelta(hours=1)) == {}
    assert len(hosted.incident_requests()) == 1

    # The incident's next change tries again.
    post_update(incident, "identified", "Found it.")
    assert deliver_due(now + timedelta(hours=1)) == {"sent": 1}
    assert hosted.only_incident()["status"] == "identified"


def test_off_when_not_configured_no_row_and_no_request(hosted, api, settings):
    settings.STATUSPAGE_HOSTED_PAGE_ID = ""
    settings.STATUSPAGE_HOSTED_API_KEY = ""
    incident = publish(components=[api])
    post_update(incident, "resolved", "Fixed.")

    assert deliver_due() == {}

    assert not HostedPush.objects.exists()
    hosted.assert_nothing_sent()


def test_a_push_whose_worker_died_is_taken_again_after_its_lease(hosted, api):
    incident = publish(components=[api])
    died_at = timezone.now()
    # A worker claimed the row and died before its POST left.
    HostedPush.objects.filter(public_incident=incident).update(
        state=PushState.SENDING, claimed_at=died_at, attempts=1
    )

    assert deliver_due(died_at + LEASE - timedelta(seconds=1)) == {}
    hosted.assert_nothing_sent()

    assert deliver_due(died_at + LEASE + timedelta(seconds=1)) == {"sent": 1}
    assert [r.method for r in hosted.incident_requests()] == ["POST"]
    assert hosted_id(incident) == hosted.only_incident()["id"]


def test_a_create_whose_answer_was_lost_is_adopted_not_made_twice(hosted, api, settings):
    """The POST worked but its answer never came back (as when the worker dies between the
    POST and storing the id): the next push finds the incident by its marker."""
    settings.STATUSPAGE_HOSTED_TIMEOUT = 0.3
    hosted.stall_next(1.0)
    incident = publish(components=[api])
    now = timezone.now()

    assert deliver_due(now) == {"retry": 1}
    assert hosted_id(incident) == ""
    assert len(hosted.incidents) == 1

    post_update(incident, "identified", "Found it.")
    assert deliver_due(now + timedelta(seconds=5)) == {"sent": 1}

    assert [r.method for r in hosted.incident_requests()] == ["POST", "GET", "PATCH"]
    created = hosted.only_incident()
    assert hosted_id(incident) == created["id"]
    # The PATCH carried only what the lost POST had not.
    assert incident_fields(hosted.incident_requests()[-1]) == {
        "status": "identified",
        "body": "Found it.",
        "deliver_notifications": True,
    }


def test_a_withdrawn_incident_is_deleted_from_the_hosted_page(hosted, api):
    incident = publish(components=[api])
    deliver_due()
    created_id = hosted_id(incident)

    api.state = "operational"
    api.save(update_fields=["state"])
    incident.withdrawn = True
    incident.save(update_fields=["withdrawn"])
    hosted_push_queue(incident.pk)
    assert deliver_due() == {"sent": 1}

    [_create, patch, delete] = hosted.incident_requests()
    assert incident_fields(patch) == {
        "components": {"cmpapi0001": "operational"},
        "deliver_notifications": False,
    }
    assert (delete.method, delete.path) == (
        "DELETE",
        f"/v1/pages/{hosted.page_id}/incidents/{created_id}",
    )
    assert hosted.incidents == {}
    assert hosted.components["cmpapi0001"] == "operational"
    assert hosted_id(incident) == ""

    # Published again, it is created anew.
    incident.withdrawn = False
    incident.save(update_fields=["withdrawn"])
    hosted_push_queue(incident.pk)
    deliver_due()
    assert hosted_id(incident) == hosted.only_incident()["id"] != created_id


def test_an_incident_withdrawn_before_its_first_push_is_never_sent(hosted, api):
    incident = publish(components=[api])
    incident.withdrawn = True
    incident.save(update_fields=["withdrawn"])
    hosted_push_queue(incident.pk)

    assert deliver_due() == {"sent": 1}
    hosted.assert_nothing_sent()


def test_the_api_key_is_never_logged_nor_kept(hosted, api, settings, caplog):
    settings.STATUSPAGE_HOSTED_API_KEY = "wrong-key-0123456789"
    incident = publish(components=[api])

    with caplog.at_level(logging.DEBUG):
        assert deliver_due() == {"failed": 1}

    row = push_row(incident)
    assert "401" in row.last_error
    assert "wrong-key-0123456789" not in row.last_error
    assert "wrong-key-0123456789" not in caplog.text


def _wait_for(condition, timeout: float = 5.0) -> None:
    deadline = timezone.now() + timedelta(seconds=timeout)
    while not condition():
        assert timezone.now() < deadline, "timed out"
        threading.Event().wait(0.02)


def test_workers_know_the_task_and_it_pushes(hosted, api):
    assert "statuspage.hosted.tasks.deliver_due" in app.tasks
    incident = publish(components=[api])

    tasks.deliver_due()

    assert hosted_id(incident) == hosted.only_incident()["id"]


def test_withdrawing_an_incident_deleted_there_by_hand_forgets_it(hosted, api):
    incident = publish(components=[api])
    deliver_due()
    hosted.incidents.clear()

    incident.withdrawn = True
    incident.save(update_fields=["withdrawn"])
    hosted_push_queue(incident.pk)

    assert deliver_due() == {"sent": 1}
    assert [(r.method, r.status) for r in hosted.incident_requests()[1:]] == [
        ("PATCH", 404),
        ("DELETE", 404),
    ]
    assert hosted_id(incident) == ""
