"""Thin tasks over oncall.services: each re-reads its rows and is safe to run twice."""

from celery import shared_task

from oncall import services


@shared_task(acks_late=True, reject_on_worker_lost=True)
def tick() -> None:
    services.tick()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def start_escalation(incident_id: int, *, just_declared: bool = True) -> bool:
    # Queued by the IncidentDeclared subscriber, so the work happens on the paging queue and
    # not in whatever declared the incident; a lost task is covered by the tick.
    return services.escalation_start_and_fire(incident_id=incident_id, just_declared=just_declared)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def fire_escalation(escalation_id: int) -> bool:
    # Run at once when an escalation starts, so the first page need not wait for a tick.
    return services.escalation_advance(escalation_id=escalation_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def deliver_notification(notification_id: int) -> str:
    return services.notification_deliver(notification_id=notification_id).status
