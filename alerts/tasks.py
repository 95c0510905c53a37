from datetime import timedelta

from celery import shared_task
from django.core.cache import cache

from alerts.services import PROCESS_BATCH, alerts_process_pending, integrations_with_pending_alerts

# Changed alerts older than this, still unprocessed, were missed (a lost task, a worker killed).
SWEEP_AFTER = timedelta(seconds=5)

# While this key exists a process_alerts task for the integration is queued and has not yet
# started reading, so a delivery need not queue another: the queued one will see its alerts.
# It expires on its own, so a lost task costs at most this long before the next delivery (or
# the sweeper) queues a fresh one.
QUEUED_KEY = "alerts:process-queued:{}"
QUEUED_TTL_SECONDS = 5


def process_alerts_soon(integration_id: int) -> None:
    """Queue processing for an integration unless a queued task will already cover it.

    Call after the delivery's alerts are committed (transaction.on_commit).
    """
    if cache.add(QUEUED_KEY.format(integration_id), 1, QUEUED_TTL_SECONDS):
        process_alerts.delay(integration_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, max_retries=5)
def process_alerts(integration_id: int) -> int:
    # Cleared BEFORE reading pending rows: a delivery committed after this point queues a
    # new task; one committed before it is read below. No delivery is left uncovered.
    cache.delete(QUEUED_KEY.format(integration_id))
    result = alerts_process_pending(integration_id=integration_id)
    if result.processed == PROCESS_BATCH:
        # A full batch means more may wait: take them now rather than at the next sweep.
        process_alerts.delay(integration_id)
    return result.processed


@shared_task(acks_late=True)
def sweep_pending_alerts() -> int:
    integration_ids = integrations_with_pending_alerts(older_than=SWEEP_AFTER)
    for integration_id in integration_ids:
        process_alerts.delay(integration_id)
    return len(integration_ids)
