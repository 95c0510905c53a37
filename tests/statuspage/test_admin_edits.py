"""Edits made in Django's admin reach the public page at once: no cached render or ETag
outlives them, and the components' states follow what was saved (statuspage.admin)."""

from typing import Any

import pytest
from django.forms import MultiWidget
from django.test import Client
from django.urls import reverse

from statuspage import tasks
from statuspage.models import ComponentState, PublicIncident
from tests.factories import UserFactory, declare
from tests.statuspage.factories import (
    MAINTENANCE_START,
    component,
    database_upgrade,
    post_public,
    state,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client() -> Client:
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def as_posted(change_page: Any) -> dict[str, Any]:
    """What the admin's change form posts when nothing in it is changed."""
    forms = [change_page.context["adminform"].form]
    for inline in change_page.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    data: dict[str, Any] = {}
    for form in forms:
        for field in form:
            value = field.value()
            if isinstance(field.field.widget, MultiWidget):
                for index, part in enumerate(field.field.widget.decompress(value)):
                    data[f"{field.html_name}_{index}"] = "" if part is None else part
            elif value is True:
                data[field.html_name] = "on"
            elif value is not False:
                data[field.html_name] = "" if value is None else value
    return data


def admin_change(client: Client, model: str, pk: int, **changes: Any) -> None:
    url = reverse(f"admin:statuspage_{model}_change", args=[pk])
    data = {**as_posted(client.get(url)), **changes}
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]


def test_a_component_renamed_in_the_admin_is_shown_at_once(api, superuser_client, events_run):
    public = Client()
    first = public.get("/status/")
    assert first.status_code == 200

    with events_run():
        admin_change(superuser_client, "component", component(api).pk, public_name="Public API")

    again = public.get("/status/", headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 200
    assert "Public API" in again.content.decode()


def test_an_incident_withdrawn_in_the_admin_leaves_the_page_and_its_state(
    api, commander, superuser_client, events_run
):
    with events_run():
        incident = declare(commander, services=[api], severity_name="SEV1")
        post_public(incident, commander)
    public_incident = PublicIncident.objects.get()
    public_incident.name = "Checkout is failing"
    public_incident.save(update_fields=["name"])
    public = Client()
    first = public.get("/status/")
    assert "Checkout is failing" in first.content.decode()
    assert state(api) == ComponentState.MAJOR_OUTAGE

    with events_run():
        admin_change(superuser_client, "publicincident", public_incident.pk, withdrawn="on")

    again = public.get("/status/", headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 200
    assert "Checkout is failing" not in again.content.decode()
    assert state(api) == ComponentState.OPERATIONAL


def test_a_maintenance_is_not_edited_in_the_admin(
    clock, api, web, manager, superuser_client, events_run
):
    # /status/manage/ edits a window: it leaves an update and tells the subscribers once. An
    # edit in the admin would do neither, so the admin shows the window and its components
    # and takes no change to them.
    with events_run():
        window = database_upgrade(manager, api)
    clock.now = MAINTENANCE_START
    tasks.tick(now=MAINTENANCE_START)
    updates = window.updates.count()

    with events_run():
        admin_change(
            superuser_client,
            "maintenance",
            window.pk,
            name="Renamed",
            components=[component(web).pk],
        )

    window.refresh_from_db()
    assert window.name != "Renamed"
    assert list(window.components.all()) == [component(api)]
    assert window.updates.count() == updates
    assert state(api) == ComponentState.UNDER_MAINTENANCE
    assert state(web) == ComponentState.OPERATIONAL


def test_an_incident_deleted_in_the_admin_leaves_the_page_and_its_state(
    api, commander, superuser_client, events_run
):
    with events_run():
        post_public(declare(commander, services=[api], severity_name="SEV1"), commander)
    public_incident = PublicIncident.objects.get()
    first = Client().get("/status/")
    url = reverse("admin:statuspage_publicincident_delete", args=[public_incident.pk])

    with events_run():
        assert superuser_client.post(url, {"post": "yes"}).status_code == 302

    again = Client().get("/status/", headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 200
    assert state(api) == ComponentState.OPERATIONAL


def test_incidents_deleted_from_the_admin_list_leave_the_page_and_their_states(
    api, commander, superuser_client, events_run
):
    with events_run():
        post_public(declare(commander, services=[api], severity_name="SEV1"), commander)
    first = Client().get("/status/")

    with events_run():
        response = superuser_client.post(
            reverse("admin:statuspage_publicincident_changelist"),
            {
                "action": "delete_selected",
                "_selected_action": [PublicIncident.objects.get().pk],
                "post": "yes",
            },
        )
    assert response.status_code == 302

    assert not PublicIncident.objects.exists()
    again = Client().get("/status/", headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 200
    assert state(api) == ComponentState.OPERATIONAL
