import logging
from datetime import timedelta

from celery import shared_task
from django.core.cache import cache
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from alerts.selectors import integrations_with_pending_alerts
from alerts.services.processing import alerts_process_one_by_one, alerts_process_pending

logger = logging.getLogger(__name__)

# Changed alerts older than this, still unprocessed, were missed (a lost task, a worker killed).
SWEEP_AFTER = timedelta(seconds=5)

# While this key exists a process_alerts task for the integration is queued and has not yet
# started reading, so a delivery need not queue another: the queued one will see its alerts.
# It expires on its own, so a lost task costs at most this long before the next delivery (or
# the sweeper) queues a fresh one.
QUEUED_KEY = "alerts:process-queued:{}"
QUEUED_TTL_SECONDS = 5

# A task that finds another processing its integration comes back this much later.
BUSY_RETRY_SECONDS = 0.2
# A task whose batch failed comes back this much later (sooner would only repeat the error
# while the database or a deploy is at fault).
FAILED_RETRY_SECONDS = 1.0


def process_alerts_soon(integration_id: int, *, countdown: float = 0) -> None:
    """Queue processing for an integration unless a queued task will already cover it.

    Call after the delivery's alerts are committed (transaction.on_commit). With Redis down
    the alerts wait, committed, for the sweeper: one line says so, not a traceback per webhook.
    """
    try:
        if cache.add(QUEUED_KEY.format(integration_id), 1, QUEUED_TTL_SECONDS):
            if countdown:
                process_alerts.apply_async((integration_id,), countdown=countdown)
            else:
                process_alerts.delay(integration_id)
    except (RedisError, OperationalError) as error:
        logger.warning(
            "alerts of integration %s wait for the sweeper: Redis is unreachable (%s)",
            integration_id,
            error,
        )


# acks_late and reject_on_worker_lost come from settings. No Celery retries: a failed batch is
# narrowed down here and queued again through process_alerts_soon, which keeps one queued task
# per integration, and the sweeper re-enqueues whatever a lost task left (the alerts are rows).
@shared_task
def process_alerts(integration_id: int) -> int:
    # Cleared BEFORE reading pending rows: a delivery committed after this point queues a
    # new task; one committed before it is read below. No delivery is left uncovered.
    cache.delete(QUEUED_KEY.format(integration_id))
    try:
        result = alerts_process_pending(integration_id=integration_id)
    except Exception:
        # Logged, then narrowed down: a batch failing each time it runs must not hold up the
        # integration's alerts for ever (the sweeper would only run it again).
        logger.exception("processing the alerts of integration %s failed", integration_id)
        alerts_process_one_by_one(integration_id=integration_id)
        process_alerts_soon(integration_id, countdown=FAILED_RETRY_SECONDS)
        return 0
    if result.busy:
        # The processor at work may have read its batch before our delivery committed; come
        # back when it is likely done rather than wait for its lock (and hold this thread).
        process_alerts_soon(integration_id, countdown=BUSY_RETRY_SECONDS)
    elif result.more_pending:
        # Take the rest now rather than at the next sweep.
        process_alerts.delay(integration_id)
    return result.processed


@shared_task
def sweep_pending_alerts() -> int:
    integration_ids = integrations_with_pending_alerts(older_than=SWEEP_AFTER)
    for integration_id in integration_ids:
        process_alerts.delay(integration_id)
    return len(integration_ids)
