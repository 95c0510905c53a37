from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.actors import SYSTEM
from alerts import selectors
from alerts.models import IntegrationKind
from alerts.services.integrations import integration_create
from demo.catalog import DEMO_ALERTMANAGER_TOKEN, DEMO_ALERTS_TEAM
from incidents.models import Team


class Command(BaseCommand):
    help = "Create the demo's Alertmanager integration. Does nothing when it exists."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError(
                "Refusing to create an integration with a known token in production."
            )
        if selectors.integration_for_token(DEMO_ALERTMANAGER_TOKEN) is not None:
            self.stdout.write("Demo integration already present; nothing to do.")
            return
        team = Team.objects.filter(slug=DEMO_ALERTS_TEAM).first()
        if team is None:
            raise CommandError(f"Run seed_demo first: there is no team {DEMO_ALERTS_TEAM!r}.")
        integration_create(
            actor=SYSTEM,
            name="Prometheus (demo)",
            kind=IntegrationKind.ALERTMANAGER,
            team=team,
            token=DEMO_ALERTMANAGER_TOKEN,
        )
        self.stdout.write(self.style.SUCCESS("Created the demo Alertmanager integration."))
