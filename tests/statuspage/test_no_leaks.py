"""Nothing private reaches the public: a marker planted in a private incident, an internal
update, a note, an internal title, a withdrawn and a merged incident appears in no public
response. Everything is written through the services, with the domain events delivered as
after each commit, so the publishing path itself is what is tested."""

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts.models import User
from incidents import services
from statuspage.models import PublicIncident
from statuspage.services.publishing import public_update_post
from tests.factories import ServiceFactory, declare

pytestmark = pytest.mark.django_db

MARKER = "zq7-private-marker"

EventsRun = Callable[[], AbstractContextManager[Any]]


def public_urls() -> list[str]:
    return [
        reverse("statuspage:page"),
        reverse("statuspage:history"),
        reverse("statuspage:api-summary"),
        reverse("statuspage:api-status"),
        reverse("statuspage:api-components"),
        reverse("statuspage:api-incidents"),
        reverse("statuspage:api-incidents-unresolved"),
        reverse("statuspage:api-maintenances"),
        reverse("statuspage:api-maintenances-upcoming"),
        reverse("statuspage:api-maintenances-active"),
        reverse("statuspage:history-atom"),
        reverse("statuspage:history-rss"),
    ]


@pytest.fixture
def planted(commander: User, manager: User, events_run: EventsRun) -> dict[str, str]:
    """Marked private things beside a published incident, whose public name and public
    updates are what the public should see. The public incidents' codes by role."""
    checkout = ServiceFactory(name="Checkout", public=True)

    with events_run():
        secret = declare(
            commander,
            title=f"Breach {MARKER} title",
            summary=f"Summary {MARKER}",
            private=True,
            services=[checkout],
            severity_name="SEV1",
        )
        services.incident_post_update(
            incident=secret, actor=commander, message=f"Update {MARKER} of the private incident"
        )
        services.incident_add_note(
            incident=secret, actor=commander, text=f"Note {MARKER} on the private incident"
        )
    with pytest.raises(ValidationError):
        services.incident_post_update(
            incident=secret, actor=commander, message=f"Public {MARKER}?", public=True
        )

    # Published under another name; its internal title, internal update and note stay inside.
    with events_run():
        published = declare(
            commander,
            title=f"Payments DB {MARKER} overloaded",
            summary=f"Summary {MARKER}",
            services=[checkout],
        )
        public_update_post(
            incident=published,
            actor=commander,
            message="Some payments fail; we are on it.",
            name="Checkout errors",
        )
        services.incident_post_update(
            incident=published, actor=commander, message=f"Internal {MARKER}: the DB is at 100%"
        )
        services.incident_add_note(
            incident=published, actor=commander, text=f"Note {MARKER}: page the DBA"
        )
        services.incident_post_update(
            incident=published, actor=commander, message="A fix is rolling out.", public=True
        )

    # Published, then made private: withdrawn.
    with events_run():
        withdrawn = declare(commander, title=f"Withdrawn {MARKER} title", services=[checkout])
        services.incident_post_update(
            incident=withdrawn, actor=commander, message=f"Withdrawn {MARKER} update", public=True
        )
    with events_run():
        services.incident_update_details(incident=withdrawn, actor=manager, private=True)

    # Published, then merged into another: withdrawn too.
    with events_run():
        duplicate = declare(commander, title=f"Duplicate {MARKER} title", services=[checkout])
        services.incident_post_update(
            incident=duplicate, actor=commander, message=f"Duplicate {MARKER} update", public=True
        )
    with events_run():
        services.incident_merge(incident=duplicate, into=published, actor=commander)

    codes = dict(PublicIncident.objects.values_list("incident_id", "code"))
    return {
        "published": codes[published.pk],
        "withdrawn": codes[withdrawn.pk],
        "duplicate": codes[duplicate.pk],
    }


def test_no_public_response_shows_a_private_marker(client: Client, planted: dict[str, str]) -> None:
    incident_page = reverse("statuspage:incident", kwargs={"code": planted["published"]})
    for url in [*public_urls(), incident_page]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert MARKER not in response.content.decode(), url
    # The published incident is there under its public name, with both public updates, so
    # the search looked at real content.
    for url in (
        reverse("statuspage:page"),
        reverse("statuspage:api-summary"),
        reverse("statuspage:history-atom"),
        incident_page,
    ):
        content = client.get(url).content.decode()
        assert "Checkout errors" in content, url
        assert "A fix is rolling out." in content, url


def test_withdrawn_and_merged_incidents_pages_are_not_found(
    client: Client, planted: dict[str, str]
) -> None:
    assert set(PublicIncident.objects.filter(withdrawn=True).values_list("code", flat=True)) == {
        planted["withdrawn"],
        planted["duplicate"],
    }
    for role in ("withdrawn", "duplicate"):
        response = client.get(reverse("statuspage:incident", kwargs={"code": planted[role]}))

        assert response.status_code == 404, role
        assert MARKER not in response.content.decode(), role


def test_an_update_published_without_a_public_name_never_shows_the_internal_title(
    client: Client, commander: User, events_run: EventsRun
) -> None:
    # The web composer's public audience, the API and Slack's `/incident update --public`
    # publish through incident_post_update alone: no public name is given.
    checkout = ServiceFactory(name="Checkout", public=True)
    with events_run():
        incident = declare(
            commander, title=f"SECRET {MARKER} customer X db dropped", services=[checkout]
        )
        services.incident_post_update(
            incident=incident, actor=commander, message="Checkout is failing.", public=True
        )

    public = PublicIncident.objects.get(incident=incident)
    assert public.name == "Degraded service: Checkout"
    incident_page = reverse("statuspage:incident", kwargs={"code": public.code})
    for url in [*public_urls(), incident_page]:
        content = client.get(url).content.decode()
        assert MARKER not in content, url
    # Shown all the same, under the neutral name.
    for url in (reverse("statuspage:page"), reverse("statuspage:api-summary"), incident_page):
        assert "Degraded service: Checkout" in client.get(url).content.decode(), url
