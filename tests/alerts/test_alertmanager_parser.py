"""Alertmanager webhook v4 → AlertEvents, from the payloads a real Alertmanager sent."""

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from alerts.models import AlertStatus, Integration, IntegrationKind
from alerts.parsers import PayloadError
from alerts.parsers.alertmanager import labels_fingerprint, parse
from tests.alerts.hooks import fixture

# parse() reads nothing from the integration; an unsaved one keeps these tests off the database.
INTEGRATION = Integration(kind=IntegrationKind.ALERTMANAGER)


def errors_of(payload: Any) -> dict[str, list[str]]:
    with pytest.raises(PayloadError) as caught:
        parse(payload, integration=INTEGRATION)
    return caught.value.errors


def with_alert(**changes: Any) -> dict[str, Any]:
    """firing.json with its one alert changed; a value of ... removes the field."""
    payload = fixture("alertmanager", "firing")
    for name, value in changes.items():
        if value is ...:
            del payload["alerts"][0][name]
        else:
            payload["alerts"][0][name] = value
    return payload


def test_a_firing_alert_becomes_one_firing_event():
    [event] = parse(fixture("alertmanager", "firing"), integration=INTEGRATION)

    assert event.dedup_key == "1e13768c7ec52373"
    assert event.status == AlertStatus.FIRING
    assert event.title == "CheckoutDown on checkout"
    assert event.starts_at == datetime(2026, 11, 23, 19, 45, 37, 225119, tzinfo=UTC)
    assert event.event_at == event.starts_at
    assert event.ends_at is None
    assert event.severity_hint == "critical"
    assert event.labels == {
        "alertname": "CheckoutDown",
        "service": "checkout",
        "severity": "critical",
    }
    assert event.annotations["description"] == "Fired by am_fire.sh (acceptance harness)."
    assert event.source_url == "http://127.0.0.1/acceptance/am_fire"


def test_a_resolved_alert_is_dated_by_its_end():
    [event] = parse(fixture("alertmanager", "resolved"), integration=INTEGRATION)

    assert event.status == AlertStatus.RESOLVED
    assert event.ends_at == datetime(2026, 11, 23, 19, 45, 37, 326336, tzinfo=UTC)
    assert event.event_at == event.ends_at
    assert event.starts_at == datetime(2026, 11, 23, 19, 45, 37, 225119, tzinfo=UTC)


def test_every_alert_of_a_grouped_payload_is_an_event():
    events = parse(fixture("alertmanager", "grouped_firing"), integration=INTEGRATION)

    assert [e.dedup_key for e in events] == ["3812044a4740f25a", "7d2d332feada5c59"]
    assert [e.severity_hint for e in events] == ["warning", "critical"]


def test_times_with_nine_six_three_or_no_fractional_digits_and_any_zone_read_as_utc():
    events = parse(fixture("alertmanager", "precision"), integration=INTEGRATION)

    assert [e.starts_at for e in events] == [
        datetime(2026, 11, 23, 19, 45, 37, 225119, tzinfo=UTC),
        datetime(2026, 11, 23, 19, 45, 37, 225119, tzinfo=UTC),
        datetime(2026, 11, 23, 19, 45, 37, 225000, tzinfo=UTC),
        datetime(2026, 11, 23, 19, 45, 37, tzinfo=UTC),
        datetime(2026, 11, 23, 19, 45, 37, 225119, tzinfo=UTC),
    ]
    assert all(e.starts_at.utcoffset() is not None for e in events)


@pytest.mark.parametrize("zero", ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000+00:00"])
def test_go_zero_time_as_end_means_no_end(zero):
    [event] = parse(with_alert(endsAt=zero), integration=INTEGRATION)

    assert event.ends_at is None


def test_a_time_that_overflows_when_converted_to_utc_is_taken_as_the_receive_time():
    received = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)

    [event] = parse(
        with_alert(startsAt="0001-01-01T00:30:00+01:00"),
        integration=INTEGRATION,
        received_at=received,
    )

    assert event.starts_at == received


def test_an_alert_without_fingerprint_gets_the_one_alertmanager_would_give_it():
    [event] = parse(fixture("alertmanager", "missing_fingerprint"), integration=INTEGRATION)

    assert event.dedup_key == "1e13768c7ec52373"
    grouped_cart = {"alertname": "HighErrorRate", "service": "cart", "severity": "warning"}
    assert labels_fingerprint(grouped_cart) == "3812044a4740f25a"


def test_the_title_is_the_summary_annotation():
    payload = with_alert(annotations={"summary": "  Checkout is down  "})

    [event] = parse(payload, integration=INTEGRATION)

    assert event.title == "Checkout is down"


