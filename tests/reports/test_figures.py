"""Every figure of the monthly report against a fixture computed by hand (the numbers in the
assertions are written out, not recomputed). Times are UTC, the organisation's zone unless a
test sets another; the anchor is detection unless a test sets another."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents import services
from incidents.models import Status
from postmortems.models import ActionItemStatus as ItemStatus
from postmortems.models import ContributingFactor
from reports import builder
from reports.builder import incident_rows, monthly_report
from reports.definitions import Anchor
from reports.email import report_email
from reports.export import report_json, report_markdown
from reports.load import responder_load
from reports.months import Month
from reports.report import ActionItemStatus, Count, Distribution, TrendPoint
from reports.sql import postgres_zone_names
from tests.factories import declare
from tests.reports.conftest import action_item, at, postmortem

OCTOBER = Month(2026, 10)
SEPTEMBER = Month(2026, 9)
NOW = at("2026-11-05T12:00Z")

NOTHING = Distribution(0, 0)


def figures(report, key):
    return next(figure for figure in report.overall if figure.metric.key == key)


def group(groups, name):
    return next(group for group in groups if group.name == name)


@pytest.fixture
def october(incident, team, service):
    """Five incidents that count in October 2026, two in September, and the ones that do not
    count: a drill, a duplicate merged into another, one from November.

    Durations from detection, in seconds (TTD from the start):
        I1 SEV1 Payments checkout+api  TTD 300  TTA 300   TTM 2100  TTR 3600
        I2 SEV1 Payments checkout      TTD 600  TTA 1800  TTM 3600  TTR 7200
        I3 SEV2 Platform api           TTD 0    TTA 1200  TTM -     TTR 7200
        I4 SEV2 no team, no service    TTD 1800 TTA 900   TTM -     TTR -     (open)
        I5 SEV3 Platform db            TTD 1200 TTA -     TTM -     TTR 14400 (resolved by
           an alert on 1 November, never acknowledged)
    September: P1 SEV2 Platform api TTA 900 TTR 3600; P2 SEV1 Payments checkout TTA 600
    TTR 3600 (started 23:59 on the 30th, resolved in October: September's); P3 SEV2 Search
    search, still open (a team and a service with no incident in October).
    """
    payments, platform = team("Payments"), team("Platform")
    checkout = service("checkout", payments)
    api, db = service("api", platform), service("db", platform)
    made = {
        "I1": incident(
            "2026-10-02T10:00Z",
            detected="2026-10-02T10:05Z",
            declared="2026-10-02T10:06Z",
            acknowledged="2026-10-02T10:10Z",
            mitigated="2026-10-02T10:40Z",
            resolved="2026-10-02T11:05Z",
            severity_name="SEV1",
            team=payments,
            services=[checkout, api],
            cause_category="Deploy",
        ),
        "I2": incident(
            "2026-10-10T00:00Z",
            detected="2026-10-10T00:10Z",
            declared="2026-10-10T00:12Z",
            acknowledged="2026-10-10T00:40Z",
            mitigated="2026-10-10T01:10Z",
            resolved="2026-10-10T02:10Z",
            severity_name="SEV1",
            team=payments,
            services=[checkout],
            cause_category="Deploy",
        ),
        "I3": incident(
            "2026-10-15T12:00Z",
            declared="2026-10-15T12:01Z",
            acknowledged="2026-10-15T12:20Z",
            resolved="2026-10-15T14:00Z",
            team=platform,
            services=[api],
            cause_category="Capacity",
        ),
        "I4": incident(
            "2026-10-20T08:00Z",
            detected="2026-10-20T08:30Z",
            declared="2026-10-20T08:31Z",
            acknowledged="2026-10-20T08:45Z",
            status=Status.INVESTIGATING,
        ),
        "I5": incident(
            "2026-10-31T23:00Z",
            detected="2026-10-31T23:20Z",
            declared="2026-10-31T23:21Z",
            resolved="2026-11-01T03:20Z",
            severity_name="SEV3",
            team=platform,
            services=[db],
        ),
        "P1": incident(
            "2026-09-05T10:00Z",
            acknowledged="2026-09-05T10:15Z",
            resolved="2026-09-05T11:00Z",
            team=platform,
            services=[api],
        ),
        "P2": incident(
            "2026-09-30T23:59Z",
            acknowledged="2026-10-01T00:09Z",
            resolved="2026-10-01T00:59Z",
            severity_name="SEV1",
            team=payments,
            services=[checkout],
        ),
        "P3": incident("2026-09-10T10:00Z", team=team("Search"), services=[service("search")]),
        "drill": incident(
            "2026-10-03T10:00Z",
            acknowledged="2026-10-03T11:00Z",
            resolved="2026-10-03T15:00Z",
            severity_name="SEV1",
            team=payments,
            services=[checkout],
            drill=True,
        ),
        "November": incident(
            "2026-11-01T00:00Z",
            acknowledged="2026-11-01T00:01Z",
            team=platform,
            services=[db],
        ),
    }
    made["duplicate"] = incident(
        "2026-10-02T10:01Z",
        acknowledged="2026-10-02T10:30Z",
        resolved="2026-10-02T12:00Z",
        severity_name="SEV1",
        team=payments,
        services=[checkout],
        merged_into=made["I1"],
    )
    return made


def test_counts_what_started_in_the_month_drills_and_duplicates_aside(october):
    report = monthly_report(OCTOBER, now=NOW)

    assert report.incidents == 5
    assert report.open == 1
    assert report.drills_excluded == 1
    assert report.merged_excluded == 1
    assert report.previous_incidents == 3
    assert report.reopened_incidents == 0
    assert report.reopens == 0
    assert report.month == OCTOBER
    assert report.time_zone == "UTC"
    assert report.anchor == Anchor.DETECTED
    assert report.generated_at == NOW


def test_overall_distributions_this_month(october):
    report = monthly_report(OCTOBER, now=NOW)

    assert [figure.metric.key for figure in report.overall] == [
        "time_to_detect",
        "time_to_acknowledge",
        "time_to_mitigate",
        "time_to_resolve",
    ]
    assert figures(report, "time_to_detect").this_month == Distribution(
        n=5, left_out=0, mean=780, median=600, p90=1560, max=1800
    )
    assert figures(report, "time_to_acknowledge").this_month == Distribution(
        n=4, left_out=1, mean=1050, median=1050, p90=1620, max=1800
    )
    assert figures(report, "time_to_mitigate").this_month == Distribution(
        n=2, left_out=3, mean=2850, median=2850, p90=3450, max=3600
    )
    # The open incident is left out of time to resolve, and counted in the totals.
    assert figures(report, "time_to_resolve").this_month == Distribution(
        n=4, left_out=1, mean=8100, median=7200, p90=12240, max=14400
    )


def test_overall_distributions_of_the_previous_month(october):
    report = monthly_report(OCTOBER, now=NOW)

    assert figures(report, "time_to_acknowledge").previous_month == Distribution(
        n=2, left_out=1, mean=750, median=750, p90=870, max=900
    )
    assert figures(report, "time_to_resolve").previous_month == Distribution(
        n=2, left_out=1, mean=3600, median=3600, p90=3600, max=3600
    )


def test_by_severity_every_severity_with_its_response_target(october):
    report = monthly_report(OCTOBER, now=NOW)

    assert [
        (s.name, s.rank, s.incidents, s.open, s.previous_incidents) for s in report.by_severity
    ] == [
        ("SEV1", 1, 2, 0, 1),
        ("SEV2", 2, 2, 1, 2),
        ("SEV3", 3, 1, 0, 0),
        ("SEV4", 4, 0, 0, 0),
    ]
    sev1, sev2, sev3, sev4 = report.by_severity
    assert sev1.response_target == timedelta(minutes=15)
    # Acknowledged 5 and 30 minutes after detection: one within 15 minutes.
    assert sev1.within_target == 1
    assert sev1.figures["time_to_acknowledge"] == Distribution(
        n=2, left_out=0, mean=1050, median=1050, p90=1650, max=1800
    )
    assert sev1.figures["time_to_resolve"] == Distribution(
        n=2, left_out=0, mean=5400, median=5400, p90=6840, max=7200
    )
    assert sev2.within_target == 2
    assert sev2.figures["time_to_resolve"] == Distribution(
        n=1, left_out=1, mean=7200, median=7200, p90=7200, max=7200
    )
    assert sev2.figures["time_to_mitigate"] == Distribution(n=0, left_out=2)
    assert sev3.within_target == 0
    assert sev3.figures["time_to_acknowledge"] == Distribution(n=0, left_out=1)
    assert sev4.within_target == 0
    assert sev4.figures["time_to_resolve"] == NOTHING


def test_by_service_counts_an_incident_under_each_of_its_services(october):
    report = monthly_report(OCTOBER, now=NOW)

    assert [
        (s.name, s.slug, s.incidents, s.open, s.previous_incidents) for s in report.by_service
    ] == [
        ("api", "api", 2, 0, 1),
        ("checkout", "checkout", 2, 0, 1),
        ("db", "db", 1, 0, 0),
        ("No service", "", 1, 1, 0),
    ]
    api = group(report.by_service, "api")
    assert api.figures["time_to_resolve"] == Distribution(
        n=2, left_out=0, mean=5400, median=5400, p90=6840, max=7200
    )
    assert group(report.by_service, "No service").figures["time_to_resolve"] == Distribution(
        n=0, left_out=1
    )
    assert report.top_services == [Count("api", 2), Count("checkout", 2), Count("db", 1)]


def test_by_team_with_the_incidents_of_no_team(october):
    report = monthly_report(OCTOBER, now=NOW)

    assert [(t.name, t.incidents, t.previous_incidents) for t in report.by_team] == [
        ("Payments", 2, 1),
        ("Platform", 2, 1),
        ("No team", 1, 0),
    ]
    assert group(report.by_team, "Platform").figures["time_to_resolve"] == Distribution(
        n=2, left_out=0, mean=10800, median=10800, p90=13680, max=14400
    )


def test_trend_has_thirteen_months_with_zeros(october):
    report = monthly_report(OCTOBER, now=NOW)

    assert [point.month for point in report.trend] == [
        Month(2025, 10),
        Month(2025, 11),
        Month(2025, 12),
        *(Month(2026, month) for month in range(1, 11)),
    ]
    assert report.trend[:11] == [TrendPoint(point.month, 0, NOTHING) for point in report.trend[:11]]
    assert report.trend[11] == TrendPoint(
        SEPTEMBER, 3, Distribution(n=2, left_out=1, mean=3600, median=3600, p90=3600, max=3600)
    )
    assert report.trend[12] == TrendPoint(
        OCTOBER, 5, Distribution(n=4, left_out=1, mean=8100, median=7200, p90=12240, max=14400)
    )


def test_cause_categories_with_the_unrecorded_last(october):
    report = monthly_report(OCTOBER, now=NOW)

    assert report.cause_categories == [
        Count("Deploy", 2),
        Count("Capacity", 1),
        Count("Not recorded", 2),
    ]


def test_incident_rows_newest_first_with_durations(october):
    report = monthly_report(OCTOBER, now=NOW)

    assert [row.ref for row in report.incident_rows] == [
        october[name].ref for name in ("I5", "I4", "I3", "I2", "I1")
    ]
    assert report.incidents_not_listed == 0
    i5, i4, _, _, i1 = report.incident_rows
    assert i1.services == "api, checkout"
    assert (i1.severity, i1.team, i1.status) == ("SEV1", "Payments", "resolved")
    assert i1.durations == {
        "time_to_detect": 300,
        "time_to_acknowledge": 300,
        "time_to_mitigate": 2100,
        "time_to_resolve": 3600,
    }
    assert i5.durations == {
        "time_to_detect": 1200,
        "time_to_acknowledge": None,
        "time_to_mitigate": None,
        "time_to_resolve": 14400,
    }
    assert (i4.team, i4.services, i4.status, i4.resolved_at) == ("", "", "investigating", None)
    assert list(incident_rows(OCTOBER)) == report.incident_rows


def test_private_incidents_cause_categories_are_counted_together(incident):
    incident("2026-10-01T10:00Z", cause_category="Deploy")
    incident("2026-10-02T10:00Z", cause_category="Deploy", private=True)
    incident("2026-10-03T10:00Z", cause_category="Payroll export to a competitor", private=True)
    incident("2026-10-04T10:00Z", private=True)
    incident("2026-10-05T10:00Z")

    report = monthly_report(OCTOBER, now=NOW)

    assert report.cause_categories == [
        Count("Deploy", 1),
        Count("Private incidents", 3),
        Count("Not recorded", 1),
    ]
    email = report_email(report)
    for text in (json.dumps(report_json(report)), report_markdown(report), email.html, email.text):
        assert "Payroll export" not in text
        assert "Private incidents" in text


def test_private_incidents_contributing_factors_are_counted_together(incident):
    ContributingFactor.objects.create(name="Payroll export to a competitor", slug="payroll-export")
    postmortem(incident("2026-10-01T10:00Z"), "Change")
    postmortem(incident("2026-10-02T10:00Z", private=True), "Change", "Monitoring gap")
    postmortem(incident("2026-10-03T10:00Z", private=True), "Payroll export to a competitor")

    report = monthly_report(OCTOBER, now=NOW)

    # Counted as incidents: the first private incident's two factors are one incident.
    assert report.contributing_factors == [Count("Change", 1), Count("Private incidents", 2)]
    for text in (json.dumps(report_json(report)), report_markdown(report)):
        assert "Payroll export" not in text
        assert "Monitoring gap" not in text


def test_a_private_incidents_title_is_withheld(incident):
    incident("2026-10-02T10:00Z", title="Salaries leaked", private=True)

    (row,) = monthly_report(OCTOBER, now=NOW).incident_rows

    assert (row.title, row.private) == ("Private incident", True)


def test_the_page_lists_the_first_incidents_and_the_csv_streams_them_all(
    incident, monkeypatch, django_assert_num_queries
):
    for day in range(1, 6):
        incident(f"2026-10-0{day}T10:00Z")
    monkeypatch.setattr(builder, "INCIDENTS_LISTED", 2)
    monkeypatch.setattr(builder, "ROWS_CHUNK", 2)

    report = monthly_report(OCTOBER, now=NOW)
    # One server-side cursor, read two incidents at a time, their services joined by the query.
    with django_assert_num_queries(1):
        streamed = list(incident_rows(OCTOBER))

    assert [row.started_at.day for row in report.incident_rows] == [5, 4]
    assert report.incidents_not_listed == 3
    assert [row.started_at.day for row in streamed] == [5, 4, 3, 2, 1]


def test_empty_month(db):
    report = monthly_report(OCTOBER, now=NOW)

    assert (report.incidents, report.open, report.previous_incidents) == (0, 0, 0)
    assert (report.drills_excluded, report.merged_excluded) == (0, 0)
    assert (report.reopened_incidents, report.reopens) == (0, 0)
    assert all(f.this_month == NOTHING and f.previous_month == NOTHING for f in report.overall)
    assert [s.name for s in report.by_severity] == ["SEV1", "SEV2", "SEV3", "SEV4"]
    assert all(s.incidents == 0 and s.within_target == 0 for s in report.by_severity)
    assert (report.by_service, report.by_team, report.top_services) == ([], [], [])
    assert report.trend == [
        TrendPoint(OCTOBER.minus(back), 0, NOTHING) for back in range(12, -1, -1)
    ]
    assert (report.cause_categories, report.contributing_factors) == ([], [])
    assert report.action_items is None
    assert report.recommendations == []
    assert (report.incident_rows, report.incidents_not_listed) == ([], 0)


def test_one_incident(incident):
    incident(
        "2026-10-02T10:00Z",
        detected="2026-10-02T10:01Z",
        acknowledged="2026-10-02T10:03Z",
        mitigated="2026-10-02T10:21Z",
        resolved="2026-10-02T10:31Z",
    )

    report = monthly_report(OCTOBER, now=NOW)

    assert (report.incidents, report.open) == (1, 0)
    assert [f.this_month for f in report.overall] == [
        Distribution(1, 0, 60, 60, 60, 60),
        Distribution(1, 0, 120, 120, 120, 120),
        Distribution(1, 0, 1200, 1200, 1200, 1200),
        Distribution(1, 0, 1800, 1800, 1800, 1800),
    ]
    assert [(g.name, g.incidents) for g in report.by_service] == [("No service", 1)]
    assert report.trend[-1] == TrendPoint(OCTOBER, 1, Distribution(1, 0, 1800, 1800, 1800, 1800))


def test_an_incident_counts_in_the_month_it_started(incident):
    incident("2026-09-30T23:00Z", acknowledged="2026-09-30T23:10Z", resolved="2026-10-01T01:00Z")

    september = monthly_report(SEPTEMBER, now=NOW)
    october = monthly_report(OCTOBER, now=NOW)

    assert september.incidents == 1
    assert figures(september, "time_to_resolve").this_month.n == 1
    assert figures(september, "time_to_resolve").this_month.max == 7200
    assert october.incidents == 0
    assert october.previous_incidents == 1


def test_month_boundaries_in_the_organisations_zone_across_a_dst_change(incident, settings):
    # New York: EDT (UTC-4) until 2 a.m. on 1 November 2026, EST (UTC-5) after. October ends
    # at 04:00 UTC on 1 November, November at 05:00 UTC on 1 December.
    settings.ORGANISATION_TIME_ZONE = "America/New_York"
    incident("2026-11-01T03:30Z", title="23:30 on 31 October in New York")
    incident("2026-11-01T04:00Z", title="midnight on 1 November")
    incident("2026-12-01T04:30Z", title="23:30 on 30 November")
    incident("2026-12-01T05:00Z", title="midnight on 1 December")

    october = monthly_report(OCTOBER, now=NOW)
    november = monthly_report(Month(2026, 11), now=NOW)
    december = monthly_report(Month(2026, 12), now=NOW)

    assert [row.title for row in october.incident_rows] == ["23:30 on 31 October in New York"]
    assert [row.title for row in november.incident_rows] == [
        "23:30 on 30 November",
        "midnight on 1 November",
    ]
    assert [row.title for row in december.incident_rows] == ["midnight on 1 December"]
    assert (december.time_zone, december.previous_incidents) == ("America/New_York", 2)
    assert [(point.month, point.incidents) for point in december.trend[-3:]] == [
        (OCTOBER, 1),
        (Month(2026, 11), 2),
        (Month(2026, 12), 1),
    ]


def test_reopened_incidents_measure_the_first_resolution(clock, responder):
    # Declared at T0 (1 March 2026, 09:00 UTC), resolved after 30 minutes, reopened, resolved
    # again an hour later, reopened once more: still open, twice reopened.
    relapsing = declare(responder)
    clock.advance(minutes=30)
    relapsing = services.incident_resolve(incident=relapsing, actor=responder)
    clock.advance(minutes=10)
    relapsing = services.incident_reopen(incident=relapsing, actor=responder)
    clock.advance(minutes=50)
    relapsing = services.incident_resolve(incident=relapsing, actor=responder)
    clock.advance(minutes=10)
    relapsing = services.incident_reopen(incident=relapsing, actor=responder)
    steady = declare(responder)
    clock.advance(minutes=20)
    services.incident_resolve(incident=steady, actor=responder)

    report = monthly_report(Month(2026, 3), now=clock.now)

    assert (report.incidents, report.open) == (2, 1)
    assert (report.reopened_incidents, report.reopens) == (1, 2)
    # 30 minutes (the first resolution, not the last) and 20 minutes.
    assert figures(report, "time_to_resolve").this_month == Distribution(
        n=2, left_out=0, mean=1500, median=1500, p90=1740, max=1800
    )
    row = next(row for row in report.incident_rows if row.number == relapsing.number)
    assert (row.reopen_count, row.last_resolved_at) == (2, at("2026-03-01T10:30Z"))


def test_drills_are_left_out_and_counted(incident):
    incident("2026-10-02T10:00Z", resolved="2026-10-02T18:00Z", drill=True, severity_name="SEV1")
    incident("2026-10-03T10:00Z", resolved="2026-10-03T10:30Z", severity_name="SEV1")

    report = monthly_report(OCTOBER, now=NOW)

    assert (report.incidents, report.drills_excluded) == (1, 1)
    assert figures(report, "time_to_resolve").this_month.max == 1800
    assert group(report.by_severity, "SEV1").incidents == 1
    assert report.trend[-1].incidents == 1
    assert len(report.incident_rows) == 1
    # 8 hours would be over SEV1's 1-hour target: the drill raises no recommendation.
    assert report.recommendations == []


@pytest.mark.parametrize(
    ("anchor", "time_to_resolve", "within_target"),
    [("started", 3600, 0), ("detected", 3000, 1), ("declared", 2400, 1)],
)
def test_the_anchor_setting_moves_the_start(
    incident, settings, anchor, time_to_resolve, within_target
):
    settings.REPORTS_MTTR_ANCHOR = anchor
    incident(
        "2026-10-02T10:00Z",
        detected="2026-10-02T10:10Z",
        declared="2026-10-02T10:20Z",
        acknowledged="2026-10-02T10:25Z",
        resolved="2026-10-02T11:00Z",
        severity_name="SEV1",
    )

    report = monthly_report(OCTOBER, now=NOW)

    assert report.anchor == Anchor(anchor)
    assert figures(report, "time_to_resolve").this_month.median == time_to_resolve
    # Time to detect runs from the start of impact whatever the anchor.
    assert figures(report, "time_to_detect").this_month.median == 600
    # SEV1 responds within 15 minutes: 25 after the start, 15 after detection, 5 after
    # declaration.
    assert group(report.by_severity, "SEV1").within_target == within_target


def test_contributing_factors_of_the_months_postmortems(incident):
    first = incident("2026-10-02T10:00Z")
    second = incident("2026-10-05T10:00Z")
    postmortem(first, "Change", "Monitoring gap")
    postmortem(second, "Change")
    postmortem(incident("2026-09-02T10:00Z"), "Capacity")
    postmortem(incident("2026-10-06T10:00Z", drill=True), "Capacity")

    report = monthly_report(OCTOBER, now=NOW)

    assert report.contributing_factors == [Count("Change", 2), Count("Monitoring gap", 1)]


def test_action_items_of_the_months_incidents_and_every_overdue_one(incident):
    first = incident("2026-10-02T10:00Z")
    second = incident("2026-10-05T10:00Z")
    postmortem(first)
    action_item(first, due="2026-11-01")  # overdue on 5 November
    action_item(first, due="2026-11-10", status=ItemStatus.IN_PROGRESS)
    action_item(first, due="2026-10-20", status=ItemStatus.DONE, closed="2026-10-20T23:30Z")
    action_item(second, due="2026-10-20", status=ItemStatus.DONE, closed="2026-10-21T00:30Z")
    action_item(second, due="2026-10-01", status=ItemStatus.WONT_DO, closed="2026-10-02T00:00Z")
    action_item(incident("2026-09-02T10:00Z"), due="2026-09-30")  # September's, overdue
    action_item(incident("2026-11-02T10:00Z"), due="2026-11-05")  # due today: not yet

    report = monthly_report(OCTOBER, now=NOW)

    assert report.action_items == ActionItemStatus(
        total=5,
        by_status={"open": 1, "in_progress": 1, "done": 2, "wont_do": 1},
        overdue=2,
        done_on_time=1,
    )


def test_done_on_time_is_judged_in_the_organisations_zone(incident, settings):
    settings.ORGANISATION_TIME_ZONE = "America/New_York"
    late_in_utc = incident("2026-10-05T10:00Z")
    postmortem(late_in_utc)
    # 00:30 UTC on the 21st is 20:30 on the 20th in New York: on time there.
    action_item(late_in_utc, due="2026-10-20", status=ItemStatus.DONE, closed="2026-10-21T00:30Z")

    report = monthly_report(OCTOBER, now=NOW)

    assert report.action_items is not None
    assert report.action_items.done_on_time == 1


def test_no_action_items_part_without_postmortems_or_items(incident):
    incident("2026-10-05T10:00Z")

    assert monthly_report(OCTOBER, now=NOW).action_items is None


def _populate(incident, team, service, *, size):
    teams = [team(f"Team {n}") for n in range(size)]
    services_ = [service(f"service-{n}", teams[n]) for n in range(size)]
    for n in range(size * 3):
        made = incident(
            f"2026-10-{n % 28 + 1:02d}T10:00Z",
            acknowledged=f"2026-10-{n % 28 + 1:02d}T10:05Z",
            resolved=f"2026-10-{n % 28 + 1:02d}T11:00Z",
            team=teams[n % size],
            services=services_[: n % size + 1],
            severity_name=f"SEV{n % 4 + 1}",
            cause_category=f"cause {n % size}",
        )
        postmortem(made, "Change", "Capacity")
        action_item(made, due="2026-10-20")
        incident(f"2026-09-{n % 28 + 1:02d}T10:00Z", team=teams[n % size])


def _queries(month):
    # The process's first report also reads the database's zone names, once for its life;
    # whether this test is that first depends on what ran before it in the process.
    postgres_zone_names()
    with CaptureQueriesContext(connection) as report_queries:
        monthly_report(month, now=NOW)
    with CaptureQueriesContext(connection) as load_queries:
        responder_load(month)
    return len(report_queries), len(load_queries)


def test_the_query_count_does_not_depend_on_incidents_services_or_teams(incident, team, service):
    _populate(incident, team, service, size=2)
    small, small_load = _queries(OCTOBER)
    _populate(incident, team, service, size=8)
    large, large_load = _queries(OCTOBER)

    # Eleven of the report's own on PostgreSQL (builder.py lists them), plus responder load's.
    assert small - small_load == large - large_load == 11
    assert small == large


# Built by `manage.py shell` on a migrated SQLite database (`make run`'s embedded setup): the
# percentiles, the filtered aggregates, the month in the organisation's zone, the response
# target added to a time, the date an item was closed on, in SQLite's SQL.
SQLITE_REPORT = """
import json
from datetime import date, datetime
from incidents.models import Incident, Service, Severity, Team
from postmortems.models import ActionItem, ContributingFactor, Postmortem
from reports.builder import incident_rows, monthly_report
from reports.months import Month

at = datetime.fromisoformat
team = Team.objects.create(name="Payments", slug="payments")
checkout = Service.objects.create(name="checkout", slug="checkout", team=team)
for number, started, detected, acknowledged, resolved in [
    (1, "2026-10-02T10:00Z", "2026-10-02T10:05Z", "2026-10-02T10:10Z", "2026-10-02T11:05Z"),
    (2, "2026-10-10T00:00Z", "2026-10-10T00:10Z", "2026-10-10T00:40Z", "2026-10-10T02:10Z"),
    (3, "2026-11-01T03:30Z", "2026-11-01T03:30Z", None, None),
    (4, "2026-09-30T12:00Z", "2026-09-30T12:00Z", "2026-09-30T12:10Z", "2026-09-30T13:00Z"),
]:
    incident = Incident.objects.create(
        number=number, title=f"I{number}", severity=Severity.objects.get(name="SEV1"), team=team,
        status="resolved" if resolved else "detected", started_at=at(started),
        detected_at=at(detected), declared_at=at(detected),
        acknowledged_at=acknowledged and at(acknowledged), resolved_at=resolved and at(resolved),
        last_resolved_at=resolved and at(resolved),
    )
    incident.services.set([checkout])
first = Incident.objects.get(number=1)
review = Postmortem.objects.create(
    incident=first, title="Review", created_at=first.started_at, updated_at=first.started_at,
    refreshed_at=first.started_at,
)
review.contributing_factors.set(ContributingFactor.objects.filter(name="Change"))
ActionItem.objects.create(
    incident=first, title="Fix", due_date=date(2026, 10, 20), status="done",
    closed_at=at("2026-10-21T00:30Z"), created_at=first.started_at, updated_at=first.started_at,
)
report = monthly_report(Month(2026, 10), now=at("2026-11-05T12:00Z"))
ttr, tta = report.overall[3], report.overall[1]
print(json.dumps({
    "incidents": report.incidents,
    "ttr": list(vars(ttr.this_month).values()),
    "tta_previous": list(vars(tta.previous_month).values()),
    "sev1": [report.by_severity[0].incidents, report.by_severity[0].within_target],
    "services": [[group.name, group.incidents] for group in report.by_service],
    "trend": [[str(point.month), point.incidents] for point in report.trend[-3:]],
    "factors": [[count.name, count.count] for count in report.contributing_factors],
    "done_on_time": report.action_items.done_on_time,
    "rows": [[row.number, row.services, row.durations["time_to_resolve"]]
             for row in incident_rows(Month(2026, 10))],
}))
"""


@pytest.mark.slow
def test_the_report_on_sqlite(run_on_sqlite):
    figures_ = run_on_sqlite(SQLITE_REPORT, zone="America/New_York")

    # New York: 03:30 UTC on 1 November is 23:30 on 31 October; 12:00 UTC on 30 September
    # is September's.
    assert figures_ == {
        "incidents": 3,
        "ttr": [2, 1, 5400, 5400, 6840, 7200],
        "tta_previous": [1, 0, 600, 600, 600, 600],
        "sev1": [3, 1],
        "services": [["checkout", 3]],
        "trend": [["2026-08", 0], ["2026-09", 1], ["2026-10", 3]],
        "factors": [["Change", 1]],
        # 00:30 UTC on the 21st is the evening of the 20th in New York: on time.
        "done_on_time": 1,
        "rows": [[3, "checkout", None], [2, "checkout", 7200], [1, "checkout", 3600]],
    }
