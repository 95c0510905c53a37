"""/status/history.atom and /status/history.rss: one entry per public update and maintenance
event, newest first, bounded, linking to the public incident page, with stable guids."""

import xml.etree.ElementTree as ET
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from statuspage import tasks
from statuspage.models import Maintenance, MaintenanceStatus, PublicStatus
from statuspage.services.maintenance import (
    maintenance_cancel,
    maintenance_edit,
    maintenance_schedule,
    maintenance_update_post,
)
from tests.statuspage.factories import component
from tests.statuspage.spapi_fixtures import (
    at,
    maintenance,
    maintenance_update,
    public_incident,
    public_update,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def base_url(settings: Any) -> None:
    settings.BASE_URL = "https://status.example.test"


ATOM = "{http://www.w3.org/2005/Atom}"


def parse(content: bytes) -> ET.Element:
    return ET.fromstring(content)  # noqa: S314 (our own feed)


def atom_entries(client: Client) -> list[ET.Element]:
    response = client.get(reverse("statuspage:history-atom"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    return parse(response.content).findall(f"{ATOM}entry")


def rss_items(client: Client) -> list[ET.Element]:
    response = client.get(reverse("statuspage:history-rss"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/rss+xml")
    channel = parse(response.content).find("channel")
    assert channel is not None
    return channel.findall("item")


def text(element: ET.Element, path: str) -> str:
    found = element.find(path)
    assert found is not None and found.text is not None, path
    return found.text


def atom_link(entry: ET.Element) -> str:
    link = entry.find(f"{ATOM}link")
    assert link is not None
    return link.attrib["href"]


def incident_page(code: str) -> str:
    return "https://status.example.test" + reverse("statuspage:incident", kwargs={"code": code})


@pytest.fixture
def history() -> dict[str, str]:
    """An incident with two public updates and a maintenance with two events, interleaved."""
    incident = public_incident("Checkout errors", status=PublicStatus.IDENTIFIED)
    public_update(incident, "Looking into it.", code="upd01", created="2026-11-30T13:51Z")
    public_update(
        incident,
        "Rolled back <the> deploy.",
        code="upd02",
        status=PublicStatus.IDENTIFIED,
        created="2026-11-30T14:02Z",
    )
    window = maintenance("Database failover", code="mnt01")
    maintenance_update(window, "Planned for Sunday.", code="mev01", created="2026-11-28T10:00Z")
    maintenance_update(
        window,
        "Started.",
        code="mev02",
        status=MaintenanceStatus.IN_PROGRESS,
        created="2026-11-30T14:00Z",
    )
    return {"incident": incident.code, "maintenance": window.code}


def test_atom_has_an_entry_per_update_and_event_newest_first(
    client: Client, history: dict[str, str]
) -> None:
    entries = atom_entries(client)

    assert [text(e, f"{ATOM}title") for e in entries] == [
        "Checkout errors: Identified",
        "Database failover: maintenance in progress",
        "Checkout errors: Investigating",
        "Database failover: maintenance scheduled",
    ]
    on_the_page = incident_page(history["maintenance"])
    assert [atom_link(e) for e in entries] == [
        incident_page(history["incident"]),
        on_the_page,
        incident_page(history["incident"]),
        on_the_page,
    ]
    assert text(entries[0], f"{ATOM}updated") == "2026-11-30T14:02:00+00:00"
    assert text(entries[0], f"{ATOM}summary") == "<p>Rolled back &lt;the&gt; deploy.</p>"
    assert text(entries[1], f"{ATOM}summary") == (
        "<p>Started.</p><p>Scheduled from 2026-12-06 02:00 to 2026-12-06 03:00 (UTC).</p>"
    )


def test_rss_has_the_same_entries_with_dates(client: Client, history: dict[str, str]) -> None:
    items = rss_items(client)

    assert [text(i, "title") for i in items] == [
        "Checkout errors: Identified",
        "Database failover: maintenance in progress",
        "Checkout errors: Investigating",
        "Database failover: maintenance scheduled",
    ]
    assert [parsedate_to_datetime(text(i, "pubDate")) for i in items] == [
        at("2026-11-30T14:02Z"),
        at("2026-11-30T14:00Z"),
        at("2026-11-30T13:51Z"),
        at("2026-11-28T10:00Z"),
    ]
    assert text(items[0], "link") == incident_page(history["incident"])


def test_guids_are_unique_and_stable(client: Client, history: dict[str, str]) -> None:
    atom_ids = [text(e, f"{ATOM}id") for e in atom_entries(client)]
    rss_guids = [text(i, "guid") for i in rss_items(client)]
    # Another event later: the earlier entries keep their ids.
    maintenance_update(
        maintenance("Later window"), "Planned.", code="mev03", created="2026-12-01T09:00Z"
    )

    assert len(set(atom_ids)) == 4
    assert atom_ids == rss_guids
    assert atom_ids[0] == "tag:status.example.test,2026-11-30:tocsin/incident-update/upd02"
    assert [text(e, f"{ATOM}id") for e in atom_entries(client)][1:] == atom_ids
    guid = rss_items(client)[0].find("guid")
    assert guid is not None and guid.attrib["isPermaLink"] == "false"


def test_the_feed_is_bounded_to_the_fifty_newest(client: Client) -> None:
    incident = public_incident("Long one")
    start = at("2026-11-01T00:00Z")
    for n in range(40):
        public_update(incident, f"Update {n}", created=(start + timedelta(hours=n)).isoformat())
    window = maintenance("Window")
    for n in range(15):
        maintenance_update(
            window, f"Event {n}", created=(start + timedelta(hours=n, minutes=30)).isoformat()
        )

    entries = atom_entries(client)

    assert len(entries) == 50
    assert text(entries[0], f"{ATOM}summary") == "<p>Update 39</p>"
    # The five oldest (updates 0-2, events 0-1, interleaved) are left out.
    assert text(entries[-1], f"{ATOM}summary").startswith("<p>Event 2</p>")


def test_withdrawn_incidents_are_not_in_the_feeds(client: Client) -> None:
    withdrawn = public_incident("Withdrawn", withdrawn=True)
    public_update(withdrawn, "Gone.")

    assert atom_entries(client) == []
    assert rss_items(client) == []


def test_a_cancelled_maintenance_is_in_the_feeds_by_its_cancellation_alone(
    client: Client,
) -> None:
    # As its subscribers are told: the cancellation, and nothing older. It has no page of
    # its own any more, so the entry links to the status page.
    cancelled = maintenance("Called off", status=MaintenanceStatus.CANCELLED)
    maintenance_update(cancelled, "Planned.", created="2026-11-28T10:00Z")
    maintenance_update(
        cancelled,
        "No longer needed.",
        code="mev09",
        status=MaintenanceStatus.CANCELLED,
        created="2026-11-29T08:00Z",
    )

    [entry] = atom_entries(client)
    assert text(entry, f"{ATOM}title") == "Called off: maintenance cancelled"
    assert text(entry, f"{ATOM}summary").startswith("<p>No longer needed.</p>")
    assert atom_link(entry) == "https://status.example.test/status/"
    assert text(entry, f"{ATOM}id").endswith("/maintenance-update/mev09")
    [item] = rss_items(client)
    assert text(item, "title") == "Called off: maintenance cancelled"
    assert text(item, "link") == "https://status.example.test/status/"


def upgrade_in_three_hours(clock: Any, manager: Any, service: Any) -> Maintenance:
    """ "Upgrade" on `service`, an hour long, starting three hours from now."""
    start = clock.now + timedelta(hours=3)
    return maintenance_schedule(
        actor=manager,
        name="Upgrade",
        message="Planned.",
        scheduled_for=start,
        scheduled_until=start + timedelta(hours=1),
        components=[component(service)],
    )


def test_cancelling_a_window_adds_its_cancellation_to_the_feeds(
    client: Client, clock: Any, api: Any, manager: Any, events_run: Any
) -> None:
    window = upgrade_in_three_hours(clock, manager, api)
    assert [text(e, f"{ATOM}title") for e in atom_entries(client)] == [
        "Upgrade: maintenance scheduled"
    ]
    clock.now += timedelta(minutes=1)

    with events_run():
        maintenance_cancel(actor=manager, maintenance=window)

    assert [text(e, f"{ATOM}title") for e in atom_entries(client)] == [
        "Upgrade: maintenance cancelled"
    ]
    assert [text(i, "title") for i in rss_items(client)] == ["Upgrade: maintenance cancelled"]


def test_the_feeds_name_the_page_and_any_site_may_read_them(client: Client) -> None:
    response = client.get(reverse("statuspage:history-atom"))
    feed = parse(response.content)

    assert text(feed, f"{ATOM}title") == "Tocsin status history"
    assert text(feed, f"{ATOM}id") == "https://status.example.test/status/"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert client.get(reverse("statuspage:history-rss"))["Access-Control-Allow-Origin"] == "*"


def test_feed_queries_do_not_grow_with_the_history(client: Client) -> None:
    def count(name: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            client.get(reverse(name))
        return len(captured)

    def add(n: int) -> None:
        incident = public_incident(f"Incident {n}")
        public_update(incident, "One.")
        public_update(incident, "Two.")
        maintenance_update(maintenance(f"Window {n}"), "Planned.")
        called_off = maintenance(f"Called off {n}", status=MaintenanceStatus.CANCELLED)
        maintenance_update(called_off, "Off.", status=MaintenanceStatus.CANCELLED)

    add(0)
    small = {name: count(name) for name in ("statuspage:history-atom", "statuspage:history-rss")}
    for n in range(1, 15):
        add(n)

    assert {name: count(name) for name in small} == small
    assert max(small.values()) <= 2


def test_the_feeds_are_cached_until_the_page_changes(client: Client) -> None:
    incident = public_incident("Errors")
    public_update(incident, "First.")
    for name in ("statuspage:history-atom", "statuspage:history-rss"):
        first = client.get(reverse(name))
        with CaptureQueriesContext(connection) as captured:
            again = client.get(reverse(name))
        assert len(captured) == 0, name
        assert again.content == first.content
        assert again["Cache-Control"].startswith("public")
        assert (
            client.get(reverse(name), headers={"If-None-Match": first["ETag"]}).status_code == 304
        )

    public_update(incident, "Second.")

    assert len(atom_entries(client)) == 2
    assert len(rss_items(client)) == 2


def test_the_feeds_only_read(client: Client) -> None:
    for name in ("statuspage:history-atom", "statuspage:history-rss"):
        assert client.post(reverse(name)).status_code == 405
        assert client.head(reverse(name)).status_code == 200


def test_a_move_an_extension_and_posted_updates_have_their_own_titles(
    client: Client, clock: Any, api: Any, manager: Any
) -> None:
    window = upgrade_in_three_hours(clock, manager, api)
    start = window.scheduled_for
    clock.now += timedelta(minutes=1)
    start += timedelta(hours=1)
    window = maintenance_edit(
        actor=manager,
        maintenance=window,
        name=window.name,
        message=window.message,
        scheduled_for=start,
        scheduled_until=start + timedelta(hours=1),
        components=[component(api)],
    )
    clock.now += timedelta(minutes=1)
    maintenance_update_post(actor=manager, maintenance=window, body="Still on.")
    tasks.tick(now=start)
    clock.now = start + timedelta(minutes=10)
    window = maintenance_edit(
        actor=manager,
        maintenance=window,
        name=window.name,
        message=window.message,
        scheduled_for=start,
        scheduled_until=start + timedelta(hours=2),
        components=[component(api)],
    )
    clock.now += timedelta(minutes=1)
    maintenance_update_post(actor=manager, maintenance=window, body="Half done.")
    tasks.tick(now=start + timedelta(hours=2))

    assert [text(e, f"{ATOM}title") for e in atom_entries(client)] == [
        "Upgrade: maintenance completed",
        "Upgrade: maintenance update",
        "Upgrade: maintenance extended",
        "Upgrade: maintenance in progress",
        "Upgrade: maintenance update",
        "Upgrade: maintenance rescheduled",
        "Upgrade: maintenance scheduled",
    ]


def test_a_change_of_components_has_its_own_title(
    client: Client, clock: Any, api: Any, web: Any, manager: Any
) -> None:
    window = upgrade_in_three_hours(clock, manager, api)
    clock.now += timedelta(minutes=1)
    maintenance_edit(
        actor=manager,
        maintenance=window,
        name=window.name,
        message=window.message,
        scheduled_for=window.scheduled_for,
        scheduled_until=window.scheduled_until,
        components=[component(api), component(web)],
    )

    assert [text(e, f"{ATOM}title") for e in atom_entries(client)] == [
        "Upgrade: maintenance components changed",
        "Upgrade: maintenance scheduled",
    ]
