"""The demo's status page looks alive: grouped components with half a year of history that
agrees with the demo's public incidents, those incidents published under public names at the
times they happened, a maintenance done and one coming."""

import itertools

from django.test import Client, TestCase
from django.utils import timezone

from incidents.models import Incident, Status, StatusUpdate
from statuspage.models import (
    IMPACT_STATE,
    Component,
    ComponentGroup,
    ComponentState,
    ComponentStateChange,
    Maintenance,
    MaintenanceStatus,
    PublicIncident,
    PublicUpdate,
)
from tests.demo.test_seed_demo import seed


class SeedDemoStatusPageTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        seed()

    def test_public_services_are_grouped_in_order_under_public_names(self):
        groups = [
            (group.name, [str(c) for c in group.components.order_by("position")])
            for group in ComponentGroup.objects.order_by("position")
        ]
        assert groups == [
            ("Payments", ["Checkout", "Card payments"]),
            ("Developer platform", ["Public API"]),
        ]
        assert not Component.objects.filter(group__isnull=True, service__public=True).exists()

    def test_every_public_incident_is_published_at_the_times_it_happened(self):
        published = {pi.incident_id: pi for pi in PublicIncident.objects.all()}
        wanted = Incident.objects.filter(
            private=False, updates__public=True, services__public=True
        ).distinct()
        assert set(published) == set(wanted.values_list("pk", flat=True))
        assert len(published) > 10
        for incident in wanted:
            pi = published[incident.pk]
            first = incident.updates.filter(public=True).order_by("posted_at").first()
            assert first is not None
            assert pi.created_at == first.posted_at, incident.ref
            assert pi.resolved_at == incident.resolved_at, incident.ref
        for update in PublicUpdate.objects.exclude(status_update=None):
            posted = StatusUpdate.objects.get(pk=update.status_update_id).posted_at
            assert update.created_at == posted

    def test_some_incidents_are_published_under_a_public_name(self):
        renamed = [
            (pi.incident.title, pi.name)
            for pi in PublicIncident.objects.select_related("incident")
            if pi.name != pi.incident.title
        ]
        assert ("Card authorisations timing out", "Card payments failing") in renamed

    def test_nothing_private_or_internal_is_published(self):
        assert not PublicIncident.objects.filter(incident__private=True).exists()
        assert not PublicUpdate.objects.filter(status_update__public=False).exists()

    def test_component_history_is_unbroken_and_agrees_with_the_incidents(self):
        now = timezone.now()
        first_incident = Incident.objects.order_by("started_at").first()
        assert first_incident is not None
        for component in Component.objects.filter(service__public=True):
            spans = list(component.spans.order_by("started_at", "id"))
            assert spans[0].started_at < first_incident.started_at
            for before, after in itertools.pairwise(spans):
                assert before.ended_at == after.started_at, component
            assert spans[-1].ended_at is None
            assert all(span.started_at <= now for span in spans)
        for pi in PublicIncident.objects.filter(resolved_at__isnull=False).exclude(impact="none"):
            for component in pi.components.all():
                during = ComponentStateChange.objects.filter(
                    component=component,
                    started_at__gte=pi.created_at,
                    started_at__lt=pi.resolved_at,
                )
                assert IMPACT_STATE[pi.impact] in {span.state for span in during}, pi.name

    def test_the_open_incident_shows_on_its_component(self):
        incident = Incident.objects.exclude(status=Status.RESOLVED).get()
        pi = PublicIncident.objects.get(incident=incident)
        (component,) = pi.components.all()
        assert component.state == IMPACT_STATE[pi.impact]
        assert component.state_since == pi.created_at < timezone.now()

    def test_a_maintenance_was_completed_and_one_is_coming(self):
        now = timezone.now()
        done = Maintenance.objects.get(status=MaintenanceStatus.COMPLETED)
        assert done.started_at == done.scheduled_for
        assert done.completed_at == done.scheduled_until < now
        (component,) = done.components.all()
        assert component.spans.filter(
            state=ComponentState.UNDER_MAINTENANCE,
            started_at=done.started_at,
            ended_at=done.completed_at,
        ).exists()
        coming = Maintenance.objects.get(status=MaintenanceStatus.SCHEDULED)
        assert coming.scheduled_for > now

    def test_the_public_page_shows_groups_the_open_incident_and_the_coming_maintenance(self):
        body = Client().get("/status/").content.decode()
        for text in (
            "Payments",
            "Developer platform",
            "Card payments",
            "Active incidents",
            "Elevated error rate on wallet payments",
            "Scheduled maintenance",
            "Payment database upgrade",
        ):
            assert text in body, text

    def test_the_history_shows_past_incidents_by_month(self):
        latest = (
            PublicIncident.objects.filter(resolved_at__isnull=False).order_by("-started_at").first()
        )
        assert latest is not None
        month = timezone.localtime(latest.started_at).strftime("%Y-%m")
        response = Client().get(f"/status/history/{month}/")
        assert response.status_code == 200
        assert latest.name in response.content.decode()
