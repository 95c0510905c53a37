"""Thin tasks over oncall.services: each re-reads its rows and is safe to run twice.

acks_late and reject_on_worker_lost come from the settings (CELERY_TASK_ACKS_LATE,
CELERY_TASK_REJECT_ON_WORKER_LOST), as for every task; the services enqueue these through
oncall.services.handoff, which says why it imports this module lazily.
"""

from celery import shared_task

from oncall.services import deliveries, escalations


@shared_task
def tick() -> None:
    escalations.tick()


@shared_task
def start_escalation(incident_id: int, *, just_declared: bool = True) -> bool:
    # Queued by the IncidentDeclared subscriber, so the work happens on the paging queue and
    # not in whatever declared the incident; a lost task is covered by the tick.
    return escalations.escalation_start_and_fire(
        incident_id=incident_id, just_declared=just_declared
    )


@shared_task
def fire_escalation(escalation_id: int) -> bool:
    # Run at once when an escalation starts, so the first page need not wait for a tick.
    return escalations.escalation_advance(escalation_id=escalation_id)


@shared_task
def deliver_notification(notification_id: int) -> str:
    return deliveries.notification_deliver(notification_id=notification_id).status
