"""The integrations API: a manager connects a source and gets its token once."""

import json

import pytest
from django.conf import settings

from alerts.models import Alert, Integration, IntegrationKind, hash_token
from tests.alerts.factories import make_integration
from tests.factories import TeamFactory, UserFactory
from tests.incidents.api_support import API, api_client, assert_problem

INTEGRATIONS = f"{API}/integrations/"


def detail_url(integration: Integration, action: str = "") -> str:
    return f"{INTEGRATIONS}{integration.pk}/" + (f"{action}/" if action else "")


def alertmanager_payload() -> dict[str, object]:
    return {
        "version": "4",
        "status": "firing",
        "receiver": "tocsin",
        "groupKey": '{}:{alertname="DiskFull"}',
        "groupLabels": {"alertname": "DiskFull"},
        "commonLabels": {"alertname": "DiskFull"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "truncatedAlerts": 0,
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "DiskFull", "severity": "warning"},
                "annotations": {"summary": "Disk full on db-1"},
                "startsAt": "2026-01-01T00:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.example:9090/graph",
                "fingerprint": "aaaa1111bbbb2222",
            }
        ],
    }


def post_alertmanager(client, url: str, token: str):
    return client.post(
        url,
        data=json.dumps(alertmanager_payload()),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


@pytest.fixture
def team(db):
    return TeamFactory(name="Payments", slug="payments")


def create(user, **body):
    body = {"name": "Prometheus", "kind": "alertmanager", "team": "payments", **body}
    return api_client(user).post(INTEGRATIONS, body)


def test_create_answers_the_token_once_and_stores_only_its_hash(manager, team):
    response = create(manager)

    assert response.status_code == 201, response.content
    body = response.json()
    integration = Integration.objects.get()
    assert body["id"] == integration.pk
    assert body["kind"] == "alertmanager"
    assert body["team"] == "payments"
    assert body["token_prefix"] == body["token"][:8]
    assert integration.token_hash == hash_token(body["token"])
    assert body["token"] not in json.dumps(list(Integration.objects.values()), default=str)
    assert response["Location"] == detail_url(integration)


def test_reads_never_show_the_token_again(manager, team):
    token = create(manager).json()["token"]
    integration = Integration.objects.get()
    client = api_client(manager)

    listed = client.get(INTEGRATIONS)
    shown = client.get(detail_url(integration))

    assert token not in listed.content.decode()
    assert token not in shown.content.decode()
    assert "token" not in shown.json()
    assert shown.json()["token_prefix"] == token[:8]


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("alertmanager", "/hooks/alertmanager/"),
        ("events_v2", "/hooks/events/v2/enqueue"),
        ("generic", "/hooks/generic/"),
    ],
)
def test_url_is_the_sources_webhook_without_the_token(manager, team, kind, path):
    body = create(manager, kind=kind).json()

    assert body["url"] == f"{settings.BASE_URL}{path}"
    assert body["token"] not in body["url"]


