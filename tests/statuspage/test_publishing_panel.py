"""The communications lead's panel on the incident page: a public update with the public name
and per-component overrides, in one go, through the Django test client."""

from django.urls import reverse

from incidents.models import StatusUpdate
from statuspage.models import ComponentOverride, ComponentState, PublicIncident, PublicUpdate
from tests.factories import declare
from tests.statuspage.factories import component, state

DEGRADED = ComponentState.DEGRADED_PERFORMANCE
PARTIAL = ComponentState.PARTIAL_OUTAGE


def _url(incident):
    return reverse("statuspage:incident-public-update", args=[incident.number])


def _post(client, incident, message="We are on it.", **fields):
    return client.post(_url(incident), {"message": message, **fields})


def test_the_panel_shows_each_component_with_its_override_select(client, commander, api):
    incident = declare(commander, services=[api], severity_name="SEV3")
    client.force_login(commander)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert 'id="statuspage-panel"' in page
    assert f'name="override_{component(api).pk}"' in page
    assert "Follow severity" in page
    assert "Not on the status page" in page


def test_the_panel_is_not_shown_to_who_may_not_respond(client, commander, viewer, api):
    incident = declare(commander, services=[api])
    client.force_login(viewer)
    assert 'id="statuspage-panel"' not in client.get(incident.get_absolute_url()).content.decode()
    assert _post(client, incident).status_code == 403
    assert not StatusUpdate.objects.exists()


def test_posting_publishes_with_the_public_name_and_an_override(client, commander, api, web):
    incident = declare(
        commander, title="DB primary lost", services=[api, web], severity_name="SEV3"
    )
    client.force_login(commander)
    response = _post(
        client,
        incident,
        name="Slow responses",
        **{f"override_{component(api).pk}": PARTIAL, f"override_{component(web).pk}": ""},
    )
    assert response.status_code == 302
    assert response["Location"] == incident.get_absolute_url()
    public = PublicIncident.objects.get()
    assert public.name == "Slow responses"
    assert (state(api), state(web)) == (PARTIAL, DEGRADED)
    (update,) = PublicUpdate.objects.all()
    assert update.body == "We are on it."
    assert {a["name"]: a["new_status"] for a in update.affected_components} == {
        "API": PARTIAL,
        "Website": DEGRADED,
    }
    assert StatusUpdate.objects.get().public


def test_clearing_an_override_follows_the_severity_again(client, commander, api):
    incident = declare(commander, services=[api], severity_name="SEV3")
    client.force_login(commander)
    _post(client, incident, **{f"override_{component(api).pk}": PARTIAL})
    assert state(api) == PARTIAL
    _post(client, incident, "Better now.", **{f"override_{component(api).pk}": ""})
    assert state(api) == DEGRADED
    assert not ComponentOverride.objects.exists()
    assert (
        PublicUpdate.objects.order_by("id").last().affected_components[0]["old_status"] == PARTIAL
    )


def test_a_private_incident_is_refused_with_a_form_error(client, commander, api):
    incident = declare(commander, services=[api], private=True)
    client.force_login(commander)
    response = _post(client, incident)
    assert response.status_code == 400
    assert "private incident cannot have public status updates" in response.content.decode()
    assert not StatusUpdate.objects.exists()
    assert not PublicIncident.objects.exists()


def test_bad_input_is_a_400_and_writes_nothing(client, commander, api):
    incident = declare(commander, services=[api], severity_name="SEV3")
    client.force_login(commander)
    for fields in (
        {"message": ""},
        {f"override_{component(api).pk}": "under_maintenance"},
        {"name": "x" * 201},
    ):
        response = client.post(_url(incident), {"message": "Text.", **fields})
        assert response.status_code == 400
    assert not StatusUpdate.objects.exists()
    assert not PublicIncident.objects.exists()
    assert state(api) == "operational"


def test_an_htmx_post_gets_the_panel_back(client, commander, api):
    incident = declare(commander, services=[api], severity_name="SEV3")
    client.force_login(commander)
    response = client.post(
        _url(incident), {"message": "On it.", "name": "Slow API"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count('id="statuspage-panel"') == 1
    assert "Shown as <strong>Slow API</strong>" in body


def test_the_composers_public_audience_still_publishes(client, commander, api, events_run):
    incident = declare(commander, services=[api], severity_name="SEV2")
    client.force_login(commander)
    with events_run():
        response = client.post(
            reverse("incidents:update", args=[incident.number]),
            {"message": "Public words.", "audience": "public", "confirm_public": "on"},
        )
    assert response.status_code == 302
    assert PublicUpdate.objects.get().body == "Public words."
    assert state(api) == PARTIAL


def test_the_panel_costs_a_few_queries_whatever_the_components(
    commander, api, web, django_assert_num_queries, rf
):
    from incidents.selectors import incident_get_for_user
    from statuspage.panels import incident_statuspage_context

    incident = declare(commander, services=[api, web], severity_name="SEV3")
    client_request = rf.get("/")
    client_request.user = commander
    fetched = incident_get_for_user(user=commander, number=incident.number)
    # The public incident and the components (no overrides before anything is published).
    with django_assert_num_queries(2):
        incident_statuspage_context(fetched, client_request)
