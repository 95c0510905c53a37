"""The monthly report emailed on the 1st: once per recipient and month under two beats, again
after a worker died mid-send, backing off while the SMTP server is away.

The beat's tick (reports.tasks.tick) is called directly, as the worker runs it; time moves with
the clock fixture; mail goes through Django's SMTP mailer to a real SMTP server on loopback.
The organisation is in Paris, so its 1st of December begins at 23:00 UTC on 30 November.
"""

import logging
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from reports import delivery, tasks
from reports.models import DeliveryState, ReportDelivery
from tests.factories import UserFactory
from tests.harness import in_thread

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
# The first moment of December in Paris: 23:00 UTC on 30 November.
DECEMBER_1 = datetime(2026, 12, 1, tzinfo=PARIS)
MONA, ADA = "mona@example.com", "ada@example.com"
NOVEMBER_SUBJECT = "Incident report for November 2026"


@pytest.fixture(autouse=True)
def organisation(settings):
    settings.ORGANISATION_TIME_ZONE = "Europe/Paris"
    settings.BASE_URL = "https://tocsin.example"
    settings.REPORTS_RECIPIENTS = []


@pytest.fixture
def managers(manager, admin_user):
    """Mona the manager and Ada the admin, who get the report by default."""
    return [manager, admin_user]


def tick() -> None:
    tasks.tick()


def row(email: str, month: str = "2026-11") -> ReportDelivery:
    return ReportDelivery.objects.get(month=month, email=email)


def smtp_down(settings, port: int) -> None:
    """The SMTP server is away: connections to it are refused."""
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 2},
        }
    }


def text_of(part) -> str:
    """A received part's text as it was written (SMTP carries lines ending CRLF)."""
    return part.get_content().replace("\r\n", "\n")


def sent_already(month: str, *emails: str) -> None:
    """Rows of a month whose report went out (on its 1st)."""
    for email in emails:
        ReportDelivery.objects.create(
            month=month,
            email=email,
            state=DeliveryState.SENT,
            due_at=datetime(2026, 11, 1, tzinfo=PARIS),
            sent_at=datetime(2026, 11, 1, tzinfo=PARIS),
            attempts=1,
        )


@pytest.mark.usefixtures("managers")
def test_the_last_tick_before_the_1st_sends_nothing(smtp_stub, clock):
    sent_already("2026-10", MONA, ADA)  # October's went out on 1 November
    clock.now = DECEMBER_1 - timedelta(seconds=1)

    tick()

    smtp_stub.assert_nothing_sent()
    assert not ReportDelivery.objects.filter(month="2026-11").exists()


@pytest.mark.usefixtures("managers")
def test_on_the_1st_each_recipient_gets_the_previous_months_report_once(smtp_stub, clock):
    sent_already("2026-10", MONA, ADA)
    clock.now = DECEMBER_1  # 23:00 UTC on 30 November: still November in UTC

    tick()

    for address in (MONA, ADA):
        [message] = smtp_stub.messages_to(address)
        assert message["Subject"] == NOVEMBER_SUBJECT
        assert message["Message-ID"] == delivery.message_id(row(address))
        assert message["Auto-Submitted"] == "auto-generated"
        assert message.get_content_type() == "multipart/alternative"
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert "https://tocsin.example/reports/monthly/2026-11/" in text
        assert 'href="https://tocsin.example/reports/monthly/2026-11/"' in html
        assert "<svg" not in html
        sent = row(address)
        assert (sent.state, sent.attempts, sent.sent_at) == (DeliveryState.SENT, 1, clock.now)
    assert len(smtp_stub.messages) == 2


@pytest.mark.usefixtures("managers")
def test_later_ticks_that_day_and_the_next_send_nothing_more(smtp_stub, clock):
    clock.now = DECEMBER_1
    tick()
    assert len(smtp_stub.messages) == 2

    clock.advance(minutes=1)
    tick()
    clock.advance(hours=15)
    tick()
    clock.advance(hours=24)
    tick()

    assert len(smtp_stub.messages_to(MONA)) == 1
    assert len(smtp_stub.messages_to(ADA)) == 1
    assert ReportDelivery.objects.count() == 2


