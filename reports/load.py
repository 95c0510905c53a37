"""Responder load: who was paged, how often, and when it cost them their evening.

What each figure counts (load_definitions() words them for the report's readers):

- **Pages**: notifications of kind page that reached the person, i.e. were sent (state sent),
  in the month, by the time they were sent (`sent_at`, when the phone rang; a rule's later
  steps are created with the first and sent minutes after). Every contact method counts: an
  SMS and a call for the same step are two pages. A page cancelled before it went out
  (acknowledged or resolved first), or one that failed on every attempt, interrupted nobody
  and is not counted; neither is one still waiting to be sent. Pages of drills are left out.
- **Off-hours pages**: pages sent outside REPORTS_WORKING_HOURS on REPORTS_WORKING_DAYS, in the
  person's own time zone (their profile's; the organisation's when they set none, or when the
  database does not know theirs).
- **Interruptions** (PagerDuty's rule): a page within 60 s of the person's previous page is
  part of the same interruption; a longer gap starts a new one. The rule chains: a page every
  50 s for an hour is one interruption. The previous page may be the last one of the month
  before, so a burst across midnight on the 1st counts once, in the month it began.
- **Off-hours interruptions**: interruptions that began off hours, as off-hours pages are
  counted.
- **Commander time**: from the timeline entry that made the person incident commander until the
  next such entry for the incident, or until it was last resolved (now, while it is open),
  within the month. The role history is the timeline's: assignments replace the role's row, so
  the row only knows the current holder. The entry names the person by username, so a renamed
  account loses its earlier command. Time between a resolution and a reopen counts, as the
  commander still holds the incident. A merge moves the duplicate's timeline into the surviving
  incident, its role entries marked `merged_from` (the duplicate's number): they stay the
  duplicate's history, which ended when the merge resolved it, and do not replace the
  survivor's commander.

Two queries, whatever the number of pages and incidents: one for pages, one for command. Both are
plain SQL on PostgreSQL and SQLite alike, but for the few expressions reports.sql.Dialect spells
for each. Local time on PostgreSQL is `AT TIME ZONE`; SQLite has no time zone database, so each
connection gets `reports_local_time(utc, zone)`, computed by Python's zoneinfo (the database
Tocsin validates the profile's zone against), registered in ReportsConfig.ready().
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.backends.signals import connection_created
from django.utils import timezone

from accounts.models import User
from incidents.models import EventKind, Incident, RoleKind, Status, TimelineEvent
from oncall.models import Notification, NotificationKind, NotificationState
from reports.months import Month
from reports.report import ResponderLoad
from reports.sql import Dialect

# PagerDuty's rule: pages this close to the previous one are the same interruption.
SAME_INTERRUPTION = timedelta(seconds=60)

WORKING_HOURS = re.compile(r"(\d{2}):(\d{2})-(\d{2}):(\d{2})")


@dataclass(frozen=True)
class WorkingTime:
    """Working hours as minutes since local midnight, [start, end), on ISO weekdays."""

    start_minute: int
    end_minute: int
    days: tuple[int, ...]


def working_time() -> WorkingTime:
    """REPORTS_WORKING_HOURS ("09:00-18:00") and REPORTS_WORKING_DAYS (1 Monday … 7 Sunday)."""
    text = settings.REPORTS_WORKING_HOURS
    match = WORKING_HOURS.fullmatch(text.strip())
    if not match:
        raise ImproperlyConfigured(
            f"REPORTS_WORKING_HOURS is {text!r}: write it as HH:MM-HH:MM, e.g. 09:00-18:00."
        )
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    start, end = start_h * 60 + start_m, end_h * 60 + end_m
    if start_m > 59 or end_m > 59 or not 0 <= start < end <= 24 * 60:
        # A night shift across midnight is not supported: which day would it belong to?
        raise ImproperlyConfigured(
            f"REPORTS_WORKING_HOURS is {text!r}: two times of day, the first before the second."
        )
    days = tuple(sorted(set(settings.REPORTS_WORKING_DAYS)))
    if not all(1 <= day <= 7 for day in days):
        raise ImproperlyConfigured(
            f"REPORTS_WORKING_DAYS is {settings.REPORTS_WORKING_DAYS!r}: ISO weekdays, 1 to 7."
        )
    return WorkingTime(start, end, days)


@dataclass(frozen=True)
class Definition:
    term: str
    text: str


DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _days_in_words(days: tuple[int, ...]) -> str:
    if not days:
        return "no working day"
    if len(days) > 2 and days == tuple(range(days[0], days[-1] + 1)):
        return f"{DAY_NAMES[days[0] - 1]} to {DAY_NAMES[days[-1] - 1]}"
    return ", ".join(DAY_NAMES[day - 1] for day in days)


def load_definitions() -> list[Definition]:
    """What each responder load figure counts, as the page and the Markdown print it: the
    rules of this module's docstring, with the working hours the settings give."""
    hours = working_time()
    start, end = divmod(hours.start_minute, 60), divmod(hours.end_minute, 60)
    working = f"{start[0]:02}:{start[1]:02}-{end[0]:02}:{end[1]:02}, {_days_in_words(hours.days)}"
    gap = int(SAME_INTERRUPTION.total_seconds())
    return [
        Definition(
            "Pages",
            "pages sent to the person; every contact method counts, so a text and a call for "
            "the same step are two. Pages of drills are left out.",
        ),
        Definition(
            "Off-hours pages",
            f"pages sent outside working hours ({working}) in the person's own time zone "
            "(the organisation's when they set none).",
        ),
        Definition(
            "Interruptions",
            f"a page within {gap} seconds of the person's previous page is part of the same "
            "interruption, as PagerDuty counts them; a longer gap starts a new one. The gap is "
            "to the previous page, not to the interruption's first, so a page every 50 seconds "
            "for an hour is one interruption.",
        ),
        Definition("Off-hours interruptions", "interruptions whose first page was off hours."),
    ]


