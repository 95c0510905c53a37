"""Thin tasks: the beat's tick for the monthly email (reports.delivery does the work)."""

from celery import shared_task

from reports import delivery


@shared_task(ignore_result=True)
def tick() -> None:
    # Safe to run twice or beside another beat's tick: rows are claimed with SKIP LOCKED.
    delivery.deliveries_tick()
