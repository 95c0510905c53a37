"""/status/manage/: managers schedule and cancel maintenance and arrange components and
groups; others are refused. And the admin's pages for the status page's rows."""

from datetime import timedelta

import pytest
from django.urls import reverse

from statuspage.models import (
    Component,
    ComponentGroup,
    Maintenance,
    MaintenanceStatus,
    PublicIncident,
)
from statuspage.services.maintenance import maintenance_schedule
from tests.factories import UserFactory, declare
from tests.statuspage.factories import component, post_public

MANAGE = reverse("statuspage:manage")


@pytest.fixture
def managing(client, manager):
    client.force_login(manager)
    return client


def _window(clock, api):
    return {
        "name": "Upgrade",
        "message": "Brief slowness.",
        "scheduled_for": (clock.now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "scheduled_until": (clock.now + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
        "components": [component(api).pk],
    }


def test_the_manage_page_lists_components_for_managers(
    managing, api, web, django_assert_max_num_queries
):
    with django_assert_max_num_queries(15):
        response = managing.get(MANAGE)
    assert response.status_code == 200
    assert "API" in response.content.decode() and "Website" in response.content.decode()


def test_responders_may_not_manage(client, responder, api):
    client.force_login(responder)
    assert client.get(MANAGE).status_code == 403
    assert client.post(reverse("statuspage:group-create"), {"name": "Core"}).status_code == 403
    assert not ComponentGroup.objects.exists()


def test_scheduling_from_the_page(clock, managing, api):
    response = managing.post(reverse("statuspage:maintenance-create"), _window(clock, api))
    assert response.status_code == 302
    maintenance = Maintenance.objects.get()
    assert list(maintenance.components.all()) == [component(api)]
    assert maintenance.timers.count() == 3


def test_a_bad_window_is_a_400_and_schedules_nothing(clock, managing, api):
    data = _window(clock, api)
    data["scheduled_until"] = data["scheduled_for"]
    response = managing.post(reverse("statuspage:maintenance-create"), data)
    assert response.status_code == 400
    assert "must end after it starts" in response.content.decode()
    assert not Maintenance.objects.exists()


def test_cancelling_from_the_page(clock, managing, manager, api):
    maintenance = maintenance_schedule(
        actor=manager,
        name="Upgrade",
        message="m",
        scheduled_for=clock.now + timedelta(hours=2),
        scheduled_until=clock.now + timedelta(hours=3),
        components=[component(api)],
    )
    response = managing.post(reverse("statuspage:maintenance-cancel", args=[maintenance.code]))
    assert response.status_code == 302
    maintenance.refresh_from_db()
    assert maintenance.status == MaintenanceStatus.CANCELLED
    # Completing a window that never started is refused with a message, not an error page.
    response = managing.post(
        reverse("statuspage:maintenance-complete", args=[maintenance.code]), follow=True
    )
    assert "Only a maintenance in progress can be completed." in response.content.decode()


def test_arranging_groups_and_components(managing, api):
    assert (
        managing.post(
            reverse("statuspage:group-create"), {"name": "Core", "position": 1}
        ).status_code
        == 302
    )
    group = ComponentGroup.objects.get()
    response = managing.post(
        reverse("statuspage:component-edit", args=[component(api).code]),
        {"public_name": "Public API", "description": "REST", "group": group.pk, "position": 3},
    )
    assert response.status_code == 302
    saved = Component.objects.get(service=api)
    assert (saved.public_name, saved.group, saved.position) == ("Public API", group, 3)
    duplicate = managing.post(reverse("statuspage:group-create"), {"name": "Core", "position": 0})
    assert duplicate.status_code == 400
    assert "Another group has this name." in duplicate.content.decode()
    managing.post(reverse("statuspage:group-delete", args=[group.code]))
    assert Component.objects.get(service=api).group is None


def test_a_position_out_of_range_is_a_form_error(managing, api):
    huge = {"name": "Core", "position": 99_999_999_999}
    response = managing.post(reverse("statuspage:group-create"), huge)
    assert response.status_code == 400
    assert "less than or equal to 10000" in response.content.decode()
    assert not ComponentGroup.objects.exists()
    response = managing.post(
        reverse("statuspage:component-edit", args=[component(api).code]),
        {"public_name": "", "description": "", "group": "", "position": 99_999_999_999},
    )
    assert response.status_code == 400
    assert Component.objects.get(service=api).position == 0


def test_the_admin_lists_the_status_pages_rows(client, api, commander, events_run):
    with events_run():
        incident = declare(commander, services=[api], severity_name="SEV2")
        post_public(incident, commander)
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    for model in ("component", "componentstatechange", "publicincident", "maintenance"):
        assert client.get(reverse(f"admin:statuspage_{model}_changelist")).status_code == 200
    public = PublicIncident.objects.get()
    url = reverse("admin:statuspage_publicincident_change", args=[public.pk])
    assert client.get(url).status_code == 200
