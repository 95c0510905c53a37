"""The Django admin cannot move a postmortem or an action item past its services: postmortems
are read-only there, and an action item's status, owner and due date (which its reminder timer
follows) too."""

from datetime import date

import pytest
from django.urls import reverse

from postmortems.models import ActionItem, ActionItemStatus, Postmortem, PostmortemStatus
from tests.factories import UserFactory, declare
from tests.postmortems.action_items_support import at, item
from tests.postmortems.workflow_support import draft

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_a_postmortem_cannot_be_published_from_the_admin(superuser_client, commander):
    postmortem = draft(commander)
    url = reverse("admin:postmortems_postmortem_change", args=[postmortem.pk])

    response = superuser_client.post(
        url, {"status": PostmortemStatus.PUBLISHED, "title": postmortem.title}
    )

    assert response.status_code == 403
    postmortem = Postmortem.objects.get(pk=postmortem.pk)
    assert (postmortem.status, postmortem.published_at) == (PostmortemStatus.DRAFT, None)
    # Still readable there.
    assert superuser_client.get(url).status_code == 200


def test_postmortems_are_not_added_in_the_admin(superuser_client):
    response = superuser_client.get(reverse("admin:postmortems_postmortem_add"))

    assert response.status_code == 403


def test_an_action_items_status_owner_and_due_date_do_not_change_in_the_admin(
    superuser_client, commander, responder, manager
):
    action_item = item(
        declare(commander),
        commander,
        now=at(date(2026, 3, 1)),
        due=date(2026, 3, 20),
        owner=responder,
    )
    timer = action_item.next_reminder_at
    url = reverse("admin:postmortems_actionitem_change", args=[action_item.pk])

    response = superuser_client.post(
        url,
        {
            "title": "Alert on queue depth, per queue",
            "description": "",
            "team": "",
            "priority": action_item.priority,
            "kind": action_item.kind,
            "success_criteria": "",
            "ticket_url": "",
            "status": ActionItemStatus.DONE,
            "owner": manager.pk,
            "due_date": "2026-12-31",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    action_item = ActionItem.objects.get(pk=action_item.pk)
    assert action_item.title == "Alert on queue depth, per queue"
    assert action_item.status == ActionItemStatus.OPEN
    assert action_item.owner == responder
    assert action_item.due_date == date(2026, 3, 20)
    assert action_item.next_reminder_at == timer


def test_action_items_are_not_added_in_the_admin(superuser_client):
    response = superuser_client.get(reverse("admin:postmortems_actionitem_add"))

    assert response.status_code == 403
