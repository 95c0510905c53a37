import re
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents import services
from incidents.models import Incident, RoleKind
from incidents.timeline import timeline_event_set_highlight
from incidents.views import TIMELINE_RECENT
from tests.factories import TeamFactory, declare


def page(client: Client, incident: Incident) -> Any:
    return client.get(reverse("incidents:detail", args=[incident.number]))


def test_incident_page_header_shows_ref_title_severity_status_and_commander(
    signed_in, responder, commander
):
    incident = declare(responder, title="Checkout is failing", severity_name="SEV1")
    services.incident_assign_role(
        incident=incident, actor=responder, role=RoleKind.COMMANDER, user=commander
    )

    content = page(signed_in, incident).content.decode()

    assert f'<span class="ref">{incident.ref}</span>' in content
    assert '<h1 class="incident__title">Checkout is failing</h1>' in content
    assert "badge sev-1" in content
    assert 'class="status status--detected"' in content
    assert "<dd>Cole Commander</dd>" in content


def test_the_incident_page_links_its_team(signed_in, responder):
    incident = declare(responder, team=TeamFactory(name="Payments", slug="payments"))

    content = page(signed_in, incident).content.decode()

    assert '<a href="/teams/payments/" id="incident-team">Payments</a>' in content


def test_header_shows_time_to_acknowledge_once_known(signed_in, responder):
    incident = declare(responder)
    services.incident_acknowledge(incident=incident, actor=responder)

    content = page(signed_in, incident).content.decode()

    assert "<dt>Time to acknowledge</dt>" in content
    assert "Not yet" not in content


def test_header_shows_time_to_resolve_for_resolved_incidents(signed_in, responder):
    incident = declare(responder)
    services.incident_resolve(incident=incident, actor=responder, resolution="fixed")

    content = page(signed_in, incident).content.decode()

    assert "<dt>Time to resolve</dt>" in content
    assert "<dt>Lasted</dt>" in content


def test_header_of_a_reopened_incident_shows_no_time_to_resolve(signed_in, responder):
    incident = declare(responder)
    services.incident_resolve(incident=incident, actor=responder, resolution="fixed")
    services.incident_reopen(incident=incident, actor=responder, reason="back again")

    content = page(signed_in, incident).content.decode()

    assert "<dt>Time to resolve</dt>" not in content
    assert "<dt>Open for</dt>" in content


def test_header_of_a_merged_incident_links_the_survivor_without_an_extra_query(
    signed_in, responder
):
    survivor = declare(responder, title="Checkout is failing")
    source = declare(responder, title="Payments time out")
    plain = declare(responder, title="Search is slow")
    services.incident_resolve(incident=plain, actor=responder, resolution="fixed")
    services.incident_merge(incident=source, into=survivor, actor=responder)

    def load(incident: Incident) -> tuple[int, str]:
        with CaptureQueriesContext(connection) as queries:
            content = page(signed_in, incident).content.decode()
        return len(queries), content

    plain_queries, _ = load(plain)
    merged_queries, content = load(source)

    assert f'Merged into <a href="{survivor.get_absolute_url()}">{survivor.ref}</a>' in content
    assert merged_queries == plain_queries


def test_timeline_shows_every_entry_with_actor_source_kind_and_message(signed_in, responder):
    incident = declare(responder, title="Checkout is failing")
    services.incident_add_note(incident=incident, actor=responder, text="Looking at the logs")

    content = page(signed_in, incident).content.decode()

    assert "Looking at the logs" in content
    assert "Rosa Responder declared" in content
    assert "Rosa Responder · via Web" in content
    assert '<span class="tag tag--kind">Note</span>' in content
    assert '<span class="tag tag--kind">Declared</span>' in content


def test_timeline_shows_date_and_time_in_the_viewers_zone(signed_in, responder):
    incident = declare(responder)
    incident.timeline.update(occurred_at=datetime(2025, 1, 15, 23, 30, tzinfo=UTC))
    signed_in.cookies["tocsin_tz"] = "Asia/Tokyo"

    content = page(signed_in, incident).content.decode()

    assert "Thu 16 Jan 2025" in content
    assert "08:30:00 JST" in content


def test_viewers_profile_zone_wins_over_the_browsers(client, responder):
    responder.timezone = "America/New_York"
    responder.save(update_fields=["timezone"])
    client.force_login(responder)
    incident = declare(responder)
    incident.timeline.update(occurred_at=datetime(2025, 1, 15, 23, 30, tzinfo=UTC))
    client.cookies["tocsin_tz"] = "Asia/Tokyo"

    content = page(client, incident).content.decode()

    assert "18:30:00 EST" in content


def test_highlighted_timeline_entries_are_marked(signed_in, responder):
    incident = declare(responder)
    note = services.incident_add_note(incident=incident, actor=responder, text="Root cause")
    timeline_event_set_highlight(event=note, actor=responder, highlighted=True)

    content = page(signed_in, incident).content.decode()

    assert f'class="event event--note is-highlighted" id="event-{note.pk}"' in content
    assert '<span class="tag tag--highlight">Highlighted</span>' in content


