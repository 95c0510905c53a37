from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from chatops.services.setup import BadBaseUrl, base_url_clean, manifest_yaml


class Command(BaseCommand):
    help = (
        "Print the Slack app manifest (YAML) for this Tocsin: paste it at api.slack.com/apps, "
        '"Create New App", "From an app manifest".'
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--base-url",
            required=True,
            help="Tocsin's public https address, as Slack reaches it: https://tocsin.example.com",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            base_url = base_url_clean(options["base_url"])
        except BadBaseUrl as error:
            raise CommandError(str(error)) from error
        self.stdout.write(manifest_yaml(base_url=base_url), ending="")
