from django.apps import AppConfig


class ChatopsConfig(AppConfig):
    name = "chatops"
    verbose_name = "Slack"

    def ready(self) -> None:
        from chatops import commands, subscribers
        from chatops.services import responses

        subscribers.connect()
        responses.connect()
        commands.connect()
