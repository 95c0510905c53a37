"""Running the outbox in the test process: tasks run eagerly, on-commit work runs for real."""

from collections.abc import Iterator

import pytest

from config.celery import app


@pytest.fixture
def eager() -> Iterator[None]:
    """Celery tasks run where they are enqueued, so the outbox's own tasks send the rows."""
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False
    app.conf.task_eager_propagates = False
