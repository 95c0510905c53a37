"""Settings come from the environment; the defaults run the embedded setup of `make run`."""

import os
from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext
from django.utils.csp import CSP

from ops.postgresql import timeout_options

# Lets admin.ModelAdmin[Model] and friends be subscripted at run time, as the stubs type them.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(int(default))).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Where the embedded setup keeps its SQLite file, broker queue and beat schedule.
DATA_DIR = Path(os.environ.get("TOCSIN_DATA_DIR", BASE_DIR / ".run"))

PRODUCTION = env_bool("TOCSIN_PRODUCTION")
DEBUG = env_bool("DEBUG")

if PRODUCTION and "SECRET_KEY" not in os.environ:
    raise RuntimeError("SECRET_KEY must be set when TOCSIN_PRODUCTION=1")
SECRET_KEY = os.environ.get(
    "SECRET_KEY", "insecure-development-key-do-not-use-in-production-0123456789abcdef"
)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")


def _local_base_url() -> str:
    """The address `make run` serves (HOST, PORT), for links when BASE_URL is not set."""
    host = os.environ.get("HOST", "127.0.0.1")
    if host in {"", "0.0.0.0", "::", "127.0.0.1", "::1"}:  # noqa: S104
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{os.environ.get('PORT', '8000')}"


# Links sent out (pages, email, feeds, integration snippets) start with this.
BASE_URL = (os.environ.get("BASE_URL") or _local_base_url()).rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    # Sign-in lockout, counted in the database (see the sign-in block below).
    "axes",
    "accounts",
    "incidents",
    "alerts",
    "oncall",
    "chatops",
    "postmortems",
    "reports",
    "statuspage",
    "ops",
    # The audit trail of configuration changes: django-auditlog's table, filled and read by audit.
    "auditlog",
    "audit",
    "demo",
]

MIDDLEWARE = [
    "ops.middleware.RequestMetricsMiddleware",
    # Before anything that validates the Host header: probes come by pod or container address.
    "ops.probes.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "ops.middleware.BodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.ViewerTimezoneMiddleware",
    # After authentication: audit entries written during the request name its user.
    "audit.actors.AuditActorMiddleware",
]

# For /hooks/ (see config/wsgi.py): requests from machines need none of the browser's middleware.
MACHINE_MIDDLEWARE = [
    "ops.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "ops.middleware.BodySizeLimitMiddleware",
    # Sets Content-Length, without which gunicorn answers chunked (or closes the connection).
    "django.middleware.common.CommonMiddleware",
]

