"""The Integrations pages: a manager connects a source, copies its token once, tunes it."""

import json
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from alerts.models import Alert, Integration, IntegrationKind, hash_token
from alerts.services.ingest import alert_events_ingest
from tests.alerts.factories import firing, make_integration
from tests.alerts.test_integrations_api import alertmanager_payload
from tests.factories import TeamFactory

CREATE = "/integrations/new/"


@pytest.fixture
def team(db):
    return TeamFactory(name="Payments", slug="payments")


def signed_in(client, user):
    client.force_login(user)
    return client


def create_form(team, **fields):
    return {
        "name": "Prometheus",
        "kind": "alertmanager",
        "team": str(team.pk),
        "severity_map": "critical = SEV1\nwarning = SEV3",
        "default_severity": "",
        "grouping_labels": "alertname, service",
        "group_window": "60",
        "max_incidents_per_minute": "10",
        **fields,
    }


def shown_token(html: str) -> str:
    match = re.search(r'<code id="token-value" class="secret">([^<]+)</code>', html)
    assert match is not None, "no token on the page"
    return match[1]


def detail(integration):
    return reverse("alerts:integration-detail", args=[integration.pk])


def test_create_shows_the_token_once_and_stores_only_its_hash(client, manager, team):
    response = signed_in(client, manager).post(CREATE, create_form(team))

    assert response.status_code == 201
    token = shown_token(response.content.decode())
    integration = Integration.objects.get()
    assert integration.token_hash == hash_token(token)
    assert response["Cache-Control"] == "no-store"
    assert token not in client.get(detail(integration)).content.decode()


def test_the_token_comes_with_a_warning_and_a_guard_against_leaving(client, manager, team):
    html = signed_in(client, manager).post(CREATE, create_form(team)).content.decode()

    assert "Copy it now: it won't be shown again." in html
    assert "data-shown-once" in html
    assert re.search(r'<script src="/static/js/shown_once\.js" defer nonce="[^"]+">', html)


def test_the_page_without_a_token_does_not_guard_against_leaving(client, manager, team):
    signed_in(client, manager).post(CREATE, create_form(team))

    html = client.get(detail(Integration.objects.get())).content.decode()

    assert "shown_once.js" not in html
    assert "data-shown-once" not in html


def test_create_saves_the_settings_typed(client, manager, team):
    signed_in(client, manager).post(
        CREATE, create_form(team, auto_resolve="on", group_window="15", default_severity="SEV2")
    )

    integration = Integration.objects.get()
    assert integration.kind == IntegrationKind.ALERTMANAGER
    assert integration.team == team
    assert integration.severity_map == {"critical": "SEV1", "warning": "SEV3"}
    assert integration.grouping_labels == ["alertname", "service"]
    assert integration.group_window.total_seconds() == 15 * 60
    assert integration.default_severity.name == "SEV2"
    assert integration.auto_resolve is True


def test_alertmanager_snippet_sends_resolved_and_the_token_as_a_bearer_header(
    client, manager, team
):
    response = signed_in(client, manager).post(CREATE, create_form(team))

    html = response.content.decode()
    token = shown_token(html)
    snippet = re.search(r'<pre id="receiver-snippet">(.*?)</pre>', html, re.S)
    assert snippet is not None
    text = snippet[1]
    assert "receivers:" in text
    assert f"url: {settings.BASE_URL}/hooks/alertmanager/\n" in text
    assert "send_resolved: true" in text
    assert "authorization:" in text
    assert "type: Bearer" in text
    assert f"credentials: &quot;{token}&quot;" in text
    # Alertmanager logs its receivers' URLs, so the token never goes there.
    assert f"/hooks/alertmanager/{token}" not in html


def test_alertmanager_curl_example_sends_a_bearer_token(client, manager, team):
    html = signed_in(client, manager).post(CREATE, create_form(team)).content.decode()

    curl = re.search(r'<pre id="curl-snippet">(.*?)</pre>', html, re.S)
    assert curl is not None
    assert f"Authorization: Bearer {shown_token(html)}" in curl[1]
    assert "/hooks/alertmanager/" in curl[1]


