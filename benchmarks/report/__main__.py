"""Monthly report budget (issue 14): over 1,000,000 incidents, building a month's report takes
< 1 s on PostgreSQL, in a number of queries that does not depend on the number of incidents.

    python -m benchmarks.report                  # load if needed, then measure
    python -m benchmarks.report --runs 11        # more timed runs
    python -m benchmarks.report --reload         # drop both databases and load again

Two databases (BENCH_REPORT_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/tocsin_bench_report, and the same name with `_small`):
the small one holds every 100th incident (10,000), the large one is a copy of the small one
grown to 1,000,000. Both are kept: a run whose databases already hold what it would load (the
loader's version, sizes and zone are in the database's comment) only migrates them (an index
added since is built) and measures, which takes a minute rather than the load's several.

The incidents span the 24 calendar months before the one the load ran in, in the
organisation's zone (ORGANISATION_TIME_ZONE, America/New_York here unless set), evenly, each
one's figures drawn from a hash of its number, so the small database's incidents are exactly
those of the large one with the same numbers. They have severities (SEV1 5 %, SEV2 20 %,
SEV3 40 %, SEV4 35 %), teams, one or two services, cause categories, commanders (one in ten
hands over), a timeline of about eight entries (the commander's role entries among them), drills
(1.5 %), duplicates merged into an earlier incident (0.5 %), reopens (3 %), incidents never
acknowledged (2 %) or never mitigated (15 %), open incidents (most of the last three days' and
0.2 % of the older ones); SEV1 and SEV2 incidents page the team's on-call person (and the next
one when the first has not acknowledged within five minutes, and the team's manager for a SEV1)
by SMS and then voice, as oncall Notification rows; most SEV1 and SEV2 have a postmortem with
contributing factors and action items. Everything is written with set-based SQL (INSERT ...
SELECT over generate_series), then VACUUM ANALYZE.

The month measured is the 13th of the 24, so it has a previous month and a 12-month trend. The
report is built with reports.builder.monthly_report() in-process (no HTTP): the first build after
connecting, then --runs builds, each counted with CaptureQueriesContext; the count must be one
number, the same on both databases. The CPU one build costs (Python's and the PostgreSQL
backend's, parallel workers off) is printed too: on a shared machine it moves less than wall
time. Over budget, the slowest query is shown with EXPLAIN (ANALYZE, BUFFERS). Then the other
readers of the month's incidents are timed, their query counts compared with the small
database's: the report page as a manager gets it, incident_rows() and csv_lines() (the CSV),
responder load, the home page's panel and a /metrics scrape (uncached).

    --set jit=off        a PostgreSQL setting for the measuring session (repeatable)
    --month 2026-11      another month (the latest is the one emailed on the 1st)
    --months 120         the same incidents over ten years: fewer a month
"""

import argparse
import os
import statistics
import sys
from datetime import UTC, datetime

from benchmarks.harness import database_name, database_url, expect, step
from benchmarks.report.databases import (
    configure,
    database_name_now,
    describe,
    grow_large,
    load_small,
    use_database,
)
from benchmarks.report.measure import (
    apply_settings,
    count_extras,
    extras,
    measure_builds,
    measure_cpu,
    measure_small,
    ms,
    show_slowest,
)
from benchmarks.report.spec import LOADER_VERSION, MONTHS, Spec, read_spec

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tocsin_bench_report"
INCIDENTS = 1_000_000
SMALL_INCIDENTS = 10_000
BUDGET_S = 1.0


