"""Action items through /api/v1/action-items/: adding, reading, changing, filtering."""

from datetime import UTC, date, datetime, timedelta

import pytest

from postmortems.models import ActionItem, ActionItemStatus
from postmortems.services.action_items import (
    MAX_DUE_DAYS,
    action_item_create,
    action_item_update,
)
from postmortems.services.reminders import organisation_today
from tests.factories import TeamFactory, UserFactory, declare, severity
from tests.incidents.api_support import API, api_client, assert_problem
from tests.postmortems.api_support import resolved, written_rows

pytestmark = pytest.mark.django_db

LIST = f"{API}/action-items/"


def _url(item: ActionItem) -> str:
    return f"{LIST}{item.pk}/"


def _titles(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["title"] for item in response.json()["results"]]


def test_add_an_action_item_with_every_field(commander, responder, clock):
    incident = resolved(commander)
    TeamFactory(name="Platform")

    response = api_client(commander).post(
        LIST,
        {
            "incident": incident.number,
            "title": "Canary config changes",
            "description": "Roll config out to 5% first.",
            "owner": "rosa",
            "team": "platform",
            "due_date": "2026-03-20",
            "priority": "p1",
            "kind": "detect",
            "success_criteria": "A bad config reaches 5% at most.",
            "ticket_url": "https://tickets.example.com/OPS-12",
        },
    )

    assert response.status_code == 201, response.content
    item = ActionItem.objects.get()
    assert response["Location"] == _url(item)
    assert response.json() == {
        "id": item.pk,
        "incident": {
            "ref": incident.ref,
            "number": incident.number,
            "title": incident.title,
            "severity": "SEV1",
            "team": None,
        },
        "title": "Canary config changes",
        "description": "Roll config out to 5% first.",
        "owner": "rosa",
        "team": "platform",
        "due_date": "2026-03-20",
        "priority": "p1",
        "kind": "detect",
        "status": "open",
        "wont_do_reason": "",
        "success_criteria": "A bad config reaches 5% at most.",
        "ticket_url": "https://tickets.example.com/OPS-12",
        "overdue": False,
        "created_by": "cole",
        "created_at": "2026-03-01T09:00:00Z",
        "updated_at": "2026-03-01T09:00:00Z",
        "closed_at": None,
    }
    assert item.owner == responder
    assert item.next_reminder_at is not None


@pytest.mark.parametrize("days", [0, MAX_DUE_DAYS])
def test_due_dates_from_today_to_five_years_ahead_are_taken(commander, clock, days):
    incident = resolved(commander)
    due = (organisation_today() + timedelta(days=days)).isoformat()

    response = api_client(commander).post(
        LIST, {"incident": incident.number, "title": "Fix it", "due_date": due}
    )

    assert response.status_code == 201, response.content
    assert ActionItem.objects.get().due_date.isoformat() == due


@pytest.mark.parametrize(
    ("days", "message"),
    [
        (-1, "The due date has passed; choose today or a later day."),
        (MAX_DUE_DAYS + 1, "Choose a due date within five years."),
    ],
)
def test_a_due_date_the_service_refuses_is_a_400_on_the_field(commander, clock, days, message):
    incident = resolved(commander)
    due = (organisation_today() + timedelta(days=days)).isoformat()

    response = api_client(commander).post(
        LIST, {"incident": incident.number, "title": "Fix it", "due_date": due}
    )

    assert assert_problem(response, 400)["errors"] == {"due_date": [message]}
    assert not ActionItem.objects.exists()


def test_today_is_the_organisations_day(commander, clock, settings):
    # 12:00 UTC on 1 March is already 2 March on Kiritimati (UTC+14).
    settings.ORGANISATION_TIME_ZONE = "Pacific/Kiritimati"
    clock.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    incident = resolved(commander)
    client = api_client(commander)

    refused = client.post(
        LIST, {"incident": incident.number, "title": "A", "due_date": "2026-03-01"}
    )
    taken = client.post(LIST, {"incident": incident.number, "title": "B", "due_date": "2026-03-02"})

    assert assert_problem(refused, 400)["errors"] == {
        "due_date": ["The due date has passed; choose today or a later day."]
    }
    assert taken.status_code == 201, taken.content


