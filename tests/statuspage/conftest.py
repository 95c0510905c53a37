"""Fixtures shared by the status page's tests: two public services (so two components), one
private service, and domain events delivered as they would be after each commit."""

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest

from incidents.models import Service
from tests.factories import ServiceFactory


@pytest.fixture
def api(db: None) -> Service:
    return ServiceFactory(name="API", public=True)


@pytest.fixture
def web(db: None) -> Service:
    return ServiceFactory(name="Website", public=True)


@pytest.fixture
def internal(db: None) -> Service:
    return ServiceFactory(name="Billing batch", public=False)


@pytest.fixture
def events_run(
    django_capture_on_commit_callbacks: Callable[..., AbstractContextManager[Any]],
) -> Callable[[], AbstractContextManager[Any]]:
    """`with events_run(): ...`: the block's on-commit callbacks (domain events, and what the
    subscribers queue in turn) run at its end, as after a real commit."""

    def run() -> AbstractContextManager[Any]:
        return django_capture_on_commit_callbacks(execute=True)

    return run
