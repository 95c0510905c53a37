import os
from typing import Any

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("tocsin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
@signals.beat_init.connect
def use_worker_timeouts(**kwargs: Any) -> None:
    # Workers and beat are not web requests: the alert processor's batches may take longer
    # than a page may. Before the pool starts, so every thread and child process inherits it.
    from django.conf import settings

    from ops.postgresql.base import use_statement_timeout

    use_statement_timeout(settings.WORKER_DB_STATEMENT_TIMEOUT)
