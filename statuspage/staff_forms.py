"""Forms of the staff's status page controls: the incident page's publishing panel and the
maintenance and component pages at /status/manage/."""

from collections.abc import Collection
from typing import Any

from django import forms

from ops.timestamps import validate_plan_time
from statuspage.models import Component, ComponentGroup, ComponentState
from statuspage.services.maintenance import TEXT_MAX_LENGTH
from statuspage.services.publishing import NAME_MAX_LENGTH, OVERRIDE_STATES, Overrides

FOLLOW_SEVERITY = ""

OVERRIDE_CHOICES = [
    (FOLLOW_SEVERITY, "Follow severity"),
    *((state, ComponentState(state).label) for state in OVERRIDE_STATES),
]


class PublicUpdateForm(forms.Form):
    """A public update with the public name and a state override per affected component (a
    field `override_<component id>` each)."""

    name = forms.CharField(
        label="Public name",
        max_length=NAME_MAX_LENGTH,
        required=False,
        help_text="What the status page calls the incident; blank keeps the current one.",
    )
    message = forms.CharField(label="Public update", widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, components: list[Component], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.components = components
        for component in components:
            self.fields[self.override_name(component)] = forms.ChoiceField(
                label=str(component), choices=OVERRIDE_CHOICES, required=False
            )

    @staticmethod
    def override_name(component: Component) -> str:
        return f"override_{component.pk}"

    def override_fields(self) -> list[tuple[Component, forms.BoundField]]:
        return [(c, self[self.override_name(c)]) for c in self.components]

    def overrides(self) -> Overrides:
        return {
            component.pk: self.cleaned_data.get(self.override_name(component)) or None
            for component in self.components
        }


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        # The value a datetime-local input takes: minutes, "T" between date and time.
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class MaintenanceForm(forms.Form):
    name = forms.CharField(max_length=200)
    message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=TEXT_MAX_LENGTH,
        help_text="What customers are told.",
    )
    scheduled_for = forms.DateTimeField(
        label="Starts", widget=DateTimeInput, validators=[validate_plan_time]
    )
    scheduled_until = forms.DateTimeField(
        label="Ends", widget=DateTimeInput, validators=[validate_plan_time]
    )
    # Evaluated afresh for each form (Django copies a field's queryset per form).
    components = forms.ModelMultipleChoiceField(
        queryset=Component.objects.filter(service__public=True).select_related("service"),
        widget=forms.CheckboxSelectMultiple,
    )


# What may still change once a maintenance has started: its end, later.
EXTENDABLE_FIELDS = {"scheduled_until"}
STARTED_ERROR = "The window has started; only its end can change."


class MaintenanceEditForm(MaintenanceForm):
    """`hidden_components`: the pks of its components the form cannot offer (their service
    was made private since); they are part of its current components all the same."""

    def __init__(
        self, *args: Any, started: bool, hidden_components: Collection[int] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.hidden_components = hidden_components
        if started:
            # A disabled field keeps its initial value whatever is posted.
            for name, field in self.fields.items():
                field.disabled = name not in EXTENDABLE_FIELDS

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        # A form shown before the start and sent after it posts every field: the disabled
        # ones would fall back to their initial values and the changes to them be lost
        # without a word, so refuse the whole form instead.
        if any(self._changed_though_disabled(name) for name in self.fields):
            raise forms.ValidationError(STARTED_ERROR)
        return cleaned

    def _changed_though_disabled(self, name: str) -> bool:
        field = self.fields[name]
        key = self.add_prefix(name)
        # A browser posts no disabled input: a field left out is unchanged.
        if not field.disabled or key not in self.data:
            return False
        current = self.get_initial_for_field(field, name)
        posted = field.widget.value_from_datadict(self.data, self.files, key)
        if isinstance(field, forms.ModelMultipleChoiceField):
            # The hidden ones are never offered, so a browser never sends them back: the
            # components are unchanged when the ones it could show are.
            hidden = {str(pk) for pk in self.hidden_components}
            offered = {str(getattr(c, "pk", c)) for c in current or ()} - hidden
            return {str(pk) for pk in posted or ()} - hidden != offered
        try:
            # What the form showed, read back as the field reads a post: times to the minute
            # its input carries, text stripped.
            shown = field.to_python(field.widget.format_value(field.prepare_value(current)))
            return bool(_comparable(field.to_python(posted)) != _comparable(shown))
        except forms.ValidationError:
            return True


def _comparable(value: Any) -> Any:
    # A browser sends a textarea's line breaks as CRLF whatever was stored.
    return value.replace("\r\n", "\n") if isinstance(value, str) else value


class MaintenanceUpdateForm(forms.Form):
    body = forms.CharField(
        label="Update",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=TEXT_MAX_LENGTH,
        help_text="Shown on the public page under the maintenance's current status.",
    )


# Far more than a page has, and inside the column's range: a larger number would reach the
# database and fail there.
POSITION_MAX = 10_000


class ComponentForm(forms.Form):
    public_name = forms.CharField(
        max_length=100, required=False, help_text="Blank shows the service's name."
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    group = forms.ModelChoiceField(queryset=ComponentGroup.objects.all(), required=False)
    position = forms.IntegerField(min_value=0, max_value=POSITION_MAX, initial=0)
    # As the admin takes it: the column's length, blank for none.
    hosted_component_id = forms.CharField(
        label="Hosted Statuspage component id",
        max_length=Component._meta.get_field("hosted_component_id").max_length,
        required=False,
        help_text="Its id on the hosted Atlassian Statuspage incidents are pushed to; blank "
        "leaves it out of the push.",
    )


class GroupForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    position = forms.IntegerField(min_value=0, max_value=POSITION_MAX, initial=0)
