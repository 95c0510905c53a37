"""The public status page in a real browser, light and dark: an active incident and a
maintenance in progress, read with and without JavaScript, screenshots of each scheme."""

import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from incidents.models import StatusPageImpact
from statuspage.models import ComponentGroup, ComponentState, MaintenanceStatus, PublicStatus
from tests.e2e.test_browser import watch_for_problems
from tests.statuspage.sppage_fixtures import component, incident, maintenance, spans

pytestmark = [
    pytest.mark.browser,
    # The live server needs committed data; serialized_rollback restores the seeded
    # severities for the tests that run after this one.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

OPERATIONAL = ComponentState.OPERATIONAL


@pytest.fixture
def status_rows(settings):
    """A page as customers would see it mid-incident: two groups, a few outages over the last
    90 days, an incident with two updates, one maintenance running and one ahead."""
    settings.STATUSPAGE_NAME = "Acme"
    settings.STATUSPAGE_TIME_ZONE = "Europe/Paris"
    settings.STATUSPAGE_SUPPORT_URL = "https://help.example.com/"
    now = timezone.now()
    began = now - timedelta(days=120)
    payments = ComponentGroup.objects.create(name="Payments", position=1)
    platform = ComponentGroup.objects.create(name="Platform", position=2)
    checkout = component("Checkout API", group=payments, position=1, created_at=began)
    refunds = component("Refunds", group=payments, position=2, created_at=began)
    component("Dashboard", group=platform, position=1, created_at=began)
    search = component("Search", group=platform, position=2, created_at=began)
    component("Webhooks", group=platform, position=3, created_at=now - timedelta(days=40))
    spans(
        checkout,
        (OPERATIONAL, began),
        (ComponentState.MAJOR_OUTAGE, now - timedelta(days=61, hours=3)),
        (OPERATIONAL, now - timedelta(days=61, hours=1)),
        (ComponentState.DEGRADED_PERFORMANCE, now - timedelta(days=20, hours=5)),
        (OPERATIONAL, now - timedelta(days=20, hours=2)),
        (ComponentState.PARTIAL_OUTAGE, now - timedelta(minutes=50)),
    )
    spans(
        refunds,
        (OPERATIONAL, began),
        (ComponentState.UNDER_MAINTENANCE, now - timedelta(days=33, hours=2)),
        (OPERATIONAL, now - timedelta(days=33)),
        (ComponentState.UNDER_MAINTENANCE, now - timedelta(minutes=30)),
    )
    spans(
        search,
        (OPERATIONAL, began),
        (ComponentState.PARTIAL_OUTAGE, now - timedelta(days=8, hours=6)),
        (OPERATIONAL, now - timedelta(days=8, hours=2)),
    )
    incident(
        "Card payments failing for some customers",
        components=[checkout],
        impact=StatusPageImpact.MAJOR,
        updates=[
            (
                PublicStatus.INVESTIGATING,
                "Some card payments are being declined. We are investigating.",
                now - timedelta(minutes=50),
            ),
            (
                PublicStatus.IDENTIFIED,
                "A configuration change to our payment gateway caused the failures; we are "
                "rolling it back.",
                now - timedelta(minutes=20),
            ),
        ],
    )
    incident(
        "Search results were slow",
        components=[search],
        impact=StatusPageImpact.MINOR,
        updates=[
            (
                PublicStatus.INVESTIGATING,
                "Searches take several seconds.",
                now - timedelta(days=2, hours=3),
            ),
            (PublicStatus.RESOLVED, "Search is fast again.", now - timedelta(days=2, hours=2)),
        ],
        resolved_at=now - timedelta(days=2, hours=2),
    )
    maintenance(
        "Refunds database upgrade",
        scheduled_for=now - timedelta(minutes=30),
        scheduled_until=now + timedelta(minutes=90),
        status=MaintenanceStatus.IN_PROGRESS,
        components=[refunds],
        message="Refunds are queued during the upgrade and processed when it completes.",
    )
    maintenance(
        "Search index rebuild",
        scheduled_for=now + timedelta(days=3),
        scheduled_until=now + timedelta(days=3, hours=2),
        components=[search],
        message="Search results may be incomplete for up to two hours.",
    )


RGB = re.compile(r"rgba?\(([\d.]+),? ([\d.]+),? ([\d.]+)")
SRGB = re.compile(r"color\(srgb ([\d.]+) ([\d.]+) ([\d.]+)")


def rgb(css: str) -> tuple[float, float, float]:
    if found := RGB.match(css):
        return tuple(float(part) / 255 for part in found.groups())  # type: ignore[return-value]
    if found := SRGB.match(css):
        return tuple(float(part) for part in found.groups())  # type: ignore[return-value]
    raise AssertionError(f"not a colour: {css}")


def contrast(one: str, other: str) -> float:
    """WCAG 2 contrast ratio of two computed colours."""

    def luminance(colour: str) -> float:
        channels = [
            c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb(colour)
        ]
        return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]

    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


# The colour an element's text sits on: its own background, else its nearest ancestor's.
BACKGROUND = """el => {
    for (let node = el; node; node = node.parentElement) {
        const colour = getComputedStyle(node).backgroundColor;
        if (colour !== "rgba(0, 0, 0, 0)" && colour !== "transparent") return colour;
    }
    return "rgb(255, 255, 255)";
}"""


def colours(page: Page, selector: str) -> tuple[str, str]:
    """The text colour of the first match and the background it sits on."""
    element = page.locator(selector).first
    return element.evaluate("el => getComputedStyle(el).color"), element.evaluate(BACKGROUND)


