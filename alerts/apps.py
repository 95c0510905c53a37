from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        from alerts import panels, policy_usage, selectors
        from incidents.panels import register_panel
        from oncall.policy_resolvers import register_policy_resolver
        from oncall.policy_usage import register_policy_usage

        register_panel(panels.TEMPLATE, panels.incident_alerts_context)
        register_policy_resolver(selectors.incident_escalation_policy_id)
        register_policy_usage(policy_usage.integrations_using)