def test_roles_are_listed_with_their_holders(signed_in, responder, commander):
    incident = declare(responder, commander=commander)
    services.incident_assign_role(
        incident=incident, actor=responder, role=RoleKind.SCRIBE, user=responder
    )

    content = page(signed_in, incident).content.decode()

    assert re.search(r"Incident commander</dt>\s*<dd>Cole Commander</dd>", content)
    assert re.search(r"Scribe</dt>\s*<dd>Rosa Responder</dd>", content)
    assert re.search(r"Technical lead</dt>\s*<dd><span class=\"muted\">Unassigned", content)


def test_commanders_checklist_appears_once_someone_takes_command(signed_in, responder):
    incident = declare(responder)
    assert "Commander\u2019s checklist" not in page(signed_in, incident).content.decode()

    services.incident_assign_role(
        incident=incident, actor=responder, role=RoleKind.COMMANDER, user=responder
    )

    content = page(signed_in, incident).content.decode()
    assert "Commander\u2019s checklist" in content
    assert "Assess severity and impact" in content


def test_status_updates_are_listed(signed_in, responder):
    incident = declare(responder)
    services.incident_post_update(
        incident=incident, actor=responder, message="Rolling back", public=True
    )

    content = page(signed_in, incident).content.decode()

    assert "<p>Rolling back</p>" in content
    assert '<span class="tag tag--public">Public</span>' in content


def test_links_in_notes_summaries_and_updates_are_clickable_and_safe(signed_in, responder):
    incident = declare(responder, summary="Dashboard: https://grafana.example/d/1")
    services.incident_add_note(
        incident=incident,
        actor=responder,
        text="See https://logs.example/q?a=1&b=2 <script>alert(1)</script> javascript:alert(1)",
    )
    services.incident_post_update(
        incident=incident, actor=responder, message="Status https://status.example", public=False
    )
    rel = 'rel="noopener noreferrer nofollow"'

    content = page(signed_in, incident).content.decode()

    assert f'<a href="https://grafana.example/d/1" {rel}>' in content
    assert f'<a href="https://logs.example/q?a=1&amp;b=2" {rel}>' in content
    assert f'<a href="https://status.example" {rel}>' in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt; javascript:alert(1)" in content
    assert 'href="javascript' not in content


def test_open_for_carries_its_start_so_ticking_js_moves_it_on(signed_in, responder):
    incident = declare(responder)

    content = page(signed_in, incident).content.decode()

    started = incident.started_at.isoformat()
    assert f'<time data-tick="since" datetime="{started}">' in content
    assert re.search(
        r'<script src="/static/js/ticking\.js" data-now="\d{4}-\d\d-\d\dT[^"]+" defer nonce=',
        content,
    )


def test_detected_incident_offers_acknowledge_and_every_forward_status(signed_in, responder):
    incident = declare(responder)

    content = page(signed_in, incident).content.decode()

    assert 'id="action-acknowledge"' in content
    for status in ("investigating", "identified", "monitoring"):
        assert f'id="action-status-{status}"' in content
    assert 'id="action-resolve"' in content
    assert 'id="action-reopen"' not in content


def test_identified_incident_offers_monitoring_and_back_to_investigating(signed_in, responder):
    incident = declare(responder)
    services.incident_set_status(incident=incident, actor=responder, status="identified")

    content = page(signed_in, incident).content.decode()

    assert 'id="action-acknowledge"' not in content
    assert 'id="action-status-acknowledged"' not in content
    assert 'id="action-status-monitoring"' in content
    assert 'id="action-status-identified"' not in content
    forward, back = content.split('id="back-label"')
    assert 'id="action-status-monitoring"' in forward
    assert 'id="action-status-investigating"' in back


def test_monitoring_incident_offers_only_moves_back(signed_in, responder):
    incident = declare(responder)
    services.incident_set_status(incident=incident, actor=responder, status="monitoring")

    content = page(signed_in, incident).content.decode()

    assert 'id="move-label"' not in content
    assert '<span class="actions__label" id="back-label">Back to</span>' in content
    assert 'id="action-status-investigating"' in content
    assert 'id="action-status-identified"' in content
    assert 'id="action-status-acknowledged"' not in content
    assert 'id="action-resolve"' in content


def test_resolved_incident_offers_reopen_instead_of_resolve(signed_in, responder):
    incident = declare(responder)
    services.incident_resolve(incident=incident, actor=responder, resolution="fixed")

    content = page(signed_in, incident).content.decode()

    assert 'id="action-reopen"' in content
    assert 'id="action-resolve"' not in content
    assert 'id="action-status-' not in content


def test_viewers_see_the_incident_without_any_action(client, responder, viewer):
    incident = declare(responder)
    client.force_login(viewer)

    response = page(client, incident)

    content = response.content.decode()
    assert response.status_code == 200
    assert 'aria-label="Actions"' not in content
    assert 'id="note-submit"' not in content
    assert 'id="highlight-' not in content


def test_private_incident_is_not_found_for_outsiders(client, responder, outsider):
    incident = declare(responder, private=True)
    client.force_login(outsider)

    assert page(client, incident).status_code == 404