def test_a_past_due_date_is_refused_when_set_but_an_overdue_item_can_still_be_changed(
    commander, clock
):
    item = action_item_create(
        incident=resolved(commander),
        actor=commander,
        title="Fix it",
        due_date=date(2026, 2, 20),
        now=datetime(2026, 2, 1, 9, 0, tzinfo=UTC),
    )
    client = api_client(commander)
    before = written_rows()

    refused = client.patch(_url(item), {"due_date": "2026-02-28"})
    assert assert_problem(refused, 400)["errors"] == {
        "due_date": ["The due date has passed; choose today or a later day."]
    }
    assert written_rows() == before

    changed = client.patch(_url(item), {"priority": "p1", "due_date": "2026-02-20"})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["priority"], changed.json()["overdue"]) == ("p1", True)


def test_an_item_without_a_due_date_gets_its_severitys_days(commander, clock):
    incident = resolved(commander, severity=severity("SEV1"))

    response = api_client(commander).post(LIST, {"incident": incident.number, "title": "Fix it"})

    assert response.status_code == 201, response.content
    assert response.json()["due_date"] == "2026-03-15"
    assert response.json()["owner"] is None
    assert response.json()["priority"] == "p3"


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"owner": "nobody"}, {"owner": ["Unknown user nobody."]}),
        ({"team": "nowhere"}, {"team": ["Unknown team nowhere."]}),
        ({"incident": 999_999}, {"incident": [
            "No such incident, or a private one you take no part in."
        ]}),
        ({"incident": "1"}, {"incident": ["Must be a JSON integer."]}),
        ({"title": " "}, {"title": ["This field may not be blank."]}),
        ({"due_date": "tomorrow"}, {"due_date": [
            "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."
        ]}),
        ({"priority": "p0"}, {"priority": ['"p0" is not a valid choice.']}),
        ({"ticket_url": "javascript:alert(1)"}, {"ticket_url": ["Enter a valid URL."]}),
        ({"status": "done"}, {"status": ["Unknown field."]}),
    ],
)  # fmt: skip
def test_adding_refuses_bad_input_and_writes_nothing(commander, clock, change, errors):
    incident = resolved(commander)
    body = {"incident": incident.number, "title": "Fix it", **change}

    response = api_client(commander).post(LIST, body)

    assert assert_problem(response, 400)["errors"] == errors
    assert not ActionItem.objects.exists()


def test_an_incident_one_may_not_see_is_as_unknown(commander, outsider):
    incident = resolved(commander, private=True)

    response = api_client(outsider).post(LIST, {"incident": incident.number, "title": "Mine"})

    assert assert_problem(response, 400)["errors"] == {
        "incident": ["No such incident, or a private one you take no part in."]
    }
    assert not ActionItem.objects.exists()


def test_a_viewer_reads_action_items_but_may_not_add_or_change_them(commander, viewer):
    incident = resolved(commander)
    item = action_item_create(incident=incident, actor=commander, title="Fix it")
    client = api_client(viewer)
    before = written_rows()

    assert _titles(client.get(LIST)) == ["Fix it"]
    assert client.get(_url(item)).status_code == 200
    assert_problem(client.post(LIST, {"incident": incident.number, "title": "Mine"}), 403)
    assert_problem(client.patch(_url(item), {"status": "done"}), 403)
    assert written_rows() == before


def test_a_private_incidents_items_are_404_to_whoever_takes_no_part(commander, outsider):
    item = action_item_create(
        incident=resolved(commander, private=True), actor=commander, title="Secret fix"
    )
    client = api_client(outsider)

    assert_problem(client.get(_url(item)), 404)
    assert_problem(client.patch(_url(item), {"title": "Seen"}), 404)
    assert _titles(client.get(LIST)) == []
    assert ActionItem.objects.get().title == "Secret fix"


