"""Web forms for integrations. They parse what a person typed; the services validate the rest."""

from datetime import timedelta
from typing import Any

from django import forms

from alerts.models import Integration, IntegrationKind
from alerts.services.integrations import MAX_GROUP_WINDOW
from incidents.models import Severity, Team

MAX_WINDOW_MINUTES = int(MAX_GROUP_WINDOW.total_seconds() // 60)


class SeverityMapField(forms.CharField):
    """One `label value = severity` pair a line, e.g. `critical = SEV1`."""

    widget = forms.Textarea(attrs={"rows": 4, "spellcheck": "false"})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return "\n".join(f"{key} = {name}" for key, name in value.items())
        return value

    def to_python(self, value: Any) -> dict[str, str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        mapping: dict[str, str] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            key, sep, name = line.partition("=")
            if not sep or not key.strip() or not name.strip():
                raise forms.ValidationError(
                    f"Line {number}: write `label value = severity`, e.g. `critical = SEV1`."
                )
            mapping[key.strip()] = name.strip()
        return mapping


class LabelListField(forms.CharField):
    """Label names separated by commas or spaces."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return ", ".join(value)
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        return [name for name in text.replace(",", " ").split() if name]


class IntegrationSettingsForm(forms.Form):
    name = forms.CharField(max_length=100)
    severity_map = SeverityMapField(
        required=False,
        label="Severity rules",
        help_text="The alert's `severity` label (Events API: payload.severity) → a severity, one "
        "a line, e.g. `critical = SEV1`. The playbook's indicators and error-rate thresholds "
        "apply as well; the most severe wins.",
    )
    default_severity = forms.ModelChoiceField(
        queryset=Severity.objects.all(),
        required=False,
        empty_label="The least severe",
        to_field_name="name",
        help_text="When no rule decides.",
    )
    escalation_policy = forms.ModelChoiceField(
        # The model by the foreign key: alerts names on call's policy without importing it.
        queryset=Integration._meta.get_field(
            "escalation_policy"
        ).related_model._default_manager.all(),
        required=False,
        empty_label="The team's policy, else the default",
        help_text="Who is paged for this integration's incidents.",
    )
    grouping_labels = LabelListField(
        required=False,
        help_text="A new alert joins the open incident of alerts with the same values of these "
        "labels, e.g. `alertname, service`.",
    )
    group_window = forms.IntegerField(
        label="Group window (minutes)",
        min_value=0,
        max_value=MAX_WINDOW_MINUTES,
        help_text="How recently the group must have fired for a new alert to join it.",
    )
    auto_resolve = forms.BooleanField(
        required=False,
        label="Resolve the incident when all its alerts resolve",
        help_text="Otherwise the incident moves to monitoring and a person resolves it.",
    )
    max_incidents_per_minute = forms.IntegerField(
        min_value=1,
        max_value=1000,
        label="New incidents per minute, at most",
        help_text="Beyond this, new alerts join one alert-storm incident.",
    )
    title_template = forms.CharField(
        required=False, max_length=500, help_text="Generic webhooks: e.g. {{ payload.title }}"
    )
    dedup_key_template = forms.CharField(
        required=False, max_length=500, help_text="Generic webhooks: e.g. {{ payload.id }}"
    )
    severity_template = forms.CharField(required=False, max_length=500)
    resolved_template = forms.CharField(
        required=False,
        max_length=500,
        help_text="Generic webhooks: true when the payload reports a resolution.",
    )

    GENERIC_ONLY = (
        "title_template",
        "dedup_key_template",
        "severity_template",
        "resolved_template",
    )

    def clean_group_window(self) -> timedelta:
        return timedelta(minutes=self.cleaned_data["group_window"])

    def settings(self) -> dict[str, Any]:
        """The cleaned values as the services take them."""
        return dict(self.cleaned_data)

    @classmethod
    def for_integration(
        cls, integration: Integration, data: Any = None
    ) -> "IntegrationSettingsForm":
        initial = {
            "name": integration.name,
            "severity_map": integration.severity_map,
            "default_severity": (
                integration.default_severity.name if integration.default_severity else None
            ),
            "escalation_policy": integration.escalation_policy_id,
            "grouping_labels": integration.grouping_labels,
            "group_window": int(integration.group_window.total_seconds() // 60),
            "auto_resolve": integration.auto_resolve,
            "max_incidents_per_minute": integration.max_incidents_per_minute,
            **{name: getattr(integration, name) for name in cls.GENERIC_ONLY},
        }
        form = cls(data, initial=initial)
        if integration.kind != IntegrationKind.GENERIC:
            for name in cls.GENERIC_ONLY:
                del form.fields[name]
        return form


class IntegrationCreateForm(IntegrationSettingsForm):
    kind = forms.ChoiceField(choices=IntegrationKind.choices, widget=forms.RadioSelect)
    team = forms.ModelChoiceField(queryset=Team.objects.all(), empty_label=None)

    field_order = ("name", "kind", "team")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "kind": IntegrationKind.ALERTMANAGER,
                "severity_map": Integration._meta.get_field("severity_map").get_default(),
                "grouping_labels": Integration._meta.get_field("grouping_labels").get_default(),
                "group_window": 60,
                "max_incidents_per_minute": 10,
            },
        )
        super().__init__(*args, **kwargs)

    def settings(self) -> dict[str, Any]:
        data = super().settings()
        if data["kind"] != IntegrationKind.GENERIC:
            for name in self.GENERIC_ONLY:
                data.pop(name, None)
        return data


class ActiveForm(forms.Form):
    active = forms.BooleanField(required=False)
