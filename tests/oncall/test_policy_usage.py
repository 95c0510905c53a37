"""What uses a policy, as the apps above oncall tell it (oncall.policy_usage)."""

import pytest

from oncall import policy_usage
from oncall.policy_usage import PolicyUse
from tests.oncall.factories import policy


@pytest.fixture
def only(monkeypatch):
    """Replace the registered sources (alerts') with the test's own."""
    monkeypatch.setattr(policy_usage, "_usages", {})
    return policy_usage.register_policy_usage


def test_uses_of_every_source_are_joined_and_an_unused_policy_has_none(db, viewer, only):
    used = policy((5, []), name="Used")
    unused = policy((5, []), name="Unused", default=False)

    def first(policies, viewer):
        return {used.pk: [PolicyUse("A", "kind · team")]}

    def second(policies, viewer):
        return {used.pk: [PolicyUse("B", "kind · team", url="/b/")]}

    only(first)
    only(second)

    uses = policy_usage.policy_uses([used, unused], viewer=viewer)

    assert uses == {
        used.pk: [PolicyUse("A", "kind · team"), PolicyUse("B", "kind · team", url="/b/")],
        unused.pk: [],
    }


def test_no_policy_asks_no_source(viewer, only):
    def asked(policies, viewer):
        raise AssertionError("asked for no policy")

    only(asked)

    assert policy_usage.policy_uses([], viewer=viewer) == {}
