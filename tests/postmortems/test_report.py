"""The action-item report against a fixture worked out by hand.

Now is 00:01 on Thursday 11 June 2026 in Berlin (22:01 UTC on the 10th), so an item due on
the 10th has been overdue for one minute, in the organisation's zone though not yet in UTC.

- a, created 1 June: open due 30 Jun; open due 10 Jun (overdue by one minute); in progress
  due 30 Jun; in progress due 11 Jun (due today, not overdue); done due 20 Jun; done due
  1 Jun (past, but closed); won't do. Total 7, done 2, in progress 2, not started 2,
  won't do 1, overdue 1, rate 2/6.
- b, created 12 May: no items. All 0, rate none.
- c, created 12 April: two won't do. Total 2, rate none (nothing left to count).
- d, created 14 March (89 days before): open due 1 Apr (overdue); done. Total 2, done 1,
  not started 1, overdue 1, rate 1/2.
- e, created 12 March at noon UTC (90 days and 10 hours before): two open items, overdue;
  left out.
- an incident without a postmortem: one open item; part of no postmortem, left out.

Overall: 4 postmortems, total 11, done 3, in progress 2, not started 3, won't do 3,
overdue 2, completion 3 / (11 - 3) = 3/8.
"""

from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.urls import reverse

from accounts.models import User
from incidents.models import Incident
from incidents.services import incident_resolve
from postmortems.models import ActionItemStatus
from postmortems.report import Counts, action_item_report
from postmortems.services.postmortems import postmortem_create
from tests.factories import declare
from tests.incidents.api_support import API, JsonClient, api_client
from tests.postmortems.action_items_support import at, item, set_status

pytestmark = pytest.mark.django_db

REPORT_API = f"{API}/action-items/report/"

NOW = at(date(2026, 6, 11), 0, 1)
OPEN, IN_PROGRESS, DONE, WONT_DO = (
    ActionItemStatus.OPEN,
    ActionItemStatus.IN_PROGRESS,
    ActionItemStatus.DONE,
    ActionItemStatus.WONT_DO,
)


@pytest.fixture(autouse=True)
def berlin(settings):
    settings.ORGANISATION_TIME_ZONE = "Europe/Berlin"
    settings.BASE_URL = "https://tocsin.example.com"


def resolved(commander: User, title: str, **kwargs: Any) -> Incident:
    incident = declare(commander, title=title, **kwargs)
    return incident_resolve(incident=incident, actor=commander, resolution="Rolled back.")


def with_postmortem(commander: User, title: str, created: datetime, **kwargs: Any) -> Incident:
    incident = resolved(commander, title, **kwargs)
    postmortem_create(incident=incident, actor=commander, now=created)
    return incident


def items(incident: Incident, commander: User, created: datetime, *specs: tuple[str, date]) -> None:
    """Items added at `created`, each (status, due date), moved to its status at once."""
    for n, (status, due) in enumerate(specs):
        added = item(incident, commander, now=created, due=due, title=f"{incident.title} {n}")
        if status != OPEN:
            set_status(added, commander, status, now=created, reason="Not worth it.")


@pytest.fixture
def fixture(commander) -> dict[str, Incident]:
    june_1 = at(date(2026, 6, 1))
    a = with_postmortem(commander, "a", june_1)
    items(
        a,
        commander,
        june_1,
        (OPEN, date(2026, 6, 30)),
        (OPEN, date(2026, 6, 10)),
        (IN_PROGRESS, date(2026, 6, 30)),
        (IN_PROGRESS, date(2026, 6, 11)),
        (DONE, date(2026, 6, 20)),
        (DONE, date(2026, 6, 1)),
        (WONT_DO, date(2026, 6, 20)),
    )
    b = with_postmortem(commander, "b", at(date(2026, 5, 12)))
    c_created = at(date(2026, 4, 12))
    c = with_postmortem(commander, "c", c_created)
    items(c, commander, c_created, (WONT_DO, date(2026, 5, 1)), (WONT_DO, date(2026, 5, 2)))
    d_created = at(date(2026, 3, 14))
    d = with_postmortem(commander, "d", d_created)
    items(d, commander, d_created, (OPEN, date(2026, 4, 1)), (DONE, date(2026, 4, 1)))
    e_created = datetime(2026, 3, 12, 12, tzinfo=UTC)
    e = with_postmortem(commander, "e", e_created)
    items(e, commander, e_created, (OPEN, date(2026, 3, 20)), (OPEN, date(2026, 3, 21)))
    lone = resolved(commander, "no postmortem")
    items(lone, commander, june_1, (OPEN, date(2026, 6, 2)))
    return {"a": a, "b": b, "c": c, "d": d, "e": e}


def counts_by_incident(user: User, now: datetime) -> dict[int, Counts]:
    return {row.incident_number: row.counts for row in action_item_report(user=user, now=now).rows}


def test_report_counts_each_postmortem_and_the_whole(fixture, commander):
    report = action_item_report(user=commander, now=NOW)

    a, b, c, d = (fixture[name].number for name in "abcd")
    assert [row.incident_number for row in report.rows] == [a, b, c, d]  # newest first
    assert counts_by_incident(commander, NOW) == {
        a: Counts(total=7, done=2, in_progress=2, not_started=2, wont_do=1, overdue=1),
        b: Counts(),
        c: Counts(total=2, wont_do=2),
        d: Counts(total=2, done=1, not_started=1, overdue=1),
    }
    assert report.overall == Counts(
        total=11, done=3, in_progress=2, not_started=3, wont_do=3, overdue=2
    )


