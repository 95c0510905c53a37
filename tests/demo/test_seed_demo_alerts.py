import pytest
from django.core.management import CommandError, call_command

from alerts.models import Integration
from alerts.selectors import integration_for_token
from demo.catalog import DEMO_ALERTMANAGER_TOKEN
from tests.factories import TeamFactory


def test_the_demo_integration_answers_to_the_published_token(db):
    TeamFactory(name="Platform", slug="platform")

    call_command("seed_demo_alerts")

    integration = integration_for_token(DEMO_ALERTMANAGER_TOKEN)
    assert integration is not None
    assert integration.kind == "alertmanager"
    assert integration.team.slug == "platform"


def test_seeding_twice_keeps_one_demo_integration(db):
    TeamFactory(name="Platform", slug="platform")

    call_command("seed_demo_alerts")
    call_command("seed_demo_alerts")

    assert Integration.objects.count() == 1


def test_the_demo_integration_is_refused_in_production(db, settings):
    TeamFactory(name="Platform", slug="platform")
    settings.PRODUCTION = True

    with pytest.raises(CommandError):
        call_command("seed_demo_alerts")

    assert Integration.objects.count() == 0
