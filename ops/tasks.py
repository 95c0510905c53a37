from celery import Task, shared_task
from django.core.cache import cache
from django.utils import timezone

from ops.models import HeartbeatKind
from ops.services import heartbeat_record

PING_KEY = "ops:ping:{token}"


@shared_task
def ping(token: str) -> str:
    """Proves a worker consumes the queue: records when it saw `token`, in the shared cache."""
    cache.set(PING_KEY.format(token=token), timezone.now().isoformat(), timeout=3600)
    return token


@shared_task(bind=True, ignore_result=True)
def heartbeat(self: Task[[str], None], queue: str) -> None:
    """Beat sends one to each worker queue: the worker that runs it proves the queue is served.

    acks_late like every task (CELERY_TASK_ACKS_LATE, with REJECT_ON_WORKER_LOST): one lost
    with its worker is delivered again, and recording it twice is one upsert of the same row, so
    the redelivery is harmless; the next heartbeat would do as well.
    """
    heartbeat_record(kind=HeartbeatKind.QUEUE, name=queue, hostname=self.request.hostname or "")