def test_events_v2_curl_example_carries_the_token_as_routing_key(client, manager, team):
    html = (
        signed_in(client, manager)
        .post(CREATE, create_form(team, kind="events_v2"))
        .content.decode()
    )

    curl = re.search(r'<pre id="curl-snippet">(.*?)</pre>', html, re.S)
    assert curl is not None
    assert f"&quot;routing_key&quot;: &quot;{shown_token(html)}&quot;" in curl[1]
    assert f"{settings.BASE_URL}/hooks/events/v2/enqueue" in curl[1]
    assert 'id="receiver-snippet"' not in html


def test_generic_curl_example_sends_a_bearer_token_to_the_url_without_it(client, manager, team):
    html = (
        signed_in(client, manager).post(CREATE, create_form(team, kind="generic")).content.decode()
    )
    token = shown_token(html)

    curl = re.search(r'<pre id="curl-snippet">(.*?)</pre>', html, re.S)
    assert curl is not None
    assert f"Authorization: Bearer {token}" in curl[1]
    assert f"{settings.BASE_URL}/hooks/generic/\n" in curl[1] + "\n"
    assert f"/hooks/generic/{token}" not in curl[1]
    assert f'<code id="webhook-url">{settings.BASE_URL}/hooks/generic/</code>' in html


def test_generic_page_offers_the_token_in_path_url_only_after_creation(client, manager, team):
    html = (
        signed_in(client, manager).post(CREATE, create_form(team, kind="generic")).content.decode()
    )
    token = shown_token(html)
    integration = Integration.objects.get()

    later = client.get(detail(integration)).content.decode()

    assert f"{settings.BASE_URL}/hooks/generic/{token}" in html
    assert f"{settings.BASE_URL}/hooks/generic/&lt;token&gt;" in later
    assert token not in later


def test_the_shown_token_authenticates_the_webhook(client, manager, team):
    token = shown_token(signed_in(client, manager).post(CREATE, create_form(team)).content.decode())
    client.logout()

    response = client.post(
        "/hooks/alertmanager/",
        data=json.dumps(alertmanager_payload()),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )

    assert response.status_code == 200, response.content
    assert Alert.objects.get().integration == Integration.objects.get()


def test_rotate_shows_a_new_token_and_the_old_one_stops_working(client, manager, team):
    integration, old = _created(client, manager, team)

    response = client.post(
        reverse("alerts:integration-rotate-token", args=[integration.pk]), {"confirmed": "yes"}
    )

    assert response.status_code == 200
    new = shown_token(response.content.decode())
    assert new != old
    assert "The old token no longer works" in response.content.decode()
    integration.refresh_from_db()
    assert integration.token_hash == hash_token(new)
    assert _webhook_status(client, old) == 401