def test_generic_url_takes_the_token_as_a_bearer_header(client, manager, team):
    body = create(manager, kind="generic").json()

    response = client.post(
        body["url"].removeprefix(settings.BASE_URL),
        {"title": "Disk full"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {body['token']}"},
    )

    assert response.status_code == 200, response.content
    assert Alert.objects.count() == 1


def test_created_token_authenticates_the_alertmanager_webhook(client, manager, team):
    body = create(manager).json()

    response = post_alertmanager(client, body["url"].removeprefix(settings.BASE_URL), body["token"])

    assert response.status_code == 200, response.content
    assert Alert.objects.get().integration_id == body["id"]


def test_rotating_the_token_invalidates_the_old_one(client, manager, team):
    old = create(manager).json()["token"]
    integration = Integration.objects.get()

    response = api_client(manager).post(detail_url(integration, "rotate-token"))

    assert response.status_code == 200, response.content
    new = response.json()["token"]
    assert new != old
    assert_problem(post_alertmanager(client, "/hooks/alertmanager/", old), 401)
    assert post_alertmanager(client, "/hooks/alertmanager/", new).status_code == 200
    integration.refresh_from_db()
    assert integration.token_hash == hash_token(new)
    assert integration.token_prefix == new[:8]


def test_pausing_makes_the_webhook_refuse_the_token(client, manager, team):
    token = create(manager).json()["token"]
    integration = Integration.objects.get()

    response = api_client(manager).patch(detail_url(integration), {"active": False})

    assert response.status_code == 200, response.content
    assert response.json()["active"] is False
    assert_problem(post_alertmanager(client, "/hooks/alertmanager/", token), 403)


def test_patch_changes_the_settings(manager, team):
    integration = make_integration(team=team)

    response = api_client(manager).patch(
        detail_url(integration),
        {
            "name": "Prod Prometheus",
            "severity_map": {"Page": "SEV1", "ticket": "SEV4"},
            "default_severity": "SEV3",
            "grouping_labels": ["service", "alertname", "cluster"],
            "group_window": 600,
            "auto_resolve": True,
            "max_incidents_per_minute": 5,
        },
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"] == "Prod Prometheus"
    assert body["severity_map"] == {"page": "SEV1", "ticket": "SEV4"}
    assert body["default_severity"] == "SEV3"
    assert body["grouping_labels"] == ["alertname", "cluster", "service"]
    assert body["group_window"] == 600
    integration.refresh_from_db()
    assert integration.group_window.total_seconds() == 600
    assert integration.auto_resolve is True
    assert integration.max_incidents_per_minute == 5


def test_kind_and_team_cannot_change(manager, team):
    integration = make_integration(team=team)

    response = api_client(manager).patch(detail_url(integration), {"kind": "generic"})

    body = assert_problem(response, 400)
    assert body["errors"] == {"kind": ["Unknown field."]}
    integration.refresh_from_db()
    assert integration.kind == IntegrationKind.ALERTMANAGER


def test_unknown_severity_in_the_map_is_refused_and_nothing_is_written(manager, team):
    response = create(manager, severity_map={"critical": "SEV9"})

    body = assert_problem(response, 400)
    assert list(body["errors"]) == ["severity_map"]
    assert "SEV9" in body["errors"]["severity_map"][0]
    assert not Integration.objects.exists()


def test_bad_grouping_labels_are_refused_and_nothing_changes(manager, team):
    integration = make_integration(team=team, name="Prometheus")

    response = api_client(manager).patch(
        detail_url(integration), {"name": "Renamed", "grouping_labels": ["service", "not a label"]}
    )

    body = assert_problem(response, 400)
    assert list(body["errors"]) == ["grouping_labels"]
    integration.refresh_from_db()
    assert integration.name == "Prometheus"
    assert integration.grouping_labels == ["alertname", "service"]


def test_create_needs_a_known_team_kind_and_name(manager, team):
    response = api_client(manager).post(INTEGRATIONS, {"kind": "nagios", "team": "nope"})

    body = assert_problem(response, 400)
    assert set(body["errors"]) == {"name", "kind", "team"}
    assert not Integration.objects.exists()


def test_group_window_is_bounded(manager, team):
    response = create(manager, group_window=8 * 24 * 3600)

    assert list(assert_problem(response, 400)["errors"]) == ["group_window"]


@pytest.mark.parametrize("persona", ["viewer", "responder"])
def test_viewers_and_responders_may_not_create_rotate_or_change(request, team, persona):
    user = request.getfixturevalue(persona)
    integration = make_integration(team=team, name="Prometheus")
    client = api_client(user)
    before = integration.token_hash

    assert_problem(create(user, name="Other"), 403)
    assert_problem(client.patch(detail_url(integration), {"name": "Hijacked"}), 403)
    assert_problem(client.post(detail_url(integration, "rotate-token")), 403)

    integration.refresh_from_db()
    assert Integration.objects.count() == 1
    assert integration.name == "Prometheus"
    assert integration.token_hash == before


def test_admins_may_create(admin_user, team):
    assert create(admin_user).status_code == 201


def test_responders_may_read_without_the_token(responder, team):
    integration = make_integration(team=team)
    client = api_client(responder)

    listed = client.get(INTEGRATIONS)
    shown = client.get(detail_url(integration))

    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()["results"]] == [integration.pk]
    assert shown.json()["token_prefix"] == integration.token_prefix


def test_viewers_may_not_read_integrations(viewer, team):
    integration = make_integration(team=team)
    client = api_client(viewer)

    assert_problem(client.get(INTEGRATIONS), 403)
    assert_problem(client.get(detail_url(integration)), 403)


def test_integrations_need_credentials(db):
    assert_problem(api_client().get(INTEGRATIONS), 401)


def test_unknown_integration_is_not_found(manager):
    assert_problem(api_client(manager).get(f"{INTEGRATIONS}999999/"), 404)


@pytest.mark.parametrize("rows", [1, 8])
def test_list_query_count_does_not_grow_with_rows(
    rows, manager, team, django_assert_max_num_queries
):
    for n in range(rows):
        make_integration(team=TeamFactory(name=f"Team {n}"), name=f"Source {n}")
    client = api_client(manager)

    with django_assert_max_num_queries(5):
        response = client.get(INTEGRATIONS)

    assert response.json()["count"] == rows


def test_the_system_may_create_integrations(team):
    # Seed data and commands act as SYSTEM, which passes every check.
    integration = make_integration(team=team)

    assert integration.pk is not None


def test_a_missing_actor_is_an_error_not_the_system(team):
    from alerts.services import integrations

    with pytest.raises(TypeError):
        integrations.integration_create(
            name="x", kind=IntegrationKind.GENERIC, team=team, actor=None
        )
    assert not Integration.objects.exists()


def test_a_responder_calling_the_service_is_refused(responder, team):
    from django.core.exceptions import PermissionDenied

    from alerts.services import integrations

    with pytest.raises(PermissionDenied):
        integrations.integration_create(
            name="x", kind=IntegrationKind.GENERIC, team=team, actor=responder
        )
    assert not Integration.objects.exists()


def test_schema_documents_the_integration_endpoints(db):
    schema = api_client(UserFactory(username="reader")).get(
        "/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    )

    paths = schema.json()["paths"]
    assert set(paths[f"{INTEGRATIONS}"]) >= {"get", "post"}
    assert set(paths[f"{INTEGRATIONS}{{id}}/"]) >= {"get", "patch"}
    assert "post" in paths[f"{INTEGRATIONS}{{id}}/rotate-token/"]


def test_a_generic_template_that_cannot_work_is_refused_and_nothing_is_written(manager, team):
    response = create(manager, kind="generic", title_template="{{ payload.title")

    body = assert_problem(response, 400)
    assert list(body["errors"]) == ["title_template"]
    assert not Integration.objects.exists()
