"""Forms of the on-call pages: schedules, layers and overrides; escalation policies; my paging
settings; the incident page's paging panel. They parse what a person typed; the services
validate the rest (addresses, codes, steps, rotations) and do every write."""

import re
import zoneinfo
from datetime import UTC, datetime, time, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, TypedDict, cast
from zoneinfo import ZoneInfo

from django import forms
from django.db.models import Exists, OuterRef, QuerySet
from django.http import QueryDict
from django.utils import timezone

from accounts.forms import PeopleChoiceField, PersonChoiceField
from accounts.models import User
from incidents import selectors as incident_selectors
from incidents.models import Team
from oncall.models import (
    ContactKind,
    ContactMethod,
    EscalationLevel,
    EscalationPolicy,
    Schedule,
    ScheduleLayer,
    TargetKind,
)
from oncall.schedules import ShiftLength
from oncall.services.policies import LevelSpec
from oncall.services.rotations import LayerSpec
from ops.timestamps import plan_time_error, validate_plan_time, zone_named

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

WEEKDAYS = [
    ("0", "Mon"),
    ("1", "Tue"),
    ("2", "Wed"),
    ("3", "Thu"),
    ("4", "Fri"),
    ("5", "Sat"),
    ("6", "Sun"),
]
# Rows of the restrictions editor; a layer rarely needs more than "weekdays" and "weekends".
RESTRICTION_ROWS = 3
# Rotation slots shown beyond the people already in it.
SPARE_SLOTS = 2
MIN_SLOTS = 4
WALL_FORMAT = "%Y-%m-%dT%H:%M"


@cache
def zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class TimeZoneField(forms.ChoiceField):
    default_error_messages = {"invalid_choice": "Unknown time zone %(value)s."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=zone_choices, **kwargs)


def _datetime_local(**attrs: str) -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local", **attrs}, format=WALL_FORMAT)


class WallTimeField(forms.DateTimeField):
    """A date and time as a wall clock shows it, without a zone: the form says which zone."""

    widget = _datetime_local()

    def to_python(self, value: Any) -> datetime | None:
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            return value.replace(tzinfo=None)
        try:
            parsed = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise forms.ValidationError("Enter a date and time.", code="invalid") from None
        wall = parsed.replace(tzinfo=None)
        # Checked as if in UTC, before any zone is applied: near year 1 or 9999 applying one
        # overflows. A zone's offset moves it by hours, which the services' check catches.
        error = plan_time_error(wall.replace(tzinfo=UTC))
        if error:
            raise forms.ValidationError(error, code="out_of_range")
        return wall


def in_zone(wall: datetime, zone_name: str) -> datetime | None:
    """`wall` read in `zone_name`, or None where clocks skip it (a spring-forward gap) or the
    zone is unknown. Precondition: `wall` is in the window (WallTimeField checks it)."""
    zone = zone_named(zone_name)
    if zone is None:
        return None
    aware = wall.replace(tzinfo=zone)
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
        return None
    return aware


class ScheduleForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.all(), empty_label=None)
    name = forms.CharField(max_length=100)
    time_zone = TimeZoneField(
        help_text="The zone the schedule is planned in; each layer hands off in its own zone."
    )
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )


class ParticipantsField(forms.TypedMultipleChoiceField):
    """User ids in the order the page lists them: the rotation order. Blank slots are skipped."""

    def to_python(self, value: Any) -> list[str]:
        return [item for item in super().to_python(value) if item]


