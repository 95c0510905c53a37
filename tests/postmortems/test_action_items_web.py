"""Action items in the web UI: the incident page's panel and add form, the postmortem page's
part, an item's page, "My action items" and who sees what."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents.services import incident_resolve
from postmortems import panels
from postmortems.models import ActionItem, ActionItemStatus
from postmortems.services.postmortems import postmortem_create
from postmortems.views.action_items import panel_context
from tests.factories import TeamFactory, UserFactory, declare, severity
from tests.postmortems.action_items_support import item, set_status

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def new_url(incident) -> str:
    return reverse("postmortems:action_item_new", kwargs={"number": incident.number})


def form_data(**overrides) -> dict[str, str]:
    data = {
        "title": "Alert on queue depth",
        "owner": "",
        "due_date": "",
        "priority": "p2",
        "kind": "detect",
        "team": "",
        "description": "",
        "success_criteria": "An alert fires before the queue is full.",
        "ticket_url": "https://tickets.example.com/OPS-7",
        "back": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def today(clock):
    return clock.now.date()


def test_the_incident_page_offers_to_start_the_postmortem_once_resolved(clock, client, commander):
    incident = declare(commander)
    client.force_login(commander)

    page = client.get(incident.get_absolute_url()).content.decode()
    assert "A postmortem can be started once the incident is resolved." in page
    assert 'id="postmortem-start"' not in page

    incident_resolve(incident=incident, actor=commander, resolution="Rolled back.")
    page = client.get(incident.get_absolute_url()).content.decode()
    assert 'id="postmortem-start"' in page
    assert f'action="/incidents/{incident.number}/postmortem/' in page


def test_the_incident_page_links_its_postmortem_with_its_status(clock, client, commander):
    incident = declare(commander, title="Checkout is failing")
    incident_resolve(incident=incident, actor=commander, resolution="Rolled back.")
    postmortem = postmortem_create(incident=incident, actor=commander)
    client.force_login(commander)

    page = client.get(incident.get_absolute_url()).content.decode()

    assert 'id="postmortem-start"' not in page
    assert f'href="/incidents/{incident.number}/postmortem/" id="postmortem-link"' in page
    assert f'>{postmortem.title}</a> <span class="tag">Draft</span>' in page


def test_adding_from_the_incident_page_with_htmx_answers_with_the_list(
    clock, today, client, commander
):
    incident = declare(commander, severity=severity("SEV1"))
    client.force_login(commander)

    answer = client.post(new_url(incident), form_data(owner=str(commander.pk)), **HTMX)

    assert answer.status_code == 200
    created = ActionItem.objects.get()
    assert (created.owner, created.priority, created.kind) == (commander, "p2", "detect")
    assert created.due_date == today + timedelta(days=14)  # SEV1's default
    html = answer.content.decode()
    assert html.lstrip().startswith("<section")  # the part, not the page
    assert f'id="action-item-{created.pk}"' in html
    assert "Added “Alert on queue depth”." in html


def test_a_plain_post_goes_back_to_the_page_it_came_from(clock, client, commander):
    incident = declare(commander)
    client.force_login(commander)
    back = f"/incidents/{incident.number}/postmortem/"

    answer = client.post(new_url(incident), form_data(back=back))

    assert answer.status_code == 302
    assert answer["Location"] == back
    assert [str(m) for m in get_messages(answer.wsgi_request)] == [
        "Added action item “Alert on queue depth”."
    ]


def test_back_never_leads_off_site(clock, client, commander):
    incident = declare(commander)
    client.force_login(commander)

    answer = client.post(new_url(incident), form_data(back="https://evil.example.com/"))

    assert answer["Location"] == incident.get_absolute_url()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "", "This field is required."),
        ("ticket_url", "ftp://tickets.example.com/1", "http:// or https://"),
        ("ticket_url", "javascript:alert(1)", "http:// or https://"),
        ("due_date", "2026-02-28", "The due date has passed"),
        ("due_date", "31/31/2026", "Enter a valid date."),
        ("priority", "p0", "Select a valid choice."),
    ],
)
@pytest.mark.parametrize("htmx", [True, False])
def test_bad_input_shows_the_form_with_its_error_and_writes_nothing(
    clock, client, commander, field, value, message, htmx
):
    incident = declare(commander)
    client.force_login(commander)

    answer = client.post(new_url(incident), form_data(**{field: value}), **(HTMX if htmx else {}))

    assert answer.status_code == 400
    html = answer.content.decode()
    assert message in html
    assert 'id="action-item-form"' in html
    assert not ActionItem.objects.exists()


def test_an_owner_who_cannot_see_a_private_incident_is_not_offered_nor_accepted(
    clock, client, commander, outsider
):
    incident = declare(commander, private=True)
    client.force_login(commander)

    form = client.get(new_url(incident), **HTMX).content.decode()
    answer = client.post(new_url(incident), form_data(owner=str(outsider.pk)), **HTMX)

    owners = form.split('id="id_new_item_owner"')[1].split("</select>")[0]
    assert "Otto Outsider" not in owners
    assert "Cole Commander" in owners
    assert answer.status_code == 400
    assert not ActionItem.objects.exists()


def test_a_viewer_sees_the_items_but_no_form_and_may_not_post(clock, client, commander, viewer):
    incident = declare(commander)
    item(incident, commander, now=clock.now, due=clock.now.date() + timedelta(days=3))
    client.force_login(viewer)

    page = client.get(incident.get_absolute_url()).content.decode()
    answer = client.post(new_url(incident), form_data())

    assert "Add an alert on queue depth" in page
    assert 'id="action-item-add"' not in page
    assert client.get(new_url(incident), **HTMX).status_code == 403
    assert answer.status_code == 403
    assert ActionItem.objects.count() == 1


def test_a_private_incidents_items_are_hidden_from_outsiders(clock, client, commander, outsider):
    incident = declare(commander, private=True)
    hidden = item(incident, commander, now=clock.now, due=clock.now.date(), owner=commander)
    client.force_login(outsider)

    assert client.get(hidden.get_absolute_url()).status_code == 404
    assert client.post(new_url(incident), form_data()).status_code == 404
    listing = client.get(reverse("postmortems:my_action_items"), {"tab": "all"})
    assert "Add an alert on queue depth" not in listing.content.decode()
    assert listing.context["page"].paginator.count == 0


def test_the_postmortem_page_part_lists_the_items_and_posts_back_to_it(clock, commander):
    incident = declare(commander)
    incident_resolve(incident=incident, actor=commander, resolution="Rolled back.")
    postmortem = postmortem_create(incident=incident, actor=commander)
    item(incident, commander, now=clock.now, due=clock.now.date(), owner=commander)
    request = RequestFactory().get(f"/incidents/{incident.number}/postmortem/")
    request.user = commander

    html = render_to_string(
        "postmortems/_action_items.html",
        {"action_items": panel_context(postmortem=postmortem, request=request)},
        request=request,
    )

    assert "Add an alert on queue depth" in html
    assert "Due today" in html
    add = f"{new_url(incident)}?back=%2Fincidents%2F{incident.number}%2Fpostmortem%2F"
    assert f'hx-get="{add}"' in html


def test_the_add_button_fetches_the_form_which_posts_back_into_the_part(clock, client, commander):
    incident = declare(commander, severity=severity("SEV3"))
    client.force_login(commander)
    back = f"/incidents/{incident.number}/postmortem/"

    form = client.get(new_url(incident), {"back": back}, **HTMX).content.decode()

    assert form.lstrip().startswith("<form")
    assert f'hx-post="{new_url(incident)}" hx-target="#action-items"' in form
    assert f'name="back" value="{back}"' in form
    assert "Empty: 60 days from today, the default for SEV3." in form


def test_without_javascript_the_form_is_a_page_of_its_own(clock, client, commander):
    incident = declare(commander)
    client.force_login(commander)

    page = client.get(new_url(incident))

    html = page.content.decode()
    assert page.status_code == 200
    assert "<title>New action item" in html
    assert 'id="action-item-form"' in html
    assert "hx-post" not in html.split('id="action-item-form"')[0].rsplit("<form", 1)[1]


def test_the_item_page_changes_status_and_asks_why_for_wont_do(clock, client, commander):
    created = item(declare(commander), commander, now=clock.now, due=clock.now.date())
    client.force_login(commander)
    data = form_data(
        title=created.title,
        due_date=created.due_date.isoformat(),
        priority="p3",
        kind="prevent",
        status="wont_do",
        wont_do_reason="",
    )

    refused = client.post(created.get_absolute_url(), data)
    assert refused.status_code == 400
    assert "Say why this will not be done." in refused.content.decode()
    created.refresh_from_db()
    assert created.status == ActionItemStatus.OPEN

    saved = client.post(created.get_absolute_url(), {**data, "wont_do_reason": "Retired."})
    assert saved.status_code == 302
    created.refresh_from_db()
    assert (created.status, created.wont_do_reason) == ("wont_do", "Retired.")
    page = client.get(created.get_absolute_url()).content.decode()
    assert '<span id="action-item-reason">Retired.</span>' in page


def test_the_item_page_shows_the_next_reminder(clock, client, commander):
    created = item(
        declare(commander),
        commander,
        now=clock.now,
        due=clock.now.date() + timedelta(days=10),
        owner=commander,
    )
    client.force_login(commander)

    page = client.get(created.get_absolute_url()).content.decode()

    assert f'datetime="{created.next_reminder_at.isoformat()}"' in page


def test_a_viewer_gets_no_edit_form_and_may_not_post(clock, client, commander, viewer):
    created = item(declare(commander), commander, now=clock.now, due=clock.now.date())
    client.force_login(viewer)

    assert 'id="action-item-edit"' not in client.get(created.get_absolute_url()).content.decode()
    assert client.post(created.get_absolute_url(), form_data(status="done")).status_code == 403


def test_my_action_items_lists_mine_to_do_first_overdue_marked_then_closed(
    clock, client, commander
):
    incident = declare(commander)
    start = clock.now
    overdue = item(incident, commander, now=start, due=start.date(), owner=commander, title="Late")
    soon = item(
        incident,
        commander,
        now=start,
        due=start.date() + timedelta(days=5),
        owner=commander,
        title="Soon",
    )
    done = item(incident, commander, now=start, due=start.date(), owner=commander, title="Done")
    set_status(done, commander, ActionItemStatus.DONE, now=start)
    item(incident, commander, now=start, due=start.date(), title="Someone else's")
    clock.advance(hours=24)
    client.force_login(commander)

    answer = client.get(reverse("postmortems:my_action_items"))

    assert [i.title for i in answer.context["page"]] == ["Late", "Soon", "Done"]
    html = answer.content.decode()
    late_row = html.split(f'id="action-item-{overdue.pk}"')[1].split("</tr>")[0]
    assert "Overdue" in late_row
    assert "Overdue" not in html.split(f'id="action-item-{soon.pk}"')[1].split("</tr>")[0]
    only_open = client.get(reverse("postmortems:my_action_items"), {"status": "not_closed"})
    assert [i.title for i in only_open.context["page"]] == ["Late", "Soon"]


def test_all_items_filter_by_owner_status_overdue_and_team(clock, client, commander, responder):
    payments = TeamFactory(name="Payments")
    incident = declare(commander)
    start = clock.now
    item(incident, commander, now=start, due=start.date(), owner=commander, title="Cole late")
    item(
        incident,
        commander,
        now=start,
        due=start.date() + timedelta(days=9),
        owner=responder,
        title="Rosa later",
        team=payments,
    )
    item(incident, commander, now=start, due=start.date(), title="Nobody's")
    clock.advance(hours=24)
    client.force_login(commander)
    url = reverse("postmortems:my_action_items")

    def titles(**query):
        answer = client.get(url, {"tab": "all", **query})
        assert answer.status_code == 200
        return [i.title for i in answer.context["page"]]

    assert titles() == ["Cole late", "Nobody's", "Rosa later"]
    assert titles(owner="rosa") == ["Rosa later"]
    assert titles(owner="none") == ["Nobody's"]
    assert titles(overdue="on") == ["Cole late", "Nobody's"]
    assert titles(team="payments") == ["Rosa later"]
    assert titles(status="done") == []
    assert titles(owner="nobody-by-that-name") == ["Cole late", "Nobody's", "Rosa later"]


def test_the_list_costs_the_same_queries_however_many_items(clock, client, commander):
    incident = declare(commander)
    client.force_login(commander)
    url = reverse("postmortems:my_action_items")

    def queries_with(count: int) -> int:
        while ActionItem.objects.count() < count:
            item(incident, commander, now=clock.now, due=clock.now.date(), owner=commander)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url, {"tab": "all"}).status_code == 200
        return len(captured)

    assert queries_with(2) == queries_with(12)


def test_the_incident_panel_is_two_queries_however_many_items(clock, rf, commander):
    incident = declare(commander)
    incident_resolve(incident=incident, actor=commander, resolution="Rolled back.")
    request = rf.get(incident.get_absolute_url())
    request.user = commander

    def queries_with(count: int) -> int:
        while ActionItem.objects.count() < count:
            owner = UserFactory(username=f"owner{ActionItem.objects.count()}")
            item(incident, commander, now=clock.now, due=clock.now.date(), owner=owner)
        with CaptureQueriesContext(connection) as captured:
            context = panels.incident_postmortem_context(incident, request)
            html = render_to_string(panels.TEMPLATE, {"incident": incident, **context}, request)
        assert html.count('id="action-item-') == count + 1  # the rows and the add button
        return len(captured)

    assert queries_with(1) == queries_with(8) == 2