def test_private_incident_is_shown_to_participants(client, responder, commander):
    incident = declare(responder, private=True, commander=commander)
    client.force_login(commander)

    assert page(client, incident).status_code == 200


def test_private_incident_is_shown_to_admins(client, responder, admin_user):
    incident = declare(responder, private=True)
    client.force_login(admin_user)

    assert page(client, incident).status_code == 200


def test_unknown_incident_is_not_found(signed_in, db):
    assert signed_in.get(reverse("incidents:detail", args=[424242])).status_code == 404


def test_page_sends_a_csp_and_carries_no_inline_script_or_style(signed_in, responder):
    incident = declare(responder)

    response = page(signed_in, incident)

    content = response.content.decode()
    assert "script-src 'self' 'nonce-" in response["Content-Security-Policy"]
    assert " style=" not in content
    assert "<style" not in content
    assert " onclick=" not in content
    assert "hx-on" not in content
    for tag in re.findall(r"<script[^>]*>", content):
        assert 'src="/static/' in tag
        assert "nonce=" in tag


def test_page_loads_htmx_and_sends_the_csrf_token_with_htmx_requests(signed_in, responder):
    incident = declare(responder)

    content = page(signed_in, incident).content.decode()

    assert re.search(r'<script src="/static/django_htmx/htmx-2\.min\.js" defer nonce=', content)
    assert re.search(r"<body hx-headers='\{\"X-CSRFToken\": \"\w{64}\"\}'>", content)


def test_highlight_button_of_a_highlighted_entry_takes_the_highlight_off(signed_in, responder):
    incident = declare(responder)
    event = incident.timeline.get()
    timeline_event_set_highlight(event=event, actor=responder, highlighted=True)

    content = page(signed_in, incident).content.decode()

    assert 'name="highlighted" value="false" aria-pressed="true"' in content


@pytest.mark.parametrize("entries", [5, 50])
def test_incident_page_query_count_does_not_grow_with_the_timeline(
    signed_in, responder, commander, entries, django_assert_max_num_queries
):
    incident = declare(responder, commander=commander)
    for n in range(entries):
        services.incident_add_note(incident=incident, actor=commander, text=f"note {n}")
        services.incident_post_update(incident=incident, actor=responder, message=f"update {n}")

    # 12 for the incident page, 1 for the alerts panel (tests/alerts/test_incident_alerts_panel),
    # up to 4 for the paging panel (tests/oncall/test_incident_paging_panel), 2 for the
    # postmortem and action items panel (tests/postmortems/test_action_items_web), 1 for the
    # status page panel with no public service (tests/statuspage/test_publishing_panel).
    with django_assert_max_num_queries(20):
        response = page(signed_in, incident)

    shown = min(incident.timeline.count(), TIMELINE_RECENT)
    assert response.content.decode().count('class="event ') == shown


def test_a_long_timeline_shows_its_newest_entries_and_offers_the_rest(signed_in, responder):
    incident = declare(responder)
    for n in range(TIMELINE_RECENT + 4):
        services.incident_add_note(incident=incident, actor=responder, text=f"note number {n}")

    content = page(signed_in, incident).content.decode()

    assert content.count('class="event ') == TIMELINE_RECENT
    assert f"note number {TIMELINE_RECENT + 3}<" in content
    assert "note number 0<" not in content
    assert f"Show all {TIMELINE_RECENT + 5} entries" in content


def test_the_whole_timeline_is_shown_on_request(signed_in, responder):
    incident = declare(responder)
    for n in range(TIMELINE_RECENT + 4):
        services.incident_add_note(incident=incident, actor=responder, text=f"note number {n}")

    url = reverse("incidents:detail", args=[incident.number]) + "?timeline=all"
    content = signed_in.get(url).content.decode()

    assert content.count('class="event ') == TIMELINE_RECENT + 5
    assert "note number 0<" in content
    assert "Show all" not in content


def test_take_command_is_offered_while_nobody_commands(signed_in, responder, commander):
    incident = declare(responder)
    assert 'id="take-command"' in page(signed_in, incident).content.decode()

    services.incident_assign_role(
        incident=incident, actor=responder, role=RoleKind.COMMANDER, user=commander
    )

    assert 'id="take-command"' not in page(signed_in, incident).content.decode()


def test_the_incident_page_offers_the_keyboard_shortcuts_and_a_place_for_focus(
    signed_in, responder
):
    incident = declare(responder, title="Checkout is failing")

    content = page(signed_in, incident).content.decode()

    # static/js/keys.js, loaded with the page's nonce; the help it opens with "?"; the region it
    # announces changes in; the incident's state, where focus goes after an action.
    assert re.search(r'<script src="/static/js/keys\.js" defer nonce="[^"]+">', content)
    assert '<dialog id="keys-help"' in content
    assert '<div id="announce" class="visually-hidden" role="status"' in content
    assert 'id="incident-state" tabindex="-1" data-focus-state' in content
    assert 'data-focus-after="#note-text"' in content
