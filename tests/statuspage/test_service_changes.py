"""A service's own edits reach the page: made private or renamed, no cached render or ETag
outlives the change (the component row itself does not change, so nothing else would tell)."""

from django.test import Client
from django.urls import reverse

from statuspage.models import ComponentState, PublicIncident
from tests.factories import declare
from tests.statuspage.factories import component, post_public, state


def components_json(client: Client, **headers: str):
    return client.get(reverse("statuspage:api-components"), headers=headers)


def names(response) -> list[str]:
    return [c["name"] for c in response.json()["components"]]


def test_a_service_made_private_leaves_the_page_at_once(api, web, client, events_run):
    first = components_json(client)
    assert names(first) == ["API", "Website"]
    with events_run():
        web.public = False
        web.save()
    again = components_json(client, if_none_match=first["ETag"])
    assert again.status_code == 200
    assert names(again) == ["API"]


def test_a_renamed_service_is_shown_under_its_new_name_at_once(api, client, events_run):
    first = components_json(client)
    with events_run():
        api.name = "Public API"
        api.save()
    again = components_json(client, if_none_match=first["ETag"])
    assert again.status_code == 200
    assert names(again) == ["Public API"]


def test_a_service_saved_unchanged_keeps_the_etag(api, client, events_run):
    first = components_json(client)
    with events_run():
        api.description = "Our REST API"
        api.save()
    assert components_json(client, if_none_match=first["ETag"]).status_code == 304


def test_a_service_made_private_leaves_its_open_incident_and_its_state(
    api, web, commander, events_run
):
    with events_run():
        incident = declare(commander, services=[api, web], severity_name="SEV1")
        post_public(incident, commander)
    assert state(web) == ComponentState.MAJOR_OUTAGE
    with events_run():
        web.public = False
        web.save()
    assert list(PublicIncident.objects.get().components.all()) == [component(api)]
    assert state(web) == ComponentState.OPERATIONAL
    assert state(api) == ComponentState.MAJOR_OUTAGE
