from typing import Any

from django.core.management.base import BaseCommand, CommandError

from chatops.services.setup import REQUIRED_SCOPES, connection_check_run, slack_status


class Command(BaseCommand):
    help = (
        "Check Tocsin's Slack connection: is the token valid, which required scopes are "
        "missing, is the signing secret set. Exits non-zero when something is wrong."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        check = connection_check_run()
        status = slack_status()
        if not check.connected:
            raise CommandError(
                "Slack is not connected: set SLACK_BOT_TOKEN (the app's Bot User OAuth Token, "
                "xoxb-...) and SLACK_SIGNING_SECRET (Basic Information, App Credentials). "
                "Tocsin works without Slack meanwhile."
            )
        if check.error:
            raise CommandError(f"Slack refused the token or could not be reached: {check.error}")
        self.stdout.write(f"Workspace: {check.team} ({check.team_url})")
        self.stdout.write(f"Bot user: {check.bot_user} ({check.bot_user_id})")
        self.stdout.write("Signing secret: " + ("set" if status.signing_secret_set else "NOT SET"))
        self.stdout.write(
            "Announcements channel: " + (status.announcements_channel or "none (not announced)")
        )
        self.stdout.write(f"Outbox: {status.outbox_depth} calls waiting")
        self.stdout.write(f"Slack users linked: {status.linked_users}")
        problems = []
        if check.missing:
            self.stdout.write("Missing scopes:")
            for scope in check.missing:
                self.stdout.write(f"  {scope}: needed for {REQUIRED_SCOPES[scope]}")
            problems.append(
                f"{len(check.missing)} scope(s) missing: add them under OAuth & Permissions "
                "(or paste the manifest from slack_manifest again) and reinstall the app"
            )
        if not status.signing_secret_set:
            problems.append("SLACK_SIGNING_SECRET is not set: every request from Slack is refused")
        if problems:
            raise CommandError("; ".join(problems))
        self.stdout.write(self.style.SUCCESS("Slack is connected with every scope Tocsin needs."))
