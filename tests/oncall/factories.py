"""Building blocks for on-call tests: people who can be paged, policies, schedules."""

from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone

from accounts.models import User
from incidents.models import Team
from oncall.models import (
    ContactKind,
    ContactMethod,
    EscalationLevel,
    EscalationPolicy,
    EscalationTarget,
    LayerParticipant,
    NotificationRule,
    Schedule,
    ScheduleLayer,
    TargetKind,
)
from oncall.notifiers import Page
from oncall.schedules import ShiftLength
from tests.factories import TeamFactory, UserFactory


def pageable(username: str, *, kind: str = ContactKind.EMAIL, address: str = "") -> User:
    """A responder with one verified contact method and no rules (paged on it at once)."""
    user = UserFactory(username=username, first_name=username.capitalize(), last_name="")
    contact(user, kind=kind, address=address)
    return user


def contact(
    user: User, *, kind: str = ContactKind.EMAIL, address: str = "", verified: bool = True
) -> ContactMethod:
    default = {
        ContactKind.EMAIL: f"{user.username}@example.com",
        ContactKind.SMS: "+15005550006",
        ContactKind.VOICE: "+15005550006",
        ContactKind.SLACK: f"U{user.pk:08d}",
        ContactKind.WEBHOOK: "https://hooks.example.com/page",
    }[ContactKind(kind)]
    return ContactMethod.objects.create(
        user=user,
        kind=kind,
        address=address or default,
        verified_at=timezone.now() if verified else None,
        secret="webhook-secret" if kind == ContactKind.WEBHOOK else "",
    )


def rule(method: ContactMethod, *, minutes: int = 0) -> NotificationRule:
    return NotificationRule.objects.create(
        user_id=method.user_id, contact_method=method, delay=timedelta(minutes=minutes)
    )


# A Monday: the shared weekly rotation (tests/oncall/conftest.py) hands off at this time.
MONDAYS_NINE_UTC = datetime(2025, 1, 6, 9, tzinfo=UTC)

Target = User | Schedule | Team


def policy(
    *levels: tuple[int | timedelta, list[Target]],
    name: str = "Payments",
    repeat: int = 0,
    default: bool = True,
    management: tuple[int, ...] = (),
) -> EscalationPolicy:
    """`levels` are (minutes, or a timedelta, before the next level, targets); a Team target
    means its leads.
    `management` lists the 1-based levels that are management levels."""
    made = EscalationPolicy.objects.create(name=name, repeat=repeat, is_default=default)
    for position, (minutes, targets) in enumerate(levels, start=1):
        level = EscalationLevel.objects.create(
            policy=made,
            position=position,
            delay=minutes if isinstance(minutes, timedelta) else timedelta(minutes=minutes),
            management=position in management,
        )
        for target in targets:
            if isinstance(target, User):
                EscalationTarget.objects.create(level=level, kind=TargetKind.USER, user=target)
            elif isinstance(target, Schedule):
                EscalationTarget.objects.create(
                    level=level, kind=TargetKind.SCHEDULE, schedule=target
                )
            else:
                EscalationTarget.objects.create(
                    level=level, kind=TargetKind.TEAM_LEADS, team=target
                )
    return made


def weekly_schedule(
    users: list[User], *, start: datetime, team: Team | None = None, name: str = "Primary"
) -> Schedule:
    schedule = Schedule.objects.create(team=team or TeamFactory(name="Payments"), name=name)
    layer = ScheduleLayer.objects.create(
        schedule=schedule,
        name="Weekly",
        rotation_start=start,
        shift_length=ShiftLength.WEEKLY,
        time_zone="UTC",
    )
    for position, user in enumerate(users):
        LayerParticipant.objects.create(layer=layer, user=user, position=position)
    return schedule


ACK_URL = "https://tocsin.example/ack/42/s1gn3d/"


def database_down_page(method: ContactKind, address: str, **more: Any) -> Page:
    """INC-42's page, as the paging engine hands it to the notifier for `method`."""
    return Page(
        notification_id=42,
        method=method,
        address=address,
        subject="[SEV1] INC-42 Database down",
        text="Primary database is not accepting connections.",
        ack_url=ACK_URL,
        incident_url="https://tocsin.example/incidents/42/",
        **more,
    )
