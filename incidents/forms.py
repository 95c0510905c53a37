"""Forms of the web UI. They parse and validate input; the services do every write."""

from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS

from accounts.forms import PersonChoiceField
from accounts.models import User
from incidents import selectors
from incidents.models import (
    SINGLE_HOLDER_ROLES,
    SUMMARY_MAX_LENGTH,
    RoleKind,
    Service,
    Severity,
    Status,
    Team,
)
from incidents.services import UNCHECKED, Unchecked

# Long enough for a pasted stack trace, short enough to keep the timeline readable.
MAX_TEXT = 10_000

STATUS_FILTER_CHOICES = [("", "Any status"), ("open", "Open"), *Status.choices]


class IncidentFilterForm(forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "INC-42 or words from the title"}
        ),
    )
    status = forms.ChoiceField(choices=STATUS_FILTER_CHOICES, required=False)
    severity = forms.ModelChoiceField(
        queryset=Severity.objects.all(),
        to_field_name="name",
        required=False,
        empty_label="Any severity",
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.all(), to_field_name="slug", required=False, empty_label="Any team"
    )
    service = forms.ModelChoiceField(
        queryset=Service.objects.all(),
        to_field_name="slug",
        required=False,
        empty_label="Any service",
    )
    mine = forms.BooleanField(label="Only mine", required=False)

    def filters(self) -> selectors.IncidentFilters:
        """The valid filters; an invalid one is reported on the form and otherwise ignored."""
        self.is_valid()
        data = self.cleaned_data
        severity: Severity | None = data.get("severity")
        team: Team | None = data.get("team")
        service: Service | None = data.get("service")
        return selectors.IncidentFilters(
            statuses=[data["status"]] if data.get("status") else [],
            severities=[severity.name] if severity else [],
            team=team.slug if team else "",
            service=service.slug if service else "",
            mine=bool(data.get("mine")),
            query=data.get("q", ""),
        )


class DeclareForm(forms.Form):
    title = forms.CharField(max_length=200)
    # Radio buttons, so each option can show the severity's description and response target.
    severity = forms.ModelChoiceField(
        queryset=Severity.objects.all(), empty_label=None, widget=forms.RadioSelect
    )
    summary = forms.CharField(
        required=False,
        max_length=SUMMARY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What is broken, for whom, since when.",
    )
    services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False, empty_label="None")
    private = forms.BooleanField(
        required=False, help_text="Only its participants and admins will see it."
    )
    drill = forms.BooleanField(
        label="This is a drill (left out of reports)",
        required=False,
        help_text="A game day or an exercise, run as any incident: the monthly report leaves "
        "it out and counts it among the excluded drills.",
    )
    take_command = forms.BooleanField(label="I am the commander", required=False, initial=True)


def expected_status_field() -> forms.ChoiceField:
    """The status the person saw when the form was drawn; the service refuses a move made
    from another one. Blank (an old form): not checked."""
    return forms.ChoiceField(choices=Status.choices, required=False, widget=forms.HiddenInput)


class StatusForm(forms.Form):
    # Every status but resolved, which needs a resolution note; the service judges legality.
    status = forms.ChoiceField(choices=[c for c in Status.choices if c[0] != Status.RESOLVED])
    expected_status = expected_status_field()


class SeverityForm(forms.Form):
    severity = forms.ModelChoiceField(queryset=Severity.objects.all(), empty_label=None)
    # The severity the person saw; the service refuses a change made from another one.
    expected_severity = forms.ModelChoiceField(
        queryset=Severity.objects.all(), required=False, widget=forms.HiddenInput
    )


def expected_holder_name(role: str) -> str:
    return f"expected_{role}"


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=RoleKind.choices)
    user = PersonChoiceField(
        label="Person", queryset=selectors.users_who_can_respond(), empty_label="Choose someone"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Who the person saw holding each role one person holds at a time, blank for nobody:
        # the role is picked in the same form, so each has its own field.
        for role in SINGLE_HOLDER_ROLES:
            self.fields[expected_holder_name(role)] = forms.ModelChoiceField(
                queryset=User.objects.all(), required=False, widget=forms.HiddenInput
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["expected_holder"] = self._expected_holder(data)
        return data

    def _expected_holder(self, data: dict[str, Any]) -> User | Unchecked | None:
        """Who the person saw holding the chosen role; UNCHECKED when the form did not say (an
        old form, or a subject expert, who is added rather than replacing anyone)."""
        name = expected_holder_name(data.get("role", ""))
        if name not in self.fields or name not in self.data:
            return UNCHECKED
        holder: User | None = data.get(name)
        return holder


class NoteForm(forms.Form):
    text = forms.CharField(
        label="Note", max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 3})
    )


class UpdateForm(forms.Form):
    # Customers see a public update and it cannot be taken back, so the view asks first: it
    # raises ConfirmFirst with this message and code until the post carries `confirm_public`,
    # which the question's own button sends.
    CONFIRM_PUBLIC = "Customers will see this update. Post it publicly?"
    CONFIRM_PUBLIC_CODE = "confirm_public"

    message = forms.CharField(
        label="Status update", max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 3})
    )
    audience = forms.ChoiceField(
        choices=[("internal", "Internal"), ("public", "Public")],
        initial="internal",
        widget=forms.RadioSelect,
    )
    confirm_public = forms.BooleanField(required=False)

    def asks_to_confirm_public(self) -> bool:
        return self.has_error(NON_FIELD_ERRORS, self.CONFIRM_PUBLIC_CODE)


class ResolveForm(forms.Form):
    resolution = forms.CharField(
        label="Resolution note",
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What fixed it. It opens the postmortem.",
    )
    expected_status = expected_status_field()


class ReopenForm(forms.Form):
    reason = forms.CharField(label="Reason", required=False, max_length=MAX_TEXT)


class ChecklistForm(forms.Form):
    done = forms.BooleanField(required=False)


class HighlightForm(forms.Form):
    highlighted = forms.BooleanField(required=False)
