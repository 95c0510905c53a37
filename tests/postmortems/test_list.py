"""/postmortems/: every postmortem the user may see, drafts and reviews too, searched and
filtered, a page at a time, in a number of queries that does not grow with the rows."""

from datetime import UTC, datetime
from typing import Any

import pytest
from django.urls import reverse

from accounts.models import User
from incidents.services import incident_assign_role
from postmortems.models import ContributingFactor, Postmortem
from postmortems.services.workflow import (
    postmortem_publish,
    postmortem_request_review,
    postmortem_update_details,
)
from tests.factories import ServiceFactory, TeamFactory
from tests.postmortems.workflow_support import (
    approved,
    draft,
    write,
)

pytestmark = pytest.mark.django_db

LIST = reverse("postmortems:list")


def listed(response: Any) -> list[str]:
    return [postmortem.incident.ref for postmortem in response.context["page"].object_list]


def refs(*postmortems: Postmortem) -> list[str]:
    return [postmortem.incident.ref for postmortem in postmortems]


@pytest.fixture
def browse(client, responder):
    client.force_login(responder)
    return lambda **params: client.get(LIST, params)


def test_the_list_asks_anonymous_visitors_to_sign_in(client, db):
    response = client.get(LIST)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_drafts_reviews_and_published_ones_are_listed_newest_incident_first(
    browse, commander, responder, clock
):
    published = approved(draft(commander, title="Oldest"), commander, responder)
    postmortem_publish(postmortem=published, actor=commander)
    clock.advance(hours=1)
    in_review = draft(commander, title="Middle")
    postmortem_request_review(postmortem=in_review, actor=commander, reviewers=[responder])
    clock.advance(hours=1)
    drafted = draft(commander, title="Newest")

    response = browse()

    assert listed(response) == refs(drafted, in_review, published)
    content = response.content.decode()
    assert ">Draft</span>" in content
    assert ">In review</span>" in content
    assert ">Published</span> <time" in content
    assert published.title in content


def test_a_published_postmortem_shows_its_published_date(browse, commander, responder, clock):
    postmortem = approved(draft(commander), commander, responder)
    clock.advance(hours=30)
    postmortem_publish(postmortem=postmortem, actor=commander)

    content = browse().content.decode()

    assert f'<time datetime="{clock.now.isoformat()}">2 Mar 2026</time>' in content


@pytest.mark.parametrize("status", ["draft", "in_review", "published"])
def test_status_filter(status, browse, commander, responder):
    drafted = draft(commander)
    in_review = draft(commander)
    postmortem_request_review(postmortem=in_review, actor=commander, reviewers=[responder])
    published = approved(draft(commander), commander, responder)
    postmortem_publish(postmortem=published, actor=commander)
    expected = {"draft": drafted, "in_review": in_review, "published": published}[status]

    assert listed(browse(status=status)) == refs(expected)


def test_a_private_incidents_postmortem_is_listed_for_its_participants_only(
    client, commander, responder, outsider, admin_user
):
    public = draft(commander, title="Public")
    private = draft(commander, title="Private", private=True)
    incident_assign_role(incident=private.incident, actor=commander, role="scribe", user=responder)

    def seen_by(user: User) -> list[str]:
        client.force_login(user)
        return listed(client.get(LIST))

    assert seen_by(outsider) == refs(public)
    assert seen_by(responder) == refs(private, public)
    assert seen_by(admin_user) == refs(private, public)


def test_a_private_postmortem_cannot_be_found_by_search_either(client, commander, outsider):
    draft(commander, title="Secret database migration", private=True)
    client.force_login(outsider)

    assert listed(client.get(LIST, {"q": "secret"})) == []


def test_a_viewer_sees_the_list(client, commander, viewer):
    postmortem = draft(commander)
    client.force_login(viewer)

    assert listed(client.get(LIST)) == refs(postmortem)


# Search


def test_search_finds_words_of_the_postmortems_title(browse, commander):
    wanted = draft(commander)
    postmortem_update_details(postmortem=wanted, actor=commander, title="Friday deploy outage")
    draft(commander)

    assert listed(browse(q="friday")) == refs(wanted)