def test_rotating_the_token_asks_first_and_keeps_the_old_one(client, manager, team):
    integration, old = _created(client, manager, team)

    response = client.post(reverse("alerts:integration-rotate-token", args=[integration.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert f"Rotate the token of {integration.name}?" in html
    assert 'id="token-value"' not in html
    integration.refresh_from_db()
    assert integration.token_hash == hash_token(old)


def test_pause_and_resume(client, manager, team):
    integration, token = _created(client, manager, team)
    url = reverse("alerts:integration-active", args=[integration.pk])

    paused = client.post(url, {})
    integration.refresh_from_db()
    assert paused.status_code == 302
    assert integration.active is False
    assert _webhook_status(client, token) == 403

    client.post(url, {"active": "on"})
    integration.refresh_from_db()
    assert integration.active is True


def test_edit_form_changes_the_settings(client, manager, team):
    integration = make_integration(team=team)
    url = reverse("alerts:integration-edit", args=[integration.pk])
    signed_in(client, manager)

    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "name": "Prod",
            "severity_map": "page = SEV1",
            "default_severity": "SEV4",
            "grouping_labels": "cluster alertname",
            "group_window": "5",
            "max_incidents_per_minute": "3",
        },
    )

    assert response.status_code == 302
    integration.refresh_from_db()
    assert integration.name == "Prod"
    assert integration.severity_map == {"page": "SEV1"}
    assert integration.grouping_labels == ["alertname", "cluster"]
    assert integration.group_window.total_seconds() == 300
    assert integration.max_incidents_per_minute == 3
    assert integration.auto_resolve is False


def test_unknown_severity_is_shown_on_its_field_and_nothing_is_written(client, manager, team):
    response = signed_in(client, manager).post(CREATE, create_form(team, severity_map="x = SEV9"))

    assert response.status_code == 400
    assert "unknown severity" in response.content.decode()
    assert not Integration.objects.exists()


def test_bad_grouping_label_is_refused_on_edit(client, manager, team):
    integration = make_integration(team=team, name="Prometheus")
    url = reverse("alerts:integration-edit", args=[integration.pk])

    response = signed_in(client, manager).post(
        url,
        {
            "name": "Renamed",
            "grouping_labels": "service, no-dashes",
            "group_window": "5",
            "max_incidents_per_minute": "3",
        },
    )

    assert response.status_code == 400
    assert "Not a label name: no-dashes" in response.content.decode()
    integration.refresh_from_db()
    assert integration.name == "Prometheus"


@pytest.mark.parametrize("persona", ["viewer", "responder"])
def test_only_managers_and_admins_may_change_integrations(client, request, team, persona):
    integration = make_integration(team=team, name="Prometheus")
    before = integration.token_hash
    signed_in(client, request.getfixturevalue(persona))

    assert client.get(CREATE).status_code == 403
    assert client.post(CREATE, create_form(team, name="Other")).status_code == 403
    assert (
        client.post(reverse("alerts:integration-rotate-token", args=[integration.pk])).status_code
        == 403
    )
    assert (
        client.post(reverse("alerts:integration-active", args=[integration.pk])).status_code == 403
    )
    edit = reverse("alerts:integration-edit", args=[integration.pk])
    assert client.post(edit, {"name": "x"}).status_code == 403

    integration.refresh_from_db()
    assert Integration.objects.count() == 1
    assert integration.token_hash == before
    assert integration.active is True


def test_responders_see_the_pages_without_management_buttons(client, responder, team):
    integration = make_integration(team=team)

    html = signed_in(client, responder).get(detail(integration)).content.decode()

    assert integration.name in html
    assert 'id="rotate-token"' not in html
    assert "Edit settings" not in html


def test_viewers_may_not_see_integrations(client, viewer, team):
    make_integration(team=team)

    assert signed_in(client, viewer).get("/integrations/").status_code == 403


def test_nav_shows_integrations_to_managers_only(client, manager, responder, db):
    assert 'href="/integrations/"' in signed_in(client, manager).get("/").content.decode()
    assert 'href="/integrations/"' not in signed_in(client, responder).get("/").content.decode()


def test_admins_may_connect_a_source(client, admin_user, team):
    assert signed_in(client, admin_user).post(CREATE, create_form(team)).status_code == 201


def test_pages_carry_no_inline_script_or_style(client, manager, team):
    html = signed_in(client, manager).post(CREATE, create_form(team)).content.decode()

    assert " style=" not in html
    assert "<style" not in html
    assert " onclick=" not in html
    for tag in re.findall(r"<script[^>]*>", html):
        assert 'src="/static/' in tag
        assert "nonce=" in tag
    assert 'src="/static/js/copy.js"' in html
    assert 'data-copy="receiver-snippet"' in html


@pytest.mark.parametrize("rows", [1, 10])
def test_list_query_count_does_not_grow_with_rows(
    client, manager, team, rows, django_assert_max_num_queries
):
    for n in range(rows):
        make_integration(team=TeamFactory(name=f"Team {n}"), name=f"Source {n}")
    signed_in(client, manager)

    with django_assert_max_num_queries(4):
        response = client.get("/integrations/")

    assert response.content.decode().count("/integrations/") >= rows


def _created(client, user, team):
    html = signed_in(client, user).post(CREATE, create_form(team)).content.decode()
    return Integration.objects.get(), shown_token(html)


def _webhook_status(client, token):
    return client.post(
        "/hooks/alertmanager/",
        data=json.dumps({"version": "4", "status": "firing", "alerts": []}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    ).status_code


def test_create_form_offers_every_kind_and_the_default_settings(client, manager, team):
    html = signed_in(client, manager).get(CREATE).content.decode()

    for kind in IntegrationKind.values:
        assert f'value="{kind}"' in html
    assert "critical = SEV1" in html
    assert 'value="alertname, service"' in html


def test_edit_form_shows_templates_only_for_generic_webhooks(client, manager, team):
    alertmanager = make_integration(team=team, name="AM")
    generic = make_integration(IntegrationKind.GENERIC, team=team, name="Generic")
    signed_in(client, manager)

    am_html = client.get(
        reverse("alerts:integration-edit", args=[alertmanager.pk])
    ).content.decode()
    generic_html = client.get(
        reverse("alerts:integration-edit", args=[generic.pk])
    ).content.decode()

    assert 'name="title_template"' not in am_html
    assert 'name="title_template"' in generic_html


def test_admin_shows_integrations_without_their_token_hash(client, team):
    admin = User.objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
    integration = make_integration(team=team)
    client.force_login(admin)

    response = client.get(reverse("admin:alerts_integration_change", args=[integration.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert integration.token_hash not in html
    assert 'name="token_prefix"' not in html  # read-only: shown, not editable
    assert integration.token_prefix in html
    assert client.get(reverse("admin:alerts_integration_add")).status_code == 403


def test_admin_shows_alerts_read_only(client, team):
    admin = User.objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
    integration = make_integration(team=team)
    alert_events_ingest(integration=integration, events=[firing("fp1")])
    alert = Alert.objects.get()
    client.force_login(admin)

    url = reverse("admin:alerts_alert_change", args=[alert.pk])
    assert client.get(url).status_code == 200
    client.post(url, {"title": "Changed", "status": "resolved"})
    alert.refresh_from_db()
    assert alert.title == "HighErrorRate on checkout"
    assert client.get(reverse("admin:alerts_alert_add")).status_code == 403


def test_an_alert_set_aside_after_failing_is_shown_on_the_integration_page(client, manager, team):
    integration = make_integration(team=team)
    alert_events_ingest(integration=integration, events=[firing("odd-one")])
    Alert.objects.filter(dedup_key="odd-one").update(
        process_failures=2, process_after=timezone.now() + timedelta(minutes=4)
    )

    html = signed_in(client, manager).get(f"/integrations/{integration.pk}/").content.decode()

    assert 'id="set-aside"' in html
    assert "<code>odd-one</code>" in html
    assert "failed 2 times" in html


def test_an_integration_page_without_failures_shows_no_such_notice(client, manager, team):
    integration = make_integration(team=team)
    alert_events_ingest(integration=integration, events=[firing("fine")])

    html = signed_in(client, manager).get(f"/integrations/{integration.pk}/").content.decode()

    assert 'id="set-aside"' not in html


def test_an_integration_routes_its_incidents_to_the_policy_chosen_on_its_form(
    client, manager, team
):
    from tests.oncall.factories import policy

    chosen = policy((5, []), name="Payments escalation", default=False)
    integration = make_integration(team=team)
    url = reverse("alerts:integration-edit", args=[integration.pk])

    response = signed_in(client, manager).post(
        url,
        {
            "name": "Prometheus",
            "escalation_policy": str(chosen.pk),
            "grouping_labels": "alertname",
            "group_window": "60",
            "max_incidents_per_minute": "10",
        },
    )

    integration.refresh_from_db()
    assert response.status_code == 302
    assert integration.escalation_policy == chosen
    html = client.get(f"/integrations/{integration.pk}/").content.decode()
    assert (
        f'<a href="/policies/{chosen.pk}/" id="integration-policy">Payments escalation</a>' in html
    )
