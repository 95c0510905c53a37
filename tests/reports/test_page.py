"""/reports/monthly/2026-11/: managers and admins read the month's report, with every figure's
definition beside it, its charts as SVG with a table alternative, and pick another month; a
month that is not one (or has not begun) is a 400 page that says what a month looks like."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from incidents.services import incident_acknowledge, incident_resolve
from reports import charts
from reports.definitions import Anchor, metrics
from reports.months import Month
from reports.report import (
    EMPTY,
    ActionItemStatus,
    Count,
    Distribution,
    GroupFigures,
    IncidentRow,
    MetricFigures,
    MonthlyReport,
    Recommendation,
    ResponderLoad,
    TrendPoint,
)
from reports.sql import postgres_zone_names
from reports.templatetags.reports_ui import human_duration
from reports.views import page_context
from tests.clock import Clock
from tests.factories import declare

pytestmark = pytest.mark.django_db

NOVEMBER = Month(2026, 11)
URL = "/reports/monthly/2026-11/"


@pytest.fixture
def november(clock: Clock, settings) -> Clock:
    """Late November 2026 in Paris, the organisation's zone."""
    settings.ORGANISATION_TIME_ZONE = "Europe/Paris"
    clock.now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    return clock


# Access: the permission is checked before the month is read or anything is built.


@pytest.mark.parametrize("who", ["viewer", "responder"])
def test_viewers_and_responders_are_refused_with_the_house_403(client, request, november, who):
    client.force_login(request.getfixturevalue(who))

    for url in (URL, "/reports/", "/reports/monthly/2026-11/incidents.csv", "/reports/monthly/x/"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Only managers and admins may read the incident reports." in (
            response.content.decode()
        )


