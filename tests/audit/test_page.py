"""/audit/: managers and admins read who changed what, filter it, page through it, in their
own time zone."""

from datetime import UTC, datetime, timedelta

import pytest
from auditlog.context import set_actor
from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied

from audit import selectors
from incidents.models import Service, Severity
from oncall.models import Schedule, ScheduleOverride
from tests.factories import ServiceFactory, TeamFactory

pytestmark = pytest.mark.django_db

URL = "/audit/"


def _at(moment: datetime) -> None:
    """Dates the newest entry, as if it had been written then."""
    LogEntry.objects.filter(pk=LogEntry.objects.latest("pk").pk).update(timestamp=moment)


@pytest.fixture
def history(manager, alice):
    """A service made by the manager, a severity changed by Tocsin, a team by nobody named."""
    with set_actor(manager):
        service = ServiceFactory(name="checkout", team=None)
    _at(datetime(2026, 3, 1, 23, 30, tzinfo=UTC))
    sev4 = Severity.objects.get(name="SEV4")
    sev4.description = "Backlog it."
    sev4.save()
    _at(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    return service, sev4


def _entries(response) -> list[str]:
    """The objects of the entries shown, but the people the fixtures created."""
    rows = response.context["rows"]
    return [row.entry.object_repr for row in rows if row.entry.content_type.model != "user"]


@pytest.mark.parametrize("who", ["viewer", "responder"])
def test_viewers_and_responders_may_not_read_it(client, request, who):
    client.force_login(request.getfixturevalue(who))

    assert client.get(URL).status_code == 403


def test_a_deactivated_manager_may_not_read_it(manager):
    # Signing in refuses them; the check is the reads' own, as every other one is.
    manager.is_active = False

    with pytest.raises(PermissionDenied):
        selectors.entry_list(user=manager, filters=selectors.AuditFilters())


def test_signed_out_people_are_sent_to_sign_in(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("who", ["manager", "admin_user"])
def test_managers_and_admins_read_who_changed_what(client, request, history, who):
    client.force_login(request.getfixturevalue(who))

    response = client.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert _entries(response) == ["SEV4", "checkout"]
    assert "Mona Manager" in html
    assert "Tocsin" in html
    assert "Backlog it." in html


def test_the_nav_links_to_it_for_managers_only(client, manager, responder):
    client.force_login(manager)
    assert 'href="/audit/"' in client.get("/").content.decode()

    client.force_login(responder)
    assert 'href="/audit/"' not in client.get("/").content.decode()


def test_filter_by_kind(client, manager, history):
    client.force_login(manager)

    response = client.get(URL, {"type": "incidents.service"})

    assert _entries(response) == ["checkout"]


def test_filter_by_person_and_by_tocsin(client, manager, history):
    client.force_login(manager)

    assert _entries(client.get(URL, {"person": str(manager.pk)})) == ["checkout"]
    assert _entries(client.get(URL, {"person": "system"})) == ["SEV4"]


def test_dates_are_the_viewers_days(client, manager, history):
    manager.timezone = "Europe/Paris"
    manager.save()
    client.force_login(manager)

    # 23:30 UTC on 1 March is 00:30 on 2 March in Paris.
    on_the_second = client.get(URL, {"since": "2026-03-02", "until": "2026-03-02"})
    on_the_first = client.get(URL, {"since": "2026-03-01", "until": "2026-03-01"})

    assert _entries(on_the_second) == ["SEV4", "checkout"]
    assert _entries(on_the_first) == []
    assert "Mon 2 Mar 2026, 00:30:00 CET" in on_the_second.content.decode()


def test_times_in_a_change_are_shown_in_the_viewers_zone(client, manager):
    manager.timezone = "America/New_York"
    manager.save()
    team = TeamFactory(name="Payments", slug="payments")
    schedule = Schedule.objects.create(team=team, name="Primary")
    ScheduleOverride.objects.create(
        schedule=schedule,
        user=manager,
        start=datetime(2026, 7, 1, 13, 0, tzinfo=UTC),
        end=datetime(2026, 7, 1, 21, 0, tzinfo=UTC),
    )
    client.force_login(manager)

    html = client.get(URL, {"type": "oncall.scheduleoverride"}).content.decode()

    assert "Wed 1 Jul 2026, 09:00 EDT" in html


def test_bad_filters_are_shown_and_left_out(client, manager, history):
    client.force_login(manager)

    response = client.get(URL, {"type": "accounts.nothing", "since": "yesterday"})

    assert response.status_code == 200
    assert _entries(response) == ["SEV4", "checkout"]
    assert "Select a valid choice" in response.content.decode()


def test_dates_past_what_a_time_can_hold_mean_no_bound(client, manager, history):
    client.force_login(manager)

    response = client.get(URL, {"since": "0001-01-01", "until": "9999-12-31"})

    assert _entries(response) == ["SEV4", "checkout"]


def test_pages_of_fifty_newest_first_in_constant_queries(
    client, manager, django_assert_max_num_queries
):
    for number in range(55):
        Service.objects.create(name=f"service-{number:02d}", slug=f"service-{number:02d}")
    client.force_login(manager)
    client.get(URL)  # content types cached, as in a running server

    with django_assert_max_num_queries(8):
        first = client.get(URL)
    second = client.get(URL, {"page": "2"})

    assert len(first.context["rows"]) == 50
    assert _entries(first)[0] == "service-54"
    assert _entries(second) == [f"service-{n:02d}" for n in range(4, -1, -1)]


def test_the_last_page_has_the_oldest(client, manager):
    Service.objects.create(name="old", slug="old")
    LogEntry.objects.update(timestamp=datetime.now(UTC) - timedelta(days=400))
    Service.objects.create(name="new", slug="new")
    client.force_login(manager)

    assert _entries(client.get(URL)) == ["new", "old"]