@pytest.mark.usefixtures("managers")
def test_only_the_month_that_just_ended_is_sent_on_a_first_install(smtp_stub, clock):
    # Installed in the middle of December with no history of sends: November's report goes
    # out, and none of the months before it.
    clock.now = datetime(2026, 12, 17, 10, tzinfo=PARIS)

    tick()

    assert set(ReportDelivery.objects.values_list("month", "email")) == {
        ("2026-11", MONA),
        ("2026-11", ADA),
    }
    assert [m["Subject"] for m in smtp_stub.messages_to(MONA)] == [NOVEMBER_SUBJECT]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_ticks_at_once_send_each_recipient_one_email(smtp_stub, clock, settings):
    recipients = [f"manager{n}@example.com" for n in range(8)]
    settings.REPORTS_RECIPIENTS = recipients
    clock.now = DECEMBER_1
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def beat() -> None:
        start.wait(10)
        try:
            tasks.tick()
        except BaseException as error:
            failures.append(error)
            raise

    beats = [in_thread(beat), in_thread(beat)]
    for thread in beats:
        thread.join(60)

    assert failures == []
    for address in recipients:
        assert len(smtp_stub.messages_to(address)) == 1, address
    assert len(smtp_stub.messages) == len(recipients)
    rows = ReportDelivery.objects.filter(month="2026-11")
    assert rows.count() == len(recipients)
    assert set(rows.values_list("state", "attempts")) == {(DeliveryState.SENT, 1)}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_tick_passes_over_a_row_another_tick_holds_without_waiting(smtp_stub, clock, managers):
    clock.now = DECEMBER_1
    delivery.deliveries_create_due(now=clock.now)
    holding, release = threading.Event(), threading.Event()

    def other_beat_claiming_monas_row() -> None:
        with transaction.atomic():
            ReportDelivery.objects.select_for_update().get(month="2026-11", email=MONA)
            holding.set()
            release.wait(20)

    other = in_thread(other_beat_claiming_monas_row)
    assert holding.wait(10)
    ticking = in_thread(tick)
    ticking.join(15)
    try:
        assert not ticking.is_alive(), "the tick must skip a locked row, not wait for it"
        assert len(smtp_stub.messages_to(ADA)) == 1
        assert smtp_stub.messages_to(MONA) == []
        assert row(MONA).state == DeliveryState.PENDING
    finally:
        release.set()
        other.join(10)
        ticking.join(10)

    tick()

    assert len(smtp_stub.messages_to(MONA)) == 1
    assert len(smtp_stub.messages_to(ADA)) == 1


def test_a_send_that_died_midway_is_sent_once_after_its_lease(smtp_stub, clock, managers, settings):
    clock.now = DECEMBER_1
    delivery.deliveries_create_due(now=clock.now)
    # A tick claimed Mona's row and its worker was killed before the server answered.
    ReportDelivery.objects.filter(email=MONA).update(
        state=DeliveryState.SENDING, claimed_at=clock.now, attempts=1
    )

    clock.advance(seconds=settings.REPORTS_EMAIL_LEASE - 1)
    tick()
    assert smtp_stub.messages_to(MONA) == []  # still within its lease
    assert len(smtp_stub.messages_to(ADA)) == 1

    clock.advance(seconds=2)
    tick()
    tick()
    clock.advance(hours=1)
    tick()

    assert len(smtp_stub.messages_to(MONA)) == 1
    sent = row(MONA)
    assert (sent.state, sent.attempts) == (DeliveryState.SENT, 2)


def test_a_copy_sent_again_after_a_lost_answer_is_the_same_message(smtp_stub, clock, managers):
    clock.now = DECEMBER_1
    tick()
    # As if the worker died after the server took the message and before the row said so.
    ReportDelivery.objects.filter(email=MONA).update(
        state=DeliveryState.SENDING, claimed_at=clock.now, sent_at=None
    )
    clock.advance(minutes=10)
    tick()

    first, second = smtp_stub.messages_to(MONA)
    assert first["Message-ID"] == second["Message-ID"] == delivery.message_id(row(MONA))


def test_a_row_every_worker_died_on_gives_up(smtp_stub, clock, manager, settings, caplog):
    settings.REPORTS_EMAIL_MAX_ATTEMPTS = 3
    clock.now = DECEMBER_1
    delivery.deliveries_create_due(now=clock.now)
    ReportDelivery.objects.filter(email=MONA).update(
        state=DeliveryState.SENDING, claimed_at=clock.now, attempts=3
    )
    clock.advance(seconds=settings.REPORTS_EMAIL_LEASE + 1)

    with caplog.at_level(logging.ERROR, logger="reports.delivery"):
        tick()

    smtp_stub.assert_nothing_sent()
    failed = row(MONA)
    assert failed.state == DeliveryState.FAILED
    assert failed.last_error == "no attempt finished: each died with its worker"
    assert "gave up on the 2026-11 report email to mona@example.com" in caplog.text