# For the public status page's reads (see config/wsgi.py): nobody signs in there, and a page
# that reads no session, sets no cookie and varies on no cookie is one every proxy may cache.
# The browser's security headers stay (CSP, frame and content-type options).
PUBLIC_MIDDLEWARE = [
    "ops.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "ops.middleware.BodySizeLimitMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            # Django's `date` and `time` filters, safe for times the viewer's zone cannot hold.
            "builtins": ["ops.templatetags.viewer_time", "ops.templatetags.links"],
        },
    },
]

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

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "incidents:list"
LOGOUT_REDIRECT_URL = "accounts:login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# The organisation's zone (IANA): when an action item's due date ends, when reminders go out,
# which month an incident counts in. Storage is UTC whatever this says.
ORGANISATION_TIME_ZONE = os.environ.get("ORGANISATION_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

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
# Keep the LOGGING below (LOG_FORMAT=json) in the worker too, instead of Celery's own handler.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Email: EMAIL_URL is smtp://[user:password@]host:port[?tls=1]. Without it, development mail goes
# to the log and production mail to the local MTA.
_email_url = os.environ.get("EMAIL_URL", "smtp://localhost:25" if PRODUCTION else "")
if _email_url:
    from urllib.parse import parse_qs, unquote, urlsplit

    _parts = urlsplit(_email_url)
    MAILERS: dict[str, Any] = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _parts.hostname or "localhost",
                "port": _parts.port or 25,
                "username": unquote(_parts.username or ""),
                "password": unquote(_parts.password or ""),
                "use_tls": parse_qs(_parts.query).get("tls", ["0"])[0] == "1",
                "timeout": 10,
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Tocsin <tocsin@localhost>")

# Paging providers. SMS and voice speak Twilio's REST API at TWILIO_API_URL (Twilio itself, or
# any service compatible with it); Slack DMs go through slack-sdk at SLACK_API_URL. Tests point
# both at local stub servers. Without credentials the channel reports a permanent failure.
TWILIO_API_URL = os.environ.get("TWILIO_API_URL", "https://api.twilio.com").rstrip("/")
TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
TWILIO_FROM_NUMBER = os.environ.get("TWILIO_FROM_NUMBER", "")
SLACK_API_URL = os.environ.get("SLACK_API_URL", "https://slack.com/api/")
SLACK_BOT_TOKEN = os.environ.get("SLACK_BOT_TOKEN", "")
SLACK_SIGNING_SECRET = os.environ.get("SLACK_SIGNING_SECRET", "")
# Slack (chatops). Calls go through the outbox: a call may take SLACK_TIMEOUT seconds; one
# claimed longer ago than SLACK_CALL_LEASE is presumed lost with its worker, one queued longer
# than SLACK_REQUEUE_AFTER lost with the broker; a call failing for SLACK_GIVE_UP_AFTER seconds
# (a day: Slack down for hours still catches up) is given up.
SLACK_TIMEOUT = float(os.environ.get("SLACK_TIMEOUT", "10"))
SLACK_CALL_LEASE = int(os.environ.get("SLACK_CALL_LEASE", "60"))
SLACK_REQUEUE_AFTER = int(os.environ.get("SLACK_REQUEUE_AFTER", "30"))
SLACK_GIVE_UP_AFTER = int(os.environ.get("SLACK_GIVE_UP_AFTER", str(24 * 3600)))
# Opening a modal must use Slack's trigger id within 3 s, inside the request: this long at most.
SLACK_MODAL_TIMEOUT = float(os.environ.get("SLACK_MODAL_TIMEOUT", "2"))
# Postmortem emails (invitations, action-item reminders) go through their outbox: a send
# claimed longer ago than POSTMORTEM_EMAIL_LEASE seconds is presumed lost with its worker, one
# handed to a worker longer than POSTMORTEM_EMAIL_REQUEUE_AFTER ago lost with the broker.
POSTMORTEM_EMAIL_LEASE = int(os.environ.get("POSTMORTEM_EMAIL_LEASE", "300"))
POSTMORTEM_EMAIL_REQUEUE_AFTER = int(os.environ.get("POSTMORTEM_EMAIL_REQUEUE_AFTER", "60"))
# Reports: where time to acknowledge, mitigate and resolve are measured from. "detected" (the
# playbook's MTTR: detection to first resolution), "started" (impact began) or "declared".
REPORTS_MTTR_ANCHOR = os.environ.get("REPORTS_MTTR_ANCHOR", "detected")
# The time to resolve each severity should stay under, in minutes, as "SEV1=60,SEV2=240": the
# report recommends a look at a severity whose median is above it. The playbook's key metrics
# say MTTR < 1 hour for the worst; a severity not listed gets no such recommendation.
REPORTS_MTTR_TARGETS = {
    name.strip(): int(minutes)
    for name, _, minutes in (
        item.partition("=")
        for item in env_list("REPORTS_MTTR_TARGETS", "SEV1=60,SEV2=240,SEV3=1440,SEV4=10080")
    )
}
# Who gets the monthly report on the 1st; empty: every active manager and admin with an email.
REPORTS_RECIPIENTS = env_list("REPORTS_RECIPIENTS", "")
# The monthly email (reports.delivery): a send that held its row longer than REPORTS_EMAIL_LEASE
# seconds died with its worker and is tried again; a recipient's email gives up (failed, logged)
# after REPORTS_EMAIL_MAX_ATTEMPTS attempts, about three hours of backing off.
REPORTS_EMAIL_LEASE = int(os.environ.get("REPORTS_EMAIL_LEASE", "300"))
REPORTS_EMAIL_MAX_ATTEMPTS = int(os.environ.get("REPORTS_EMAIL_MAX_ATTEMPTS", "8"))
# Working hours in each person's own zone, for the off-hours pages of responder load:
# "09:00-18:00" on the ISO weekdays listed (1 Monday … 7 Sunday).
REPORTS_WORKING_HOURS = os.environ.get("REPORTS_WORKING_HOURS", "09:00-18:00")
# How long /metrics reuses the MTTA/MTTR histograms' query (a scan of every incident).
REPORTS_METRICS_CACHE_SECONDS = int(os.environ.get("REPORTS_METRICS_CACHE_SECONDS", "30"))
REPORTS_WORKING_DAYS = [int(day) for day in env_list("REPORTS_WORKING_DAYS", "1,2,3,4,5")]
# The public status page (statuspage): what it is called and looks like, where it lives.
STATUSPAGE_NAME = os.environ.get("STATUSPAGE_NAME", "Tocsin")
# Statuspage's `page.id` in the JSON API; widgets and bots keep it, so set it once.
STATUSPAGE_PAGE_ID = os.environ.get("STATUSPAGE_PAGE_ID", "tocsin")
STATUSPAGE_LOGO_URL = os.environ.get("STATUSPAGE_LOGO_URL", "")
STATUSPAGE_ACCENT_COLOR = os.environ.get("STATUSPAGE_ACCENT_COLOR", "#2563eb")
STATUSPAGE_SUPPORT_URL = os.environ.get("STATUSPAGE_SUPPORT_URL", "")
# Days are counted, and times shown, in this zone (Statuspage's page.time_zone).
STATUSPAGE_TIME_ZONE = os.environ.get("STATUSPAGE_TIME_ZONE", ORGANISATION_TIME_ZONE)
# How much of a span in each state counts as downtime in the 90-day uptime: "state=weight",
# 1 all down, 0 all up. Statuspage's own default counts a major outage as down and a partial
# outage as 30 % down; degraded performance and maintenance count as up.
STATUSPAGE_UPTIME_WEIGHTS = {
    state.strip(): float(weight)
    for state, _, weight in (
        item.partition("=")
        for item in env_list(
            "STATUSPAGE_UPTIME_WEIGHTS",
            "major_outage=1,partial_outage=0.3,degraded_performance=0,under_maintenance=0",
        )
    )
}
# Browsers and proxies may reuse the page and its JSON this many seconds (Cache-Control:
# public); with ETag and Last-Modified they revalidate cheaply after.
STATUSPAGE_MAX_AGE = int(os.environ.get("STATUSPAGE_MAX_AGE", "10"))
# The page's "Past incidents": this many days, today included, as Statuspage's 7 by default.
STATUSPAGE_PAST_INCIDENT_DAYS = int(os.environ.get("STATUSPAGE_PAST_INCIDENT_DAYS", "7"))
# Push public incidents to a hosted Atlassian Statuspage too (statuspage.hosted): its page id
# and an API key (Statuspage: avatar menu, API info). Both empty: no push. One without the other
# is refused at start (statuspage.hosted.checks). The key is a secret: it is never logged.
STATUSPAGE_HOSTED_API_URL = os.environ.get("STATUSPAGE_HOSTED_API_URL", "https://api.statuspage.io")
STATUSPAGE_HOSTED_PAGE_ID = os.environ.get("STATUSPAGE_HOSTED_PAGE_ID", "")
STATUSPAGE_HOSTED_API_KEY = os.environ.get("STATUSPAGE_HOSTED_API_KEY", "")
# Seconds each request to it may take to connect, and again to answer.
STATUSPAGE_HOSTED_TIMEOUT = float(os.environ.get("STATUSPAGE_HOSTED_TIMEOUT", "10"))
# Subscribers (statuspage.subscriptions). A sign-up's confirmation link expires after
# STATUSPAGE_CONFIRM_HOURS; sign-ups are limited per address and per IP (per hour) so the form
# cannot be used to mail-bomb an address or to flood the outbox.
STATUSPAGE_CONFIRM_HOURS = int(os.environ.get("STATUSPAGE_CONFIRM_HOURS", "48"))
STATUSPAGE_SIGNUPS_PER_ADDRESS = int(os.environ.get("STATUSPAGE_SIGNUPS_PER_ADDRESS", "3"))
STATUSPAGE_SIGNUPS_PER_IP = int(os.environ.get("STATUSPAGE_SIGNUPS_PER_IP", "20"))
# The notification outbox: a delivery held longer than STATUSPAGE_DELIVERY_LEASE seconds died
# with its worker, one handed out longer than STATUSPAGE_DELIVERY_REQUEUE_AFTER ago lost its
# task; a notification gives up after STATUSPAGE_DELIVERY_MAX_ATTEMPTS. Emails go out in
# batches of STATUSPAGE_EMAIL_BATCH over one SMTP connection.
STATUSPAGE_DELIVERY_LEASE = int(os.environ.get("STATUSPAGE_DELIVERY_LEASE", "300"))
STATUSPAGE_DELIVERY_REQUEUE_AFTER = int(os.environ.get("STATUSPAGE_DELIVERY_REQUEUE_AFTER", "120"))
STATUSPAGE_DELIVERY_MAX_ATTEMPTS = int(os.environ.get("STATUSPAGE_DELIVERY_MAX_ATTEMPTS", "8"))
STATUSPAGE_EMAIL_BATCH = int(os.environ.get("STATUSPAGE_EMAIL_BATCH", "200"))
# Webhook subscribers must answer 2xx within STATUSPAGE_WEBHOOK_TIMEOUT seconds (Statuspage's
# 30 s); STATUSPAGE_WEBHOOK_DISABLE_AFTER failures in a row disable the subscriber.
STATUSPAGE_WEBHOOK_TIMEOUT = float(os.environ.get("STATUSPAGE_WEBHOOK_TIMEOUT", "30"))
STATUSPAGE_WEBHOOK_DISABLE_AFTER = int(os.environ.get("STATUSPAGE_WEBHOOK_DISABLE_AFTER", "10"))
# statuspage.subscriptions.tasks is not an app's tasks module, which Celery finds by itself.
CELERY_IMPORTS = ["statuspage.subscriptions.tasks"]
# The incident channel's name; {number} and {slug} (of the title) are filled in.
SLACK_CHANNEL_NAME_TEMPLATE = os.environ.get("SLACK_CHANNEL_NAME_TEMPLATE", "inc-{number}-{slug}")
# Where every incident is announced (a channel id, e.g. C0123ABC); empty: nowhere but its own.
SLACK_ANNOUNCEMENTS_CHANNEL = os.environ.get("SLACK_ANNOUNCEMENTS_CHANNEL", "")
# The severities announced there, e.g. "SEV1,SEV2"; empty: every severity.
SLACK_ANNOUNCE_SEVERITIES = [
    name.strip()
    for name in os.environ.get("SLACK_ANNOUNCE_SEVERITIES", "").split(",")
    if name.strip()
]
# Days after resolution an incident channel is archived (reopening unarchives it).
SLACK_ARCHIVE_AFTER_DAYS = float(os.environ.get("SLACK_ARCHIVE_AFTER_DAYS", "7"))
# Seconds a provider call may take before it counts as a transient failure.
NOTIFIER_TIMEOUT = float(os.environ.get("NOTIFIER_TIMEOUT", "10"))
# Outgoing webhooks may only reach public addresses (no SSRF into the internal network),
# unless this is set: for development, and for tests whose receivers listen on loopback.
WEBHOOK_PRIVATE_DESTINATIONS_ALLOWED = env_bool("WEBHOOK_PRIVATE_DESTINATIONS_ALLOWED", False)
# A delivery claimed longer ago than this is presumed dead (its worker killed) and handed out
# again; keep it above what a notifier can take with its retries.
PAGING_DELIVERY_LEASE = int(os.environ.get("PAGING_DELIVERY_LEASE", "60"))
# A queued delivery whose task has not started after this many seconds was lost with the
# broker (Redis restarted without persistence) and is enqueued again.
PAGING_REQUEUE_AFTER = int(os.environ.get("PAGING_REQUEUE_AFTER", "30"))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "ops.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "ops.api.schema.ApiSchema",
    "EXCEPTION_HANDLER": "ops.problems.problem_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Tocsin API",
    "DESCRIPTION": (
        "Incidents, their timeline, integrations, schedules and the people who run them.\n\n"
        "Every error is an RFC 9457 problem details body (`application/problem+json`); a 400 "
        "names each invalid field in `errors`. Inputs refuse fields they do not know and values "
        "of another JSON type, and text may not hold NUL characters or unpaired surrogates "
        "(PostgreSQL cannot store them)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Tags and operation ids come from the path after this, e.g. "incidents".
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    # Two choice sets are both called `role` (a person's access role, an incident role) and two
    # `kind` (a timeline entry's, an integration's); the audit trail's would be a bare
    # `ActionEnum` and `ObjectTypeEnum`.
    "ENUM_NAME_OVERRIDES": {
        "UserRoleEnum": "accounts.models.Role",
        "IncidentRoleEnum": "incidents.models.RoleKind",
        # An incident's status, and the expected_status of its changes: one enum, one name.
        "StatusEnum": "incidents.models.Status",
        "IntegrationKindEnum": "alerts.models.IntegrationKind",
        "AuditActionEnum": "audit.api.serializers.ACTION_NAMES",
        "AuditObjectTypeEnum": "audit.api.serializers.OBJECT_TYPES",
        # A postmortem's and an action item's status, and an action item's kind.
        "PostmortemStatusEnum": "postmortems.models.PostmortemStatus",
        "ActionItemStatusEnum": "postmortems.models.ActionItemStatus",
        "ActionItemKindEnum": "postmortems.models.ActionItemKind",
    },
}

# The audit trail (audit/tracked.py chooses the models and leaves out their secrets). Changes are
# stored as JSON values, a related row by its name (still readable after the row is gone), and
# no client address: behind the proxy it would be the proxy's. Raw saves are fixtures being
# loaded (loaddata, a test database restored), which replay rows rather than change them.
AUDITLOG_STORE_JSON_CHANGES = True
AUDITLOG_USE_FK_STRING_REPRESENTATION = True
AUDITLOG_DISABLE_REMOTE_ADDR = True
AUDITLOG_DISABLE_ON_RAW_SAVE = True

# Largest request body accepted anywhere; larger ones get 413 before any view runs.
MAX_REQUEST_BODY_BYTES = int(os.environ.get("MAX_REQUEST_BODY_BYTES", str(512 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# Sign-in lockout (accounts/lockout.py, django-axes with its database handler: no Redis).
# A (username, address) pair is locked after LOGIN_RATE_LIMIT failed sign-ins, an address after
# LOGIN_ADDRESS_RATE_LIMIT whatever the usernames; a lock ends LOGIN_RATE_WINDOW seconds after
# the last failure it counted, and signing in clears the pair's count.
LOGIN_RATE_LIMIT = int(os.environ.get("LOGIN_RATE_LIMIT", "10"))
LOGIN_ADDRESS_RATE_LIMIT = int(os.environ.get("LOGIN_ADDRESS_RATE_LIMIT", "100"))
LOGIN_RATE_WINDOW = int(os.environ.get("LOGIN_RATE_WINDOW", "300"))
# How many proxies in front of Tocsin append to X-Forwarded-For. 0 trusts no header and takes
# the client address from the connection; N takes the N-th address from the right.
TRUSTED_PROXY_HOPS = int(os.environ.get("TRUSTED_PROXY_HOPS", "0"))
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked sign-in before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "accounts.lockout.SignInLockout"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = "accounts.lockout.failure_limit"
AXES_COOLOFF_TIME = "accounts.lockout.lockout_window"
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.lockout_address"
AXES_RESET_ON_SUCCESS = True
# Attempts while locked are refused uncounted, so a lock ends on time however often it is hit.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Successful sign-ins are not logged to a table that would grow for ever, and no process logs
# axes' banner at start; failures and locks are still logged, names and addresses masked.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False
# Sessions live in the database, never in the cache: Redis down must not sign anybody out.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
# The sign-in forms show the lock as a form error (accounts/forms.py), so axes' middleware,
# which would replace the page with its own, is left out.
SILENCED_SYSTEM_CHECKS = ["axes.W002"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The covering columns (INCLUDE) of PostgreSQL's indexes, which SQLite builds without them.
    SILENCED_SYSTEM_CHECKS.append("models.W040")

# When set, /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`. Production without
# one answers 403: the figures say who is paged how often, and an open /metrics is an accident.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
# Seconds each scrape-time collector (incidents, heartbeats) may spend in the database.
METRICS_COLLECTOR_TIMEOUT = float(os.environ.get("METRICS_COLLECTOR_TIMEOUT", "2"))

LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Both formats take the tokens out of secret-bearing paths (see ops/logging.py).
    "formatters": {
        "text": {
            "()": "ops.logging.RedactingFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        "json": {"()": "ops.logging.JsonFormatter"},
    },
    "filters": {"client_errors": {"()": "ops.logging.ClientErrorFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "text",
            "filters": ["client_errors"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's own handlers for these (DEBUG's console, runserver's) would print paths
        # with their tokens; naming the loggers here drops those handlers, and their records
        # reach ours.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": [], "level": "INFO", "propagate": True},
        "django.db.backends": {"level": "WARNING"},
        # django-axes logs every sign-in and each clean-up of its counters at INFO; a lockout
        # (WARNING) is the line an operator needs.
        "axes": {"level": "WARNING"},
        # The paging tick runs every second: logging each task sent, received and finished
        # would bury everything else. Failures still log (at ERROR); TASK_LOG_LEVEL=INFO shows all.
        **{
            name: {"level": os.environ.get("TASK_LOG_LEVEL", "WARNING")}
            for name in ("celery.beat", "celery.worker.strategy", "celery.app.trace")
        },
    },
}
