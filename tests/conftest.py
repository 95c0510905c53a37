"""Named personas every test may ask for, and shared fixtures."""

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from redis.exceptions import ConnectionError as RedisConnectionError

from accounts.models import Role, User
from alerts.selectors import forget_cached_tokens
from statuspage import versions
from tests.clock import Clock
from tests.factories import UserFactory

pytest_plugins = ["tests.stubs.fixtures"]


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
