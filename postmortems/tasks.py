"""Thin tasks over postmortems.services: each re-reads its rows and is safe to run twice."""

import logging
from collections.abc import Callable

from celery import shared_task

from postmortems.services import emails, postmortems, reminders

logger = logging.getLogger(__name__)


@shared_task
def draft_postmortem(incident_id: int) -> bool:
    return postmortems.postmortem_draft_if_required(incident_id=incident_id) is not None


# The tick's steps, in order. Each is its own: one that fails (a draft that cannot be
# rendered, a bug in one of them) is logged and the next still runs, so reminders and emails
# go out whatever happens to drafts. One task rather than a beat entry each keeps them on one
# schedule and one `expires` in config/settings/backends.py.
TICK_STEPS: tuple[tuple[str, Callable[[], object]], ...] = (
    ("drafts_catch_up", postmortems.drafts_catch_up),
    ("reminders_send_due", reminders.reminders_send_due),
    ("emails_dispatch_due", emails.emails_dispatch_due),
)


@shared_task
def tick() -> list[str]:
    """Run every step; returns the names of those that failed (each logged with its
    traceback), so a run is visible as partial in the worker's log and result."""
    failed = []
    for name, step in TICK_STEPS:
        try:
            step()
        except Exception:
            logger.exception("postmortems tick: %s failed; the other steps go on", name)
            failed.append(name)
    return failed


@shared_task
def send_email(email_id: int) -> str:
    # acks_late and reject_on_worker_lost (the project's defaults): a worker killed here leaves
    # the row `sending`, and the tick hands it out again when its lease runs out.
    return emails.email_send(email_id=email_id)
