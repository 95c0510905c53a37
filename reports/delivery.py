"""The monthly report emailed on the 1st (issue 14, item 5): a ReportDelivery timer row per
recipient and month, made and sent by the beat's tick, once each however many beats tick.

Every tick (reports-tick, 60 s):

1. From the 1st at 00:00 in ORGANISATION_TIME_ZONE on, a row exists for the month that just
   ended for each recipient (REPORTS_RECIPIENTS, else every active manager and admin with an
   email). Only that month: a first install, or a recipient added mid-month, gets the latest
   report and no back-fill of the months before. The unique (month, email) pair makes two
   beats creating the rows at once create each once.
2. For each month with rows to send, the report is built and rendered once, then the rows are
   claimed one at a time with SELECT … FOR UPDATE SKIP LOCKED (state `sending`, `claimed_at`,
   one more attempt), committed, sent, and marked `sent`. A tick running beside this one claims
   other rows, never the same one.

What can go wrong, and what brings a row back:
- the worker dies mid-send: the row stays `sending`; once its lease (REPORTS_EMAIL_LEASE) has
  run out, a tick claims it again. A row every worker died on gives up after
  REPORTS_EMAIL_MAX_ATTEMPTS;
- the SMTP server is away or answers 4xx: the row goes back to `pending`, due later (backoff),
  and after REPORTS_EMAIL_MAX_ATTEMPTS becomes `failed` with its last error, logged. While the
  server is unreachable a tick tries one row, not every row;
- the server refuses the address for good (5xx to RCPT): `failed` at once, logged;
- the report cannot be built (a bug): logged, and the rows wait untouched for the next tick.

Sending is at least once: a worker killed after the server took the message and before the row
said so leaves it to be sent again, with the row's own Message-ID, so the copy reads as one.
"""

import hashlib
import logging
import smtplib
from collections import Counter
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import Role, User
from ops import outbox
from reports.builder import monthly_report
from reports.email import ReportEmail, report_email, report_message
from reports.models import ReportDelivery
from reports.months import Month

logger = logging.getLogger(__name__)

FIRST_RETRY = timedelta(minutes=2)
LONGEST_RETRY = timedelta(hours=1)


def lease() -> timedelta:
    """A send that held its row this long died with its worker. Longer than any send takes
    (the mailer's timeout is 10 s per SMTP step)."""
    return timedelta(seconds=settings.REPORTS_EMAIL_LEASE)


def max_attempts() -> int:
    return int(settings.REPORTS_EMAIL_MAX_ATTEMPTS)


def retry_delay(attempts: int) -> timedelta:
    """2 min, 4 min, 8 min … at most LONGEST_RETRY, after the `attempts`th attempt."""
    return outbox.backoff(attempts, first=FIRST_RETRY, longest=LONGEST_RETRY)


def report_recipients() -> list[str]:
    """REPORTS_RECIPIENTS, or else every active manager and admin (a superuser is one) with an
    email; lowercased, each once, sorted."""
    if settings.REPORTS_RECIPIENTS:
        addresses = {address.strip().lower() for address in settings.REPORTS_RECIPIENTS}
    else:
        addresses = set(
            User.objects.filter(
                Q(role__in=[Role.MANAGER, Role.ADMIN]) | Q(is_superuser=True), is_active=True
            )
            .exclude(email="")
            .values_list(Lower("email"), flat=True)
        )
    return sorted(address for address in addresses if address)


def deliveries_create_due(*, now: datetime) -> Month:
    """Make sure each recipient has a row for the month that ended before `now`'s month (in
    the organisation's zone); that month."""
    month = Month.containing(now).previous()
    existing = set(ReportDelivery.objects.filter(month=str(month)).values_list("email", flat=True))
    missing = [
        ReportDelivery(month=str(month), email=address, due_at=now)
        for address in report_recipients()
        if address not in existing
    ]
    if missing:
        # Another beat may be inserting the same rows: the unique (month, email) pair keeps
        # one of each. Looking first keeps the steady state to one SELECT a minute.
        ReportDelivery.objects.bulk_create(missing, ignore_conflicts=True)
    return month


