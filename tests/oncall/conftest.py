"""People and a rotation that the schedule, policy, feed and API tests share."""

import pytest

from tests.factories import TeamFactory
from tests.oncall.factories import MONDAYS_NINE_UTC, weekly_schedule


@pytest.fixture
def team(db):
    return TeamFactory(name="Payments", slug="payments")


@pytest.fixture
def teammate(responder, team):
    """Rosa, a responder of the Payments team: she may change who is on call on its schedules."""
    team.members.add(responder)
    return responder


@pytest.fixture
def weekly(team, alice, bob):
    """Alice and Bob take turns a week each, handing over on Mondays at 09:00 UTC."""
    return weekly_schedule([alice, bob], start=MONDAYS_NINE_UTC, team=team)
