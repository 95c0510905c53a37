"""The Django admin shows incidents read-only: they change through the services."""

import pytest
from django.contrib.admin.sites import site
from django.urls import reverse

from incidents.models import Incident
from tests.factories import UserFactory, declare

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_incidents_cannot_be_deleted_in_the_admin(superuser_client, responder):
    incident = declare(responder)
    url = reverse("admin:incidents_incident_delete", args=[incident.pk])

    response = superuser_client.post(url, {"post": "yes"})

    assert response.status_code == 403
    assert Incident.objects.filter(pk=incident.pk).exists()


def test_the_incident_list_offers_no_bulk_delete(rf, responder):
    request = rf.get("/admin/incidents/incident/")
    request.user = UserFactory(username="root", is_staff=True, is_superuser=True)

    actions = site.get_model_admin(Incident).get_actions(request)

    assert "delete_selected" not in actions