def responder_load(month: Month, *, now: datetime | None = None) -> list[ResponderLoad]:
    """Everyone paged or in command during the month, the most interrupted first, then by name.

    `now` ends the command of incidents still open (the current time by default).
    """
    now = now or timezone.now()
    sql = Dialect.current()
    people: dict[int, dict[str, Any]] = {}
    with connection.cursor() as cursor:
        cursor.execute(*_pages_query(sql, month))
        for row in cursor.fetchall():
            user_id, username, first, last, pages, off_hours_pages, interruptions, off_hours = row
            people[user_id] = {
                "name": _display_name(username, first, last),
                "pages": pages,
                "off_hours_pages": int(off_hours_pages),
                "interruptions": int(interruptions),
                "off_hours_interruptions": int(off_hours),
            }
        cursor.execute(*_command_query(sql, month, now))
        for user_id, username, first, last, incidents, seconds in cursor.fetchall():
            person = people.setdefault(user_id, {"name": _display_name(username, first, last)})
            person["incidents_commanded"] = incidents
            person["commander_seconds"] = float(seconds)
    loads = [
        ResponderLoad(
            user_id=user_id,
            name=person["name"],
            pages=person.get("pages", 0),
            off_hours_pages=person.get("off_hours_pages", 0),
            interruptions=person.get("interruptions", 0),
            off_hours_interruptions=person.get("off_hours_interruptions", 0),
            incidents_commanded=person.get("incidents_commanded", 0),
            commander_seconds=person.get("commander_seconds", 0.0),
        )
        for user_id, person in people.items()
    ]
    loads.sort(key=lambda load: (-load.interruptions, load.name.casefold(), load.user_id))
    return loads


def _display_name(username: str, first: str, last: str) -> str:
    # User.display_name, from the columns the query already read.
    return f"{first} {last}".strip() or username