def parse_args() -> argparse.Namespace:
    # Run as a package, argparse would name it __main__.py.
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.report", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--runs", type=int, default=7, help="timed builds after the first")
    parser.add_argument("--reload", action="store_true", help="drop both databases and load")
    parser.add_argument("--incidents", type=int, default=INCIDENTS)
    parser.add_argument("--small", type=int, default=SMALL_INCIDENTS, help="incidents, small")
    parser.add_argument(
        "--months", type=int, default=MONTHS, help="months the incidents span (24 or more)"
    )
    parser.add_argument("--month", help="YYYY-MM to measure instead of the window's 13th month")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN the slowest query always")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a PostgreSQL setting for the measuring session, e.g. --set jit=off",
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    url = os.environ.get("BENCH_REPORT_DATABASE_URL", DEFAULT_URL)
    small_url = database_url(url, database_name(url) + "_small")
    configure(small_url)
    expect(args.incidents % args.small == 0, "--incidents must be a multiple of --small")
    # The month measured needs its previous month and 12 more for the trend before it.
    expect(args.months >= 24, "--months must be 24 or more")

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from reports.months import Month

    zone = settings.ORGANISATION_TIME_ZONE
    wanted = {
        "version": LOADER_VERSION,
        "incidents": args.incidents,
        "small": args.small,
        "months": args.months,
    }
    stored_small = None if args.reload else read_spec(small_url)
    stored_large = None if args.reload else read_spec(url)
    first_month = str(Month.containing(datetime.now(UTC)).minus(args.months))
    if stored_small is not None and stored_small.zone == zone:
        # A kept database keeps its window, whatever month it is now.
        first_month = stored_small.first_month
    small_spec = Spec(**wanted, zone=zone, first_month=first_month, loaded=args.small)
    large_spec = Spec(**wanted, zone=zone, first_month=first_month, loaded=args.incidents)

    if stored_small != small_spec:
        load_small(small_url, small_spec)
    else:
        use_database(database_name(small_url))
        with step(f"migrate {database_name(small_url)} (kept)"):
            call_command("migrate", verbosity=0)
    describe(small_spec)
    month = (
        Month.parse(args.month)
        if args.month
        else Month.parse(small_spec.first_month).minus(-(args.months // 2))
    )
    apply_settings(args.set)
    print(f"\nMonth {month} in {zone}; {database_name_now()} ({small_spec.small:,} incidents)")
    small_counts = measure_small(month)
    small_extras = count_extras(month)

    if stored_large != large_spec:
        grow_large(small_url, url, large_spec)
    else:
        use_database(database_name(url))
        with step(f"migrate {database_name(url)} (kept)"):
            call_command("migrate", verbosity=0)
    describe(large_spec)

    apply_settings(args.set)
    settings_note = f", session: {' '.join(args.set)}" if args.set else ""
    print(
        f"\nMonth {month} in {zone}; {database_name_now()} ({large_spec.incidents:,}"
        f" incidents{settings_note})"
    )
    print("  load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    first, runs, report = measure_builds(month, args.runs)
    print("  load average after:  {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    ordered = sorted(runs, key=lambda r: r.seconds)
    median_run = ordered[len(ordered) // 2]
    best, median = ordered[0].seconds, statistics.median(r.seconds for r in runs)
    counts = {len(first.queries)} | {len(r.queries) for r in runs}
    print(
        f"  report: {report.incidents:,} incidents in the month, {report.open:,} open,"
        f" {report.drills_excluded:,} drills excluded, {len(report.load)} people in the load"
    )
    print(f"  monthly_report first build   {ms(first.seconds)}")
    print(
        f"  monthly_report {len(runs)} builds     best {ms(best)}, median {ms(median)},"
        f" worst {ms(ordered[-1].seconds)}   (budget < {BUDGET_S * 1000:.0f} ms)"
    )
    print(
        f"  queries                      {'/'.join(map(str, sorted(counts)))} with"
        f" {large_spec.incidents:,} incidents, {'/'.join(map(str, sorted(small_counts)))} with"
        f" {small_spec.small:,}"
    )
    cpu = measure_cpu(month)
    if cpu is not None:
        print(
            f"  CPU of one build              Python {ms(cpu[0]).strip()} + PostgreSQL"
            f" {ms(cpu[1]).strip()} = {ms(sum(cpu)).strip()} (parallel workers off: all the"
            " work, however busy the machine)"
        )
    within = median < BUDGET_S
    same = len(counts) == 1 and counts == small_counts
    show_slowest(median_run, explain=args.explain or not within)
    print()
    others_same = extras(month, small_extras, small_spec.small)
    print(
        "\nBudget: median build < 1 s "
        + ("met" if within else "MISSED")
        + "; query count independent of the number of incidents: "
        + ("yes" if same else "NO")
        + (" (the other readers' too)." if others_same else " (but not every other reader's).")
    )
    return 0 if within and same else 1


if __name__ == "__main__":
    sys.exit(main())
