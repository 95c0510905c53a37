"""integration_create's `token=`: the demo's published token passes, a weak or production one
does not, and nothing is created when it is refused."""

import pytest

from accounts.actors import SYSTEM
from alerts.models import Integration, IntegrationKind
from alerts.selectors import integration_for_token
from alerts.services.integrations import integration_create
from tests.factories import TeamFactory


def _create(token: str) -> tuple[Integration, str]:
    return integration_create(
        actor=SYSTEM,
        name="Given",
        kind=IntegrationKind.ALERTMANAGER,
        team=TeamFactory(),
        token=token,
    )


def test_a_long_url_safe_token_is_taken(db):
    token = "a-given-token_of-exactly-32-char"
    assert len(token) == 32

    integration, shown = _create(token)

    assert shown == token
    assert integration_for_token(token) == integration


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("x" * 31, id="31 chars"),
        pytest.param("secret", id="short"),
        pytest.param("a given token with spaces, 32+ chars", id="not URL-safe"),
    ],
)
def test_a_weak_token_is_refused(db, token):
    with pytest.raises(ValueError, match="at least 32 URL-safe characters"):
        _create(token)

    assert not Integration.objects.exists()


def test_any_given_token_is_refused_in_production(db, settings):
    settings.PRODUCTION = True

    with pytest.raises(ValueError, match="refused in production"):
        _create("x" * 64)

    assert not Integration.objects.exists()


def test_without_a_token_one_is_generated(db):
    _, token = integration_create(
        actor=SYSTEM, name="Generated", kind=IntegrationKind.ALERTMANAGER, team=TeamFactory()
    )

    assert len(token) >= 32
