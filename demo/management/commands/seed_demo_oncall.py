from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.actors import SYSTEM
from accounts.models import User
from alerts import selectors
from alerts.services.integrations import integration_update
from demo.catalog import DEMO_ALERTMANAGER_TOKEN
from demo.oncall import ROTATIONS, reachable_by_email, team_on_call
from incidents.models import Team
from oncall.models import EscalationPolicy, Schedule


class Command(BaseCommand):
    help = "Create demo schedules, escalation policies and contact methods. Idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("Refusing to create demo on-call data in production.")
        if Schedule.objects.exists() or EscalationPolicy.objects.exists():
            self.stdout.write("On-call data already present; nothing to do.")
            return
        users = {user.username: user for user in User.objects.all()}
        teams = {team.slug: team for team in Team.objects.filter(slug__in=ROTATIONS)}
        if set(teams) != set(ROTATIONS) or not all(
            name in users for names in ROTATIONS.values() for name in names
        ):
            raise CommandError("Run seed_demo first: the demo teams and users are missing.")
        with transaction.atomic():
            for user in users.values():
                reachable_by_email(user)
            policies = {slug: team_on_call(team, users) for slug, team in teams.items()}
            # The demo Prometheus integration pages the platform team.
            integration = selectors.integration_for_token(DEMO_ALERTMANAGER_TOKEN)
            if integration is not None:
                integration_update(
                    actor=SYSTEM, integration=integration, escalation_policy=policies["platform"]
                )
        self.stdout.write(self.style.SUCCESS("Created demo schedules and escalation policies."))