def _pages_query(sql: Dialect, month: Month) -> tuple[str, dict[str, Any]]:
    start, end = month.start(), month.end()
    hours = working_time()
    if hours.days:
        days = ", ".join(str(day) for day in hours.days)  # validated integers
        working = (
            f"{sql.iso_weekday('p.local_at')} IN ({days})"
            f" AND {sql.minute_of_day('p.local_at')} >= %(work_starts)s"
            f" AND {sql.minute_of_day('p.local_at')} < %(work_ends)s"
        )
    else:
        working = "1 = 0"
    # Table names and Dialect's SQL around them; every value is a parameter.
    query = f"""
        WITH paged AS (
            SELECT n.id, n.user_id, n.sent_at,
                   LAG(n.sent_at) OVER (
                       PARTITION BY n.user_id ORDER BY n.sent_at, n.id
                   ) AS previous_at
            FROM {Notification._meta.db_table} n
            WHERE n.kind = %(page)s AND n.state = %(sent)s
              -- From a gap before the month: its first page may continue the last one's burst.
              AND n.sent_at >= %(lookback)s AND n.sent_at < %(end)s
              -- Drills are few: looked up among them, not among every incident.
              AND NOT EXISTS (
                  SELECT 1 FROM {Incident._meta.db_table} drill
                  WHERE drill.id = n.incident_id AND drill.drill
              )
        ),
        month_pages AS (
            SELECT user_id, sent_at,
                   CASE WHEN previous_at IS NULL
                             OR {sql.seconds("sent_at", "previous_at")} > %(gap)s
                        THEN 1 ELSE 0 END AS interrupts
            FROM paged
            WHERE sent_at >= %(start)s
        ),
        people AS (
            SELECT u.id, u.username, u.first_name, u.last_name,
                   {sql.zone_of("u.timezone")} AS zone
            FROM {User._meta.db_table} u
            WHERE u.id IN (SELECT user_id FROM month_pages)
        ),
        local_pages AS (
            SELECT m.user_id, m.interrupts, {sql.local_time("m.sent_at", "people.zone")} AS local_at
            FROM month_pages m JOIN people ON people.id = m.user_id
        )
        SELECT people.id, people.username, people.first_name, people.last_name,
               COUNT(*),
               SUM(CASE WHEN NOT ({working}) THEN 1 ELSE 0 END),
               SUM(p.interrupts),
               SUM(CASE WHEN p.interrupts = 1 AND NOT ({working}) THEN 1 ELSE 0 END)
        FROM local_pages p JOIN people ON people.id = p.user_id
        GROUP BY people.id, people.username, people.first_name, people.last_name
    """  # noqa: S608
    params = {
        "page": NotificationKind.PAGE.value,
        "sent": NotificationState.SENT.value,
        "lookback": sql.when(start - SAME_INTERRUPTION),
        "start": sql.when(start),
        "end": sql.when(end),
        "gap": SAME_INTERRUPTION.total_seconds(),
        "work_starts": hours.start_minute,
        "work_ends": hours.end_minute,
        **sql.zone_parameters(settings.ORGANISATION_TIME_ZONE),
    }
    return query, params