def deliveries_send_due() -> Counter[str]:
    """Send every row due now, month by month; how many were sent, retried, failed, and how
    many months could not be built ("unbuilt")."""
    outcomes: Counter[str] = Counter()
    months = (
        ReportDelivery.objects.filter(outbox.due(timezone.now(), lease=lease()))
        .order_by("month")
        .values_list("month", flat=True)
        .distinct()
    )
    for month in list(months):
        try:
            email = report_email(monthly_report(Month.parse(month), now=timezone.now()))
        except Exception:
            logger.exception("the %s report could not be built; its emails wait", month)
            outcomes["unbuilt"] += 1
            continue
        while (row := _claim_next(month)) is not None:
            outcome, error = _send(row, email)
            outcomes[outcome] += 1
            if outcome == "retry" and _server_away(error):
                # The next rows would only spend a connect timeout and an attempt each.
                break
    return outcomes


def deliveries_tick() -> Counter[str]:
    """The beat's tick: rows for the month that just ended, then whatever is due."""
    deliveries_create_due(now=timezone.now())
    return deliveries_send_due()


def _claim_next(month: str) -> ReportDelivery | None:
    """The next due row of `month`, claimed for this tick and committed; None when no row is
    left that another tick does not hold."""
    return outbox.claim_next(
        ReportDelivery.objects.filter(month=month),
        clock=timezone.now,
        lease=lease(),
        max_attempts=max_attempts(),
        gave_up=_log_give_up,
    )


def _send(row: ReportDelivery, email: ReportEmail) -> tuple[str, Exception | None]:
    """Send a claimed row: "sent", "retry" or "failed", and the error if any."""
    message = report_message(
        email, to=row.email, headers={"Message-ID": message_id(row), "X-Tocsin-Report": row.month}
    )
    what = f"report email {row.month} to {row.email}"
    error = outbox.deliver(_claimed(row), lambda: message.send(using="default"), what=what)
    if error is not None:
        return _failed(row, error), error
    return "sent", None


def message_id(row: ReportDelivery) -> str:
    """The row's own Message-ID: the same on every attempt, so a copy sent again after a lost
    answer is the same message to the recipient's client."""
    digest = hashlib.sha256(f"{row.month}\0{row.email}\0{row.created_at.isoformat()}".encode())
    domain = urlsplit(settings.BASE_URL).hostname or "localhost"
    return f"<tocsin.reports.{row.month}.{row.pk}.{digest.hexdigest()[:16]}@{domain}>"


def _failed(row: ReportDelivery, error: Exception) -> str:
    text = outbox.smtp_error_text(error)
    outcome = outbox.retry_or_give_up(
        _claimed(row),
        attempts=row.attempts,
        max_attempts=max_attempts(),
        error=text,
        permanent=outbox.smtp_permanent(error),
        retry_at=timezone.now() + retry_delay(row.attempts),
    )
    if outcome == "failed":
        row.last_error = text
        _log_give_up(row)
    return outcome


def _log_give_up(row: ReportDelivery) -> None:
    logger.error(
        "gave up on the %s report email to %s after %d attempt(s): %s",
        row.month,
        row.email,
        row.attempts,
        row.last_error,
    )


def _server_away(error: Exception | None) -> bool:
    """A failure of the connection rather than of this message or recipient."""
    if isinstance(error, smtplib.SMTPConnectError):  # refused us at the greeting
        return True
    return isinstance(error, OSError) and not isinstance(
        error, smtplib.SMTPRecipientsRefused | smtplib.SMTPResponseException
    )


def _claimed(row: ReportDelivery) -> QuerySet[ReportDelivery]:
    """The row, as long as this send's claim on it holds (no rescuer took it over)."""
    return outbox.held(ReportDelivery.objects.filter(pk=row.pk), claimed_at=row.claimed_at)