def test_search_finds_words_of_the_incidents_title_and_summary(browse, commander):
    by_title = draft(commander, title="Payments time out")
    by_summary = draft(commander, title="Other", summary="Card payments were declined.")
    draft(commander, title="Unrelated")

    assert listed(browse(q="payments")) == refs(by_summary, by_title)
    assert listed(browse(q="declined")) == refs(by_summary)


def test_search_finds_the_teams_words_in_the_document(browse, commander):
    wanted = write(draft(commander), commander, "root-cause", "A cold Memcached after failover.")
    draft(commander)

    assert listed(browse(q="memcached")) == refs(wanted)


def test_search_wants_every_word_in_any_order(browse, commander):
    both = draft(commander, title="Redis failover in eu-west")
    draft(commander, title="Redis memory")

    assert listed(browse(q="eu-west redis")) == refs(both)


def test_search_by_reference_finds_that_incident_alone(browse, commander):
    made = [draft(commander) for _ in range(11)]
    assert made[-1].incident.ref == "INC-11"

    assert listed(browse(q="INC-1")) == refs(made[0])
    assert listed(browse(q="inc1")) == refs(made[0])


def test_bare_digits_are_searched_as_words_too(browse, commander):
    wanted = draft(commander, summary="Clients saw 503 from the gateway.")
    draft(commander)

    assert listed(browse(q="503")) == refs(wanted)


def test_search_leaves_out_the_documents_header(browse, commander):
    # Every header says "Status: draft" as it was when rendered: not the team's words.
    draft(commander, title="Gateway down")

    assert listed(browse(q="draft")) == []


@pytest.mark.parametrize("word", ["body", "heading", "generated", "required", "prompt", "key"])
def test_search_does_not_find_the_documents_own_structure(word, browse, commander):
    # Every document is stored as sections with these keys and markers; none of them is a
    # word anyone wrote.
    draft(commander)

    assert listed(browse(q=word)) == []


# Filters


def test_severity_filter(browse, commander):
    sev1 = draft(commander, severity_name="SEV1")
    draft(commander, severity_name="SEV2")

    assert listed(browse(severity="SEV1")) == refs(sev1)


def test_team_filter(browse, commander):
    payments = TeamFactory(name="Payments")
    wanted = draft(commander, team=payments)
    draft(commander, team=TeamFactory(name="Search"))
    draft(commander)

    assert listed(browse(team="payments")) == refs(wanted)


def test_service_filter(browse, commander):
    checkout = ServiceFactory(name="checkout")
    cart = ServiceFactory(name="cart")
    wanted = draft(commander, services=[checkout, cart])
    draft(commander, services=[cart])

    response = browse(service="checkout")

    assert listed(response) == refs(wanted)
    assert "checkout" in response.content.decode()


def test_contributing_factor_filter(browse, commander):
    change = ContributingFactor.objects.get(slug="change")
    capacity = ContributingFactor.objects.get(slug="capacity")
    wanted = draft(commander)
    postmortem_update_details(
        postmortem=wanted, actor=commander, contributing_factors=[change, capacity]
    )
    other = draft(commander)
    postmortem_update_details(postmortem=other, actor=commander, contributing_factors=[capacity])

    response = browse(factor="change")

    assert listed(response) == refs(wanted)
    assert '<span class="tag">Capacity</span>' in response.content.decode()


def test_month_filter_counts_the_month_the_incident_began_in_the_organisations_zone(
    browse, commander, settings, clock
):
    settings.ORGANISATION_TIME_ZONE = "America/New_York"
    # 03:00 UTC on 1 February is still 31 January in New York.
    january = draft(commander, started_at=datetime(2026, 2, 1, 3, 0, tzinfo=UTC))
    february = draft(commander, started_at=datetime(2026, 2, 1, 6, 0, tzinfo=UTC))
    draft(commander, started_at=datetime(2025, 12, 31, 12, 0, tzinfo=UTC))

    assert listed(browse(month="2026-01")) == refs(january)
    assert listed(browse(month="2026-02")) == refs(february)


