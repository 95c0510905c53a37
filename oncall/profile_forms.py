"""Forms of the paging settings page and the incident page's paging panel.

They parse what a person typed; oncall.services validates addresses, codes and steps.
"""

import re
from datetime import timedelta
from typing import Any, cast

from django import forms
from django.db.models import Exists, OuterRef, QuerySet

from accounts.models import User
from incidents import selectors as incident_selectors
from incidents.models import Team
from oncall.models import ContactKind, ContactMethod

# notification_rule_add takes steps from 0 to 120 minutes after the page.
MAX_STEP_MINUTES = 120

ADDRESS_HELP = (
    "An email address; a phone number in international form, e.g. +14155550100; your Slack "
    "member ID, e.g. U024BE7LH (Slack: your profile → ⋮ → Copy member ID); or your endpoint's "
    "https URL."
)


class ContactMethodForm(forms.Form):
    kind = forms.ChoiceField(label="Kind", choices=ContactKind.choices)
    address = forms.CharField(max_length=500, help_text=ADDRESS_HELP)
    label = forms.CharField(
        max_length=100, required=False, help_text="Yours to tell methods apart, e.g. “Work phone”."
    )


class VerifyForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=20,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "size": "8"}
        ),
    )

    def clean_code(self) -> str:
        # People paste "123 456" or "123-456" from their phone.
        code = re.sub(r"[\s-]", "", self.cleaned_data["code"])
        if not re.fullmatch(r"\d{6}", code):
            raise forms.ValidationError("Enter the 6-digit code we sent.")
        return code


class RuleForm(forms.Form):
    """A step: one of my usable methods, some minutes after the page."""

    method = forms.TypedChoiceField(label="Contact method", coerce=int)
    minutes = forms.IntegerField(
        label="Minutes after the page",
        min_value=0,
        max_value=MAX_STEP_MINUTES,
        initial=0,
        help_text="0 for at once.",
    )

    def __init__(self, *args: Any, methods: list[ContactMethod], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Built from the page's list, so the choices cost no query of their own; another
        # person's method id is simply not a valid choice.
        self.methods = {method.pk: method for method in methods}
        field = cast(forms.TypedChoiceField, self.fields["method"])
        field.choices = [(method.pk, method_label(method)) for method in methods]

    def clean_minutes(self) -> timedelta:
        return timedelta(minutes=self.cleaned_data["minutes"])

    def clean_method(self) -> ContactMethod:
        return self.methods[self.cleaned_data["method"]]


def method_label(method: ContactMethod) -> str:
    name = f"{method.get_kind_display()} {method.address}"
    return f"{name} ({method.label})" if method.label else name


def pageable_people() -> QuerySet[User]:
    """People who may respond, each annotated `reachable`: whether they have a usable method.

    Viewers are left out: paging someone makes them a participant who is expected to act.
    """
    usable = ContactMethod.objects.filter(
        user=OuterRef("pk"), verified_at__isnull=False, disabled_at__isnull=True
    )
    return incident_selectors.users_who_can_respond().annotate(reachable=Exists(usable))


class PersonChoiceField(forms.ModelChoiceField[User]):
    def label_from_instance(self, obj: User) -> str:
        if getattr(obj, "reachable", True):
            return obj.display_name
        return f"{obj.display_name} (no verified contact method)"


class PageUserForm(forms.Form):
    user = PersonChoiceField(
        label="Person", queryset=pageable_people(), empty_label="Choose someone…"
    )


class PageTeamForm(forms.Form):
    team = forms.TypedChoiceField(label="Team", coerce=int)

    def __init__(self, *args: Any, teams: list[Team], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Built from the caller's list, so the choices cost no query of their own.
        self.teams = {team.pk: team for team in teams}
        field = cast(forms.TypedChoiceField, self.fields["team"])
        field.choices = [("", "Choose a team…"), *((team.pk, team.name) for team in teams)]

    def clean_team(self) -> Team:
        return self.teams[self.cleaned_data["team"]]
