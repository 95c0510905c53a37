"""POST /hooks/generic/ (token as a bearer header, or in the path): any JSON, mapped by the
integration's sandboxed templates."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from accounts.actors import SYSTEM
from alerts.models import Alert, AlertStatus, IntegrationKind
from alerts.services.integrations import (
    integration_create,
    integration_update,
    validate_generic_templates,
)
from incidents.models import Incident, Status
from tests.alerts.hooks import GenericHook as Hook
from tests.alerts.hooks import fixture

GRAFANA = {
    "title_template": "{{ payload.rule.name }} on {{ payload.host }}",
    "dedup_key_template": "{{ payload.rule.uid }}-{{ payload.host }}",
    "severity_template": "{{ payload.level }}",
    "resolved_template": '{{ payload.state == "ok" }}',
}


@pytest.fixture
def hook(db: None, client: Client) -> Hook:
    return Hook(client)


@pytest.fixture
def grafana(db: None, client: Client) -> Hook:
    return Hook(client, **GRAFANA)


def test_a_delivery_is_answered_with_the_number_of_alerts_stored(hook):
    response = hook.post("plain")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "alerts": 1}


def test_without_templates_the_title_and_key_are_the_documents_title_and_id(hook):
    hook.post("plain")

    alert = Alert.objects.get()
    assert alert.title == "Nightly backup failed"
    assert alert.dedup_key == "backup-2026-11-24"
    assert alert.severity_hint == "error"
    assert alert.status == AlertStatus.FIRING


def test_without_a_title_the_alert_is_named_after_the_integration(hook):
    hook.post({"message": "something happened"})

    assert Alert.objects.get().title == "Alert from Grafana"


def test_without_an_id_the_same_document_resent_later_is_the_same_alert(hook):
    hook.post({"check": "disk", "host": "web-3", "timestamp": "2026-11-24T01:00:00Z"})

    hook.post({"check": "disk", "host": "web-3", "timestamp": "2026-11-24T01:05:00Z"})

    assert Alert.objects.get().times_seen == 2


def test_without_an_id_different_documents_are_different_alerts(hook):
    hook.post({"check": "disk", "host": "web-3"})

    hook.post({"check": "disk", "host": "web-4"})

    assert Alert.objects.count() == 2


def test_without_templates_a_resolved_status_resolves_the_alert(hook):
    hook.post({"check": "disk", "host": "web-3", "status": "firing"})

    hook.post({"check": "disk", "host": "web-3", "status": "resolved"})

    assert Alert.objects.get().status == AlertStatus.RESOLVED


def test_top_level_scalar_fields_become_labels_for_grouping(hook):
    hook.post("plain")

    assert Alert.objects.get().labels == {
        "title": "Nightly backup failed",
        "id": "backup-2026-11-24",
        "severity": "error",
        "service": "backups",
    }


def test_templates_map_the_title_key_and_severity(grafana):
    grafana.post("grafana_firing")

    alert = Alert.objects.get()
    assert alert.title == "High latency on api-1"
    assert alert.dedup_key == "latency-p99-api-1"
    assert alert.severity_hint == "critical"
    assert alert.status == AlertStatus.FIRING


def test_the_mapped_severity_rates_the_incident(grafana):
    grafana.deliver("grafana_firing")

    assert Incident.objects.get().severity.name == "SEV1"


def test_the_resolved_template_resolves_the_alert_and_the_incident_follows(grafana):
    grafana.deliver("grafana_firing")

    grafana.deliver("grafana_ok")

    assert Alert.objects.get().status == AlertStatus.RESOLVED
    assert Incident.objects.get().status == Status.MONITORING


@pytest.mark.parametrize("rendered", ["true", "True", "1", "resolved", " RESOLVED "])
def test_these_renderings_of_the_resolved_template_mean_resolved(hook, rendered):
    integration_update(actor=SYSTEM, integration=hook.integration, resolved_template=rendered)

    hook.post({"id": "a"})

    assert Alert.objects.get().status == AlertStatus.RESOLVED


@pytest.mark.parametrize("rendered", ["false", "False", "0", "firing", "{{ payload.nothing }}"])
def test_other_renderings_of_the_resolved_template_mean_firing(hook, rendered):
    integration_update(actor=SYSTEM, integration=hook.integration, resolved_template=rendered)

    hook.post({"id": "a"})

    assert Alert.objects.get().status == AlertStatus.FIRING


def test_a_template_rendering_nothing_falls_back_to_the_default(hook):
    integration_update(
        actor=SYSTEM, integration=hook.integration, title_template="{{ payload.name }}"
    )

    hook.post({"id": "x", "title": "Plain title"})

    assert Alert.objects.get().title == "Plain title"


def test_a_list_is_one_event_per_item(hook):
    integration_update(
        actor=SYSTEM,
        integration=hook.integration,
        title_template="{{ payload.monitor }} is {{ payload.status }}",
        dedup_key_template="{{ payload.monitor }}",
        resolved_template='{{ payload.status == "up" }}',
    )

    response = hook.post("uptime_batch")

    assert response.json() == {"status": "ok", "alerts": 3}
    assert dict(Alert.objects.values_list("dedup_key", "status")) == {
        "homepage": AlertStatus.FIRING,
        "api": AlertStatus.FIRING,
        "status-page": AlertStatus.RESOLVED,
    }


def test_a_list_of_more_than_100_events_is_refused_and_nothing_written(hook):
    response = hook.post([{"id": str(n)} for n in range(101)])

    assert response.status_code == 422
    assert not Alert.objects.exists()


def test_the_sandbox_refuses_attribute_probing_with_422_and_nothing_written(hook):
    hook.set_templates_unchecked(title_template="{{ payload.__class__.__mro__ }}")

    response = hook.post("plain")

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert "title_template" in response.json()["errors"]
    assert not Alert.objects.exists()


@pytest.mark.parametrize(
    "template",
    [
        pytest.param("{{ payload|attr('__class__') }}", id="attr filter to private attributes"),
        pytest.param(
            "{{ payload.title.ljust(999999999) }}", id="a string method building a huge value"
        ),
        pytest.param("{{ payload.title * 100000000 }}", id="a huge repetition"),
        pytest.param("{{ 10 ** 10000000 }}", id="a huge power"),
    ],
)
def test_the_sandbox_refuses_a_template_that_reaches_or_builds_too_much(hook, template):
    hook.set_templates_unchecked(title_template=template)

    response = hook.post("plain")

    assert response.status_code == 422
    assert not Alert.objects.exists()


def test_a_template_failing_on_the_data_is_answered_422(hook):
    hook.set_templates_unchecked(severity_template="{{ 1 / payload.zero }}")

    response = hook.post({"zero": 0})

    assert response.status_code == 422
    assert "severity_template" in response.json()["errors"]
    assert not Alert.objects.exists()


def test_an_error_in_one_event_of_a_list_names_the_event(hook):
    hook.set_templates_unchecked(severity_template="{{ 1 / payload.n }}")

    response = hook.post([{"n": 1}, {"n": 0}])

    assert response.status_code == 422
    assert "1.severity_template" in response.json()["errors"]
    assert not Alert.objects.exists()


def test_a_dedup_key_longer_than_255_characters_is_stored_as_its_digest(hook):
    integration_update(
        actor=SYSTEM, integration=hook.integration, dedup_key_template="{{ payload.key }}"
    )

    hook.post({"key": "k" * 300})

    key = Alert.objects.get().dedup_key
    assert len(key) == 64
    int(key, 16)


def test_an_unknown_token_is_refused_with_401(hook):
    response = hook.post("plain", url="/hooks/generic/not-a-token")

    assert response.status_code == 401
    assert not Alert.objects.exists()


def test_the_token_is_accepted_as_a_bearer_header(hook):
    response = hook.post(
        "plain", url="/hooks/generic/", headers={"Authorization": f"Bearer {hook.token}"}
    )

    assert response.status_code == 200, response.content
    assert Alert.objects.count() == 1


def test_an_unknown_bearer_token_is_refused_with_401(hook):
    response = hook.post(
        "plain", url="/hooks/generic/", headers={"Authorization": "Bearer not-a-token"}
    )

    assert response.status_code == 401
    assert not Alert.objects.exists()


def test_no_token_at_all_is_refused_with_401(hook):
    response = hook.post("plain", url="/hooks/generic/")

    assert response.status_code == 401
    assert not Alert.objects.exists()


def test_a_bearer_token_of_another_kind_of_integration_is_refused(hook):
    _, alertmanager_token = integration_create(
        actor=SYSTEM,
        name="Prometheus",
        kind=IntegrationKind.ALERTMANAGER,
        team=hook.integration.team,
    )

    response = hook.post(
        "plain", url="/hooks/generic/", headers={"Authorization": f"Bearer {alertmanager_token}"}
    )

    assert response.status_code == 401


def test_a_paused_integration_refuses_deliveries_with_403(hook):
    integration_update(actor=SYSTEM, integration=hook.integration, active=False)

    response = hook.post("plain")

    assert response.status_code == 403
    assert not Alert.objects.exists()


def test_a_body_that_is_not_json_content_is_refused_with_415(hook):
    response = hook.post(json.dumps(fixture("generic", "plain")), content_type="text/plain")

    assert response.status_code == 415
    assert not Alert.objects.exists()


def test_malformed_json_is_refused_with_400(hook):
    response = hook.post('{"title": ')

    assert response.status_code == 400
    assert not Alert.objects.exists()


@pytest.mark.parametrize("template", list(GRAFANA.values()))
def test_sensible_templates_pass_validation(template):
    validate_generic_templates(title_template=template)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        pytest.param("{{ payload.__class__ }}", "underscore", id="private-attribute"),
        pytest.param("{{ payload['__class__'] }}", "underscore", id="private-item"),
        pytest.param("{% for x in payload %}{{ x }}{% endfor %}", "not For", id="loop"),
        pytest.param("{% set x = 1 %}", "not Assign", id="assignment"),
        pytest.param("{{ payload.title", "does not parse", id="syntax"),
        pytest.param("{{ payload|center(999) }}", "'center' is not available", id="filter"),
        pytest.param("{{ 'x' * 100000 }}", "sandbox", id="huge-value"),
        pytest.param("{{ payload.items.__self__ }}", "underscore", id="method-internals"),
    ],
)
def test_bad_templates_are_refused_at_save_time_naming_the_field(template, message):
    with pytest.raises(ValidationError) as refused:
        validate_generic_templates(dedup_key_template=template)

    errors = refused.value.message_dict
    assert list(errors) == ["dedup_key_template"]
    assert message in errors["dedup_key_template"][0]


def test_a_template_over_500_characters_is_refused_at_save_time():
    with pytest.raises(ValidationError):
        validate_generic_templates(title_template="x" * 501)
