"""The outbox on /metrics: its depth by state, and the calls Slack accepted, limited, failed."""

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from chatops.metrics import call_outcomes, outbox_depth
from chatops.models import CallState, SlackCall

pytestmark = pytest.mark.django_db


def scrape(client, name: str, label: str) -> dict[str, float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {
        sample.labels[label]: sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
        if sample.name == name
    }


def slack_call(key: str, state: CallState, **fields: object) -> SlackCall:
    now = timezone.now()
    fields.setdefault("due_at", now)
    return SlackCall.objects.create(
        key=key, kind="test.post", state=state, created_at=now, **fields
    )


def test_the_outbox_depth_is_shown_by_state_zeroes_included(client):
    slack_call("a", CallState.PENDING)
    slack_call("b", CallState.PENDING)
    slack_call("c", CallState.SENDING)
    slack_call("d", CallState.SENT, sends=1)
    slack_call("e", CallState.FAILED, failures=1)

    assert scrape(client, "tocsin_slack_outbox", "state") == {
        "pending": 2,
        "queued": 0,
        "sending": 1,
    }


def test_sends_429s_and_failures_add_up_over_every_row(client):
    slack_call("a", CallState.SENT, sends=3, rate_limits=2, failures=1)
    slack_call("b", CallState.FAILED, failures=4)
    slack_call("c", CallState.PENDING, rate_limits=5)

    assert scrape(client, "tocsin_slack_calls", "outcome") == {
        "sent": 3,
        "rate_limited": 7,
        "failed": 5,
    }


def test_an_empty_outbox_shows_zeroes(client):
    assert scrape(client, "tocsin_slack_calls", "outcome") == {
        "sent": 0,
        "rate_limited": 0,
        "failed": 0,
    }
    assert set(scrape(client, "tocsin_slack_outbox", "state").values()) == {0}


def test_each_figure_is_one_query(client, django_assert_max_num_queries):
    for n in range(20):
        slack_call(f"k{n}", CallState.PENDING, due_at=timezone.now() + timedelta(seconds=n))
    with django_assert_max_num_queries(1):
        outbox_depth()
    with django_assert_max_num_queries(1):
        call_outcomes()
