from django.apps import AppConfig


class ChatopsConfig(AppConfig):
    name = "chatops"
    verbose_name = "Slack"

    def ready(self) -> None:
        from chatops import subscribers
        from chatops.services import responses

        subscribers.connect()
        responses.connect()