def test_signed_out_people_are_sent_to_sign_in(client, november):
    for url in (URL, "/reports/", "/reports/monthly/2026-11/incidents.csv"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/"), url


def test_reports_is_the_current_month_in_the_organisation_s_zone(client, manager, clock, settings):
    # 23:30 UTC on 30 November is already December in Auckland, still November in New York.
    clock.now = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    client.force_login(manager)

    settings.ORGANISATION_TIME_ZONE = "Pacific/Auckland"
    assert client.get("/reports/")["Location"] == "/reports/monthly/2026-12/"
    settings.ORGANISATION_TIME_ZONE = "America/New_York"
    assert client.get("/reports/")["Location"] == "/reports/monthly/2026-11/"
    assert client.get("/reports/monthly/")["Location"] == "/reports/monthly/2026-11/"


def test_the_picker_s_form_goes_to_the_month_s_own_address(client, manager, november):
    client.force_login(manager)

    response = client.get("/reports/", {"month": "2026-10"})

    assert response.status_code == 302
    assert response["Location"] == "/reports/monthly/2026-10/"
    assert client.get("/reports/", {"month": ""})["Location"] == URL


@pytest.mark.parametrize(
    ("month", "message"),
    [
        ("2026-13", "the month is 01 to 12"),
        ("abc", "write it as YYYY-MM, e.g. 2026-11"),
        ("1999-01", "years 2000 to 2100"),
        ("2026-1", "write it as YYYY-MM, e.g. 2026-11"),
    ],
)
def test_a_malformed_month_is_a_400_that_says_what_a_month_looks_like(
    client, manager, november, month, message
):
    client.force_login(manager)

    for response in (
        client.get(f"/reports/monthly/{month}/"),
        client.get(f"/reports/monthly/{month}/incidents.csv"),
        client.get("/reports/", {"month": month}),
    ):
        assert response.status_code == 400
        assert response["Content-Type"].startswith("text/html")
        content = response.content.decode()
        assert message in content
        # The picker is there to choose another month, and a way back to this one.
        assert '<input type="month" id="report-month" name="month" value=""' in content
        assert 'href="/reports/monthly/2026-11/"' in content


def test_a_month_that_has_not_begun_is_a_400_that_says_so(client, manager, november):
    client.force_login(manager)

    for url in ("/reports/monthly/2026-12/", "/reports/monthly/2030-01/incidents.csv"):
        response = client.get(url)
        assert response.status_code == 400, url
        assert "has not begun yet: the latest report is November 2026" in (
            response.content.decode()
        )


def test_the_nav_links_to_reports_for_managers_and_admins_only(
    client, manager, admin_user, responder, viewer
):
    for who in (manager, admin_user):
        client.force_login(who)
        assert '<a href="/reports/">Reports</a>' in client.get("/").content.decode()
    for who in (responder, viewer):
        client.force_login(who)
        assert 'href="/reports/"' not in client.get("/").content.decode()


# End to end: incidents through the services, the report through the builder.


@pytest.fixture
def november_incidents(november: Clock, responder: User) -> Clock:
    """November 2026 in Paris: a SEV1 detected at 10:00, acknowledged 5 minutes later and
    resolved at 11:05; a SEV2 still open; a drill, which counts for nothing but itself."""
    november.now = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
    checkout = declare(responder, title="Checkout is failing", severity_name="SEV1")
    november.advance(minutes=5)
    incident_acknowledge(incident=checkout, actor=responder)
    november.advance(hours=1)
    incident_resolve(incident=checkout, actor=responder)
    november.now = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
    declare(responder, title="Search is slow", severity_name="SEV2")
    declare(responder, title="Game day", severity_name="SEV2", drill=True)
    november.now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    return november


@pytest.mark.parametrize("who", ["manager", "admin_user"])
def test_managers_and_admins_read_the_month_s_figures(client, request, november_incidents, who):
    client.force_login(request.getfixturevalue(who))

    response = client.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    summary = _text(_element(html, "dl", "report-summary"))
    assert "Incidents 2 " in summary
    assert "Still open 1 " in summary
    assert "Left aside 1 drill 0 merged" in summary
    assert "Time to acknowledge (median) 5 min 00 s n 1 " in summary
    assert "Time to resolve (median) 1 h 05 min n 1 " in summary
    assert "From detection to the first resolution" in summary
    resolve = _cells(_element(html, "tbody", "metric-time_to_resolve"))
    assert resolve[2:8] == ["1", "1 h 05 min", "1 h 05 min", "1 h 05 min", "1 h 05 min", "1"]
    incidents = _element(html, "table", "report-incidents")
    assert '<a href="/incidents/1/">INC-1</a>' in incidents
    assert '<a href="/incidents/2/">INC-2</a>' in incidents
    assert "Game day" not in incidents


def test_the_page_costs_the_same_queries_however_many_incidents(
    client, manager, responder, november_incidents
):
    client.force_login(manager)
    # The process's first report also reads the database's zone names, once for its life;
    # whether this test is that first depends on what ran before it in the process.
    postgres_zone_names()
    with CaptureQueriesContext(connection) as few:
        assert client.get(URL).status_code == 200
    november_incidents.now = datetime(2026, 11, 12, 9, 0, tzinfo=UTC)
    for number in range(6):
        declare(responder, title=f"Flapping {number}", severity_name="SEV3")
    november_incidents.now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

    with CaptureQueriesContext(connection) as many:
        assert client.get(URL).status_code == 200

    assert len(many) == len(few)


def test_the_page_costs_the_report_s_queries_and_the_sign_in_s_alone(
    client, manager, november_incidents, django_assert_num_queries
):
    # Rendering reads nothing: the report is plain data. What the page costs:
    #   2 the session and its user (django.contrib.sessions, auth middleware);
    #  13 reports.builder.monthly_report on PostgreSQL: the side counts (previous month,
    #     drills, merged), the severities, the month's figures (GROUPING SETS), the trend,
    #     by service; action items of the month, overdue ones, whether a postmortem exists;
    #     responder load's pages and command time; the listed incidents; cause categories;
    #     contributing factors.
    # (The process's first report also reads the database's zone names, warmed here.)
    client.force_login(manager)
    postgres_zone_names()

    with django_assert_num_queries(2 + 13):
        assert client.get(URL).status_code == 200


def test_head_answers_as_get_does_without_a_body(client, manager, november_incidents):
    # Link checkers and uptime monitors ask HEAD.
    client.force_login(manager)

    for url in ("/reports/monthly/2026-11/", "/reports/monthly/2026-11/incidents.csv"):
        response = client.head(url)
        assert response.status_code == 200, url
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert body == b"", url


def test_the_csv_is_a_download_of_the_month_s_incidents(client, manager, november_incidents):
    client.force_login(manager)

    response = client.get("/reports/monthly/2026-11/incidents.csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="tocsin-incidents-2026-11.csv"'
    )
    body = b"".join(response.streaming_content)
    # UTF-8's byte order mark, without which Excel on Windows garbles "échoué".
    assert body.startswith(b"\xef\xbb\xbfreference,title,")
    lines = body.decode("utf-8-sig").splitlines()
    assert len(lines) == 1 + 2  # the header, and the two incidents (the drill aside)
    assert lines[0].startswith("reference,title,")
    assert lines[1].startswith("INC-2,Search is slow,SEV2,detected,")
    assert lines[2].startswith("INC-1,Checkout is failing,SEV1,resolved,")


# The page, rendered from a report built by hand: what it shows and how.


def _distribution(n: int, left_out: int, *seconds: float) -> Distribution:
    mean, median, p90, maximum = seconds
    return Distribution(n, left_out, mean, median, p90, maximum)


def _row(number: int, title: str, severity: str, status: str, **durations: float) -> IncidentRow:
    started = datetime(2026, 11, 3, 8, 0, tzinfo=UTC) + timedelta(days=number)
    return IncidentRow(
        number=number,
        title=title,
        severity=severity,
        status=status,
        team="Payments",
        services="checkout, billing",
        started_at=started,
        detected_at=started,
        declared_at=started,
        acknowledged_at=None,
        mitigated_at=None,
        resolved_at=None,
        last_resolved_at=None,
        reopen_count=0,
        durations={"time_to_acknowledge": None, "time_to_resolve": None, **durations},
    )


def sample_report(*, rows: int = 2, not_listed: int = 0) -> MonthlyReport:
    """November 2026: four incidents, one of them a SEV1 acknowledged late, two still open."""
    defined = metrics(Anchor.DETECTED)
    detect, acknowledge, mitigate, resolve = defined
    overall = [
        MetricFigures(detect, _distribution(4, 0, 90, 60, 170, 200), EMPTY),
        MetricFigures(
            acknowledge,
            _distribution(3, 1, 300, 240, 420, 450),
            _distribution(2, 0, 600, 600, 660, 700),
        ),
        MetricFigures(mitigate, _distribution(2, 2, 1800, 1800, 2400, 2500), EMPTY),
        MetricFigures(
            resolve,
            _distribution(2, 2, 3900, 3300, 4500, 4620),
            _distribution(2, 0, 7200, 7200, 7800, 8000),
        ),
    ]
    sev1 = GroupFigures(
        name="SEV1",
        incidents=1,
        open=0,
        previous_incidents=2,
        figures={
            "time_to_acknowledge": _distribution(1, 0, 1200, 1200, 1200, 1200),
            "time_to_resolve": _distribution(1, 0, 4620, 4620, 4620, 4620),
        },
        response_target=timedelta(minutes=15),
        within_target=0,
        rank=1,
    )
    sev2 = GroupFigures(
        name="SEV2",
        incidents=3,
        open=2,
        figures={
            "time_to_acknowledge": _distribution(2, 1, 60, 60, 60, 60),
            "time_to_resolve": _distribution(1, 2, 3180, 3180, 3180, 3180),
        },
        response_target=timedelta(minutes=30),
        within_target=2,
        rank=2,
    )
    checkout = GroupFigures(
        name="checkout",
        slug="checkout",
        incidents=4,
        open=2,
        previous_incidents=1,
        figures={"time_to_resolve": _distribution(2, 2, 3900, 3300, 4500, 4620)},
    )
    payments = GroupFigures(name="Payments", slug="payments", incidents=4, open=2, figures={})
    no_team = GroupFigures(name="No team", incidents=1, open=0, figures={})
    trend = [
        TrendPoint(
            NOVEMBER.minus(12 - index),
            incidents=index % 5,
            mttr=_distribution(1, 0, 600 * index, 600 * index, 600 * index, 600 * index)
            if index % 5
            else EMPTY,
        )
        for index in range(12)
    ] + [TrendPoint(NOVEMBER, incidents=4, mttr=overall[3].this_month)]
    return MonthlyReport(
        month=NOVEMBER,
        time_zone="Europe/Paris",
        anchor=Anchor.DETECTED,
        generated_at=datetime(2026, 11, 20, 12, 0, tzinfo=UTC),
        metrics=defined,
        incidents=4,
        open=2,
        drills_excluded=1,
        reopened_incidents=1,
        reopens=2,
        previous_incidents=2,
        overall=overall,
        by_severity=[sev1, sev2],
        by_service=[checkout],
        by_team=[payments, no_team],
        trend=trend,
        top_services=[Count("checkout", 4)],
        cause_categories=[Count("Deployment", 2)],
        contributing_factors=[Count("Missing alert", 1)],
        action_items=ActionItemStatus(
            total=5,
            by_status={"open": 2, "in_progress": 1, "done": 2, "wont_do": 0},
            overdue=1,
            done_on_time=1,
        ),
        load=[
            ResponderLoad(
                user_id=7,
                name="Rosa Responder",
                pages=9,
                off_hours_pages=5,
                interruptions=4,
                off_hours_interruptions=3,
                incidents_commanded=2,
                commander_seconds=5400,
            )
        ],
        recommendations=[
            Recommendation(
                "mttr_over_target",
                "SEV1 incidents took 20 min to acknowledge, above their 15 min target.",
                "/incidents/?severity=SEV1",
            )
        ],
        incident_rows=[
            _row(
                10 + number,
                f"Checkout is failing {number}",
                "SEV1" if number == 0 else "SEV2",
                "resolved" if number == 0 else "investigating",
                time_to_acknowledge=1200.0 if number == 0 else 42.0,
            )
            for number in range(rows)
        ],
        incidents_not_listed=not_listed,
    )


def render(report: MonthlyReport, user: User, current: Month = NOVEMBER) -> str:
    request = RequestFactory().get(URL)
    request.user = user
    return render_to_string(
        "reports/monthly.html", page_context(report, current=current), request=request
    )


def _element(html: str, tag: str, element_id: str) -> str:
    match = re.search(rf'<{tag}\b[^>]*\bid="{element_id}".*?</{tag}>', html, re.DOTALL)
    assert match, f"no <{tag} id={element_id}>"
    return match.group()


def _text(html: str) -> str:
    """What a reader sees of `html`: its text, spaces collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _cells(html: str) -> list[str]:
    return [_text(cell) for cell in re.findall(r"<t[dh]\b[^>]*>(.*?)</t[dh]>", html, re.DOTALL)]


def test_the_page_says_which_month_zone_and_anchor_it_counts(manager):
    html = render(sample_report(), manager)

    scope = _element(html, "p", "report-scope")
    assert "Incidents that started in November 2026 in Europe/Paris" in scope
    assert "run from <strong>detection</strong>" in scope
    assert "<title>Incident report, November 2026 · Tocsin</title>" in html


def test_the_summary_shows_counts_and_mtta_mttr_with_their_n_and_definitions(manager):
    summary = _element(render(sample_report(), manager), "dl", "report-summary")

    text = _text(summary)
    assert "Incidents 4 2 in October 2026" in text
    assert "Still open 2" in text
    assert "Reopened 1 incident 2 reopens in all" in text
    assert "Left aside 1 drill 0 merged into another; neither counts in any figure" in text
    # The median leads (one long incident drags a mean), the mean beside it.
    assert (
        "Time to acknowledge (median) 4 min 00 s n 3 mean 5 min 00 s 10 min (n 2) in October 2026"
        in text
    )
    assert "From detection to the first acknowledgement." in text
    assert (
        "Time to resolve (median) 55 min n 2 mean 1 h 05 min 2 h 00 min (n 2) in October 2026"
        in text
    )
    assert "From detection to the first resolution; reopens are counted separately." in text


def test_each_severity_s_medians_are_held_against_its_targets(manager, settings):
    # Acknowledge within the severity's response target, resolve within REPORTS_MTTR_TARGETS.
    settings.REPORTS_MTTR_TARGETS = {"SEV1": 60, "SEV2": 60}

    table = _element(render(sample_report(), manager), "table", "report-by-severity")

    sev1, sev2 = re.findall(r'<tr data-severity="[^"]+">.*?</tr>', table, re.DOTALL)
    assert _cells(sev1) == [
        "SEV1 respond within 15 min · resolve within 1 h",
        "1 (2 in October 2026)",
        "0",
        "20 min n 1",
        "20 min above target",
        "0 of 1",
        "1 h 17 min n 1",
        "1 h 17 min above target",
        "1 h 17 min",
    ]
    assert _cells(sev2) == [
        "SEV2 respond within 30 min · resolve within 1 h",
        "3 (0 in October 2026)",
        "2",
        "1 min 00 s n 2",
        "1 min 00 s",
        "2 of 2",
        "53 min n 1",
        "53 min",
        "53 min",
    ]
    assert 'class="badge sev-1"' in sev1
    assert 'class="badge sev-2"' in sev2


def test_a_severity_without_a_resolution_target_says_none(manager, settings):
    settings.REPORTS_MTTR_TARGETS = {}

    table = _element(render(sample_report(), manager), "table", "report-by-severity")

    assert "resolve within" not in table
    assert _text(table).count("above target") == 1  # SEV1's acknowledgement only


def test_each_metric_shows_its_distribution_beside_the_previous_month(manager):
    html = render(sample_report(), manager)

    resolve = _element(html, "tbody", "metric-time_to_resolve")
    this_month, previous = re.findall(r"<tr\b.*?</tr>", resolve, re.DOTALL)
    assert "From detection to the first resolution" in this_month
    assert _cells(this_month)[1:] == [
        "November 2026",
        "2",
        "1 h 05 min",
        "55 min",
        "1 h 15 min",
        "1 h 17 min",
        "2",
    ]
    assert _cells(previous) == [
        "October 2026",
        "2",
        "2 h 00 min",
        "2 h 00 min",
        "2 h 10 min",
        "2 h 13 min",
        "0",
    ]
    detect = _element(html, "tbody", "metric-time_to_detect")
    assert "From the start of impact to detection." in detect
    assert _cells(detect)[-6:] == ["0", "—", "—", "—", "—", "0"]


def test_groups_list_their_incidents_and_times_with_n(manager):
    html = render(sample_report(), manager)

    service = _cells(_element(html, "table", "report-by-service"))
    assert service[8:] == [
        "checkout",
        "4 (1 in October 2026)",
        "2",
        "— n 0",
        "1 h 05 min n 2",
        "55 min",
        "1 h 15 min",
        "1 h 17 min",
    ]
    teams = _element(html, "table", "report-by-team")
    assert '<th scope="row"><a href="/teams/payments/">Payments</a></th>' in teams
    assert '<th scope="row">No team</th>' in teams
    assert '<a href="/?service=checkout" title="Incidents of checkout">checkout</a>' in (
        _element(html, "table", "report-by-service")
    )


def test_causes_action_items_load_and_recommendations(manager):
    html = render(sample_report(), manager)

    assert "checkout" in _element(html, "ol", "report-top-services")
    assert "Deployment" in _element(html, "ol", "report-cause-categories")
    assert "Missing alert" in _element(html, "ol", "report-contributing-factors")
    items = _text(_element(html, "dl", "report-action-items"))
    assert "Total 5 Open 2 In progress 1 Done 2 Won't do 0 Done on time 1 Overdue 1" in items
    assert _cells(_element(html, "table", "report-load"))[7:] == [
        "Rosa Responder",
        "9",
        "5",
        "4",
        "3",
        "2",
        "1 h 30 min",
    ]
    recommendations = _element(html, "ul", "report-recommendations")
    assert "above their 15 min target." in recommendations
    assert 'href="/incidents/?severity=SEV1"' in recommendations


def test_the_load_table_says_what_it_counts(manager, settings):
    settings.REPORTS_WORKING_HOURS = "08:30-17:00"
    settings.REPORTS_WORKING_DAYS = [1, 2, 3, 4, 5]

    definitions = _text(_element(render(sample_report(), manager), "ul", "report-load-definitions"))

    assert (
        "Off-hours pages : pages sent outside working hours (08:30-17:00, Monday to Friday) in "
        "the person's own time zone"
    ) in definitions
    # The 60 s gap chains: a manager reads that a steady trickle of pages is one interruption.
    assert "a page every 50 seconds for an hour is one interruption." in definitions


def test_without_postmortems_load_or_recommendations_the_page_says_so(manager):
    report = sample_report()
    bare = MonthlyReport(
        **{**report.__dict__, "action_items": None, "load": [], "recommendations": []}
    )

    html = render(bare, manager)

    assert "No postmortem was written for this month's incidents." in html
    assert "Nobody was paged or held command this month." in html
    assert "Nothing stands out this month." in html


def test_the_month_s_incidents_link_to_each_incident(manager):
    html = render(sample_report(), manager)

    table = _element(html, "table", "report-incidents")
    assert '<a href="/incidents/10/">INC-10</a>' in table
    assert '<a href="/incidents/11/">INC-11</a>' in table
    first = _cells(_element(table, "tr", "report-incident-10"))
    assert first[:4] == ["INC-10", "Checkout is failing 0", "SEV1", "Resolved"]
    assert first[6:] == ["20 min", "—", "0"]
    assert "42 s" in _text(_element(table, "tr", "report-incident-11"))
    assert "report-incidents-more" not in html


def test_a_private_incident_is_marked_so(manager):
    report = sample_report()
    withheld = IncidentRow(**{**report.incident_rows[1].__dict__, "private": True})
    html = render(
        MonthlyReport(**{**report.__dict__, "incident_rows": [report.incident_rows[0], withheld]}),
        manager,
    )

    assert '<span class="tag tag--private">Private</span>' in _element(
        html, "tr", "report-incident-11"
    )
    assert "tag--private" not in _element(html, "tr", "report-incident-10")


def test_a_capped_list_says_how_many_more_the_csv_has(manager):
    html = render(sample_report(rows=3, not_listed=57), manager)

    more = _element(html, "p", "report-incidents-more")
    assert " ".join(re.sub(r"<[^>]+>", "", more).split()) == "57 more in the CSV."
    assert 'href="/reports/monthly/2026-11/incidents.csv"' in more
    assert len(re.findall(r'<tr id="report-incident-', html)) == 3


def test_the_csv_link_and_the_months_either_side(manager):
    html = render(sample_report(), manager, current=Month(2027, 2))

    assert '<a class="button" href="/reports/monthly/2026-11/incidents.csv" id="report-csv"' in html
    assert 'href="/reports/monthly/2026-10/" rel="prev"' in html
    assert 'href="/reports/monthly/2026-12/" rel="next"' in html
    assert 'name="month" value="2026-11" min="2000-01" max="2027-02"' in html
    assert 'method="get" action="/reports/"' in html


def test_the_current_month_has_no_next_link(manager):
    html = render(sample_report(), manager)

    assert 'rel="next"' not in html
    assert 'rel="prev"' in html


def test_the_charts_are_svg_with_an_accessible_name_and_a_data_table(manager):
    html = render(sample_report(), manager)

    for key, title in (
        ("trend-incidents", "Incidents per month"),
        ("trend-mttr", "Time to resolve per month"),
    ):
        figure = _element(html, "figure", key)
        assert f'<figcaption class="chart__caption" id="{key}-caption">{title}</figcaption>' in (
            figure
        )
        svg = re.search(r"<svg\b.*?</svg>", figure, re.DOTALL)
        assert svg
        svg_html = svg.group()
        assert 'role="img"' in svg_html
        assert f'aria-labelledby="{key}-title {key}-desc"' in svg_html
        assert f'<title id="{key}-title">{title}</title>' in svg_html
        assert f'<desc id="{key}-desc">' in svg_html
        assert "style=" not in svg_html  # the CSP refuses inline styles
        table = _element(figure, "table", f"{key}-table")
        assert len(re.findall(r"<tr>", table)) == 1 + 13  # the header and 13 months
    incidents = _element(html, "figure", "trend-incidents")
    assert len(re.findall(r"<rect ", incidents)) == 13
    assert "<title>November 2026: 4 incidents</title>" in incidents
    mttr_table = _element(html, "table", "trend-mttr-table")
    assert '<th scope="row">November 2026</th>' in mttr_table


def test_the_mttr_chart_leaves_a_gap_for_a_month_without_a_resolution(manager):
    figure = _element(render(sample_report(), manager), "figure", "trend-mttr")

    # Months 0, 5 and 10 of the sample resolved nothing: each mean line breaks there.
    means = re.search(r'<g class="chart__series chart__series--mean">.*?</g>', figure, re.DOTALL)
    assert means
    assert len(re.findall(r"<polyline ", means.group())) == 3
    assert len(re.findall(r"<circle ", means.group())) == 10
    assert "November 2026: mean 1 h 05 min over 2 incidents" in means.group()


# Durations and chart geometry.


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (0, "0 s"),
        (42.4, "42 s"),
        (59.6, "59 s"),  # the fraction dropped (reports.durations)
        (245, "4 min 05 s"),
        (2520, "42 min"),
        (3599, "59 min"),
        (3900, "1 h 05 min"),
        (47 * 3600 + 59 * 60, "47 h 59 min"),
        (3 * 86400 + 4 * 3600, "3 d 04 h"),
        (timedelta(minutes=15), "15 min"),
    ],
)
def test_durations_read_as_people_say_them(seconds, text):
    assert charts.human_duration(seconds) == text


def test_the_page_keeps_a_duration_s_words_together_and_dashes_a_missing_one():
    assert human_duration(3900) == "1\N{NO-BREAK SPACE}h\N{NO-BREAK SPACE}05\N{NO-BREAK SPACE}min"
    assert human_duration("") == "—"  # a figure the report does not have
    assert human_duration(None) == "—"


@pytest.mark.parametrize(
    ("maximum", "top", "ticks"),
    [
        (0, 1, [0, 1]),
        (4, 4, [0, 1, 2, 3, 4]),
        (7, 8, [0, 2, 4, 6, 8]),
        (130, 150, [0, 50, 100, 150]),
    ],
)
def test_a_count_axis_steps_in_round_numbers(maximum, top, ticks):
    scale = charts.nice_scale(maximum, charts.count_steps())

    assert (scale.top, scale.ticks) == (top, ticks)


def test_a_duration_axis_steps_in_units_people_count_in():
    scale = charts.nice_scale(3900, charts.DURATION_STEPS)

    assert scale.ticks == [0, 1800, 3600, 5400]
    labels = [charts.tick_duration(tick) for tick in scale.ticks]
    assert labels == ["0", "30 min", "1 h", "1 h 30 min"]
    assert charts.tick_duration(2 * 86400) == "2 d"


def test_bars_stand_on_the_axis_and_reach_their_value():
    trend = [
        TrendPoint(Month(2026, 10), incidents=2, mttr=EMPTY),
        TrendPoint(Month(2026, 11), incidents=4, mttr=EMPTY),
    ]

    chart = charts.incidents_chart(trend)

    half, full = chart.bars
    assert full.y == chart.plot_top
    assert full.y + full.height == chart.plot_bottom
    assert half.height == pytest.approx(full.height / 2, abs=0.1)
    assert (half.current, full.current) == (False, True)
    assert [column.year for column in chart.columns] == ["2026", ""]
    assert chart.description == (
        "Incidents that started each month, October 2026 to November 2026: from 2 to 4 a month;"
        " 4 incidents in November 2026."
    )
