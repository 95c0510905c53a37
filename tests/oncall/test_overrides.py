"""Overrides: who may add one, and who is told when one changes their on-call time."""

import logging
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.actors import SYSTEM
from accounts.models import Role
from oncall.models import ContactKind, Notification, NotificationKind, ScheduleOverride
from oncall.services import deliveries, rotations
from tests.factories import TeamFactory, UserFactory
from tests.oncall.factories import MONDAYS_NINE_UTC, contact, weekly_schedule

pytestmark = pytest.mark.django_db

# Wednesday of Alice's first week on the weekly rotation (Alice, then Bob, from Monday 09:00).
WEDNESDAY = MONDAYS_NINE_UTC + timedelta(days=2)


@pytest.fixture
def carol(db):
    return UserFactory(username="carol", first_name="Carol", last_name="Cover")


def override(actor, schedule, user, *, hours: int = 24, note: str = "") -> ScheduleOverride:
    return rotations.override_create(
        actor=actor,
        schedule=schedule,
        user=user,
        start=WEDNESDAY,
        end=WEDNESDAY + timedelta(hours=hours),
        note=note,
    )


def notices() -> dict[str, Notification]:
    rows = Notification.objects.filter(kind=NotificationKind.NOTICE).select_related("user")
    return {notice.user.username: notice for notice in rows}


def deliver(notice: Notification) -> None:
    outcome = deliveries.notification_deliver(notification_id=notice.pk, now=timezone.now())
    assert outcome.status == "sent", outcome


def test_a_responder_may_not_override_a_schedule_of_another_team(responder, weekly, carol):
    with pytest.raises(PermissionDenied) as refused:
        override(responder, weekly, carol)

    assert "your own teams' schedules" in str(refused.value)
    assert not ScheduleOverride.objects.exists()
    assert not Notification.objects.exists()


def test_a_responder_of_the_schedules_team_may_override_it(teammate, weekly, carol):
    override(teammate, weekly, carol)

    assert ScheduleOverride.objects.get().created_by == teammate


def test_someone_in_the_rotation_may_override_it_from_another_team(alice, weekly, bob):
    # Alice takes turns on Payments' rotation without being on the team: a swap is hers to make.
    assert not weekly.team.members.filter(pk=alice.pk).exists()

    override(alice, weekly, bob)

    assert ScheduleOverride.objects.get().user == bob


def test_a_manager_may_override_any_teams_schedule(manager, weekly, carol):
    override(manager, weekly, carol)

    assert ScheduleOverride.objects.count() == 1


def test_a_viewer_may_not_override_even_their_own_teams_schedule(viewer, weekly, carol):
    weekly.team.members.add(viewer)

    with pytest.raises(PermissionDenied):
        override(viewer, weekly, carol)


def test_the_person_replaced_is_emailed_who_took_their_time_and_by_whom(
    smtp_stub, manager, weekly, alice, carol
):
    contact(alice)

    override(manager, weekly, carol, note="Alice is at the dentist")
    deliver(notices()["alice"])

    [mail] = smtp_stub.messages_to("alice@example.com")
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Carol Cover is on call in your place on Payments / Primary" in text
    assert "from Wed 08 Jan 2025 09:00 to Thu 09 Jan 2025 09:00 (UTC)" in text
    assert "Mona Manager added an override" in text
    assert 'Note: "Alice is at the dentist"' in text
    assert f"{settings.BASE_URL}/schedules/{weekly.pk}/" in text


def test_the_person_put_on_call_is_told_too(smtp_stub, manager, weekly, carol):
    contact(carol)

    override(manager, weekly, carol)
    deliver(notices()["carol"])

    [mail] = smtp_stub.messages_to("carol@example.com")
    assert "You are on call on Payments / Primary" in mail.get_body().get_content()


def test_everyone_replaced_over_a_long_override_is_told(manager, weekly, alice, bob, carol):
    for person in (alice, bob, carol):
        contact(person)

    override(manager, weekly, carol, hours=24 * 7)  # Wednesday to Wednesday: Alice's, then Bob's

    assert set(notices()) == {"alice", "bob", "carol"}


def test_whoever_adds_the_override_is_not_told_about_it(alice, weekly, bob):
    contact(alice)
    contact(bob)

    override(alice, weekly, bob, note="Covering for me")

    assert set(notices()) == {"bob"}


