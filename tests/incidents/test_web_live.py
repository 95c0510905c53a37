"""The incident page and the incident list follow changes: their pollers send the version they
show (If-None-Match) and get 304 with no body until something changed."""

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents import services
from incidents.models import EventKind, RoleKind, Source, Status
from incidents.timeline import incident_record_event, timeline_event_set_highlight
from tests.factories import declare, severity

HTMX = {"HX-Request": "true"}


@pytest.fixture
def incident(responder):
    return declare(responder, title="Checkout is failing")


def shown_version(content: str) -> str:
    """The version the page's poller sends."""
    match = re.search(r'If-None-Match": "\\"([^\\"]+)\\""', content)
    assert match, "no poller on the page"
    return match[1]


def poll(client: Any, incident: Any, version: str) -> Any:
    url = reverse("incidents:live", kwargs={"number": incident.number})
    return client.get(url, headers={**HTMX, "If-None-Match": f'"{version}"'})


def poll_list(client: Any, version: str, query: str = "") -> Any:
    url = reverse("incidents:list") + query
    return client.get(url, headers={**HTMX, "If-None-Match": f'"{version}"'})


def test_incident_page_has_a_poller_that_pauses_in_hidden_tabs(signed_in, incident):
    content = signed_in.get(incident.get_absolute_url()).content.decode()

    assert 'id="incident-live" data-live-poller' in content
    assert 'hx-trigger="every 3s, visibilitychange from:document"' in content
    assert "js/live.js" in content


def test_a_poll_of_an_unchanged_incident_is_304_with_no_body(signed_in, incident):
    version = shown_version(signed_in.get(incident.get_absolute_url()).content.decode())

    response = poll(signed_in, incident, version)

    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == f'"{version}"'


def test_a_poll_of_an_unchanged_incident_costs_one_query_beyond_the_session(
    signed_in, incident, django_assert_max_num_queries
):
    version = shown_version(signed_in.get(incident.get_absolute_url()).content.decode())

    # The session, the user, and the incident's version.
    with django_assert_max_num_queries(3):
        response = poll(signed_in, incident, version)

    assert response.status_code == 304


@pytest.mark.parametrize(
    "change",
    [
        "severity",
        "status",
        "note",
        "role",
        "page entry",
    ],
)
def test_any_change_makes_the_poll_answer_the_changed_parts(signed_in, incident, commander, change):
    version = shown_version(signed_in.get(incident.get_absolute_url()).content.decode())
    if change == "severity":
        services.incident_set_severity(
            incident=incident, actor=commander, severity=severity("SEV1")
        )
    elif change == "status":
        services.incident_set_status(incident=incident, actor=commander, status=Status.IDENTIFIED)
    elif change == "note":
        services.incident_add_note(incident=incident, actor=commander, text="rolled back")
    elif change == "role":
        services.incident_assign_role(
            incident=incident, actor=commander, role=RoleKind.SCRIBE, user=commander
        )
    else:
        incident_record_event(
            incident=incident,
            kind=EventKind.PAGE,
            source=Source.SYSTEM,
            message="Paged Cole",
            actor=commander,
        )

    response = poll(signed_in, incident, version)

    assert response.status_code == 200
    content = response.content.decode()
    assert shown_version(content) != version
    for part in ("incident-head", "incident-actions", "incident-timeline", "incident-side"):
        assert f'<div id="{part}" hx-swap-oob="innerHTML">' in content
    assert 'id="incident-live" data-live-poller' in content
    assert 'hx-swap-oob="true"' in content


def test_the_poll_answer_shows_the_new_state_and_leaves_out_the_composer(
    signed_in, incident, commander
):
    version = shown_version(signed_in.get(incident.get_absolute_url()).content.decode())
    services.incident_set_severity(incident=incident, actor=commander, severity=severity("SEV1"))
    services.incident_add_note(incident=incident, actor=commander, text="it is the database")

    content = poll(signed_in, incident, version).content.decode()

    assert ">SEV1</span>" in content
    assert "it is the database" in content
    assert f'name="expected_severity" value="{severity("SEV1").pk}"' in content
    # The note being typed is never replaced by a poll.
    assert 'name="text"' not in content


def test_the_version_after_a_poll_answers_304_again(signed_in, incident, commander):
    version = shown_version(signed_in.get(incident.get_absolute_url()).content.decode())
    services.incident_add_note(incident=incident, actor=commander, text="one")
    newer = shown_version(poll(signed_in, incident, version).content.decode())

    assert poll(signed_in, incident, newer).status_code == 304


