from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import User
from demo.catalog import DEMO_USERS
from demo.incidents import Seeder


class Command(BaseCommand):
    help = (
        "Create demo teams, services, users (one per role) and six months of incidents. "
        "Does nothing when the demo users exist."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError(
                "Refusing to create demo accounts with known passwords in production."
            )
        usernames = [user.username for user in DEMO_USERS]
        if User.objects.filter(username__in=usernames).exists():
            self.stdout.write("Demo data already present; nothing to do.")
            return
        with transaction.atomic():
            count = Seeder().run()
        self.stdout.write(self.style.SUCCESS(f"Created demo users, teams and {count} incidents."))
