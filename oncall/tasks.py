"""Thin tasks over oncall.services: each re-reads its rows and is safe to run twice."""

from celery import shared_task

from oncall import services


@shared_task(acks_late=True, reject_on_worker_lost=True)
def tick() -> None:
    services.tick()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def fire_escalation(escalation_id: int) -> bool:
    # Run at once when an escalation starts, so the first page need not wait for a tick.
    return services.escalation_advance(escalation_id=escalation_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def deliver_notification(notification_id: int) -> str:
    return services.notification_deliver(notification_id=notification_id).status
