"""Thin tasks over postmortems.services: each re-reads its rows and is safe to run twice."""

from celery import shared_task

from postmortems.services import emails, postmortems, reminders


@shared_task
def draft_postmortem(incident_id: int) -> bool:
    return postmortems.postmortem_draft_if_required(incident_id=incident_id) is not None


@shared_task
def tick() -> None:
    postmortems.drafts_catch_up()
    reminders.reminders_send_due()
    emails.emails_dispatch_due()


@shared_task
def send_email(email_id: int) -> str:
    # acks_late and reject_on_worker_lost (the project's defaults): a worker killed here leaves
    # the row `sending`, and the tick hands it out again when its lease runs out.
    return emails.email_send(email_id=email_id)
