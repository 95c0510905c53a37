"""Thin tasks over the subscribers' outbox: each re-reads its rows and is safe to run twice.

Found by Celery through CELERY_IMPORTS (statuspage.tasks is another module's). The beat runs
deliver_due every few seconds (config/settings/backends.py, "statuspage-subscriptions")."""

from dataclasses import asdict

from celery import shared_task

from statuspage.subscriptions import delivery


@shared_task
def deliver_due() -> int:
    return len(delivery.deliver_due())


@shared_task
def deliver_batch(ids: list[int]) -> dict[str, int]:
    # acks_late and reject_on_worker_lost (the project's defaults): a worker killed here
    # leaves its rows `sending`, and the tick hands them out again once their lease runs out.
    return asdict(delivery.deliver_batch(ids))