def test_options_describe_the_list_and_an_item(commander):
    # DRF's OPTIONS builds the serializers without calling the method's handler.
    item = action_item_create(incident=resolved(commander), actor=commander, title="Fix it")
    client = api_client(commander)

    assert client.options(LIST).status_code == 200
    assert client.options(_url(item)).status_code == 200


def test_an_unknown_item_is_404(commander):
    assert_problem(api_client(commander).get(f"{LIST}{10**20}/"), 404)


def test_done_closes_the_item_and_stops_its_reminders(commander, responder, clock):
    item = action_item_create(
        incident=resolved(commander), actor=commander, title="Fix it", owner=responder
    )
    clock.advance(hours=2)

    response = api_client(commander).patch(_url(item), {"status": "done", "priority": "p1"})

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "done"
    assert response.json()["priority"] == "p1"
    assert response.json()["closed_at"] == "2026-03-01T11:00:00Z"
    item.refresh_from_db()
    assert item.next_reminder_at is None


def test_wont_do_needs_a_reason(commander):
    item = action_item_create(incident=resolved(commander), actor=commander, title="Fix it")
    client = api_client(commander)
    before = written_rows()

    refused = client.patch(_url(item), {"status": "wont_do"})
    assert assert_problem(refused, 400)["errors"] == {
        "wont_do_reason": ["Say why this will not be done."]
    }
    assert written_rows() == before

    declined = client.patch(
        _url(item), {"status": "wont_do", "wont_do_reason": "The service is retired."}
    )
    assert declined.status_code == 200, declined.content
    assert declined.json()["wont_do_reason"] == "The service is retired."

    reopened = client.patch(_url(item), {"status": "open"})
    assert reopened.json()["wont_do_reason"] == ""
    assert reopened.json()["closed_at"] is None


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"incident": 1}, {"incident": ["Unknown field."]}),
        ({"owner": "nobody"}, {"owner": ["Unknown user nobody."]}),
        ({"status": "closed"}, {"status": ['"closed" is not a valid choice.']}),
        ({"title": ""}, {"title": ["This field may not be blank."]}),
    ],
)
def test_changing_refuses_bad_input_and_writes_nothing(commander, change, errors):
    item = action_item_create(incident=resolved(commander), actor=commander, title="Fix it")
    before = written_rows()

    response = api_client(commander).patch(_url(item), change)

    assert assert_problem(response, 400)["errors"] == errors
    assert written_rows() == before


def test_owner_and_team_may_be_taken_away(commander, responder):
    team = TeamFactory(name="Platform")
    item = action_item_create(
        incident=resolved(commander), actor=commander, title="Fix", owner=responder, team=team
    )

    response = api_client(commander).patch(_url(item), {"owner": None, "team": None})

    assert response.status_code == 200, response.content
    assert (response.json()["owner"], response.json()["team"]) == (None, None)


@pytest.fixture
def items(commander, responder):
    """Four items over two incidents, owned by rosa and cole, of payments and platform, all
    planned on 1 December 2025 (due dates are taken from the day they are set)."""
    payments, platform = TeamFactory(name="Payments"), TeamFactory(name="Platform")
    first, second = resolved(commander, title="First"), resolved(commander, title="Second")
    planned = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)

    def add(incident, title, owner, team, due, status=ActionItemStatus.OPEN):
        item = action_item_create(
            incident=incident,
            actor=commander,
            title=title,
            owner=owner,
            team=team,
            due_date=due,
            now=planned,
        )
        if status != ActionItemStatus.OPEN:
            reason = {"wont_do_reason": "No."} if status == ActionItemStatus.WONT_DO else {}
            action_item_update(
                item=item, actor=commander, changes={"status": status, **reason}, now=planned
            )
        return item

    return {
        "alerts": add(first, "Alert on pool size", responder, platform, date(2026, 2, 27)),
        "canary": add(
            first, "Canary configs", commander, payments, date(2026, 2, 28),
            ActionItemStatus.IN_PROGRESS,
        ),
        "runbook": add(second, "Runbook", responder, payments, date(2026, 3, 2)),
        "retire": add(
            second, "Retire v1", responder, None, date(2026, 1, 1), ActionItemStatus.WONT_DO
        ),
    }  # fmt: skip


