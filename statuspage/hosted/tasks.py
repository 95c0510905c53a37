"""Thin task: push what is due to the hosted Atlassian Statuspage (services does the work)."""

from celery import shared_task

from statuspage.hosted import services


@shared_task(ignore_result=True)
def deliver_due() -> None:
    # Safe to run twice or beside the beat's tick: rows are claimed with SKIP LOCKED.
    services.deliver_due()