def test_an_smtp_server_away_is_retried_with_backoff_until_it_answers(
    smtp_stub, clock, manager, settings, unused_port
):
    mailer = settings.MAILERS
    smtp_down(settings, unused_port)
    clock.now = DECEMBER_1

    tick()
    waiting = row(MONA)
    assert (waiting.state, waiting.attempts) == (DeliveryState.PENDING, 1)
    assert waiting.due_at == clock.now + timedelta(minutes=2)
    assert "Connection refused" in waiting.last_error or "Errno" in waiting.last_error

    settings.MAILERS = mailer
    clock.advance(minutes=1)
    tick()
    assert smtp_stub.messages == []  # not before its time
    assert row(MONA).attempts == 1

    clock.advance(minutes=1)
    tick()
    tick()

    assert len(smtp_stub.messages_to(MONA)) == 1
    sent = row(MONA)
    assert (sent.state, sent.attempts, sent.last_error) == (DeliveryState.SENT, 2, "")


def test_the_backoff_doubles_up_to_an_hour():
    assert [delivery.retry_delay(n) for n in range(1, 9)] == [
        timedelta(minutes=m) for m in (2, 4, 8, 16, 32, 60, 60, 60)
    ]


def test_an_unreachable_server_costs_one_attempt_a_tick_not_one_per_recipient(
    clock, settings, unused_port
):
    settings.REPORTS_RECIPIENTS = ["a@example.com", "b@example.com", "c@example.com"]
    smtp_down(settings, unused_port)
    clock.now = DECEMBER_1

    tick()

    assert sorted(ReportDelivery.objects.values_list("attempts", flat=True)) == [0, 0, 1]


def test_a_full_mailbox_is_retried_and_the_others_still_get_theirs(smtp_stub, clock, managers):
    smtp_stub.refuse(MONA, reply="452 4.2.2 Mailbox full, try later")
    clock.now = DECEMBER_1

    tick()

    waiting = row(MONA)
    assert (waiting.state, waiting.attempts) == (DeliveryState.PENDING, 1)
    assert waiting.last_error == "Recipient refused (452): 4.2.2 Mailbox full, try later"
    assert len(smtp_stub.messages_to(ADA)) == 1


def test_a_refused_recipient_fails_at_once_and_is_logged(smtp_stub, clock, manager, caplog):
    smtp_stub.refuse(MONA)  # 550: the address does not exist
    clock.now = DECEMBER_1

    with caplog.at_level(logging.ERROR, logger="reports.delivery"):
        tick()
    clock.advance(hours=3)
    tick()

    failed = row(MONA)
    assert (failed.state, failed.attempts) == (DeliveryState.FAILED, 1)
    assert failed.last_error == "Recipient refused (550): 5.1.1 User unknown"
    assert "gave up on the 2026-11 report email to mona@example.com" in caplog.text
    smtp_stub.assert_nothing_sent()


def test_an_email_gives_up_after_its_last_attempt(clock, manager, settings, unused_port, caplog):
    settings.REPORTS_EMAIL_MAX_ATTEMPTS = 4
    smtp_down(settings, unused_port)
    clock.now = DECEMBER_1

    attempts_seen = []
    with caplog.at_level(logging.ERROR, logger="reports.delivery"):
        for _ in range(6):
            tick()
            attempts_seen.append(row(MONA).attempts)
            clock.advance(hours=1)

    assert attempts_seen == [1, 2, 3, 4, 4, 4]
    failed = row(MONA)
    assert failed.state == DeliveryState.FAILED
    assert "Connection refused" in failed.last_error or "Errno" in failed.last_error
    assert caplog.text.count("gave up on the 2026-11 report email to mona@example.com") == 1


def test_a_report_that_cannot_be_built_leaves_its_emails_waiting(
    smtp_stub, clock, manager, settings, caplog
):
    settings.REPORTS_MTTR_ANCHOR = "resolved"  # names no anchor: the builder refuses it
    clock.now = DECEMBER_1

    with caplog.at_level(logging.ERROR, logger="reports.delivery"):
        tick()

    smtp_stub.assert_nothing_sent()
    waiting = row(MONA)
    assert (waiting.state, waiting.attempts) == (DeliveryState.PENDING, 0)
    assert "the 2026-11 report could not be built; its emails wait" in caplog.text

    settings.REPORTS_MTTR_ANCHOR = "detected"  # fixed
    clock.advance(minutes=1)
    tick()

    assert len(smtp_stub.messages_to(MONA)) == 1