def open_page(browser: Browser, live_server, scheme: str, *, javascript: bool = True):
    context = browser.new_context(
        color_scheme=scheme,  # type: ignore[arg-type]
        viewport={"width": 1100, "height": 900},
        java_script_enabled=javascript,
        timezone_id="America/New_York",
    )
    page = context.new_page()
    problems = watch_for_problems(page) if javascript else []
    response = page.goto(f"{live_server.url}/status/")
    assert response is not None and response.status == 200
    return context, page, problems


def check_contrast(page: Page) -> None:
    """WCAG AA (4.5:1) for every kind of text on the page, body text AAA (7:1)."""
    assert contrast(*colours(page, "main")) >= 7
    for selector in [
        ".banner__title",
        ".card__title",
        ".update__time",
        ".card__meta",
        ".group__rows .state--operational",
        ".group__rows .state--partial_outage",
        ".group__rows .state--under_maintenance",
        ".group__head .state--partial_outage",
        ".group__rows .bar__legend",
        ".pill--identified",
        ".pill--maintenance",
        ".section__note a",
        ".past__day",
        ".past__entry .history__title a",
        ".past__empty",
        ".footer",
    ]:
        text, behind = colours(page, selector)
        assert contrast(text, behind) >= 4.5, (selector, text, behind)


def test_the_page_mid_incident_in_light_and_dark(
    browser: Browser, live_server, status_rows, tmp_path: Path, artifacts: Path
) -> None:
    backgrounds = {}
    for scheme in ("light", "dark"):
        context, page, problems = open_page(browser, live_server, scheme)
        expect(page.get_by_role("heading", name="Partial System Outage")).to_be_visible()
        incident_card = page.locator(".incident").first
        expect(incident_card).to_contain_text("Card payments failing for some customers")
        expect(incident_card).to_contain_text("Identified")
        expect(page.locator(".maintenance--in_progress")).to_contain_text(
            "Refunds database upgrade"
        )
        expect(page.locator(".maintenance--scheduled")).to_contain_text("Search index rebuild")
        expect(page.locator(".component", has_text="Checkout API")).to_contain_text(
            "Partial outage"
        )
        expect(page.locator(".bar").first.locator(".day")).to_have_count(90)
        # The page names its zone; times are Paris's whatever the reader's.
        expect(page.locator(".footer")).to_contain_text("Europe/Paris")
        past = page.locator("section", has=page.get_by_role("heading", name="Past incidents"))
        expect(past.locator(".past")).to_have_count(7)
        expect(past).to_contain_text("Search results were slow")
        check_contrast(page)
        backgrounds[scheme] = page.evaluate("getComputedStyle(document.body).backgroundColor")
        shot = tmp_path / f"statuspage-{scheme}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 20_000
        shutil.copy(shot, artifacts / shot.name)
        if scheme == "light":
            # A day's tooltip, from CSS alone.
            day = page.locator(".component", has_text="Search").locator(".day").nth(81)
            day.hover()
            tip = day.evaluate("el => getComputedStyle(el, '::after').content")
            assert "partial outage" in tip
            page.screenshot(path=str(artifacts / "statuspage-tooltip.png"))
        assert problems == []
        context.close()
    assert backgrounds["light"] != backgrounds["dark"]
    assert contrast(backgrounds["light"], backgrounds["dark"]) > 10


def test_the_page_reads_the_same_without_javascript(
    browser: Browser, live_server, status_rows, artifacts: Path
) -> None:
    context, page, _ = open_page(browser, live_server, "light", javascript=False)
    expect(page.get_by_role("heading", name="Partial System Outage")).to_be_visible()
    active = page.locator(".card.incident")
    expect(active.get_by_text("A configuration change to our payment gateway")).to_be_visible()
    expect(page.get_by_text("Refunds database upgrade")).to_be_visible()
    # Groups fold and unfold with <details>, no script.
    group = page.locator("details.group", has_text="Platform")
    expect(group.get_by_role("heading", name="Dashboard")).to_be_visible()
    group.locator("summary").click()
    expect(group.get_by_role("heading", name="Dashboard")).to_be_hidden()
    # Past incidents, days and all, need no script either.
    past = page.locator("section", has=page.get_by_role("heading", name="Past incidents"))
    expect(past.get_by_text("Search is fast again.")).to_be_visible()
    expect(past.get_by_text("No incidents reported.").first).to_be_visible()
    active.get_by_role("link", name="Card payments failing for some customers").click()
    expect(
        page.get_by_role("heading", name="Card payments failing for some customers")
    ).to_be_visible()
    expect(page.get_by_text("Some card payments are being declined.")).to_be_visible()
    page.screenshot(path=str(artifacts / "statuspage-incident.png"), full_page=True)
    page.get_by_role("link", name="History", exact=True).click()
    expect(page.get_by_role("heading", name="Incident history")).to_be_visible()
    expect(
        page.get_by_role("link", name="Card payments failing for some customers")
    ).to_be_visible()
    page.screenshot(path=str(artifacts / "statuspage-history.png"), full_page=True)
    context.close()


def test_the_page_fits_a_phone(browser: Browser, live_server, status_rows, artifacts: Path) -> None:
    context = browser.new_context(
        color_scheme="dark", viewport={"width": 360, "height": 780}, is_mobile=True
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/status/")
    expect(page.get_by_role("heading", name="Partial System Outage")).to_be_visible()
    # Nothing wider than the screen: no sideways scrolling, the 90 cells included.
    page.screenshot(path=str(artifacts / "statuspage-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    bar = page.locator(".bar").first.bounding_box()
    assert bar is not None and bar["width"] <= 360
    page.screenshot(path=str(artifacts / "statuspage-phone.png"), full_page=True)
    context.close()
