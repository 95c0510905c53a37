"""Slack budgets (issue 12), against the local Slack stub:

- slash commands: p99 < 300 ms answer time at 20 commands/s;
- declared incident → its channel created and the announcement posted there: p99 < 5 s;
- storm: conversations.create answers 429 with Retry-After: 5 for 60 s while 50 incidents are
  declared and each changes status 5 times. Afterwards: 50 channels, each created once; every
  announcement shows its incident's final state; chat.update calls well below the changes.

    python -m benchmarks.slack
    python -m benchmarks.slack --command-rate 10 --declares 10 --storm-incidents 20
    python -m benchmarks.slack --storm-schedule spread

A fresh database (BENCH_SLACK_DATABASE_URL, default postgres://…/tocsin_bench_slack) gets one
team and one responder linked to a Slack user, whose API token declares incidents and changes
their status through the REST API. The Slack stub (tests/stubs/slack.py) runs as its own
process; gunicorn (production settings), a Celery worker (queues celery and paging) and beat
run as in production, on Redis (BENCH_SLACK_REDIS_URL), with SLACK_API_URL pointing at the stub.
Everything Slack received is read back from the stub's control API (GET /_stub/state).

1. Slash commands, signed as Slack signs them, in open loop (each due at start + i/rate, its
   latency counted from then): mostly `INC-n note …` and `INC-n status …` on five incidents,
   some `help` and `oncall`. Afterwards the notes must all be on the timeline.
2. Incidents declared at 1/s; the stub's state is polled every 50 ms for the incident's
   channel holding its announcement. Latency from when the declare request was sent.
3. The storm, then a bounded wait until every announcement shows its incident's final state
   and the outbox holds nothing left to send for those incidents. --storm-schedule burst (the
   default) sends each incident's changes back to back, as a responder clicking through them
   or an alert storm moving them, where edits must collapse; spread sends them ~10 s apart, so
   each is an edit of its own in the announcements channel, which Slack answers at once (only
   the incident channels wait out the 429s, and their announcements go out once, final).
"""

import argparse
import os
import secrets
import tempfile
import time
from pathlib import Path

from benchmarks.harness import (
    add_gunicorn_arguments,
    celery_beat,
    celery_worker,
    configure,
    create_and_migrate,
    drop_database,
    free_port,
    production_env,
    start_gunicorn,
    stop_gunicorn,
    stop_processes,
)
from benchmarks.slack.clients import SIGNING_SECRET, SLACK_USER_ID, Api, Stub
from benchmarks.slack.phases import phase_channels, phase_commands
from benchmarks.slack.storm import phase_storm

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tocsin_bench_slack"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"


def parse_args() -> argparse.Namespace:
    # Run as a package, argparse would name it __main__.py.
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.slack", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--command-rate", type=float, default=20.0, help="slash commands/s")
    parser.add_argument("--command-seconds", type=float, default=30.0, help="phase 1 duration")
    parser.add_argument("--declares", type=int, default=30, help="phase 2 incidents, at 1/s")
    parser.add_argument("--storm-incidents", type=int, default=50, help="phase 3 incidents")
    parser.add_argument("--storm-seconds", type=float, default=60.0, help="429 window")
    parser.add_argument("--retry-after", type=int, default=5, help="the 429s' Retry-After")
    parser.add_argument(
        "--storm-schedule",
        choices=("spread", "burst"),
        default="burst",
        help="each incident's 5 changes spread over the window, or back to back",
    )
    parser.add_argument("--settle-limit", type=float, default=180.0, help="max wait, seconds")
    add_gunicorn_arguments(parser)
    parser.add_argument("--celery-concurrency", type=int, default=4, help="worker threads")
    parser.add_argument("--seed", type=int, default=12, help="command mix seed")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    url = os.environ.get("BENCH_SLACK_DATABASE_URL", DEFAULT_URL)
    redis_url = os.environ.get("BENCH_SLACK_REDIS_URL", DEFAULT_REDIS_URL)
    workdir = Path(tempfile.mkdtemp(prefix="bench-slack-"))
    token = "xoxb-bench-" + secrets.token_hex(12)
    stub = Stub(token, workdir / "stub.log")
    announcements = stub.control("add_channel", name="incidents-announcements")
    stub.control("add_user", user_id=SLACK_USER_ID, email="responder@example.com")
    port = free_port()
    # gunicorn (start_gunicorn) and the workers take their environment from ours.
    os.environ.update(
        {
            "SLACK_BOT_TOKEN": token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": f"{stub.url}/api/",
            "SLACK_ANNOUNCEMENTS_CHANNEL": announcements,
            "BASE_URL": f"http://127.0.0.1:{port}",
        }
    )
    configure(url, redis_url)

    create_and_migrate(url, also=f"; Slack stub at {stub.url}")
    import redis
    from django.db import connection

    from accounts.actors import SYSTEM
    from accounts.models import User
    from accounts.services import api_token_create
    from chatops.models import SlackUserLink
    from chatops.services.people import slack_link_set
    from incidents.models import Team

    Team.objects.create(name="Platform", slug="platform")
    responder = User.objects.create(username="responder", email="responder@example.com")
    slack_link_set(
        user=responder,
        slack_user_id=SLACK_USER_ID,
        source=SlackUserLink.Source.HAND,
        actor=SYSTEM,
    )
    _, key = api_token_create(user=responder, name="bench")
    redis.Redis.from_url(redis_url).flushdb()
    connection.close()

    env = production_env(url, redis_url)
    print(
        f"Starting gunicorn ({args.workers} x {args.threads}), a Celery worker "
        f"({args.celery_concurrency} threads, queues celery and paging) and beat; "
        f"logs in {workdir}",
        flush=True,
    )
    server = start_gunicorn(
        args, port=port, database_url=url, redis_url=redis_url, log=workdir / "gunicorn.log"
    )
    worker = celery_worker(
        "celery,paging", threads=args.celery_concurrency, env=env, log=workdir / "worker.log"
    )
    beat = celery_beat(env, workdir)
    results = []
    try:
        time.sleep(5)  # the worker and beat connect
        api = Api(port, key)
        numbers = [api.declare(f"Bench commands {i}: search degraded") for i in range(5)]
        time.sleep(3)  # their channels and announcements, before the commands' load
        results.append(
            phase_commands(args, port=port, stub=stub, numbers=numbers, channel_id=announcements)
        )
        results.append(phase_channels(args, api=api, stub=stub, announcements=announcements))
        results.append(phase_storm(args, api=api, stub=stub, announcements=announcements))
    finally:
        stop_processes([worker, beat])
        stop_gunicorn(server)
        stub.stop()
    print(f"\nBudgets met: {sum(results)} of {len(results)}; logs in {workdir}")
    connection.close()
    if not args.keep:
        drop_database(url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
