"""The database, Redis (cache and Celery's broker), Celery and beat, and how long each may
keep a request or a worker waiting."""

import os
from typing import Any

import dj_database_url

from config.settings.environment import DATA_DIR
from ops.postgresql import timeout_options

if "DATABASE_URL" not in os.environ:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
DATABASES: dict[str, Any] = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'tocsin.sqlite3'}"),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
# Bounds on every wait for PostgreSQL, in seconds (see ops/postgresql/base.py): a database that
# accepts connections and never answers must cost a request seconds, not a thread for ever.
# Web requests get DB_STATEMENT_TIMEOUT; Celery workers and beat WORKER_DB_STATEMENT_TIMEOUT
# (config/celery.py), for the alert processor's batches; `migrate` runs without one.
DB_CONNECT_TIMEOUT = int(os.environ.get("DB_CONNECT_TIMEOUT", "3"))
DB_STATEMENT_TIMEOUT = float(os.environ.get("DB_STATEMENT_TIMEOUT", "5"))
WORKER_DB_STATEMENT_TIMEOUT = float(os.environ.get("WORKER_DB_STATEMENT_TIMEOUT", "60"))
# Probes on an idle connection, and a cap on unacknowledged data: a peer that vanished without
# a word (dropped packets) is noticed in about 20 s instead of the kernel's two hours.
DB_TCP_USER_TIMEOUT = int(os.environ.get("DB_TCP_USER_TIMEOUT", "10"))

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "ops.postgresql"
    DATABASES["default"]["OPTIONS"] = {
        "connect_timeout": DB_CONNECT_TIMEOUT,
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 2,
        "tcp_user_timeout": DB_TCP_USER_TIMEOUT * 1000,
        # No JIT: our queries are short or are the reports' aggregates, where compiling cost
        # seconds for under one of work (benchmarks/report/, 1,000,000 incidents).
        "options": "-c jit=off",
        **timeout_options(DB_STATEMENT_TIMEOUT),
        **DATABASES["default"].get("OPTIONS", {}),
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat write side by side: WAL lets readers run during a write, IMMEDIATE
    # takes the write lock at BEGIN (no upgrade deadlocks), and the timeout waits for it.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

REDIS_URL = os.environ.get("REDIS_URL", "")
# Seconds any wait for Redis (broker or cache) may take: a Redis that accepts connections and
# never answers must not hold a request (a web SEV1 declaration hung 64 s after committing, on
# the on_commit publish of its paging task). Redis answers in a millisecond when it is alive.
REDIS_TIMEOUT = float(os.environ.get("REDIS_TIMEOUT", "1"))

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "ops.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_timeout": REDIS_TIMEOUT,
                "socket_connect_timeout": REDIS_TIMEOUT,
                "socket_keepalive": True,
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }

# Celery: Redis when REDIS_URL is set, otherwise kombu's filesystem transport (no server).
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
if not REDIS_URL:
    _broker_dir = DATA_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        # Exchange bindings (the workers' remote-control fanout); kombu's default is ./control.
        "control_folder": str(_broker_dir / "control"),
    }
    # kombu's filesystem transport neither creates its folders nor tolerates their absence:
    # a task sent from any process (web, shell, a command) before `make run` made them is lost.
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        "socket_timeout": REDIS_TIMEOUT,
        "socket_connect_timeout": REDIS_TIMEOUT,
        "socket_keepalive": True,
    }
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_TIMEOUT
# A publish that fails is tried once more, on a fresh connection (Redis restarted), then given
# up: every task that matters is a row first, and the tick and the sweepers enqueue it again.
# Against a silent Redis that is 3 timeouts, 3 s (measured; none set: a publish waited for ever).
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE: dict[str, Any] = {
    "sweep-pending-alerts": {"task": "alerts.tasks.sweep_pending_alerts", "schedule": 5.0},
    # The paging engine's clock. A tick that waited longer than this is dropped: the next one
    # does the same work, and a backlog of ticks would only delay real deliveries.
    "oncall-tick": {"task": "oncall.tasks.tick", "schedule": 1.0, "options": {"expires": 5}},
    # Slack's outbox and the requests Slack sent us: hands out what is due, rescues what was lost.
    "chatops-tick": {"task": "chatops.tasks.tick", "schedule": 1.0, "options": {"expires": 5}},
    # Postmortems' timers: drafts a lost task missed, action-item reminders, the email outbox.
    "postmortems-tick": {
        "task": "postmortems.tasks.tick",
        "schedule": 5.0,
        "options": {"expires": 30},
    },
    # The monthly report's email on the 1st: one timer row per recipient and month.
    "reports-tick": {"task": "reports.tasks.tick", "schedule": 60.0, "options": {"expires": 120}},
    # The status page's timers (maintenance starts and ends) and its catch-up recompute.
    "statuspage-tick": {
        "task": "statuspage.tasks.tick",
        "schedule": 10.0,
        "options": {"expires": 30},
    },
    # Pushes to a hosted Atlassian Statuspage (when configured) that a change's own task missed.
    "statuspage-hosted": {
        "task": "statuspage.hosted.tasks.deliver_due",
        "schedule": 5.0,
        "options": {"expires": 30},
    },
    # Subscribers' emails and webhooks that a change's own task missed, and their retries.
    "statuspage-subscriptions": {
        "task": "statuspage.subscriptions.tasks.deliver_due",
        "schedule": 5.0,
        "options": {"expires": 30},
    },
}
# The queues workers must consume (docker-compose: worker takes celery, pager takes paging).
WORKER_QUEUES = ["celery", "paging"]
# Beat, and a worker of each queue, write a heartbeat row this often (seconds); one older
# than HEARTBEAT_STALE_AFTER shows on /metrics, /ops/health/ and /readyz?full=1 as stale.
HEARTBEAT_INTERVAL = float(os.environ.get("HEARTBEAT_INTERVAL", "10"))
HEARTBEAT_STALE_AFTER = float(os.environ.get("HEARTBEAT_STALE_AFTER", "45"))
# Beat keeps its schedule in memory, not in a shelve file in DATA_DIR (which nothing creates on
# a production install, so beat died at start): every timer that matters is a row fired by the
# tick, so there is nothing to remember across restarts. Its scheduler also writes beat's
# heartbeat row.
CELERY_BEAT_SCHEDULER = "ops.beat:HeartbeatScheduler"
CELERY_BEAT_SCHEDULE.update(
    {
        # A heartbeat nobody took in time says as much: drop it rather than let a backlog
        # of them run when a worker comes back.
        f"heartbeat-{queue}": {
            "task": "ops.tasks.heartbeat",
            "schedule": HEARTBEAT_INTERVAL,
            "args": (queue,),
            "options": {"queue": queue, "expires": HEARTBEAT_STALE_AFTER},
        }
        for queue in WORKER_QUEUES
    }
)
# Pages have their own queue, so a backlog of alert processing never delays a tick or a
# delivery (measured: ticks queued seconds behind process_alerts). docker-compose runs a worker
# per queue; make run's one worker takes both.
CELERY_TASK_ROUTES = {"oncall.tasks.*": {"queue": "paging"}}
CELERY_TIMEZONE = "UTC"
# Keep our LOGGING (observability.py, LOG_FORMAT=json) in the worker too, not Celery's own handler.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
