"""/metrics and the logs."""

import os

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
