from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents import services
from incidents.models import Incident
from tests.factories import ServiceFactory, TeamFactory, declare

LIST = reverse("incidents:list")


def listed(response: Any) -> list[str]:
    return [incident.ref for incident in response.context["page"].object_list]


def test_list_asks_anonymous_visitors_to_sign_in(client, db):
    response = client.get(LIST)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_list_shows_open_incidents_before_resolved_ones(signed_in, responder):
    old_open = declare(responder, title="Old and open")
    newer_resolved = declare(responder, title="Newer but resolved")
    services.incident_resolve(incident=newer_resolved, actor=responder, resolution="fixed")

    response = signed_in.get(LIST)

    assert listed(response) == [old_open.ref, newer_resolved.ref]


def test_list_shows_columns_for_each_incident(signed_in, responder, commander):
    incident = declare(responder, title="Checkout is failing", severity_name="SEV1")
    services.incident_assign_role(
        incident=incident, actor=responder, role="commander", user=commander
    )

    content = signed_in.get(LIST).content.decode()

    assert f'href="/incidents/{incident.number}/">{incident.ref}</a>' in content
    assert "Checkout is failing" in content
    assert '<span class="badge sev-1">SEV1</span>' in content
    assert '<span class="status status--detected">Detected</span>' in content
    assert "Cole Commander" in content
    assert "just now" in content


def test_status_filter_open_leaves_out_resolved_incidents(signed_in, responder):
    open_one = declare(responder)
    resolved = declare(responder)
    services.incident_resolve(incident=resolved, actor=responder, resolution="fixed")

    response = signed_in.get(LIST, {"status": "open"})

    assert listed(response) == [open_one.ref]


def test_status_filter_picks_one_status(signed_in, responder):
    declare(responder)
    acknowledged = declare(responder)
    services.incident_acknowledge(incident=acknowledged, actor=responder)

    response = signed_in.get(LIST, {"status": "acknowledged"})

    assert listed(response) == [acknowledged.ref]


def test_severity_filter(signed_in, responder):
    declare(responder, severity_name="SEV3")
    sev1 = declare(responder, severity_name="SEV1")

    response = signed_in.get(LIST, {"severity": "SEV1"})

    assert listed(response) == [sev1.ref]


def test_team_filter(signed_in, responder):
    payments = TeamFactory(name="Payments")
    declare(responder, team=TeamFactory(name="Search"))
    ours = declare(responder, team=payments)

    response = signed_in.get(LIST, {"team": "payments"})

    assert listed(response) == [ours.ref]


def test_service_filter(signed_in, responder):
    checkout = ServiceFactory(name="checkout")
    declare(responder, services=[ServiceFactory(name="search-api")])
    ours = declare(responder, services=[checkout])

    response = signed_in.get(LIST, {"service": "checkout"})

    assert listed(response) == [ours.ref]


def test_mine_keeps_incidents_i_declared_command_or_hold_a_role_in(
    signed_in, responder, commander, manager
):
    declared = declare(responder)
    commanded = declare(commander, commander=responder)
    scribe = declare(commander)
    services.incident_assign_role(incident=scribe, actor=commander, role="scribe", user=responder)
    declare(manager)

    response = signed_in.get(LIST, {"mine": "on"})

    assert set(listed(response)) == {declared.ref, commanded.ref, scribe.ref}


def test_search_by_reference_finds_that_incident(signed_in, responder):
    declare(responder, title="Something else")
    wanted = declare(responder, title="Database is down")

    response = signed_in.get(LIST, {"q": wanted.ref})

    assert listed(response) == [wanted.ref]


def test_search_by_text_matches_titles(signed_in, responder):
    declare(responder, title="Search latency is high")
    wanted = declare(responder, title="Database is down")

    response = signed_in.get(LIST, {"q": "database"})

    assert listed(response) == [wanted.ref]


def test_search_matches_words_in_any_order(signed_in, responder):
    declare(responder, title="Checkout is slow")
    wanted = declare(responder, title="500 errors from checkout")

    response = signed_in.get(LIST, {"q": "Checkout 500"})

    assert listed(response) == [wanted.ref]


def test_ages_carry_their_time_so_ticking_js_moves_them_on(signed_in, responder):
    incident = declare(responder)

    content = signed_in.get(LIST).content.decode()

    assert f'<time data-tick="age" datetime="{incident.declared_at.isoformat()}"' in content


def test_an_invalid_filter_is_reported_and_ignored(signed_in, responder):
    incident = declare(responder)

    response = signed_in.get(LIST, {"severity": "SEV9"})

    assert listed(response) == [incident.ref]
    assert "Select a valid choice" in response.content.decode()


def test_list_shows_25_incidents_per_page(signed_in, responder):
    for n in range(27):
        declare(responder, title=f"Incident {n}")

    first = signed_in.get(LIST)
    second = signed_in.get(LIST, {"page": 2})

    assert len(listed(first)) == 25
    assert len(listed(second)) == 2


def test_page_links_keep_the_filters(signed_in, responder):
    for _ in range(26):
        declare(responder, severity_name="SEV2")

    content = signed_in.get(LIST, {"severity": "SEV2", "q": "checkout"}).content.decode()

    assert 'href="?severity=SEV2&amp;q=checkout&amp;page=2"' in content


def test_filter_form_updates_the_list_with_htmx_and_still_works_without(signed_in, db):
    content = signed_in.get(LIST).content.decode()

    assert 'method="get" action="/"' in content
    assert 'hx-get="/" hx-target="#incident-results"' in content
    assert 'hx-push-url="true"' in content


def test_htmx_request_gets_only_the_results_fragment(signed_in, responder):
    incident = declare(responder)

    response = signed_in.get(LIST, {"status": "open"}, HTTP_HX_REQUEST="true")

    content = response.content.decode()
    assert content.lstrip().startswith('<section id="incident-results"')
    assert incident.ref in content
    assert "<html" not in content
    assert "HX-Request" in response["Vary"]


def test_htmx_history_restore_gets_the_whole_page(signed_in, db):
    response = signed_in.get(LIST, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")

    assert "<html" in response.content.decode()


def test_private_incidents_are_hidden_from_outsiders(client, responder, outsider):
    declare(responder, private=True, title="Payroll data leaked")
    public = declare(responder)
    client.force_login(outsider)

    response = client.get(LIST)

    assert listed(response) == [public.ref]
    assert "Payroll data leaked" not in response.content.decode()


def test_private_incidents_are_shown_to_participants(client, responder, commander):
    private = declare(responder, private=True, commander=commander)
    client.force_login(commander)

    assert listed(client.get(LIST)) == [private.ref]


def test_private_incidents_are_shown_to_admins(client, responder, admin_user):
    private = declare(responder, private=True)
    client.force_login(admin_user)

    assert listed(client.get(LIST)) == [private.ref]


def test_viewers_see_no_declare_button(client, viewer):
    client.force_login(viewer)

    content = client.get(LIST).content.decode()

    assert reverse("incidents:declare") not in content


def test_list_query_count_does_not_grow_with_rows(signed_in, responder, commander):
    team = TeamFactory(name="Payments")
    service = ServiceFactory(name="checkout", team=team)

    def add(count: int) -> None:
        for n in range(count):
            declare(
                responder, title=f"Incident {n}", team=team, services=[service], commander=commander
            )

    def load() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            response = signed_in.get(LIST, {"status": "open", "team": "payments"})
        return len(queries), len(listed(response))

    add(5)
    few, shown_few = load()
    add(25)
    many, shown_many = load()

    assert Incident.objects.count() == 30
    assert (shown_few, shown_many) == (5, 25)
    assert few == many
