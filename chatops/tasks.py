"""Thin tasks over chatops.services: each re-reads its row and is safe to run twice.

acks_late and reject_on_worker_lost come from the settings, as for every task; retries are
the rows' (due_at, the tick), not Celery's. These run on the default queue (no route sends
them to `paging`): Slack must never hold up a page, and make run's worker and docker-compose's
`worker` consume it.
"""

from celery import shared_task

from chatops import subscribers
from chatops.services import channels, inbound, outbox, people, reminders, setup


@shared_task
def tick() -> None:
    reminders.reminders_send_due()
    outbox.tick()
    channels.channels_archive_due()
    subscribers.declared_catch_up()
    inbound.inbound_rescue()
    if people.slack_links_sync_due():
        sync_slack_links.delay()


@shared_task
def send_call(call_id: int) -> str:
    return outbox.call_send(call_id=call_id)


@shared_task
def process_inbound(inbound_id: int) -> str:
    return inbound.inbound_process(inbound_id=inbound_id)


@shared_task
def check_connection() -> bool:
    return setup.connection_check_run().ok


@shared_task
def sync_slack_links() -> int:
    return people.slack_links_sync()