class LayerForm(forms.Form):
    name = forms.CharField(max_length=100, initial="Primary rotation")
    participants = ParticipantsField(
        coerce=int,
        required=False,
        label="People, in rotation order",
        help_text="The first person takes the first shift, then the next, and round again.",
    )
    shift_length = forms.ChoiceField(
        choices=ShiftLength.choices,
        initial=ShiftLength.WEEKLY,
        widget=forms.RadioSelect,
        label="Shift length",
    )
    shift_hours = forms.IntegerField(
        min_value=1,
        max_value=24 * 28,
        initial=12,
        required=False,
        label="Hours per shift",
        help_text="For “every N hours” only.",
    )
    rotation_start = WallTimeField(
        label="First handoff",
        help_text="The first shift starts here; daily and weekly shifts hand off at this time "
        "of day.",
    )
    time_zone = TimeZoneField(label="Handoff time zone")
    level = forms.IntegerField(
        min_value=1,
        max_value=9,
        initial=1,
        help_text="Where layers overlap, the higher level is on call.",
    )

    def __init__(
        self,
        *args: Any,
        effective: bool = False,
        restriction_rows: int = RESTRICTION_ROWS,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # Who may be put on call: active people whose role can respond.
        self.people = list(incident_selectors.users_who_can_respond())
        participants = cast(ParticipantsField, self.fields["participants"])
        participants.choices = [(p.pk, p.display_name) for p in self.people]
        self.restriction_rows = restriction_rows
        for row in range(1, restriction_rows + 1):
            self.fields[f"restriction_{row}_days"] = forms.TypedMultipleChoiceField(
                choices=WEEKDAYS,
                coerce=int,
                required=False,
                widget=forms.CheckboxSelectMultiple,
                label=f"Window {row}: days",
            )
            self.fields[f"restriction_{row}_start"] = forms.TimeField(
                required=False,
                widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                label=f"Window {row}: from",
            )
            self.fields[f"restriction_{row}_end"] = forms.TimeField(
                required=False,
                widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                label=f"Window {row}: until",
            )
        if effective:
            self.fields["effective_at"] = forms.DateTimeField(
                required=False,
                validators=[validate_plan_time],
                widget=_datetime_local(),
                label="Change from",
                help_text="Shifts before this stay as they were. Empty means now.",
            )

    @classmethod
    def for_layer(cls, layer: ScheduleLayer, data: Any = None, **kwargs: Any) -> "LayerForm":
        zone = ZoneInfo(layer.time_zone)
        initial: dict[str, Any] = {
            "name": layer.name,
            "participants": [p.user_id for p in layer.participants.all()],
            "shift_length": layer.shift_length,
            "shift_hours": layer.shift_hours,
            "rotation_start": layer.rotation_start.astimezone(zone).replace(tzinfo=None),
            "time_zone": layer.time_zone,
            "level": layer.level,
        }
        windows = list(layer.restrictions)
        for row, window in enumerate(windows, start=1):
            initial[f"restriction_{row}_days"] = window.get("weekdays", [])
            initial[f"restriction_{row}_start"] = window.get("start")
            initial[f"restriction_{row}_end"] = window.get("end")
        rows = max(RESTRICTION_ROWS, len(windows) + 1)
        return cls(data, initial=initial, effective=True, restriction_rows=rows, **kwargs)

    def participant_slots(self) -> list[int | None]:
        """The rotation as the page shows it: the chosen people, then a few empty slots."""
        chosen: list[Any]
        if isinstance(self.data, QueryDict):
            chosen = [v for v in self.data.getlist("participants") if v]
        else:
            chosen = list(self.initial.get("participants") or [])
        slots: list[int | None] = []
        for value in chosen:
            try:
                slots.append(int(value))
            except (TypeError, ValueError):
                continue
        return slots + [None] * max(SPARE_SLOTS, MIN_SLOTS - len(slots))

    def restriction_fields(self) -> list[tuple[forms.BoundField, ...]]:
        return [
            (
                self[f"restriction_{row}_days"],
                self[f"restriction_{row}_start"],
                self[f"restriction_{row}_end"],
            )
            for row in range(1, self.restriction_rows + 1)
        ]

    def clean_participants(self) -> list[User]:
        ids: list[int] = self.cleaned_data["participants"]
        if not ids:
            raise forms.ValidationError("A rotation needs at least one person.")
        people = {person.pk: person for person in self.people}
        return [people[pk] for pk in ids]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("shift_length") == ShiftLength.HOURS and not data.get("shift_hours"):
            self.add_error("shift_hours", "Say how many hours a shift lasts.")
        wall, zone = data.get("rotation_start"), data.get("time_zone")
        if wall is not None and zone:
            aware = in_zone(wall, zone)
            if aware is None:
                self.add_error(
                    "rotation_start", f"Clocks in {zone} skip this time; choose another."
                )
            else:
                data["rotation_start"] = aware
        windows: list[dict[str, object]] = []
        for row in range(1, self.restriction_rows + 1):
            start: time | None = data.get(f"restriction_{row}_start")
            end: time | None = data.get(f"restriction_{row}_end")
            days: list[int] = data.get(f"restriction_{row}_days") or []
            if start is None and end is None:
                if days:
                    self.add_error(f"restriction_{row}_start", "Give the window's hours.")
                continue
            if start is None or end is None:
                missing = "start" if start is None else "end"
                self.add_error(f"restriction_{row}_{missing}", "Give both ends of the window.")
                continue
            if start == end:
                self.add_error(f"restriction_{row}_end", "The window is empty.")
                continue
            windows.append(
                {"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M"), "weekdays": days}
            )
        data["restrictions"] = windows
        effective_at: datetime | None = data.get("effective_at")
        if effective_at is not None and effective_at < timezone.now() - timedelta(minutes=1):
            self.add_error("effective_at", "Changes apply from now on; the past stays as it was.")
        return data

    def spec(self) -> LayerSpec:
        data = self.cleaned_data
        return LayerSpec(
            name=data["name"],
            participants=data["participants"],
            rotation_start=data["rotation_start"],
            shift_length=data["shift_length"],
            shift_hours=data.get("shift_hours") or 24,
            time_zone=data["time_zone"],
            restrictions=data["restrictions"],
            level=data["level"],
        )


class OverrideForm(forms.Form):
    user = PersonChoiceField(
        queryset=incident_selectors.users_who_can_respond(),
        label="Who is on call",
        empty_label="Choose someone",
    )
    start = forms.DateTimeField(
        widget=_datetime_local(), label="From", validators=[validate_plan_time]
    )
    end = forms.DateTimeField(
        widget=_datetime_local(), label="Until", validators=[validate_plan_time]
    )
    note = forms.CharField(max_length=200, required=False)


class PolicyForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.all(),
        required=False,
        empty_label="No team",
        help_text="The team's incidents without an integration's policy use this one.",
    )
    repeat = forms.IntegerField(
        min_value=0,
        max_value=9,
        initial=0,
        label="Repeat",
        help_text="How many more times to run through every level when nobody acknowledges.",
    )
    is_default = forms.BooleanField(
        required=False,
        label="Default policy",
        help_text="For incidents that neither an integration nor a team gives a policy.",
    )

    @classmethod
    def for_policy(cls, policy: EscalationPolicy, data: Any = None) -> "PolicyForm":
        initial = {
            "name": policy.name,
            "description": policy.description,
            "team": policy.team_id,
            "repeat": policy.repeat,
            "is_default": policy.is_default,
        }
        return cls(data, initial=initial)


class LevelForm(forms.Form):
    delay = forms.IntegerField(
        min_value=1,
        max_value=24 * 60,
        initial=5,
        label="Minutes to acknowledge",
        help_text="Before the next level is paged.",
    )
    users = PeopleChoiceField(
        queryset=incident_selectors.users_who_can_respond(),
        required=False,
        label="People",
        widget=forms.CheckboxSelectMultiple,
    )
    schedules = forms.ModelMultipleChoiceField(
        queryset=Schedule.objects.select_related("team"),
        required=False,
        label="Whoever is on call in",
        widget=forms.CheckboxSelectMultiple,
    )
    lead_teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.all(),
        required=False,
        label="Leads of",
        widget=forms.CheckboxSelectMultiple,
    )
    management = forms.BooleanField(
        required=False,
        label="Management level",
        help_text="Paged at once for severities that page management.",
    )

    def target_fields(self) -> list[forms.BoundField]:
        return [self["users"], self["schedules"], self["lead_teams"]]

    def spec(self) -> LevelSpec:
        data = self.cleaned_data
        return LevelSpec(
            delay=timedelta(minutes=data["delay"]),
            users=list(data["users"]),
            schedules=list(data["schedules"]),
            lead_teams=list(data["lead_teams"]),
            management=data["management"],
        )


class BaseLevelFormSet(forms.BaseFormSet[LevelForm]):
    def add_fields(self, form: LevelForm, index: int | None) -> None:
        super().add_fields(form, index)
        form.fields["ORDER"].label = "Position"
        form.fields["ORDER"].help_text = "Levels are paged from the lowest position."
        if "DELETE" in form.fields:
            form.fields["DELETE"].label = "Remove this level"

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        if not self.ordered_forms:
            raise forms.ValidationError("A policy needs at least one level.")

    def specs(self) -> list[LevelSpec]:
        return [form.spec() for form in self.ordered_forms]


def level_formset(
    data: Any = None, *, levels: list[EscalationLevel] | None = None
) -> BaseLevelFormSet:
    """The levels' forms: one per existing level (caller prefetched targets), then blank ones."""
    initial: list[dict[str, Any]] = []
    for level in levels or []:
        targets = list(level.targets.all())
        initial.append(
            {
                "delay": int(level.delay.total_seconds() // 60),
                "users": [t.user_id for t in targets if t.kind == TargetKind.USER],
                "schedules": [t.schedule_id for t in targets if t.kind == TargetKind.SCHEDULE],
                "lead_teams": [t.team_id for t in targets if t.kind == TargetKind.TEAM_LEADS],
                "management": level.management,
            }
        )
    # A new policy starts with the playbook's three levels to fill in.
    formset_class = forms.formset_factory(
        LevelForm,
        formset=BaseLevelFormSet,
        extra=max(1, 3 - len(initial)),
        can_order=True,
        can_delete=True,
        max_num=20,
    )
    return cast(BaseLevelFormSet, formset_class(data, initial=initial, prefix="levels"))


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


class Reachable(TypedDict):
    reachable: bool  # whether the person has a verified, enabled contact method


if TYPE_CHECKING:
    PageablePerson = WithAnnotations[User, Reachable]
else:
    # At run time the alias cannot be subscripted (it is for the type checker alone).
    PageablePerson = User


def pageable_people() -> QuerySet[PageablePerson]:
    """People who may respond, each annotated `reachable`: whether they have a usable method.

    Viewers are left out: paging someone makes them a participant who is expected to act.
    """
    usable = ContactMethod.objects.filter(
        user=OuterRef("pk"), verified_at__isnull=False, disabled_at__isnull=True
    )
    return incident_selectors.users_who_can_respond().annotate(reachable=Exists(usable))


class PageablePersonField(forms.ModelChoiceField[PageablePerson]):
    def label_from_instance(self, obj: PageablePerson) -> str:
        if obj.reachable:
            return obj.display_name
        return f"{obj.display_name} (no verified contact method)"


class PageUserForm(forms.Form):
    user = PageablePersonField(
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


class EscalateForm(forms.Form):
    # The level (1-based) the confirmation named: the service refuses to page another one.
    level = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
