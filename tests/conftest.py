"""Named personas every test may ask for, and shared fixtures."""

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client, TestCase, TransactionTestCase
from django.utils import timezone
from redis.exceptions import ConnectionError as RedisConnectionError

from accounts.models import Role, User
from alerts.selectors import forget_cached_tokens
from statuspage import versions
from tests.clock import Clock
from tests.factories import UserFactory

pytest_plugins = ["tests.stubs.fixtures"]


def _database_use(item: pytest.Item) -> int:
    """pytest-django's order: 0 in a rolled-back transaction, 1 committing (the database is
    flushed after each, so they follow every test of 0), 2 no database."""
    cls = getattr(item, "cls", None)
    if cls is not None and issubclass(cls, TransactionTestCase):
        return 0 if issubclass(cls, TestCase) else 1
    marker = item.get_closest_marker("django_db")
    fixtures = set(getattr(item, "fixturenames", ()))
    if {"transactional_db", "live_server"} & fixtures or (
        marker is not None
        and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences"))
    ):
        return 1
    return 0 if marker is not None or "db" in fixtures else 2


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Within pytest-django's order (which runs before this), the tests that start processes
    first, then the browser tests, then the rest; slow tests without a database lead the
    whole run. Under pytest-xdist a test of a minute handed out last kept one worker busy
    long after the other had run out of work."""

    def key(item: pytest.Item) -> tuple[int, int]:
        database = _database_use(item)
        if item.get_closest_marker("slow"):
            return (-1 if database == 2 else database, 0)
        return (database, 1 if item.get_closest_marker("browser") else 2)

    items.sort(key=key)


# Tests sharing processes or a database built once for their module or session, each group on
# one pytest-xdist worker so that it is built once. By path: `--dist loadgroup` reads the
# xdist_group mark from a suffix it adds to node ids, which pytest 9.2 no longer lets it change
# (pytest-xdist issue 1386), and the scheduler sees nothing of a test but its node id.
ONE_WORKER = {
    "tests/ops/test_gunicorn.py": "gunicorn",
    "tests/test_production_install.py": "production install",
    "tests/reports/test_figures.py::test_the_report_on_sqlite": "sqlite",
    "tests/reports/test_home_panel.py::test_the_panel_on_sqlite": "sqlite",
    "tests/statuspage/test_fan_out_sqlite.py::test_the_fan_out_on_sqlite": "sqlite",
}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadgroup` as pytest-xdist means it, with ONE_WORKER's groups."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class Scheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            group = ONE_WORKER.get(nodeid) or ONE_WORKER.get(nodeid.split("::", 1)[0])
            return f"@{group}" if group else super()._split_scope(nodeid)

    return Scheduling(config, log)


@pytest.fixture(autouse=True)
def empty_cache():
    """The cache (Redis) outlives a test's transaction: rate-limit counts, queued-task marks."""
    cache.clear()
    forget_cached_tokens()
    versions.forget()
    yield
    cache.clear()
    forget_cached_tokens()
    versions.forget()


@pytest.fixture
def responder(db: None) -> User:
    return UserFactory(
        username="rosa", first_name="Rosa", last_name="Responder", role=Role.RESPONDER
    )


@pytest.fixture
def commander(db: None) -> User:
    return UserFactory(
        username="cole", first_name="Cole", last_name="Commander", role=Role.RESPONDER
    )


@pytest.fixture
def manager(db: None) -> User:
    return UserFactory(username="mona", first_name="Mona", last_name="Manager", role=Role.MANAGER)


@pytest.fixture
def viewer(db: None) -> User:
    return UserFactory(username="vic", first_name="Vic", last_name="Viewer", role=Role.VIEWER)


@pytest.fixture
def admin_user(db: None) -> User:
    return UserFactory(username="ada", first_name="Ada", last_name="Admin", role=Role.ADMIN)


@pytest.fixture
def outsider(db: None) -> User:
    """A responder who takes no part in the incidents under test."""
    return UserFactory(
        username="otto", first_name="Otto", last_name="Outsider", role=Role.RESPONDER
    )


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """timezone.now stopped at T0, moved on by `clock.advance()`."""
    clock = Clock()
    monkeypatch.setattr(timezone, "now", clock)
    return clock


@pytest.fixture
def signed_in(client: Client, responder: User) -> Client:
    """The test client, signed in as the responder."""
    client.force_login(responder)
    return client


@pytest.fixture
def alice(db: None) -> User:
    """Two people with nothing but names: on-call rotations, team members."""
    return UserFactory(username="alice", first_name="Alice", last_name="Adams")


@pytest.fixture
def bob(db: None) -> User:
    return UserFactory(username="bob", first_name="Bob", last_name="Brown")


@pytest.fixture
def redis_refused(settings, unused_port):
    """The cache pointed at a loopback port nothing listens on: every call is refused, as
    when Redis is down. Django opens fresh cache connections when CACHES changes."""
    settings.CACHES = {
        "default": {
            "BACKEND": "ops.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{unused_port}/0",
        }
    }
    with pytest.raises(RedisConnectionError):
        cache.get("is-redis-there")
