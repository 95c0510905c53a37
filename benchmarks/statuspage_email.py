"""Status page budget: a public update to 10,000 confirmed email subscribers is delivered to an
SMTP server, each exactly once, within 120 s.

    python -m benchmarks.statuspage_email                    # 10,000 subscribers, 2 workers
    python -m benchmarks.statuspage_email --subscribers 2000 --workers 1

A fresh database (BENCH_SPEMAIL_DATABASE_URL, default postgres://…/tocsin_bench_spemail) gets
the subscribers (confirmed, everything), one public component and one published incident.
An SMTP server (aiosmtpd) listens on loopback in this process and counts the messages each
address receives. Celery workers (--workers processes of --threads threads, production
settings, Redis BENCH_SPEMAIL_REDIS_URL) do the sending, as in production: the update's
commit enqueues the outbox's tick, which hands the rows out in batches; each batch goes over
one SMTP connection.

The clock starts when notify_public_update's transaction commits (the 10,000 rows are
written by then) and stops when the server has taken the last message. Afterwards every
address must have exactly one message, and every outbox row must say `sent`.
"""

import argparse
import logging
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from benchmarks.harness import (
    celery_worker,
    configure,
    create_and_migrate,
    drop_database,
    free_port,
    production_env,
    stop_processes,
)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tocsin_bench_spemail"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/11"
BUDGET_S = 120.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--threads", type=int, default=2, help="threads per worker")
    parser.add_argument("--batch", type=int, default=200, help="emails per batch (connection)")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up after (s)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args()


class CountingServer:
    """An SMTP server that counts what each recipient receives (and parses nothing)."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.messages = 0
        self.connections = 0
        self.last_at = 0.0
        self._lock = threading.Lock()
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: Any
    ) -> Any:
        session.host_name = hostname
        with self._lock:
            self.connections += 1
        return responses

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._lock:
            for rcpt in envelope.rcpt_tos:
                self.received[rcpt.lower()] += 1
            self.messages += 1
            self.last_at = time.monotonic()
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


def seed(subscribers: int) -> int:
    """The subscribers, a component and a published incident; the update's id."""
    from django.utils import timezone

    from accounts.actors import SYSTEM
    from incidents.models import Service, Severity, StatusPageImpact
    from incidents.services import incident_declare
    from statuspage.models import (
        Component,
        PublicIncident,
        PublicStatus,
        PublicUpdate,
        Subscriber,
        SubscriberKind,
    )

    now = timezone.now()
    Subscriber.objects.bulk_create(
        (
            Subscriber(
                kind=SubscriberKind.EMAIL,
                address=f"subscriber{n}@example.com",
                created_at=now,
                confirmed_at=now,
            )
            for n in range(subscribers)
        ),
        batch_size=2000,
    )
    service = Service.objects.create(name="Checkout", slug="checkout", public=True)
    # Saving a public service makes its component (statuspage.services.components_sync).
    component = Component.objects.get(service=service)
    internal = incident_declare(
        actor=SYSTEM, title="Checkout failing", severity=Severity.objects.get(name="SEV2")
    )
    incident = PublicIncident.objects.create(
        incident=internal,
        name="Checkout errors",
        status=PublicStatus.INVESTIGATING,
        impact=StatusPageImpact.MAJOR,
        started_at=now,
        created_at=now,
        updated_at=now,
    )
    incident.components.add(component)
    update = PublicUpdate.objects.create(
        public_incident=incident,
        status=PublicStatus.INVESTIGATING,
        body="Some payments fail; we are rolling back the last release.",
        created_at=now,
    )
    return update.pk


def main() -> int:
    args = parse_args()
    # aiosmtpd logs every SMTP command at INFO: 50,000 lines cost the server its CPU.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    url = os.environ.get("BENCH_SPEMAIL_DATABASE_URL", DEFAULT_URL)
    redis_url = os.environ.get("BENCH_SPEMAIL_REDIS_URL", DEFAULT_REDIS_URL)
    smtp = CountingServer()
    smtp.start()
    os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{smtp.port}"
    os.environ["STATUSPAGE_EMAIL_BATCH"] = str(args.batch)
    configure(url, redis_url)

    create_and_migrate(url)
    import redis
    from django.db import connection, transaction

    from statuspage.models import DeliveryState, SubscriberNotification
    from statuspage.subscriptions import services

    print(f"Seeding {args.subscribers:,} confirmed email subscribers", flush=True)
    update_id = seed(args.subscribers)
    redis.Redis.from_url(redis_url).flushdb()

    workdir = Path(tempfile.mkdtemp(prefix="bench-spemail-"))
    env = production_env(url, redis_url, BASE_URL="https://status.example.com")
    print(
        f"Starting {args.workers} Celery worker(s) of {args.threads} threads; "
        f"SMTP server on 127.0.0.1:{smtp.port}",
        flush=True,
    )
    workers = [
        celery_worker(
            "celery",
            f"--hostname=spemail{n}@%h",
            threads=args.threads,
            env=env,
            log=workdir / f"worker{n}.log",
        )
        for n in range(args.workers)
    ]
    failed = False
    try:
        time.sleep(6)  # the workers connect
        with transaction.atomic():
            queued = services.notify_public_update(update_id)
        began = time.monotonic()
        print(f"Published: {queued:,} notifications queued; delivering", flush=True)
        connection.close()
        while smtp.messages < queued and time.monotonic() - began < args.timeout:
            time.sleep(0.2)
        # A moment more, to see any copy sent twice.
        time.sleep(2)
    finally:
        stop_processes(workers)
        smtp.stop()

    elapsed = (smtp.last_at - began) if smtp.messages else float("inf")
    expected = {f"subscriber{n}@example.com" for n in range(args.subscribers)}
    missing = len(expected - set(smtp.received))
    twice = sum(1 for count in smtp.received.values() if count > 1)
    strangers = len(set(smtp.received) - expected)
    states = Counter(SubscriberNotification.objects.values_list("state", flat=True))
    print(
        f"Delivered {smtp.messages:,} messages to {len(smtp.received):,} addresses in "
        f"{elapsed:.1f} s ({smtp.messages / elapsed if elapsed else 0:.0f}/s) over "
        f"{smtp.connections} SMTP connections",
        flush=True,
    )
    print(f"  missing {missing}, more than once {twice}, unknown {strangers}; rows {dict(states)}")
    within = elapsed < BUDGET_S
    once = missing == 0 and twice == 0 and strangers == 0
    all_sent = states.get(DeliveryState.SENT, 0) == args.subscribers
    print(
        f"Budget (all {args.subscribers:,} delivered, each once, < {BUDGET_S:.0f} s): "
        f"{'met' if within and once and all_sent else 'MISSED'}",
        flush=True,
    )
    failed = not (within and once and all_sent)
    if failed:
        print(f"  worker logs in {workdir}", flush=True)
    connection.close()
    if not args.keep:
        drop_database(url)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
