"""Webhooks find their integration by token; each process keeps the answer for a moment."""

from accounts.actors import SYSTEM
from alerts import selectors
from alerts.models import Integration
from alerts.services import integrations
from tests.alerts.factories import make_integration


def token_of(integration: Integration) -> str:
    token = integrations.integration_rotate_token(actor=SYSTEM, integration=integration)
    selectors.forget_cached_tokens()
    return token


def test_a_token_finds_its_integration(db):
    integration = make_integration()
    token = token_of(integration)

    assert selectors.integration_for_token(token) == integration


def test_an_unknown_token_finds_nothing_and_is_not_kept(db):
    assert selectors.integration_for_token("no-such-token") is None
    assert selectors._token_cache == {}


def test_a_repeated_lookup_within_the_moment_asks_the_database_once(db, django_assert_num_queries):
    token = token_of(make_integration())
    selectors.integration_for_token(token)

    with django_assert_num_queries(0):
        selectors.integration_for_token(token)


def test_a_change_made_elsewhere_is_seen_once_the_moment_passes(db, monkeypatch):
    integration = make_integration()
    token = token_of(integration)
    clock = [1000.0]
    monkeypatch.setattr(selectors.time, "monotonic", lambda: clock[0])
    assert selectors.integration_for_token(token).active
    # Another process pauses it: this process's cache is not told.
    Integration.objects.filter(pk=integration.pk).update(active=False)

    assert selectors.integration_for_token(token).active
    clock[0] += selectors.TOKEN_CACHE_SECONDS + 0.1
    assert not selectors.integration_for_token(token).active


def test_pausing_here_takes_effect_at_once(db, django_capture_on_commit_callbacks):
    integration = make_integration()
    token = token_of(integration)
    selectors.integration_for_token(token)

    with django_capture_on_commit_callbacks(execute=True):
        integrations.integration_update(actor=SYSTEM, integration=integration, active=False)

    assert not selectors.integration_for_token(token).active


def test_a_rotated_token_stops_working_here_at_once(db, django_capture_on_commit_callbacks):
    integration = make_integration()
    old = token_of(integration)
    selectors.integration_for_token(old)

    with django_capture_on_commit_callbacks(execute=True):
        integrations.integration_rotate_token(actor=SYSTEM, integration=integration)

    assert selectors.integration_for_token(old) is None
