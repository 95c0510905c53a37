"""A component's hosted Statuspage id is set at /status/manage/ as in the admin: the
column's length at most, blank for none."""

import pytest
from django.urls import reverse

from statuspage.models import Component
from tests.statuspage.factories import component


@pytest.fixture
def managing(client, manager):
    client.force_login(manager)
    return client


def edit(managing, api, hosted_id: str):
    return managing.post(
        reverse("statuspage:component-edit", args=[component(api).code]),
        {"public_name": "", "description": "", "position": 0, "hosted_component_id": hosted_id},
    )


def test_the_hosted_id_is_set_from_the_manage_page(managing, api):
    response = edit(managing, api, " 8kbf7d35c070 ")
    assert response.status_code == 302
    assert Component.objects.get(service=api).hosted_component_id == "8kbf7d35c070"
    page = managing.get(reverse("statuspage:component-edit", args=[component(api).code]))
    assert 'value="8kbf7d35c070"' in page.content.decode()


def test_a_blank_hosted_id_takes_the_component_out_of_the_push(managing, api):
    edit(managing, api, "8kbf7d35c070")
    assert edit(managing, api, "").status_code == 302
    assert Component.objects.get(service=api).hosted_component_id == ""


def test_a_hosted_id_longer_than_the_column_is_a_400_and_saves_nothing(managing, api):
    response = edit(managing, api, "x" * 65)
    assert response.status_code == 400
    assert "at most 64 characters" in response.content.decode()
    assert Component.objects.get(service=api).hosted_component_id == ""
