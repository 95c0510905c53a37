"""The public status page /status/: what it shows, to whom, and how it is cached."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from incidents.models import StatusPageImpact
from statuspage import versions
from statuspage.models import (
    ComponentGroup,
    ComponentState,
    MaintenanceStatus,
    PublicStatus,
)
from tests.statuspage.sppage_fixtures import component, incident, maintenance, spans

pytestmark = [pytest.mark.django_db]

# Noon on 10 March 2026, UTC; the page shows Paris time.
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
LONG_AGO = NOW - timedelta(days=200)


@pytest.fixture(autouse=True)
def paris_page(settings, clock):
    settings.STATUSPAGE_TIME_ZONE = "Europe/Paris"
    settings.STATUSPAGE_NAME = "Acme"
    clock.now = NOW


@pytest.fixture
def anonymous() -> Client:
    return Client()


def text(response) -> str:
    """The page's words, tags stripped and whitespace folded."""
    body = response.content.decode()
    body = re.sub(r"<(style|script)\b.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip()


@pytest.fixture
def page_rows():
    """Two groups and an ungrouped component, one incident with two updates, a maintenance in
    progress and one scheduled."""
    payments = ComponentGroup.objects.create(name="Payments", position=1)
    web = ComponentGroup.objects.create(name="Web", position=2)
    checkout = component("Checkout API", group=payments, position=1, created_at=LONG_AGO)
    refunds = component("Refunds", group=payments, position=2, created_at=LONG_AGO)
    site = component("Website", group=web, created_at=LONG_AGO)
    spans(
        checkout,
        (ComponentState.OPERATIONAL, LONG_AGO),
        (ComponentState.PARTIAL_OUTAGE, NOW - timedelta(hours=2)),
    )
    spans(
        refunds,
        (ComponentState.OPERATIONAL, LONG_AGO),
        (ComponentState.UNDER_MAINTENANCE, NOW - timedelta(hours=1)),
    )
    outage = incident(
        "Card payments failing",
        components=[checkout],
        impact=StatusPageImpact.MAJOR,
        updates=[
            (
                PublicStatus.INVESTIGATING,
                "We are looking into failed payments.",
                NOW - timedelta(hours=2),
            ),
            (PublicStatus.IDENTIFIED, "A faulty deploy; rolling back.", NOW - timedelta(hours=1)),
        ],
    )
    in_progress = maintenance(
        "Refunds database upgrade",
        scheduled_for=NOW - timedelta(hours=1),
        scheduled_until=NOW + timedelta(hours=1),
        status=MaintenanceStatus.IN_PROGRESS,
        components=[refunds],
    )
    upcoming = maintenance(
        "Website CDN migration",
        scheduled_for=NOW + timedelta(days=2),
        scheduled_until=NOW + timedelta(days=2, hours=3),
        components=[site],
    )
    return {
        "checkout": checkout,
        "refunds": refunds,
        "site": site,
        "outage": outage,
        "in_progress": in_progress,
        "upcoming": upcoming,
    }


def test_anyone_sees_the_page_without_signing_in(anonymous, page_rows) -> None:
    response = anonymous.get("/status/")
    assert response.status_code == 200
    assert "Acme" in text(response)


def test_components_are_shown_in_their_groups_in_order_with_their_state(
    anonymous, page_rows
) -> None:
    words = text(anonymous.get("/status/")).split("Components Uptime over the past 90 days.")[1]
    order = [
        words.index(name) for name in ("Payments", "Checkout API", "Refunds", "Web ", "Website")
    ]
    assert order == sorted(order)
    assert "Checkout API Partial outage" in words
    assert "Refunds Under maintenance" in words
    assert "Website Operational" in words
    # A group shows its worst component's state.
    assert "Payments Partial outage" in words


def test_a_private_service_is_not_shown(anonymous, page_rows) -> None:
    component("Internal billing", public=False, created_at=LONG_AGO)
    assert "Internal billing" not in text(anonymous.get("/status/"))


def test_the_banner_follows_the_worst_state_and_incident(anonymous, page_rows) -> None:
    assert "Partial System Outage" in text(anonymous.get("/status/"))


def test_the_banner_says_all_operational_when_nothing_is_wrong(anonymous) -> None:
    component("Website", created_at=LONG_AGO)
    response = anonymous.get("/status/")
    assert "All Systems Operational" in text(response)
    assert 'class="banner banner--none"' in response.content.decode()


def test_a_critical_incident_makes_the_banner_major_outage(anonymous, page_rows) -> None:
    incident(
        "Everything is down",
        impact=StatusPageImpact.CRITICAL,
        updates=[
            (PublicStatus.INVESTIGATING, "Looking.", NOW - timedelta(minutes=5)),
        ],
    )
    assert "Major System Outage" in text(anonymous.get("/status/"))


def test_active_incidents_show_their_updates_newest_first_in_the_page_zone(
    anonymous, page_rows
) -> None:
    words = text(anonymous.get("/status/"))
    assert "Card payments failing" in words
    identified = words.index("Identified A faulty deploy; rolling back.")
    investigating = words.index("Investigating We are looking into failed payments.")
    assert identified < investigating
    # 11:00 UTC is 12:00 in Paris (CET), and the zone is named.
    assert "Mar 10, 2026 12:00 CET" in words
    assert "Europe/Paris" in words


def test_a_resolved_incident_is_not_active(anonymous, page_rows) -> None:
    incident(
        "Slow search",
        updates=[(PublicStatus.RESOLVED, "Fixed.", NOW - timedelta(days=1))],
        resolved_at=NOW - timedelta(days=1),
    )
    words = text(anonymous.get("/status/"))
    # Listed under its day in Past incidents (tests/statuspage/test_page_past.py), not above.
    assert "Slow search" not in words[: words.index("Past incidents")]


def test_a_withdrawn_incident_is_not_shown(anonymous, page_rows) -> None:
    incident("Secret thing", withdrawn=True, updates=[(PublicStatus.INVESTIGATING, "x", NOW)])
    assert "Secret thing" not in text(anonymous.get("/status/"))


def test_maintenance_in_progress_and_scheduled_is_shown(anonymous, page_rows) -> None:
    words = text(anonymous.get("/status/"))
    assert "Maintenance in progress Refunds database upgrade" in words
    assert "Scheduled maintenance Website CDN migration" in words
    assert "Affects Website" in words


def test_each_component_has_a_90_day_bar_with_its_percentage_and_a_text_alternative(
    anonymous, page_rows
) -> None:
    response = anonymous.get("/status/")
    body = response.content.decode()
    assert body.count('<li class="day') == 3 * 90
    words = text(response)
    # Two hours of partial outage today, weighted 0.3: today in Paris has counted 13 hours
    # so far (since 23:00 UTC), and 90 days less the rest of today in all.
    assert "Checkout API: 99.97 % uptime over the past 90 days." in words
    assert (
        "Days with incidents or maintenance: 10 Mar 2026: 95.38 % uptime, partial outage 2 h"
        in words
    )
    assert "Website: 100.00 % uptime over the past 90 days. No incidents or maintenance" in words
    assert 'data-tip="10 Mar 2026: 95.38 % uptime, partial outage 2 h"' in body


def test_the_page_needs_no_script_and_no_inline_style_but_the_hashed_accent(
    anonymous, page_rows
) -> None:
    response = anonymous.get("/status/")
    body = response.content.decode()
    assert "<script" not in body
    assert " style=" not in body
    style = re.findall(r"<style>(.*?)</style>", body, flags=re.S)
    assert style == [":root{--accent:#2563eb}"]
    policy = response["Content-Security-Policy"]
    assert "'sha256-" in policy.split("style-src", 1)[1].split(";", 1)[0]


@override_settings(STATUSPAGE_ACCENT_COLOR="red;}</style><script>alert(1)</script>")
def test_an_accent_that_is_not_a_hex_colour_is_ignored(anonymous, page_rows) -> None:
    body = anonymous.get("/status/").content.decode()
    assert "alert(1)" not in body
    assert ":root{--accent:#2563eb}" in body


@override_settings(
    STATUSPAGE_ACCENT_COLOR="#aa3366",
    STATUSPAGE_LOGO_URL="https://cdn.example.com/acme.svg",
    STATUSPAGE_SUPPORT_URL="https://help.example.com/",
)
def test_logo_accent_and_support_link_come_from_the_settings(anonymous, page_rows) -> None:
    response = anonymous.get("/status/")
    body = response.content.decode()
    assert ":root{--accent:#aa3366}" in body
    assert '<img class="brand__logo" src="https://cdn.example.com/acme.svg" alt="Acme">' in body
    assert 'href="https://help.example.com/"' in body
    assert "https://cdn.example.com" in response["Content-Security-Policy"]


def test_the_page_sets_no_cookie_and_reads_no_session(anonymous, page_rows, responder) -> None:
    anonymous.force_login(responder)
    response = anonymous.get("/status/")
    assert response.status_code == 200
    assert not response.cookies
    assert "Set-Cookie" not in response
    # Vary: Cookie comes from the full middleware stack the test client uses; served through
    # config/wsgi.py the page has none (test_page_wsgi.py).
    assert "csrfmiddlewaretoken" not in response.content.decode()


def test_the_page_is_public_and_cacheable(anonymous, page_rows, settings) -> None:
    settings.STATUSPAGE_MAX_AGE = 10
    response = anonymous.get("/status/")
    assert response["Cache-Control"] == "public, max-age=10"
    assert response["ETag"]
    assert response["Last-Modified"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in response["Content-Security-Policy"]


def test_a_conditional_get_is_answered_304_without_queries(
    anonymous, page_rows, django_assert_num_queries
) -> None:
    first = anonymous.get("/status/")
    with django_assert_num_queries(0):
        by_etag = anonymous.get("/status/", headers={"If-None-Match": first["ETag"]})
        by_date = anonymous.get("/status/", headers={"If-Modified-Since": first["Last-Modified"]})
    assert (by_etag.status_code, by_date.status_code) == (304, 304)


def test_a_cached_page_is_served_without_queries(
    anonymous, page_rows, django_assert_num_queries
) -> None:
    first = anonymous.get("/status/")
    with django_assert_num_queries(0):
        again = anonymous.get("/status/")
    assert again.content == first.content


def test_a_version_bump_shows_the_change(anonymous, page_rows) -> None:
    first = anonymous.get("/status/")
    incident(
        "Login is slow",
        impact=StatusPageImpact.MINOR,
        updates=[
            (PublicStatus.INVESTIGATING, "Looking into slow logins.", NOW),
        ],
    )
    assert "Login is slow" not in text(anonymous.get("/status/"))
    versions._set_new_version()
    second = anonymous.get("/status/", headers={"If-None-Match": first["ETag"]})
    assert second.status_code == 200
    assert "Login is slow" in text(second)


def test_the_page_reads_a_bounded_number_of_queries(
    anonymous, page_rows, django_assert_max_num_queries
) -> None:
    for n in range(10):
        component(f"Extra {n}", created_at=LONG_AGO)
    with django_assert_max_num_queries(12):
        anonymous.get("/status/")


def test_an_incident_has_its_own_page(anonymous, page_rows) -> None:
    outage = page_rows["outage"]
    response = anonymous.get(reverse("statuspage:incident", args=[outage.code]))
    words = text(response)
    assert response.status_code == 200
    assert "Card payments failing" in words
    assert "Major impact" in words
    assert "Affects Checkout API" in words
    assert "Identified A faulty deploy; rolling back." in words


def test_an_unknown_or_withdrawn_incident_is_not_found(anonymous, page_rows) -> None:
    hidden = incident(
        "Secret thing", withdrawn=True, updates=[(PublicStatus.INVESTIGATING, "x", NOW)]
    )
    assert anonymous.get("/status/incidents/nosuch/").status_code == 404
    response = anonymous.get(f"/status/incidents/{hidden.code}/")
    assert response.status_code == 404
    assert "Secret thing" not in response.content.decode()
    assert not response.cookies


def test_head_and_post(anonymous, page_rows) -> None:
    head = anonymous.head("/status/")
    assert head.status_code == 200
    assert head.content == b""
    assert head["ETag"]
    assert anonymous.post("/status/").status_code == 405