def test_month_filter_across_the_year_end(browse, commander, clock):
    december = draft(commander, started_at=datetime(2025, 12, 31, 23, 59, tzinfo=UTC))
    draft(commander, started_at=datetime(2026, 1, 1, 0, 0, tzinfo=UTC))

    assert listed(browse(month="2025-12")) == refs(december)


def test_the_last_month_a_date_can_hold_is_a_month_like_any_other(browse, commander, clock):
    draft(commander)

    response = browse(month="9999-12")

    assert response.status_code == 200
    assert listed(response) == []


def test_filters_combine(browse, commander, responder):
    sev1 = draft(commander, severity_name="SEV1", title="Checkout down")
    draft(commander, severity_name="SEV2", title="Checkout slow")
    draft(commander, severity_name="SEV1", title="Search down")

    assert listed(browse(q="checkout", severity="SEV1")) == refs(sev1)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"month": "2026-13"}, "Enter a month as YYYY-MM."),
        ({"team": "no-such-team"}, "Select a valid choice."),
        ({"status": "archived"}, "Select a valid choice."),
    ],
)
def test_a_wrong_filter_is_reported_and_ignored(params, message, browse, commander):
    postmortem = draft(commander)

    response = browse(**params)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert listed(response) == refs(postmortem)


def test_htmx_gets_the_results_alone(client, responder, commander):
    postmortem = draft(commander)
    client.force_login(responder)

    response = client.get(LIST, {"q": "checkout"}, headers={"HX-Request": "true"})

    content = response.content.decode()
    assert content.lstrip().startswith('<section id="postmortem-results"')
    assert "<html" not in content
    assert postmortem.title in content


# Pages


def many(commander: User, count: int) -> list[Postmortem]:
    """`count` postmortems over teams, services and factors, some published."""
    team = TeamFactory(name="Payments")
    service = ServiceFactory(name="checkout", team=team)
    factor = ContributingFactor.objects.get(slug="change")
    made = []
    for number in range(count):
        postmortem = draft(commander, team=team, services=[service], title=f"Outage {number}")
        postmortem_update_details(
            postmortem=postmortem, actor=commander, contributing_factors=[factor]
        )
        made.append(postmortem)
    return made


def test_the_list_is_paginated(browse, commander):
    made = many(commander, 30)

    first, second = browse(), browse(page=2)

    assert len(listed(first)) == 25
    assert listed(second) == refs(*reversed(made[:5]))
    assert "page 1 of 2" in first.content.decode()


@pytest.mark.parametrize("params", [{}, {"q": "outage", "factor": "change", "service": "checkout"}])
def test_queries_do_not_grow_with_the_rows(
    params, client, responder, commander, django_assert_max_num_queries
):
    client.force_login(responder)
    many(commander, 3)
    with django_assert_max_num_queries(14) as few:
        client.get(LIST, params)
    many_more = many(commander, 27)
    assert len(many_more) == 27

    with django_assert_max_num_queries(len(few)) as more:
        response = client.get(LIST, params)

    assert len(listed(response)) == 25
    assert len(more) == len(few)


def test_the_month_filter_offers_the_months_with_postmortems(client, commander, outsider, clock):
    draft(commander, started_at=datetime(2026, 1, 15, 12, 0, tzinfo=UTC))
    draft(commander, started_at=datetime(2026, 1, 20, 12, 0, tzinfo=UTC))
    draft(commander, started_at=datetime(2025, 11, 2, 12, 0, tzinfo=UTC))
    draft(commander, started_at=datetime(2025, 7, 2, 12, 0, tzinfo=UTC), private=True)
    client.force_login(outsider)

    content = client.get(LIST).content.decode()

    options = content[content.index('name="month"') :]
    options = options[: options.index("</select>")]
    assert '<option value="2026-01">January 2026</option>' in options
    assert '<option value="2025-11">November 2025</option>' in options
    assert options.index("2026-01") < options.index("2025-11")
    assert "2025-07" not in options  # a private incident's month is not the outsider's
