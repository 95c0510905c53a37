from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from alerts.models import Integration, IntegrationKind, hash_token
from alerts.services.integrations import integration_create
from incidents.models import Team

# Published on purpose, like the demo passwords: `make run` prints it so a newcomer can post an
# alert at once. The command refuses to run in production.
DEMO_ALERTMANAGER_TOKEN = "tocsin-demo-alertmanager"  # noqa: S105
DEMO_TEAM = "platform"


class Command(BaseCommand):
    help = "Create the demo's Alertmanager integration. Does nothing when it exists."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError(
                "Refusing to create an integration with a known token in production."
            )
        token_hash = hash_token(DEMO_ALERTMANAGER_TOKEN)
        if Integration.objects.filter(token_hash=token_hash).exists():
            self.stdout.write("Demo integration already present; nothing to do.")
            return
        team = Team.objects.filter(slug=DEMO_TEAM).first()
        if team is None:
            raise CommandError(f"Run seed_demo first: there is no team {DEMO_TEAM!r}.")
        integration, _ = integration_create(
            name="Prometheus (demo)", kind=IntegrationKind.ALERTMANAGER, team=team
        )
        # The generated token is replaced by the published one; only its hash is kept.
        Integration.objects.filter(pk=integration.pk).update(
            token_hash=token_hash, token_prefix=DEMO_ALERTMANAGER_TOKEN[:8]
        )
        self.stdout.write(self.style.SUCCESS("Created the demo Alertmanager integration."))
