"""Deleting an escalation policy, and which policy pages an incident."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from alerts.models import Integration
from oncall import policy_resolvers, selectors
from oncall.models import EscalationPolicy
from oncall.services import escalations, policies
from tests.alerts.factories import make_integration
from tests.factories import TeamFactory, declare
from tests.harness import in_thread
from tests.oncall.factories import pageable, policy


@pytest.mark.django_db
def test_a_policy_nothing_uses_is_deleted(manager):
    unused = policy((5, []), name="Draft", default=False)

    policies.policy_delete(actor=manager, policy=unused)

    assert not EscalationPolicy.objects.exists()


@pytest.mark.django_db
def test_a_policy_an_integration_routes_to_is_kept_and_the_integration_named(manager):
    routed = policy((5, []), name="Payments escalation", default=False)
    make_integration(name="Prometheus", escalation_policy=routed)

    with pytest.raises(ValidationError) as kept:
        policies.policy_delete(actor=manager, policy=routed)

    assert kept.value.messages == [
        "Payments escalation is still used by integration Prometheus (Prometheus Alertmanager): "
        "choose another policy there first."
    ]
    assert EscalationPolicy.objects.filter(pk=routed.pk).exists()


@pytest.mark.django_db
def test_a_policy_that_paged_an_incident_is_kept_for_its_history(manager, responder):
    used = policy((5, [responder]), name="Used", default=False)
    escalations.escalation_start(incident=declare(responder), policy=used, manual=True)

    with pytest.raises(ValidationError, match="Used has paged incidents"):
        policies.policy_delete(actor=manager, policy=used)


@pytest.mark.django_db
def test_deleting_a_policy_someone_else_just_deleted_is_no_error(manager):
    unused = policy((5, []), name="Draft", default=False)
    policies.policy_delete(actor=manager, policy=unused)

    policies.policy_delete(actor=manager, policy=unused)

    assert not EscalationPolicy.objects.exists()


@pytest.mark.django_db
def test_deleting_a_policy_without_an_actor_is_an_error(manager):
    unused = policy((5, []), name="Draft", default=False)

    with pytest.raises(TypeError):
        policies.policy_delete(actor=None, policy=unused)

    assert EscalationPolicy.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_integration_routed_to_the_policy_during_the_delete_keeps_it_with_a_message(manager):
    # The integration's change holds a KEY SHARE lock on the policy row (its foreign-key
    # check, made at once here) when the delete asks for the row: the delete waits, then finds
    # the integration inside its transaction and answers with a message, not a 500.
    routed = policy((5, []), name="Payments escalation", default=False)
    integration = make_integration(name="Prometheus")
    routing, release = threading.Event(), threading.Event()
    outcome: list[BaseException | None] = []

    def route():
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            Integration.objects.filter(pk=integration.pk).update(escalation_policy=routed)
            routing.set()
            release.wait(10)

    def delete():
        try:
            policies.policy_delete(actor=manager, policy=routed)
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)

    router = in_thread(route)
    assert routing.wait(10)
    deleter = in_thread(delete)
    deleter.join(0.5)
    assert deleter.is_alive(), "the delete must wait for the integration's lock"
    release.set()
    router.join(10)
    deleter.join(10)

    [error] = outcome
    assert isinstance(error, ValidationError)
    assert "still used by integration Prometheus" in error.messages[0]
    assert Integration.objects.get().escalation_policy == routed


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_integration_routed_to_the_policy_before_the_delete_commits_fails_itself(manager):
    # The other order: the integration's change is not committed when the delete looks, so
    # the delete goes through, and the integration's foreign-key check (deferred to its
    # commit) fails there. The delete never answers 500 either way.
    routed = policy((5, []), name="Payments escalation", default=False)
    integration = make_integration(name="Prometheus")
    routing, release = threading.Event(), threading.Event()
    outcome: list[BaseException | None] = []

    def route():
        try:
            with transaction.atomic():
                Integration.objects.filter(pk=integration.pk).update(escalation_policy=routed)
                routing.set()
                release.wait(10)
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)

    router = in_thread(route)
    assert routing.wait(10)
    policies.policy_delete(actor=manager, policy=routed)
    release.set()
    router.join(10)

    [error] = outcome
    assert isinstance(error, IntegrityError)
    assert not EscalationPolicy.objects.exists()
    assert Integration.objects.get().escalation_policy is None


@pytest.fixture
def resolvers(monkeypatch):
    """An empty registry, as if no app had registered a resolver; restored afterwards."""
    registry: dict[str, policy_resolvers.PolicyResolver] = {}
    monkeypatch.setattr(policy_resolvers, "_resolvers", registry)
    return registry


@pytest.mark.django_db
def test_the_first_resolver_with_an_answer_names_the_policy(resolvers):
    policy((5, [pageable("dora")]), name="Default")
    first = policy((5, [pageable("ian")]), name="First", default=False)
    second = policy((5, [pageable("sam")]), name="Second", default=False)

    def no_say(incident):
        return None

    def names_first(incident):
        return first.pk

    def names_second(incident):
        return second.pk

    for resolver in (no_say, names_first, names_second):
        policy_resolvers.register_policy_resolver(resolver)

    assert selectors.policy_for_incident(declare()) == first


@pytest.mark.django_db
def test_without_a_resolvers_answer_the_team_policy_then_the_default_pages(resolvers):
    default = policy((5, [pageable("dora")]), name="Default")
    team = TeamFactory(name="Payments")
    own = policy((5, [pageable("ian")]), name="Payments", default=False)
    own.team = team
    own.save()
    policy_resolvers.register_policy_resolver(lambda incident: None)

    assert selectors.policy_for_incident(declare(team=team)) == own
    assert selectors.policy_for_incident(declare()) == default


def test_registering_a_resolver_again_replaces_it(resolvers):
    def resolver(incident):
        return None

    policy_resolvers.register_policy_resolver(resolver)
    policy_resolvers.register_policy_resolver(resolver)

    assert list(resolvers.values()) == [resolver]
