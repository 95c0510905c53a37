from datetime import date, datetime, time, timedelta
from typing import Any, cast

from django import forms
from django.utils import timezone

from accounts.actors import SYSTEM
from accounts.models import User
from audit.selectors import AuditFilters
from audit.tracked import TYPE_KEYS
from ops.timestamps import EARLIEST

SYSTEM_CHOICE = "system"  # never a user's pk, which is a number


def type_choices() -> list[tuple[str, str]]:
    named = [(key, str(model._meta.verbose_name).capitalize()) for key, model in TYPE_KEYS.items()]
    return [("", "Every kind"), *sorted(named, key=lambda choice: choice[1])]


class AuditFilterForm(forms.Form):
    type = forms.ChoiceField(label="Kind", required=False)
    person = forms.ChoiceField(label="Person", required=False)
    since = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["type"]).choices = type_choices()
        people = User.objects.order_by("first_name", "last_name", "username")
        cast(forms.ChoiceField, self.fields["person"]).choices = [
            ("", "Anyone"),
            (SYSTEM_CHOICE, f"{SYSTEM.display_name} (the system)"),
            *((str(person.pk), person.display_name) for person in people),
        ]

    def filters(self) -> AuditFilters:
        """The valid filters; an invalid one is left out (the form shows why)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        person = data.get("person") or ""
        return AuditFilters(
            type=data.get("type") or "",
            actor_pk=int(person) if person.isdigit() else None,
            system=person == SYSTEM_CHOICE,
            since=_start_of(data.get("since")),
            until=_start_of(_next_day(data.get("until"))),
        )


def _next_day(day: date | None) -> date | None:
    if day is None or day >= date.max - timedelta(days=1):
        return None
    return day + timedelta(days=1)


def _start_of(day: date | None) -> datetime | None:
    """Midnight of `day` in the viewer's zone; nothing is recorded before EARLIEST."""
    if day is None or day <= EARLIEST.date():
        return None
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())
