from django.apps import AppConfig


class ChatopsConfig(AppConfig):
    name = "chatops"
    verbose_name = "Slack"

    def ready(self) -> None:
        from accounts.messaging import register_messenger
        from chatops import checks, commands, metrics, paging, panels, pins, reminders, subscribers
        from chatops.direct_messages import NAME, slack_direct_message
        from chatops.services import responses
        from incidents.panels import register_panel

        subscribers.connect()
        responses.connect()
        metrics.connect()
        register_panel(panels.TEMPLATE, panels.incident_slack_context)
        pins.connect()
        paging.connect()
        commands.connect()
        reminders.connect()
        checks.connect()
        register_messenger(NAME, slack_direct_message)