# Listed as the web list lists them: those still to do first, soonest due first; then the
# done and declined.
@pytest.mark.parametrize(
    ("query", "titles"),
    [
        ("", ["Alert on pool size", "Canary configs", "Runbook", "Retire v1"]),
        ("owner=me", ["Canary configs"]),
        ("owner=rosa", ["Alert on pool size", "Runbook", "Retire v1"]),
        ("owner=nobody", []),
        ("status=open", ["Alert on pool size", "Runbook"]),
        ("status=in_progress,wont_do", ["Canary configs", "Retire v1"]),
        ("team=payments", ["Canary configs", "Runbook"]),
        ("owner=rosa&status=open&team=platform", ["Alert on pool size"]),
        ("owner=&team=", ["Alert on pool size", "Canary configs", "Runbook", "Retire v1"]),
    ],
)
def test_filters(commander, items, query, titles):
    assert _titles(api_client(commander).get(f"{LIST}?{query}")) == titles


def test_filter_by_incident(commander, items):
    number = items["runbook"].incident.number

    response = api_client(commander).get(LIST, {"incident": number})

    assert _titles(response) == ["Runbook", "Retire v1"]


def test_overdue_from_the_first_minute_after_the_due_date_in_the_organisations_zone(
    commander, items, clock, settings
):
    # Due 2026-02-28: overdue from midnight in New York, 05:00 UTC.
    settings.ORGANISATION_TIME_ZONE = "America/New_York"
    client = api_client(commander)

    clock.now = datetime(2026, 3, 1, 4, 59, tzinfo=UTC)
    before = client.get(LIST, {"overdue": "true"})
    clock.now = datetime(2026, 3, 1, 5, 1, tzinfo=UTC)
    after = client.get(LIST, {"overdue": "true"})
    not_overdue = client.get(LIST, {"overdue": "false"})

    assert _titles(before) == ["Alert on pool size"]
    assert _titles(after) == ["Alert on pool size", "Canary configs"]
    assert [item["overdue"] for item in after.json()["results"]] == [True, True]
    # Declined items are never overdue, whatever their date.
    assert _titles(not_overdue) == ["Runbook", "Retire v1"]
    assert [item["overdue"] for item in not_overdue.json()["results"]] == [False, False]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=closed", "status.0"),
        ("overdue=maybe", "overdue"),
        ("overdue=", "overdue"),
        ("incident=INC-1", "incident"),
        ("incident=0", "incident"),
        ("owner=" + "x" * 151, "owner"),
        ("&".join(["status=open"] * 11), "status"),
    ],
)
def test_bad_filters_are_400(commander, query, field):
    response = api_client(commander).get(f"{LIST}?{query}")

    assert field in assert_problem(response, 400)["errors"]


@pytest.mark.parametrize("rows", [2, 10])
def test_list_query_count_does_not_grow_with_rows(
    rows, commander, clock, django_assert_max_num_queries
):
    team = TeamFactory(name="Payments")
    for number in range(rows):
        incident = declare(commander, title=f"Incident {number}", team=team)
        owner = UserFactory(username=f"owner{number}")
        action_item_create(
            incident=incident, actor=commander, title=f"Item {number}", owner=owner, team=team,
            due_date=date(2026, 3, 1) + timedelta(days=number),
        )  # fmt: skip
    client = api_client(commander)

    # Token lookup and stamp, count, page (with incident, severity, teams and people joined).
    with django_assert_max_num_queries(4):
        response = client.get(LIST)

    assert len(response.json()["results"]) == rows
    assert response.json()["results"][0]["owner"] == "owner0"
