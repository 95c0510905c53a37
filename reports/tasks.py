"""Thin tasks: the beat's tick for the monthly email (reports.delivery does the work)."""

from celery import shared_task


@shared_task(ignore_result=True)
def tick() -> None:
    """Filled in by reports.delivery (issue 14, in progress)."""
