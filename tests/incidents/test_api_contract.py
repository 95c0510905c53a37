"""The API refuses what its schema calls invalid, rather than guessing what was meant."""

import pytest

from incidents.models import Incident, TimelineEvent
from tests.alerts.factories import make_integration
from tests.factories import declare
from tests.incidents.api_support import API, api_client, assert_problem, incident_url

VALID = {"title": "Checkout is failing", "severity": "SEV2"}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("private", 0, "Must be a JSON boolean."),
        ("private", "true", "Must be a JSON boolean."),
        ("title", 7, "Must be a JSON string."),
    ],
    ids=["0-for-false", "string-for-true", "number-for-text"],
)
def test_a_value_of_another_json_type_is_refused(responder, field, value, message):
    response = api_client(responder).post(f"{API}/incidents/", {**VALID, field: value})

    problem = assert_problem(response, 400)
    assert list(problem["errors"].values()) == [[message]]
    assert not Incident.objects.exists()


def test_an_action_refuses_a_number_for_its_text(responder):
    incident = declare(actor=responder)

    response = api_client(responder).post(incident_url(incident, "notes"), {"text": 0})

    assert assert_problem(response, 400)["errors"] == {"text": ["Must be a JSON string."]}
    assert not TimelineEvent.objects.filter(incident=incident, kind="note").exists()


def test_an_integer_setting_refuses_a_string(manager):
    integration = make_integration()

    response = api_client(manager).patch(
        f"{API}/integrations/{integration.pk}/", {"group_window": "300"}
    )

    assert assert_problem(response, 400)["errors"] == {"group_window": ["Must be a JSON integer."]}


@pytest.mark.parametrize("page", ["", "last", "2.0", "one", "-1"])
def test_a_page_that_is_not_a_number_is_problem_400(viewer, page):
    response = api_client(viewer).get(f"{API}/severities/", {"page": page})

    assert assert_problem(response, 400)["errors"] == {"page": ["Give a page number: 1, 2…"]}


@pytest.mark.parametrize("page", ["0", "2", "99999999999999999999"])
def test_a_page_out_of_range_is_problem_404(viewer, page):
    response = api_client(viewer).get(f"{API}/severities/", {"page": page})

    assert_problem(response, 404)


def test_the_first_page_is_page_1(viewer):
    response = api_client(viewer).get(f"{API}/severities/", {"page": "1"})

    assert response.status_code == 200
    assert response.json()["count"] == 4


def test_a_filter_given_more_than_ten_times_is_problem_400(viewer):
    response = api_client(viewer).get(f"{API}/incidents/", {"severity": ["SEV1"] * 11})

    assert list(assert_problem(response, 400)["errors"]) == ["severity"]


def test_a_filter_given_ten_times_with_commas_is_fine(viewer):
    response = api_client(viewer).get(f"{API}/incidents/", {"severity": ["SEV1,SEV2"] * 10})

    assert response.status_code == 200
