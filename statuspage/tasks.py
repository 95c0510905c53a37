"""Thin tasks over statuspage.services."""

from datetime import datetime

from celery import shared_task

from statuspage.services.tick import statuspage_tick


@shared_task(ignore_result=True)
def tick(now: datetime | None = None) -> list[str]:
    """The beat's tick (config/settings/backends.py); tests call it with `now`. Safe beside another:
    timers are claimed with leases, components are locked for a recompute."""
    return statuspage_tick(now=now)