@pytest.mark.parametrize(
    ("labels", "title"),
    [
        ({"alertname": "Down", "service": "cart", "instance": "a:1"}, "Down on cart"),
        ({"alertname": "Down", "instance": "a:1"}, "Down on a:1"),
        ({"alertname": "Down"}, "Down"),
        ({"job": "node", "env": "prod"}, '{env="prod", job="node"}'),
    ],
)
def test_without_summary_the_title_is_the_alertname_on_its_service_or_instance(labels, title):
    [event] = parse(with_alert(labels=labels, annotations={}), integration=INTEGRATION)

    assert event.title == title


def test_only_version_and_alerts_are_required_of_the_envelope():
    payload = {"version": "4", "alerts": fixture("alertmanager", "firing")["alerts"]}

    assert len(parse(payload, integration=INTEGRATION)) == 1


def test_an_alert_without_annotations_or_end_or_generator_url_is_accepted():
    payload = with_alert(annotations=..., endsAt=..., generatorURL=...)

    [event] = parse(payload, integration=INTEGRATION)

    assert (event.annotations, event.ends_at, event.source_url) == ({}, None, "")


@pytest.mark.parametrize("version", ["3", 4, None])
def test_another_version_is_refused(version):
    payload = fixture("alertmanager", "firing")
    payload["version"] = version

    assert list(errors_of(payload)) == ["version"]


def test_missing_fields_are_named_by_their_path():
    errors = errors_of(fixture("alertmanager", "missing_fields"))

    assert set(errors) == {"alerts.0.status", "alerts.0.startsAt"}


def test_a_payload_that_is_not_an_object_is_refused():
    assert list(errors_of([fixture("alertmanager", "firing")])) == ["payload"]


def test_alerts_must_be_a_list_of_objects():
    assert list(errors_of({"version": "4", "alerts": {"a": 1}})) == ["alerts"]
    assert list(errors_of({"version": "4", "alerts": ["x"]})) == ["alerts.0"]


@pytest.mark.parametrize("status", ["pending", "", None, 1])
def test_an_alert_status_other_than_firing_or_resolved_is_refused(status):
    assert list(errors_of(with_alert(status=status))) == ["alerts.0.status"]


def test_labels_must_map_strings_to_strings():
    errors = errors_of(with_alert(labels={"alertname": "X", "port": 9100}))

    assert errors == {"alerts.0.labels.port": ["Expected a string."]}


def test_an_alert_needs_at_least_one_label():
    assert list(errors_of(with_alert(labels={}))) == ["alerts.0.labels"]


@pytest.mark.parametrize(
    "when",
    [
        "2026-11-23 19:45:37Z",
        "2026-11-23T19:45:37",
        "2026-11-23T19:45:37Z\n",
        "2026-13-01T00:00:00Z",
        1700000000,
    ],
)
def test_a_start_that_is_not_an_rfc3339_time_is_refused(when):
    assert list(errors_of(with_alert(startsAt=when))) == ["alerts.0.startsAt"]


def test_a_resolved_alert_without_its_end_is_refused():
    payload = fixture("alertmanager", "resolved")
    payload["alerts"][0]["endsAt"] = "0001-01-01T00:00:00Z"

    assert list(errors_of(payload)) == ["alerts.0.endsAt"]


def test_an_alert_ending_before_it_starts_is_refused():
    payload = fixture("alertmanager", "resolved")
    payload["alerts"][0]["endsAt"] = "2026-11-23T19:00:00Z"

    assert errors_of(payload) == {"alerts.0.endsAt": ["Ends before it starts."]}


@pytest.mark.parametrize("text", ["nul\x00byte", "lone \ud800 surrogate"])
def test_text_postgresql_cannot_store_is_refused(text):
    assert list(errors_of(with_alert(labels={"alertname": text}))) == ["alerts.0.labels.alertname"]
    assert list(errors_of(with_alert(fingerprint=text))) == ["alerts.0.fingerprint"]


def test_a_fingerprint_longer_than_the_dedup_key_column_is_refused():
    assert list(errors_of(with_alert(fingerprint="f" * 256))) == ["alerts.0.fingerprint"]


def test_every_invalid_alert_is_reported_at_once():
    payload = fixture("alertmanager", "grouped_firing")
    broken = copy.deepcopy(payload["alerts"])
    broken[0]["status"] = "pending"
    broken[1]["labels"] = None
    payload["alerts"] = broken

    assert set(errors_of(payload)) == {"alerts.0.status", "alerts.1.labels"}


def test_envelope_fields_present_must_have_alertmanagers_shapes():
    payload = fixture("alertmanager", "firing")
    payload.update(status="ok", groupLabels=["alertname"], truncatedAlerts=-1, receiver=7)

    assert set(errors_of(payload)) == {"status", "groupLabels", "truncatedAlerts", "receiver"}