def _command_query(sql: Dialect, month: Month, now: datetime) -> tuple[str, dict[str, Any]]:
    replaced_or_ended = sql.earlier("COALESCE(a.replaced_at, a.ends_at)", "a.ends_at")
    held_until = sql.earlier(replaced_or_ended, "%(end_or_now)s")
    merged_from = sql.json_text("e.data", "merged_from")
    # The live incidents' role entries, each incident's read from timeline_role_assigned.
    role_entries = sql.join_each(
        "live.id",
        TimelineEvent._meta.db_table,
        alias="e",
        columns="e.incident_id, e.occurred_at, e.id, e.data",
        key="e.incident_id",
        where="e.kind = %(role_assigned)s AND e.occurred_at < %(end)s",
    )
    live_in_month = sql.live_span("%(start)s", "%(end)s") or (
        "i.declared_at < %(end)s AND (i.status <> %(resolved)s OR i.last_resolved_at > %(start)s)"
    )
    # Table names and Dialect's SQL around them; every value is a parameter.
    query = f"""
        WITH live AS (
            -- Incidents open at some time in the month (or after it), drills aside, and when
            -- each stopped needing a commander. (last_resolved_at follows every resolution.)
            SELECT i.id,
                   CASE WHEN i.status = %(resolved)s THEN i.last_resolved_at ELSE %(now)s END
                       AS ends_at
            FROM {Incident._meta.db_table} i
            WHERE NOT i.drill AND {live_in_month}
        ),
        assignments AS (
            -- Their role entries up to the month's end (one after it would be clipped to the
            -- month's end anyway), each with when the next holder of the role took over: in the
            -- same incident, as a merged duplicate's entries are a history of their own.
            SELECT e.incident_id,
                   {merged_from} AS merged_from,
                   {sql.json_text("e.data", "role")} AS role,
                   {sql.json_text("e.data", "user")} AS username,
                   e.occurred_at AS began_at,
                   LEAD(e.occurred_at) OVER (
                       PARTITION BY e.incident_id, {merged_from}, {sql.json_text("e.data", "role")}
                       ORDER BY e.occurred_at, e.id
                   ) AS replaced_at,
                   live.ends_at
            FROM live {role_entries}
            -- PostgreSQL would move the role filter below into this scan, and guessing how
            -- many entries a JSON filter keeps, plan for a handful.
            {sql.fence()}
        ),
        commands AS (
            -- A merged duplicate's commander held it until the merge resolved it: the
            -- duplicate, found by its number among the few entries left.
            SELECT COALESCE(d.id, a.incident_id) AS incident_id, a.username, a.began_at,
                   a.replaced_at,
                   {sql.earlier("COALESCE(d.last_resolved_at, a.ends_at)", "a.ends_at")}
                       AS ends_at
            FROM assignments a
            LEFT JOIN {Incident._meta.db_table} d
                   ON a.merged_from IS NOT NULL AND d.number = CAST(a.merged_from AS INTEGER)
            WHERE a.role = %(commander)s
        ),
        held AS (
            SELECT a.incident_id, a.username,
                   {sql.later("a.began_at", "%(start)s")} AS held_from,
                   {held_until} AS held_to
            FROM commands a
        ),
        per_person AS (
            SELECT username,
                   COUNT(DISTINCT incident_id) AS incidents,
                   SUM({sql.seconds("held_to", "held_from")}) AS seconds
            FROM held
            WHERE held_to > held_from
            GROUP BY username
        )
        SELECT u.id, u.username, u.first_name, u.last_name, p.incidents, p.seconds
        FROM per_person p JOIN {User._meta.db_table} u ON u.username = p.username
    """  # noqa: S608
    start, end = month.start(), month.end()
    params = {
        "role_assigned": EventKind.ROLE_ASSIGNED.value,
        "commander": RoleKind.COMMANDER.value,
        "resolved": Status.RESOLVED.value,
        "start": sql.when(start),
        "end": sql.when(end),
        "now": sql.when(now),
        "end_or_now": sql.when(min(end, now)),
    }
    return query, params


def sqlite_local_time(moment: str | None, zone: str) -> str | None:
    """SQLite's reports_local_time: a stored UTC time ("2026-11-02 02:00:00[.ffffff]") as the
    wall clock of `zone` shows it, in the same format; the organisation's zone for an unknown
    one, as PostgreSQL's query does."""
    if moment is None:
        return None
    try:
        local_zone = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        local_zone = ZoneInfo(settings.ORGANISATION_TIME_ZONE)
    utc = datetime.fromisoformat(moment).replace(tzinfo=UTC)
    return utc.astimezone(local_zone).strftime("%Y-%m-%d %H:%M:%S")


def _register(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "reports_local_time", 2, sqlite_local_time, deterministic=True
        )


def connect_sqlite_functions() -> None:
    connection_created.connect(_register, dispatch_uid="reports.local_time")
