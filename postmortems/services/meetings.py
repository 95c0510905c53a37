"""The postmortem review meeting and its invitations.

Drafting a postmortem proposes the meeting the playbook asks for: 3 to 5 business days after
the incident resolved (REVIEW_AFTER_BUSINESS_DAYS, at REVIEW_STARTS in the organisation's zone),
an hour, with the playbook's agenda. Everyone who took part is invited by email with an
iCalendar invitation (RFC 5546, METHOD:REQUEST). The meeting's UID never changes and each
change bumps its SEQUENCE, so moving it updates the event people's calendars already hold
instead of adding a second one, and cancelling it (METHOD:CANCEL) removes it.

Every email goes through the outbox (emails.py): one row per attendee per sequence, keyed
"invite:<meeting>:<sequence>:<address>", so a rerun adds nothing. A change supersedes the
earlier emails still waiting to go; a cancellation goes only to those an email reached.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email.utils import parseaddr
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from icalendar import STATUS, Calendar, Event, vCalAddress

from accounts.actors import SYSTEM, Actor
from accounts.models import User
from incidents.models import ChecklistItem, Incident, Source
from incidents.permissions import Action, require
from incidents.services import checklist_item_set_done
from ops.timestamps import plan_time_error, zone_named
from postmortems.models import EmailState, OutgoingEmail, Postmortem, ReviewMeeting
from postmortems.services import emails

# The playbook: "schedule the postmortem meeting 3-5 business days after resolution". The
# first of those days leaves the most time to act on what it finds; people move it from there.
REVIEW_AFTER_BUSINESS_DAYS = 3
REVIEW_STARTS = time(14, 0)
REVIEW_DURATION = timedelta(minutes=60)
# A proposal never falls sooner than this after it is made: nobody can prepare for a meeting
# announced an hour before it starts.
NOTICE = timedelta(days=1)

# The playbook's agenda, in minutes.
AGENDA: tuple[tuple[str, int], ...] = (
    ("Timeline review", 10),
    ("Root cause analysis", 20),
    ("Impact assessment", 10),
    ("Action items", 15),
    ("Process improvements", 5),
)
BLAMELESS = (
    "Blameless: we look at how our systems and processes let this happen, not at who did what."
)

# The commander's checklist item (incidents.models.COMMANDER_CHECKLIST) a meeting ticks.
SCHEDULE_ITEM = "Schedule postmortem"
PRODID = "-//Tocsin//Postmortem review//EN"

Kind = Literal["invitation", "update", "cancellation"]


class MeetingConflict(Exception):
    """The meeting is not in a state that allows this; the message says why."""


def organisation_zone() -> ZoneInfo:
    return ZoneInfo(settings.ORGANISATION_TIME_ZONE)


def is_business_day(day: date) -> bool:
    return day.weekday() < 5


def business_days_after(day: date, count: int) -> date:
    """The `count`th business day (Monday to Friday) after `day`."""
    while count > 0:
        day += timedelta(days=1)
        if is_business_day(day):
            count -= 1
    return day


def proposed_start(*, resolved_at: datetime, now: datetime) -> datetime:
    """When to propose the review: REVIEW_STARTS on the REVIEW_AFTER_BUSINESS_DAYS-th
    business day after the day the incident resolved, both in the organisation's zone; for a
    postmortem drafted so late that this is less than NOTICE away, the first business day's
    REVIEW_STARTS at least NOTICE from now. In UTC."""
    zone = organisation_zone()
    day = business_days_after(resolved_at.astimezone(zone).date(), REVIEW_AFTER_BUSINESS_DAYS)
    earliest = now + NOTICE
    soonest_day = earliest.astimezone(zone).date()
    if day < soonest_day:
        day = soonest_day if is_business_day(soonest_day) else business_days_after(soonest_day, 1)
    # Combined in the zone, so 14:00 stays 14:00 on either side of a DST change.
    start = datetime.combine(day, REVIEW_STARTS, zone)
    if start < earliest:
        start = datetime.combine(business_days_after(day, 1), REVIEW_STARTS, zone)
    return start.astimezone(UTC)


@dataclass(frozen=True)
class Attendee:
    name: str
    email: str
    # The zone their invitation shows the time in: their profile's, else the organisation's.
    zone: ZoneInfo


def meeting_attendees(incident: Incident) -> list[Attendee]:
    """The commander, every role holder and every participant who has an email address,
    each address once; the commander first, then by name.

    Accounts sharing an address (someone's second account) are one attendee: the commander's
    account if it is one of them, else one whose profile names a time zone, else the oldest.
    Never the first by name, which would make the zone an invitation shows depend on what
    the other account happens to be called."""
    people = (
        User.objects.filter(
            Q(pk=incident.commander_id)
            | Q(incident_roles__incident=incident)
            | Q(participated_incidents=incident),
            is_active=True,
        )
        .exclude(email="")
        .distinct()
    )
    chosen: dict[str, User] = {}
    for user in sorted(
        people,
        key=lambda user: (
            user.pk != incident.commander_id,
            zone_named(user.timezone) is None,
            user.pk,
        ),
    ):
        chosen.setdefault(user.email.strip().lower(), user)
    ordered = sorted(
        chosen.values(),
        key=lambda user: (user.pk != incident.commander_id, user.display_name.lower(), user.pk),
    )
    return [
        Attendee(
            user.display_name,
            user.email.strip(),
            zone_named(user.timezone) or organisation_zone(),
        )
        for user in ordered
    ]


def postmortem_url(postmortem: Postmortem) -> str:
    return settings.BASE_URL + postmortem.get_absolute_url()


def meeting_summary(incident: Incident) -> str:
    return f"Postmortem review: {incident.ref} {incident.title}"


def agenda_text() -> str:
    total = sum(minutes for _topic, minutes in AGENDA)
    lines = [f"Agenda ({total} min):"]
    lines += [f"{n}. {topic} ({minutes} min)" for n, (topic, minutes) in enumerate(AGENDA, 1)]
    return "\n".join(lines)


def meeting_description(incident: Incident, url: str) -> str:
    return f"{meeting_summary(incident)}\n\n{agenda_text()}\n\n{BLAMELESS}\n\nThe postmortem: {url}"


def meeting_ics(
    *,
    meeting: ReviewMeeting,
    incident: Incident,
    attendees: list[Attendee],
    method: Literal["REQUEST", "CANCEL"],
    url: str,
    now: datetime,
) -> str:
    """The iCalendar object (RFC 5545) of the meeting as it stands, for iTIP `method`."""
    organizer_name, organizer_address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    event = Event.new(
        uid=meeting.uid,
        sequence=meeting.sequence,
        stamp=now.astimezone(UTC),
        start=meeting.starts_at.astimezone(UTC),
        end=(meeting.starts_at + meeting.duration).astimezone(UTC),
        summary=meeting_summary(incident),
        description=meeting_description(incident, url),
        location=meeting.location or None,
        url=url,
        status=STATUS.CANCELLED if method == "CANCEL" else STATUS.CONFIRMED,
        organizer=vCalAddress.new(organizer_address, cn=organizer_name or None),
        attendees=[
            vCalAddress.new(
                attendee.email,
                cn=attendee.name,
                cutype="INDIVIDUAL",
                role="REQ-PARTICIPANT",
                partstat="NEEDS-ACTION",
                rsvp=method == "REQUEST",
            )
            for attendee in attendees
        ],
    )
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    calendar.add_component(event)
    ics: bytes = calendar.to_ical()
    return ics.decode()


def _when(meeting: ReviewMeeting, zone: ZoneInfo) -> dict[str, str]:
    starts = meeting.starts_at.astimezone(zone)
    ends = (meeting.starts_at + meeting.duration).astimezone(zone)
    return {
        "starts": f"{starts:%A} {starts.day} {starts:%B %Y, %H:%M}",
        "ends": f"{ends:%H:%M}",
        "zone": str(zone.key),
        "utc": f"{meeting.starts_at.astimezone(UTC):%Y-%m-%d %H:%M}",
    }


def _queue_emails(
    meeting: ReviewMeeting,
    *,
    postmortem: Postmortem,
    kind: Kind,
    now: datetime,
    only: set[str] | None = None,
) -> int:
    """Queue this sequence of the meeting to every attendee (or to those whose address, in
    lower case, is in `only`); how many. Caller holds the meeting's row (or just created it)
    in a transaction."""
    incident = postmortem.incident
    attendees = meeting_attendees(incident)
    url = postmortem_url(postmortem)
    method: Literal["REQUEST", "CANCEL"] = "CANCEL" if kind == "cancellation" else "REQUEST"
    ics = meeting_ics(
        meeting=meeting, incident=incident, attendees=attendees, method=method, url=url, now=now
    )
    summary = meeting_summary(incident)
    base = {
        "kind": kind,
        "incident": incident,
        "meeting": meeting,
        "summary": summary,
        "agenda": agenda_text(),
        "agenda_items": AGENDA,
        "blameless": BLAMELESS,
        "duration_minutes": int(meeting.duration.total_seconds() // 60),
        "postmortem_url": url,
    }
    batch = []
    for attendee in attendees:
        if only is not None and attendee.email.lower() not in only:
            continue
        context = {**base, "attendee": attendee, "when": _when(meeting, attendee.zone)}
        batch.append(
            emails.Email(
                key=f"invite:{meeting.pk}:{meeting.sequence}:{attendee.email.lower()}",
                to=attendee.email,
                subject=render_to_string("postmortems/email/meeting_subject.txt", context),
                text=render_to_string("postmortems/email/meeting.txt", context).strip() + "\n",
                html=render_to_string("postmortems/email/meeting.html", context),
                ics=ics,
                ics_method=method,
            )
        )
    return emails.email_queue_many(batch, now=now)


def _reached(meeting: ReviewMeeting) -> set[str]:
    """The addresses (lower case) an email of the meeting went to, or is going to now: only
    they hold the event in a calendar. Caller holds the meeting's row lock."""
    sent = OutgoingEmail.objects.filter(
        key__startswith=f"invite:{meeting.pk}:", state__in=[EmailState.SENT, EmailState.SENDING]
    ).values_list("to", flat=True)
    return {address.lower() for address in sent}


def _supersede_unsent(meeting: ReviewMeeting) -> None:
    """Drop the earlier sequences' emails still waiting to go: the new one carries the whole
    meeting, so someone whose invitation had not gone out yet gets one email, not two. A row
    a worker is sending is left to finish. Caller holds the meeting's row lock."""
    OutgoingEmail.objects.filter(
        key__startswith=f"invite:{meeting.pk}:", state=EmailState.PENDING
    ).delete()


def _tick_schedule_item(incident: Incident, actor: Actor) -> None:
    """Tick the commander's "Schedule postmortem" when it is not ticked yet. Never unticked
    here: the item records that someone scheduled it, which a cancellation does not undo."""
    item = ChecklistItem.objects.filter(
        incident=incident, title=SCHEDULE_ITEM, done_at__isnull=True
    ).first()
    if item is not None:
        source = Source.SYSTEM if actor is SYSTEM else Source.WEB
        checklist_item_set_done(item=item, actor=actor, done=True, source=source)


def _new_uid() -> str:
    domain = urlsplit(settings.BASE_URL).hostname or "localhost"
    return f"postmortem-review-{uuid.uuid4()}@{domain}"


def _create(
    postmortem: Postmortem, *, starts_at: datetime, actor: Actor, now: datetime
) -> ReviewMeeting:
    meeting = ReviewMeeting.objects.create(
        postmortem=postmortem,
        uid=_new_uid(),
        starts_at=starts_at,
        duration=REVIEW_DURATION,
        sequence=0,
        updated_at=now,
    )
    _queue_emails(meeting, postmortem=postmortem, kind="invitation", now=now)
    _tick_schedule_item(postmortem.incident, actor)
    return meeting


def meeting_propose(*, postmortem: Postmortem, now: datetime | None = None) -> ReviewMeeting:
    """Propose the review meeting of a postmortem just drafted and invite everyone; the one
    it has if it has one. Called by postmortem_create inside its transaction, as Tocsin."""
    now = now or timezone.now()
    existing = ReviewMeeting.objects.filter(postmortem=postmortem).first()
    if existing is not None:
        return existing
    resolved_at = postmortem.incident.resolved_at or now
    starts_at = proposed_start(resolved_at=resolved_at, now=now)
    return _create(postmortem, starts_at=starts_at, actor=SYSTEM, now=now)


def check_start(starts_at: datetime, *, now: datetime) -> None:
    """ValidationError on `starts_at` unless it is a time a meeting can be set for."""
    if timezone.is_naive(starts_at):
        raise ValidationError({"starts_at": "Give the time with its zone."})
    if starts_at <= now:
        raise ValidationError({"starts_at": "Choose a time in the future."})
    if error := plan_time_error(starts_at, now=now):
        raise ValidationError({"starts_at": error})


def _lock(meeting: ReviewMeeting) -> ReviewMeeting:
    # The meeting's own row only: never the postmortem's or the incident's with it.
    return ReviewMeeting.objects.select_for_update().get(pk=meeting.pk)


def _postmortem_of(meeting: ReviewMeeting) -> Postmortem:
    return Postmortem.objects.select_related("incident").get(pk=meeting.postmortem_id)


def meeting_move(
    *,
    meeting: ReviewMeeting,
    starts_at: datetime,
    actor: Actor,
    now: datetime | None = None,
) -> ReviewMeeting:
    """Move the meeting (or set a cancelled one again) and send everyone the update: the same
    UID with the next SEQUENCE. Moving it to the time it has changes and sends nothing."""
    now = now or timezone.now()
    postmortem = _postmortem_of(meeting)
    require(actor, Action.RESPOND, postmortem.incident)
    check_start(starts_at, now=now)
    with transaction.atomic():
        meeting = _lock(meeting)
        if not meeting.cancelled and meeting.starts_at == starts_at:
            return meeting
        meeting.starts_at = starts_at
        meeting.cancelled = False
        meeting.sequence += 1
        meeting.updated_at = now
        meeting.save(update_fields=["starts_at", "cancelled", "sequence", "updated_at"])
        _supersede_unsent(meeting)
        _queue_emails(meeting, postmortem=postmortem, kind="update", now=now)
        _tick_schedule_item(postmortem.incident, actor)
    return meeting


def meeting_schedule(
    *,
    postmortem: Postmortem,
    starts_at: datetime,
    actor: Actor,
    now: datetime | None = None,
) -> ReviewMeeting:
    """Set the review meeting of a postmortem that has none (drafted before meetings were
    proposed) at `starts_at` and invite everyone; one it has meanwhile is moved there."""
    now = now or timezone.now()
    require(actor, Action.RESPOND, postmortem.incident)
    check_start(starts_at, now=now)
    with transaction.atomic():
        # The postmortem's row lock: two people scheduling at once make one meeting.
        postmortem = Postmortem.objects.select_for_update(of=("self",)).get(pk=postmortem.pk)
        existing = ReviewMeeting.objects.filter(postmortem=postmortem).first()
        if existing is None:
            postmortem = Postmortem.objects.select_related("incident").get(pk=postmortem.pk)
            return _create(postmortem, starts_at=starts_at, actor=actor, now=now)
    return meeting_move(meeting=existing, starts_at=starts_at, actor=actor, now=now)


def meeting_cancel(
    *, meeting: ReviewMeeting, actor: Actor, now: datetime | None = None
) -> ReviewMeeting:
    """Cancel the meeting and tell everyone an invitation reached (METHOD:CANCEL, the next
    SEQUENCE), so their calendars drop it; invitations not sent yet are dropped instead.
    Cancelling a cancelled meeting does nothing."""
    now = now or timezone.now()
    postmortem = _postmortem_of(meeting)
    require(actor, Action.RESPOND, postmortem.incident)
    with transaction.atomic():
        meeting = _lock(meeting)
        if meeting.cancelled:
            return meeting
        meeting.cancelled = True
        meeting.sequence += 1
        meeting.updated_at = now
        meeting.save(update_fields=["cancelled", "sequence", "updated_at"])
        reached = _reached(meeting)
        _supersede_unsent(meeting)
        _queue_emails(meeting, postmortem=postmortem, kind="cancellation", now=now, only=reached)
    return meeting