def test_nobody_on_call_in_the_span_means_only_the_new_person_is_told(manager, carol):
    contact(carol)
    empty = weekly_schedule([], start=MONDAYS_NINE_UTC, team=TeamFactory(name="Ops"))

    override(manager, empty, carol)

    assert set(notices()) == {"carol"}


def test_a_notice_prefers_email_then_slack_and_never_calls(manager, weekly, alice, bob, carol):
    contact(alice, kind=ContactKind.VOICE)
    contact(alice, kind=ContactKind.SLACK)
    contact(alice)  # email, added last, still first choice
    contact(carol, kind=ContactKind.VOICE)

    override(manager, weekly, carol)

    sent = notices()
    assert sent["alice"].contact_method.kind == ContactKind.EMAIL
    assert "carol" not in sent, "a voice call is not a notice"


def test_an_unverified_or_disabled_method_is_not_used_for_a_notice(manager, weekly, alice, carol):
    contact(alice, verified=False)
    disabled = contact(alice, kind=ContactKind.SMS)
    disabled.disabled_at = timezone.now()
    disabled.save(update_fields=["disabled_at"])

    override(manager, weekly, carol)

    assert "alice" not in notices()


def test_notices_wait_for_the_tick_as_every_notification_does(manager, weekly, alice, carol):
    contact(alice)

    override(manager, weekly, carol)

    notice = notices()["alice"]
    assert notice.state == "pending"
    assert notice.due_at <= timezone.now()


def test_an_override_is_logged_with_who_it_replaces_and_who_added_it(
    manager, weekly, alice, carol, caplog
):
    with caplog.at_level(logging.INFO, logger="oncall.services.rotations"):
        made = override(manager, weekly, carol)

    [record] = [r for r in caplog.records if r.getMessage().startswith("override ")]
    assert record.levelno == logging.INFO
    assert record.getMessage() == (
        f"override {made.pk} on schedule {weekly.pk}: carol on call "
        "2025-01-08T09:00:00+00:00 to 2025-01-09T09:00:00+00:00 "
        f"in place of {alice.pk}, added by Mona Manager"
    )


def test_the_schedule_page_hides_add_override_from_a_responder_of_another_team(
    client, responder, weekly
):
    client.force_login(responder)

    page = client.get(f"/schedules/{weekly.pk}/").content.decode()
    form = client.get(f"/schedules/{weekly.pk}/overrides/new")

    assert "Add override" not in page
    assert form.status_code == 403


def test_the_schedule_page_offers_add_override_to_a_teammate(client, teammate, weekly):
    client.force_login(teammate)

    assert "Add override" in client.get(f"/schedules/{weekly.pk}/").content.decode()


def test_a_viewer_is_refused_an_override_whatever_their_team(client, weekly):
    viewer = UserFactory(username="val", role=Role.VIEWER)
    weekly.team.members.add(viewer)
    client.force_login(viewer)

    assert client.get(f"/schedules/{weekly.pk}/overrides/new").status_code == 403


def test_the_system_adds_an_override_and_tells_everyone_it_concerns(alice, weekly, carol):
    contact(alice)
    contact(carol)

    made = override(SYSTEM, weekly, carol)

    assert made.created_by is None
    assert set(notices()) == {"alice", "carol"}
    assert "Tocsin added an override" in notices()["carol"].body


def test_only_its_author_or_a_manager_removes_an_override(teammate, manager, weekly, carol):
    made = override(teammate, weekly, carol)
    stranger = UserFactory(username="sam", role=Role.RESPONDER)

    with pytest.raises(PermissionDenied, match="only change your own"):
        rotations.override_delete(actor=stranger, override=made)
    rotations.override_delete(actor=manager, override=made)

    assert not ScheduleOverride.objects.exists()


def test_a_deactivated_manager_may_not_remove_an_override(teammate, manager, weekly, carol):
    made = override(teammate, weekly, carol)
    manager.is_active = False
    manager.save(update_fields=["is_active"])

    with pytest.raises(PermissionDenied, match="only change your own"):
        rotations.override_delete(actor=manager, override=made)

    assert ScheduleOverride.objects.exists()


def test_the_system_removes_any_override(teammate, weekly, carol):
    made = override(teammate, weekly, carol)

    rotations.override_delete(actor=SYSTEM, override=made)

    assert not ScheduleOverride.objects.exists()