def test_completion_rate_leaves_out_wont_do_and_is_none_without_anything_to_count(
    fixture, commander
):
    report = action_item_report(user=commander, now=NOW)

    assert [row.counts.completion_rate for row in report.rows] == [2 / 6, None, None, 1 / 2]
    assert report.overall.completion_rate == 3 / 8
    assert [row.counts.rate_label for row in report.rows] == ["33%", "—", "—", "50%"]


def test_an_item_due_today_is_not_overdue_and_one_due_yesterday_is_from_midnight(
    fixture, commander
):
    a = fixture["a"].number

    assert counts_by_incident(commander, at(date(2026, 6, 10), 23, 59))[a].overdue == 0
    assert counts_by_incident(commander, NOW)[a].overdue == 1
    assert counts_by_incident(commander, at(date(2026, 6, 12), 0, 0))[a].overdue == 2


def test_a_postmortem_leaves_the_window_ninety_days_after_it_was_created(fixture, commander):
    # d was created at 09:00 on 14 March in Berlin, 08:00 UTC; 90 days on is 12 June.
    d = fixture["d"].number

    assert d in counts_by_incident(commander, datetime(2026, 6, 12, 8, tzinfo=UTC))
    assert d not in counts_by_incident(commander, datetime(2026, 6, 12, 8, 0, 1, tzinfo=UTC))


def test_the_report_is_one_query_however_many_postmortems(
    fixture, commander, django_assert_num_queries
):
    with django_assert_num_queries(1):
        action_item_report(user=commander, now=NOW)


def test_a_private_incidents_postmortem_counts_only_for_those_who_may_see_it(commander, outsider):
    june_1 = at(date(2026, 6, 1))
    private = with_postmortem(commander, "private", june_1, private=True)
    items(private, commander, june_1, (OPEN, date(2026, 6, 20)))

    assert action_item_report(user=commander, now=NOW).overall.total == 1
    assert action_item_report(user=outsider, now=NOW).overall == Counts()
    assert action_item_report(user=outsider, now=NOW).rows == []


def test_the_json_has_the_same_figures(fixture, commander, client, clock):
    clock.now = NOW
    client.force_login(commander)

    answer = client.get(reverse("postmortems:action_item_report_json"))

    assert answer.status_code == 200
    data = answer.json()
    assert data["overall"] == {
        "postmortems": 4,
        "total": 11,
        "done": 3,
        "in_progress": 2,
        "not_started": 3,
        "wont_do": 3,
        "overdue": 2,
        "completion_rate": 0.375,
    }
    first, second, *_ = data["postmortems"]
    assert (first["incident"], first["completion_rate"]) == (fixture["a"].ref, 0.3333)
    assert (second["incident"], second["total"], second["completion_rate"]) == (
        fixture["b"].ref,
        0,
        None,
    )
    assert data["window"]["days"] == 90
    assert data["window"]["today"] == "2026-06-11"
    assert "won't do" in data["definitions"]["completion_rate"]


def test_the_page_shows_the_figures_and_says_what_they_mean(fixture, commander, client, clock):
    clock.now = NOW
    client.force_login(commander)

    page = client.get(reverse("postmortems:action_item_report")).content.decode()

    assert 'data-figure="total">11<' in page
    assert 'data-figure="overdue">2<' in page
    assert 'data-figure="completion_rate">38%<' in page
    assert "Postmortems created in the last 90 days" in page
    assert "Done / (total - won&#x27;t do)" in page
    assert "an item due today is not overdue yet" in page
    row_b = page.split(f'id="report-row-{fixture["b"].number}"')[1].split("</tr>")[0]
    assert "—" in row_b


def test_the_page_says_so_when_there_is_nothing(commander, client):
    client.force_login(commander)

    page = client.get(reverse("postmortems:action_item_report")).content.decode()

    assert "No postmortems in the last 90 days." in page
    assert 'data-figure="completion_rate">—<' in page


def test_the_api_answers_the_pages_json(fixture, commander, client, clock):
    clock.now = NOW
    client.force_login(commander)
    page_json = client.get(reverse("postmortems:action_item_report_json")).json()

    answer = api_client(commander).get(REPORT_API)

    assert answer.status_code == 200, answer.content
    assert answer.json() == page_json
    assert answer.json()["overall"]["total"] == 11
    assert [row["incident"] for row in answer.json()["postmortems"]] == [
        fixture[name].ref for name in "abcd"
    ]


def test_the_api_counts_a_private_incidents_postmortem_only_for_those_who_may_see_it(
    commander, outsider, clock
):
    clock.now = NOW
    june_1 = at(date(2026, 6, 1))
    private = with_postmortem(commander, "private", june_1, private=True)
    items(private, commander, june_1, (OPEN, date(2026, 6, 20)))

    mine = api_client(commander).get(REPORT_API).json()
    theirs = api_client(outsider).get(REPORT_API).json()

    assert (mine["overall"]["total"], len(mine["postmortems"])) == (1, 1)
    assert (theirs["overall"]["total"], theirs["postmortems"]) == (0, [])
    assert theirs["overall"]["completion_rate"] is None


def test_the_report_is_in_the_api_schema():
    schema = JsonClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    operation = schema.json()["paths"]["/api/v1/action-items/report/"]["get"]
    body = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/ActionItemReport"}
    report_schema = schema.json()["components"]["schemas"]["ActionItemReport"]
    assert set(report_schema["properties"]) == {"window", "definitions", "overall", "postmortems"}