def test_the_panel_an_action_returns_carries_the_new_version(signed_in, incident):
    before = shown_version(signed_in.get(incident.get_absolute_url()).content.decode())

    url = reverse("incidents:acknowledge", kwargs={"number": incident.number})
    after = shown_version(signed_in.post(url, headers=HTMX).content.decode())

    assert after != before
    assert poll(signed_in, incident, after).status_code == 304


def test_a_poll_of_an_incident_one_may_not_see_is_404(client, responder, outsider):
    incident = declare(responder, private=True)
    client.force_login(outsider)

    assert poll(client, incident, "x").status_code == 404


def test_a_poll_needs_a_signed_in_user(client, incident):
    assert poll(client, incident, "x").status_code == 302


def test_the_incident_page_query_count_does_not_grow_with_the_poller(
    signed_in, incident, django_assert_max_num_queries
):
    # As test_web_detail's count (20): the page computes its version from what it reads anyway.
    with django_assert_max_num_queries(20):
        signed_in.get(incident.get_absolute_url())


def test_list_has_a_poller_keeping_the_filters(signed_in, incident):
    content = signed_in.get(reverse("incidents:list") + "?status=open&q=checkout").content.decode()

    assert "data-live-poller" in content
    assert 'hx-get="/?status=open&amp;q=checkout"' in content
    assert 'hx-target="closest #incident-results"' in content


def test_a_poll_of_an_unchanged_list_is_304(signed_in, incident):
    version = shown_version(signed_in.get(reverse("incidents:list")).content.decode())

    response = poll_list(signed_in, version)

    assert response.status_code == 304
    assert response.content == b""


@pytest.mark.parametrize("change", ["declared", "changed", "left the filter"])
def test_a_change_to_the_list_makes_the_poll_answer_the_results(
    signed_in, incident, commander, change
):
    version = shown_version(
        signed_in.get(reverse("incidents:list") + "?status=open").content.decode()
    )
    if change == "declared":
        declare(commander, title="Search is slow")
    elif change == "changed":
        services.incident_set_severity(
            incident=incident, actor=commander, severity=severity("SEV1")
        )
    else:
        services.incident_resolve(incident=incident, actor=commander, resolution="fixed")

    response = poll_list(signed_in, version, "?status=open")

    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith('<section id="incident-results"')
    assert shown_version(content) != version


def test_the_list_page_itself_is_never_304(signed_in, incident):
    version = shown_version(signed_in.get(reverse("incidents:list")).content.decode())

    response = signed_in.get(reverse("incidents:list"), headers={"If-None-Match": f'"{version}"'})

    assert response.status_code == 200


def test_a_list_poll_costs_no_more_than_the_version(
    signed_in, incident, django_assert_max_num_queries
):
    version = shown_version(signed_in.get(reverse("incidents:list")).content.decode())

    # The session, the user and one aggregate: neither the rows nor the filter choices.
    with django_assert_max_num_queries(3):
        assert poll_list(signed_in, version).status_code == 304


def test_the_list_still_counts_its_pages_from_the_one_aggregate(signed_in, responder):
    for n in range(27):
        declare(responder, title=f"incident {n}")

    with CaptureQueriesContext(connection) as queries:
        content = signed_in.get(reverse("incidents:list")).content.decode()

    assert "27 incidents" in content
    assert "page 1 of 2" in content
    assert sum("COUNT(" in q["sql"].upper() for q in queries.captured_queries) == 1


def test_highlighting_an_entry_makes_the_poll_answer_the_changed_parts(
    signed_in, incident, responder
):
    version = shown_version(signed_in.get(incident.get_absolute_url()).content.decode())
    event = incident.timeline.get()

    timeline_event_set_highlight(event=event, actor=responder, highlighted=True)
    response = poll(signed_in, incident, version)

    assert response.status_code == 200
    assert "is-highlighted" in response.content.decode()


def test_highlighting_an_entry_already_highlighted_changes_nothing(signed_in, incident, responder):
    event = incident.timeline.get()
    timeline_event_set_highlight(event=event, actor=responder, highlighted=True)
    version = shown_version(signed_in.get(incident.get_absolute_url()).content.decode())

    timeline_event_set_highlight(event=event, actor=responder, highlighted=True)

    assert poll(signed_in, incident, version).status_code == 304
