"""Action items through the service: defaults, what it refuses (and that it then writes
nothing), who may do what, and how changes move the reminder timer."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.models import RoleKind
from incidents.services import incident_assign_role
from postmortems.models import ActionItem, ActionItemStatus
from postmortems.services.action_items import action_item_create, action_item_update
from tests.factories import TeamFactory, UserFactory, declare, severity
from tests.postmortems.action_items_support import at, item, set_status

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 4, 10, 30, tzinfo=UTC)  # a Monday


@pytest.fixture(autouse=True)
def berlin(settings):
    settings.ORGANISATION_TIME_ZONE = "Europe/Berlin"


@pytest.mark.parametrize(("sev", "days"), [("SEV1", 14), ("SEV2", 30), ("SEV3", 60), ("SEV4", 90)])
def test_the_due_date_defaults_by_severity(commander, sev, days):
    incident = declare(commander, severity=severity(sev))

    created = action_item_create(incident=incident, actor=commander, title="Fix it", now=NOW)

    assert created.due_date == date(2026, 5, 4) + timedelta(days=days)


def test_the_default_counts_from_today_in_the_organisations_zone(commander):
    incident = declare(commander, severity=severity("SEV1"))
    # 23:30 UTC on the 4th is already the 5th in Berlin.
    late = datetime(2026, 5, 4, 23, 30, tzinfo=UTC)

    created = action_item_create(incident=incident, actor=commander, title="Fix it", now=late)

    assert created.due_date == date(2026, 5, 19)


def test_a_new_item_takes_the_incidents_team_and_is_open(commander):
    team = TeamFactory(name="Payments")
    incident = declare(commander, team=team)

    created = action_item_create(incident=incident, actor=commander, title="  Fix it  ", now=NOW)

    created.refresh_from_db()
    assert (created.title, created.team, created.status) == ("Fix it", team, "open")
    assert created.created_by == commander


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "   ", "Give the action item a title."),
        ("title", "x" * 201, "Keep the title under 200 characters."),
        ("ticket_url", "ftp://tickets.example.com/1", "http:// or https://"),
        ("ticket_url", "javascript:alert(1)", "http:// or https://"),
        ("ticket_url", "tickets.example.com/1", "http:// or https://"),
        ("due_date", date(2026, 5, 3), "The due date has passed"),
        ("due_date", date(9999, 12, 31), "within five years"),
        ("priority", "p9", "Choose one of p1, p2, p3, p4."),
        ("kind", "blame", "Choose one of"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(commander, field, value, message):
    incident = declare(commander)
    kwargs = {"title": "Fix it", field: value}

    with pytest.raises(ValidationError) as refused:
        action_item_create(incident=incident, actor=commander, now=NOW, **kwargs)

    assert message in " ".join(refused.value.message_dict[field])
    assert not ActionItem.objects.exists()


def test_a_ticket_link_may_be_https(commander):
    incident = declare(commander)

    created = action_item_create(
        incident=incident,
        actor=commander,
        title="Fix it",
        ticket_url="https://tickets.example.com/browse/OPS-1",
        now=NOW,
    )

    assert created.ticket_url == "https://tickets.example.com/browse/OPS-1"


def test_due_today_is_allowed(commander):
    incident = declare(commander)

    created = item(incident, commander, now=NOW, due=date(2026, 5, 4))

    assert created.due_date == date(2026, 5, 4)


def test_a_viewer_may_not_add_items(commander, viewer):
    incident = declare(commander)

    with pytest.raises(PermissionDenied):
        action_item_create(incident=incident, actor=viewer, title="Fix it", now=NOW)
    assert not ActionItem.objects.exists()


def test_an_outsider_may_not_add_items_to_a_private_incident(commander, outsider):
    incident = declare(commander, private=True)

    with pytest.raises(PermissionDenied):
        action_item_create(incident=incident, actor=outsider, title="Fix it", now=NOW)


def test_owners_of_a_private_incidents_items_must_take_part_in_it(commander, outsider):
    incident = declare(commander, private=True)

    with pytest.raises(ValidationError) as refused:
        action_item_create(
            incident=incident, actor=commander, title="Fix it", owner=outsider, now=NOW
        )

    assert "may not work on" in refused.value.message_dict["owner"][0]
    incident_assign_role(incident=incident, actor=commander, role=RoleKind.SCRIBE, user=outsider)
    owned = action_item_create(
        incident=incident, actor=commander, title="Fix it", owner=outsider, now=NOW
    )
    assert owned.owner == outsider


def test_a_viewer_may_not_own_an_item(commander, viewer):
    incident = declare(commander)

    with pytest.raises(ValidationError) as refused:
        action_item_create(incident=incident, actor=commander, title="Fix", owner=viewer, now=NOW)

    assert "owner" in refused.value.message_dict


def test_an_owner_who_left_may_not_be_given_an_item(commander):
    gone = UserFactory(username="gone", is_active=False)
    incident = declare(commander)

    with pytest.raises(ValidationError) as refused:
        action_item_create(incident=incident, actor=commander, title="Fix", owner=gone, now=NOW)

    assert "can no longer sign in" in refused.value.message_dict["owner"][0]


def test_wont_do_needs_a_reason_and_changes_nothing_without_one(commander):
    incident = declare(commander)
    created = item(incident, commander, now=NOW, due=date(2026, 6, 1))

    with pytest.raises(ValidationError) as refused:
        set_status(created, commander, ActionItemStatus.WONT_DO, now=NOW)

    assert refused.value.message_dict == {"wont_do_reason": ["Say why this will not be done."]}
    created.refresh_from_db()
    assert created.status == ActionItemStatus.OPEN


def test_reopening_a_wont_do_item_drops_its_reason(commander):
    incident = declare(commander)
    created = item(incident, commander, now=NOW, due=date(2026, 6, 1))
    declined = set_status(
        created, commander, ActionItemStatus.WONT_DO, now=NOW, reason="Service retired."
    )
    assert declined.wont_do_reason == "Service retired."

    reopened = set_status(declined, commander, ActionItemStatus.OPEN, now=NOW)

    reopened.refresh_from_db()
    assert (reopened.status, reopened.wont_do_reason, reopened.closed_at) == ("open", "", None)


def test_closing_stamps_closed_at_once(commander):
    incident = declare(commander)
    created = item(incident, commander, now=NOW, due=date(2026, 6, 1))

    done = set_status(created, commander, ActionItemStatus.DONE, now=NOW)
    declined = set_status(
        done, commander, ActionItemStatus.WONT_DO, now=NOW + timedelta(days=1), reason="Moot."
    )

    assert done.closed_at == NOW
    assert declined.closed_at == NOW


def test_the_owner_is_reminded_two_days_before_the_due_date_at_nine(commander):
    incident = declare(commander)

    created = item(incident, commander, now=NOW, due=date(2026, 5, 20), owner=commander)

    assert created.next_reminder_at == at(date(2026, 5, 18))


def test_items_without_an_owner_have_no_reminder(commander):
    created = item(declare(commander), commander, now=NOW, due=date(2026, 5, 20))

    assert created.next_reminder_at is None


@pytest.mark.parametrize("status", [ActionItemStatus.DONE, ActionItemStatus.WONT_DO])
def test_closing_an_item_stops_its_reminders(commander, status):
    created = item(declare(commander), commander, now=NOW, due=date(2026, 5, 20), owner=commander)

    closed = set_status(created, commander, status, now=NOW, reason="Moot.")

    closed.refresh_from_db()
    assert closed.next_reminder_at is None


def test_reopening_an_overdue_item_reminds_at_the_next_nine(commander):
    created = item(declare(commander), commander, now=NOW, due=date(2026, 5, 6), owner=commander)
    done = set_status(created, commander, ActionItemStatus.DONE, now=NOW)

    reopened = set_status(done, commander, ActionItemStatus.OPEN, now=at(date(2026, 5, 10), 14))

    assert reopened.next_reminder_at == at(date(2026, 5, 11))


def test_changing_the_due_date_reschedules(commander):
    created = item(declare(commander), commander, now=NOW, due=date(2026, 5, 20), owner=commander)

    moved = action_item_update(
        item=created, actor=commander, changes={"due_date": date(2026, 6, 30)}, now=NOW
    )

    moved.refresh_from_db()
    assert moved.next_reminder_at == at(date(2026, 6, 28))


def test_taking_the_owner_away_stops_reminders(commander):
    created = item(declare(commander), commander, now=NOW, due=date(2026, 5, 20), owner=commander)

    unowned = action_item_update(item=created, actor=commander, changes={"owner": None}, now=NOW)

    assert unowned.next_reminder_at is None


def test_other_edits_leave_a_due_reminder_to_the_tick(commander):
    created = item(declare(commander), commander, now=NOW, due=date(2026, 5, 20), owner=commander)
    # Someone retitles it at the very minute its reminder falls due, before the tick claims it.
    due_now = at(date(2026, 5, 18))

    retitled = action_item_update(
        item=created,
        actor=commander,
        changes={"title": "Alert on queue depth", "status": ActionItemStatus.IN_PROGRESS},
        now=due_now,
    )

    retitled.refresh_from_db()
    assert retitled.next_reminder_at == due_now


def test_an_item_whose_owner_left_can_still_be_closed(commander):
    leaver = UserFactory(username="leaver")
    created = item(declare(commander), commander, now=NOW, due=date(2026, 5, 20), owner=leaver)
    leaver.is_active = False
    leaver.save(update_fields=["is_active"])

    done = set_status(created, commander, ActionItemStatus.DONE, now=NOW)

    assert done.status == ActionItemStatus.DONE


def test_changing_nothing_writes_nothing(commander):
    created = item(declare(commander), commander, now=NOW, due=date(2026, 5, 20))

    with CaptureQueriesContext(connection) as queries:
        action_item_update(
            item=created,
            actor=commander,
            changes={"title": " Add an alert on queue depth ", "due_date": date(2026, 5, 20)},
            now=NOW + timedelta(hours=1),
        )

    assert not [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    created.refresh_from_db()
    assert created.updated_at == NOW


def test_an_update_locks_the_item_and_not_its_incident(commander):
    created = item(declare(commander), commander, now=NOW, due=date(2026, 5, 20))

    with CaptureQueriesContext(connection) as queries:
        action_item_update(item=created, actor=commander, changes={"title": "Other"}, now=NOW)

    locking = [q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"]]
    assert len(locking) == 1
    assert locking[0].endswith('FOR UPDATE OF "postmortems_actionitem"')


def test_only_editable_fields_may_be_changed(commander):
    created = item(declare(commander), commander, now=NOW, due=date(2026, 5, 20))

    with pytest.raises(ValidationError) as refused:
        action_item_update(
            item=created, actor=commander, changes={"incident": None, "created_by": None}
        )

    assert set(refused.value.message_dict) == {"incident", "created_by"}


def test_a_viewer_may_not_change_an_item(commander, viewer):
    created = item(declare(commander), commander, now=NOW, due=date(2026, 5, 20))

    with pytest.raises(PermissionDenied):
        set_status(created, viewer, ActionItemStatus.DONE, now=NOW)
