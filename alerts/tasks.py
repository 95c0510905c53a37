from datetime import timedelta

from celery import shared_task

from alerts.services import PROCESS_BATCH, alerts_process_pending, integrations_with_pending_alerts

# Changed alerts older than this, still unprocessed, were missed (a lost task, a worker killed).
SWEEP_AFTER = timedelta(seconds=5)


@shared_task(acks_late=True, reject_on_worker_lost=True, max_retries=5)
def process_alerts(integration_id: int) -> int:
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
