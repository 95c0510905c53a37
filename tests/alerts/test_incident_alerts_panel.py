"""The incident page lists the incident's alerts, through the panel hook incidents offers."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts import panels as alert_panels
from alerts.models import Alert
from alerts.parsers import AlertEvent
from alerts.selectors import INCIDENT_ALERTS_SHOWN
from alerts.services.ingest import alert_events_ingest
from alerts.services.processing import alerts_process_pending
from incidents import panels
from incidents.models import Incident
from tests.alerts.factories import firing, make_integration, resolved
from tests.factories import declare


@pytest.fixture
def signed_in(client, responder):
    client.force_login(responder)
    return client


def page(client, incident):
    return client.get(reverse("incidents:detail", args=[incident.number]))


def alert_incident(*events: AlertEvent, integration=None) -> Incident:
    integration = integration or make_integration()
    alert_events_ingest(integration=integration, events=events)
    while alerts_process_pending(integration_id=integration.pk).processed:
        pass  # a batch at a time, as the task does
    return Incident.objects.get()


def test_incident_page_lists_its_alerts_with_status_labels_and_annotations(signed_in):
    incident = alert_incident(firing("fp1", severity="critical", pod="api-7"))

    html = page(signed_in, incident).content.decode()

    assert 'id="alerts-title"' in html
    assert "HighErrorRate on checkout" in html
    assert 'class="status status--firing">Firing<' in html
    assert '<span class="chip__name">pod=</span>api-7</span>' in html
    assert '<span class="chip__name">severity=</span>critical</span>' in html
    assert "<dt>summary</dt><dd>errors</dd>" in html
    assert "from Prometheus" in html


def test_alert_shows_times_seen_and_first_and_last_seen(signed_in):
    integration = make_integration()
    incident = alert_incident(firing("fp1"), integration=integration)
    later = firing("fp1", at=timezone.now())
    alert_events_ingest(integration=integration, events=[later])
    alert = Alert.objects.get()

    html = page(signed_in, incident).content.decode()

    assert alert.times_seen == 2
    assert "Seen 2 times" in html
    first = timezone.localtime(alert.first_seen_at).isoformat()
    last = timezone.localtime(alert.last_seen_at).isoformat()
    assert first != last
    assert f'first <time datetime="{first}">' in html
    assert f'last <time datetime="{last}">' in html


def test_resolved_alert_is_shown_resolved(signed_in):
    started = timezone.now() - timedelta(minutes=5)
    integration = make_integration()
    incident = alert_incident(firing("fp1", at=started), integration=integration)
    alert_events_ingest(integration=integration, events=[resolved("fp1", started=started)])

    html = page(signed_in, incident).content.decode()

    assert 'class="status status--resolved">Resolved<' in html
    assert "ended <time" in html


def test_source_link_opens_without_giving_the_source_our_page(signed_in):
    event = firing("fp1")
    event = AlertEvent(**{**event.__dict__, "source_url": "https://prometheus.example/graph?g0=1"})
    incident = alert_incident(event)

    html = page(signed_in, incident).content.decode()

    assert (
        '<a href="https://prometheus.example/graph?g0=1" rel="noopener noreferrer" '
        'target="_blank"' in html
    )


def test_a_source_url_that_is_not_a_web_link_is_not_linked(signed_in):
    event = firing("fp1")
    event = AlertEvent(**{**event.__dict__, "source_url": "javascript:alert(1)"})
    incident = alert_incident(event)

    html = page(signed_in, incident).content.decode()

    assert "javascript:" not in html
    assert "Open in source" not in html


def test_an_incident_without_alerts_shows_no_alerts_panel(signed_in, responder):
    incident = declare(responder)

    html = page(signed_in, incident).content.decode()

    assert 'id="alerts-title"' not in html


def test_a_storm_shows_the_newest_alerts_and_how_many_there_are(signed_in):
    count = INCIDENT_ALERTS_SHOWN + 5
    incident = alert_incident(*[firing(f"fp{n}", pod=f"p{n}") for n in range(count)])

    html = page(signed_in, incident).content.decode()

    assert f'Alerts <span class="count">{count}</span>' in html
    assert html.count('class="alert-item"') == INCIDENT_ALERTS_SHOWN
    assert f"The newest {INCIDENT_ALERTS_SHOWN} of {count}" in html


@pytest.mark.parametrize("alerts", [1, 30])
def test_alerts_panel_costs_one_query_however_many_alerts(
    signed_in, alerts, django_assert_num_queries
):
    incident = alert_incident(*[firing(f"fp{n}", pod=f"p{n}") for n in range(alerts)])
    request = page(signed_in, incident).wsgi_request

    with django_assert_num_queries(1):
        context = alert_panels.incident_alerts_context(incident, request)

    assert context is not None
    assert len(context["alerts"]) == alerts


@pytest.mark.parametrize("alerts", [1, 30])
def test_incident_page_query_count_does_not_grow_with_alerts(
    signed_in, alerts, django_assert_max_num_queries
):
    incident = alert_incident(*[firing(f"fp{n}", pod=f"p{n}") for n in range(alerts)])

    # The page with every panel (the paging panel costs up to four of its own, the postmortem
    # and action items panel two, the status page panel one).
    with django_assert_max_num_queries(20):
        response = page(signed_in, incident)

    assert response.content.decode().count('class="alert-item"') == alerts


def test_panels_are_registered_by_the_alerts_app():
    assert "alerts/_incident_alerts.html" in panels._panels
