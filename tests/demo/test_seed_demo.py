from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Max, Min
from django.test import TestCase, override_settings
from django.utils import timezone

from accounts.models import Role, User
from demo.catalog import DEMO_PASSWORD
from incidents import selectors
from incidents.models import (
    EventKind,
    Incident,
    RoleKind,
    Service,
    Status,
    Team,
    TimelineEvent,
)


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


class SeedDemoTests(TestCase):
    """Seeding takes seconds, so the class seeds once and each test reads inside a savepoint."""

    output: str

    @classmethod
    def setUpTestData(cls) -> None:
        cls.output = seed()

    def test_demo_has_a_user_for_every_role_who_can_sign_in(self):
        users = {user.username: user for user in User.objects.all()}
        assert {user.role for user in users.values()} == set(Role.values)
        assert users["admin"].is_staff and users["admin"].is_superuser
        assert not users["viewer"].is_staff
        assert all(user.check_password(DEMO_PASSWORD) for user in users.values())

    def test_demo_has_two_teams_and_five_services_some_public(self):
        assert set(Team.objects.values_list("name", flat=True)) == {"Payments", "Platform"}
        services = Service.objects.all()
        assert len(services) == 5
        assert all(service.team is not None for service in services)
        assert 0 < sum(service.public for service in services) < 5

    def test_demo_history_spans_six_months_with_one_open_incident(self):
        now = timezone.now()
        span = Incident.objects.aggregate(first=Min("declared_at"), last=Max("declared_at"))
        assert now - span["first"] > timedelta(days=120)
        assert now - span["first"] < timedelta(days=181)
        assert Incident.objects.count() == 41
        open_incident = Incident.objects.exclude(status=Status.RESOLVED).get()
        assert open_incident.status == Status.INVESTIGATING
        assert open_incident.commander is not None
        severities = Incident.objects.values("severity__name").annotate(n=Count("id"))
        assert {row["severity__name"] for row in severities} == {"SEV1", "SEV2", "SEV3", "SEV4"}
        assert Incident.objects.filter(private=True).exists()

    def test_demo_timelines_read_in_order_and_match_the_incident_stamps(self):
        now = timezone.now()
        for incident in Incident.objects.prefetch_related("timeline", "updates", "roles"):
            events = sorted(incident.timeline.all(), key=lambda event: event.pk)
            times = [event.occurred_at for event in events]
            assert times == sorted(times), f"{incident.ref}: steps stay in the order made"
            assert times[-1] < now
            assert events[0].kind == EventKind.DECLARED
            assert times[0] == incident.declared_at
            assert incident.started_at <= incident.detected_at <= incident.declared_at
            assert incident.acknowledged_at is not None
            assert any(role.role == RoleKind.COMMANDER for role in incident.roles.all())
            assert incident.updates.exists()
            assert {event.kind for event in events} >= {EventKind.NOTE, EventKind.STATUS_UPDATE}
            if incident.status == Status.RESOLVED:
                resolved = next(event for event in events if event.kind == EventKind.RESOLVED)
                assert resolved.occurred_at == incident.resolved_at
                assert incident.mitigated_at is not None
                assert incident.acknowledged_at <= incident.mitigated_at <= incident.resolved_at

    def test_demo_durations_are_realistic(self):
        for incident in Incident.objects.filter(status=Status.RESOLVED):
            duration = incident.time_to_resolve
            assert duration is not None
            assert timedelta(minutes=20) < duration < timedelta(days=2), incident.ref
        sev1 = Incident.objects.filter(severity__name="SEV1", status=Status.RESOLVED)
        assert all(incident.time_to_resolve < timedelta(hours=8) for incident in sev1)  # type: ignore[operator]

    def test_viewer_does_not_see_the_private_demo_incidents(self):
        viewer = User.objects.get(username="viewer")
        visible = selectors.incident_list(user=viewer)
        assert visible.count() == Incident.objects.filter(private=False).count()

    def test_seeding_twice_keeps_the_first_data(self):
        assert "Created demo users" in self.output
        counts = (Incident.objects.count(), TimelineEvent.objects.count(), User.objects.count())
        assert "already present" in seed()
        assert (
            Incident.objects.count(),
            TimelineEvent.objects.count(),
            User.objects.count(),
        ) == counts

    @override_settings(PRODUCTION=True)
    def test_seed_demo_refuses_production(self):
        users = User.objects.count()
        with pytest.raises(CommandError, match="production"):
            seed()
        assert User.objects.count() == users


class SeedDemoPostmortemTests(TestCase):
    """The demo shows postmortems as a team would leave them: drafts, one in review, one
    published, with action items in every state."""

    @classmethod
    def setUpTestData(cls) -> None:
        seed()

    def test_every_resolved_public_sev1_and_sev2_has_a_postmortem(self):
        from postmortems.models import Postmortem

        wanted = Incident.objects.filter(
            severity__name__in=["SEV1", "SEV2"], status=Status.RESOLVED, private=False
        )
        self.assertTrue(wanted.exists())
        self.assertEqual(
            set(wanted.values_list("pk", flat=True)),
            set(Postmortem.objects.values_list("incident_id", flat=True)),
        )

    def test_one_postmortem_is_published_and_one_in_review_with_action_items(self):
        from postmortems.models import ActionItem, Postmortem, PostmortemStatus

        statuses = list(Postmortem.objects.values_list("status", flat=True))
        self.assertEqual(statuses.count(PostmortemStatus.PUBLISHED), 1)
        self.assertEqual(statuses.count(PostmortemStatus.IN_REVIEW), 1)
        items = ActionItem.objects.all()
        self.assertEqual(items.count(), 6)
        self.assertEqual({item.status for item in items}, {"open", "done"})
        self.assertTrue(any(item.due_date < timezone.now().date() for item in items))