def test_recipients_default_to_active_managers_and_admins_with_an_email(
    managers, viewer, responder
):
    UserFactory(username="root", email="Root@Example.com", is_superuser=True)
    UserFactory(username="mona2", email="MONA@example.com", role="manager")  # the same inbox
    UserFactory(username="gone", email="gone@example.com", role="manager", is_active=False)
    UserFactory(username="nomail", email="", role="admin")

    assert delivery.report_recipients() == [ADA, MONA, "root@example.com"]


def test_the_recipients_setting_replaces_the_managers(smtp_stub, clock, managers, settings):
    settings.REPORTS_RECIPIENTS = ["Boss@Example.com", "boss@example.com", " cto@example.com "]
    clock.now = DECEMBER_1

    tick()

    assert sorted(ReportDelivery.objects.values_list("email", flat=True)) == [
        "boss@example.com",
        "cto@example.com",
    ]
    assert len(smtp_stub.messages_to("boss@example.com")) == 1
    assert len(smtp_stub.messages_to("cto@example.com")) == 1
    assert smtp_stub.messages_to(MONA) == []


def test_a_recipient_added_later_in_the_month_gets_the_latest_report_once(
    smtp_stub, clock, managers
):
    clock.now = DECEMBER_1
    tick()

    clock.now = datetime(2026, 12, 9, 12, tzinfo=UTC)
    UserFactory(username="max", email="max@example.com", role="manager")
    tick()
    tick()

    assert [m["Subject"] for m in smtp_stub.messages_to("max@example.com")] == [NOVEMBER_SUBJECT]
    assert len(smtp_stub.messages) == 3


def test_the_report_is_built_once_a_tick_not_once_per_recipient(smtp_stub, clock, settings):
    def incident_queries_of_a_tick() -> int:
        with CaptureQueriesContext(connection) as queries:
            tick()
        return sum('"incidents_incident"' in query["sql"] for query in queries.captured_queries)

    settings.REPORTS_RECIPIENTS = ["only@example.com"]
    clock.now = DECEMBER_1
    with_one = incident_queries_of_a_tick()

    settings.REPORTS_RECIPIENTS = [f"manager{n}@example.com" for n in range(6)]
    clock.now = datetime(2027, 1, 1, tzinfo=PARIS)
    with_six = incident_queries_of_a_tick()

    assert len(smtp_stub.messages) == 1 + 6
    assert with_one > 0
    assert with_six == with_one


def test_the_email_carries_the_months_figures_counted_in_the_organisations_zone(
    smtp_stub, clock, manager, incident
):
    # 00:30 on 1 November in Paris is still 31 October in UTC: a November incident.
    incident(
        "2026-11-01T00:30+01:00",
        acknowledged="2026-11-01T00:32+01:00",
        resolved="2026-11-01T01:00+01:00",
    )
    incident(
        "2026-11-03T10:00+01:00",
        acknowledged="2026-11-03T10:05+01:00",
        resolved="2026-11-03T11:00+01:00",
    )
    incident(
        "2026-11-20T09:00+01:00",
        acknowledged="2026-11-20T09:15+01:00",
        resolved="2026-11-20T12:00+01:00",
    )
    # Still open on the 1st: counted, left out of MTTR.
    incident("2026-11-30T23:30+01:00", acknowledged="2026-11-30T23:40+01:00")
    incident("2026-10-31T23:00+01:00", resolved="2026-11-01T01:00+01:00")  # October's
    incident("2026-11-10T10:00+01:00", resolved="2026-11-10T10:30+01:00", drill=True)
    clock.now = DECEMBER_1

    tick()

    [message] = smtp_stub.messages_to(MONA)
    text = text_of(message.get_body(("plain",)))
    html = text_of(message.get_body(("html",)))
    assert "4 incidents (previous month 1), 1 still open.\n1 drill excluded." in text
    # Time to acknowledge 2, 5, 15 and 10 min; to resolve 30 min, 1 h and 3 h (p90
    # interpolated: 1 h + 0.8 of 2 h).
    assert (
        "MTTA (time to acknowledge): median 7 min 30 s (n=4, 0 left out); mean 8 min 00 s, "
        "p90 13 min (interpolated), max 15 min." in text
    )
    assert (
        "MTTR (time to resolve): median 1 h 00 min (n=3, 1 left out); mean 1 h 30 min, "
        "p90 2 h 36 min (interpolated), max 3 h 00 min." in text
    )
    assert "November 2026       4  " + "#" * 30 + "\n" in text
    assert "October 2026        1  " + "#" * 8 + "\n" in text
    assert "<strong>4</strong> incidents (previous month 1), 1 still open." in html
    assert "<strong>1 h 00 min</strong>" in html  # the median time to resolve
