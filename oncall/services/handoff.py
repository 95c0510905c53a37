"""Hand the paging engine's work to Celery, after commit.

oncall.tasks imports the services it runs, so the services import oncall.tasks here, inside
the functions, at call time: a module-level import would make the two modules import each other
while either is still loading. Nothing else in the services touches Celery.

Every publish is meant for `transaction.on_commit(..., robust=True)`: the rows are committed
and the tick and the rescue sweep hand them out once the broker is back, so a broker outage
must not turn a committed page into a 500 (or stop the next on_commit callback).
"""


def deliver(notification_ids: list[int]) -> None:
    from oncall.tasks import deliver_notification

    for pk in notification_ids:
        deliver_notification.delay(pk)


def fire_escalation(escalation_id: int) -> None:
    from oncall.tasks import fire_escalation

    fire_escalation.delay(escalation_id)
