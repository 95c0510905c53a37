"""The paging tasks keep Celery's durability settings without repeating them."""

import pytest

from oncall import tasks


@pytest.mark.parametrize(
    "task",
    [tasks.tick, tasks.start_escalation, tasks.fire_escalation, tasks.deliver_notification],
    ids=lambda task: task.name,
)
def test_a_paging_task_is_acknowledged_late_and_redelivered_when_its_worker_dies(task):
    # From CELERY_TASK_ACKS_LATE and CELERY_TASK_REJECT_ON_WORKER_LOST: a page whose worker
    # was killed mid-delivery goes back on the queue instead of being lost.
    assert task.acks_late
    assert task.reject_on_worker_lost
