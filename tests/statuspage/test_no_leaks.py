"""Nothing private reaches the public: a marker planted in a private incident, an internal
update, a note, an internal title and a withdrawn incident appears in no public response."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from incidents.models import EventKind, StatusUpdate, TimelineEvent
from statuspage.models import PublicStatus
from tests.statuspage.spapi_fixtures import (
    component,
    internal_incident,
    public_incident,
    public_update,
)

pytestmark = pytest.mark.django_db

MARKER = "zq7-private-marker"

PUBLIC_URLS = [
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


def note(incident_id: int, text: str) -> None:
    TimelineEvent.objects.create(
        incident_id=incident_id, kind=EventKind.NOTE, occurred_at=timezone.now(), message=text
    )


def internal_update(incident_id: int, text: str) -> None:
    StatusUpdate.objects.create(
        incident_id=incident_id,
        message=text,
        public=False,
        status="investigating",
        posted_at=timezone.now(),
    )


@pytest.fixture
def planted() -> str:
    """Marked private things beside a published incident, whose public name and update are
    what the public should see; returns the published incident's code."""
    checkout = component("Checkout")

    secret = internal_incident(f"Breach {MARKER} title", summary=f"Summary {MARKER}", private=True)
    secret.services.add(checkout.service)
    internal_update(secret.pk, f"Update {MARKER} of the private incident")
    note(secret.pk, f"Note {MARKER} on the private incident")

    # Published under another name; its internal title, internal update and note stay inside.
    published = public_incident(
        "Checkout errors",
        incident=internal_incident(f"Payments DB {MARKER} overloaded"),
        components=(checkout,),
    )
    public_update(published, "Some payments fail; we are on it.")
    internal_update(published.incident_id, f"Internal {MARKER}: the DB primary is at 100%")
    note(published.incident_id, f"Note {MARKER}: page the DBA")

    withdrawn = public_incident(
        f"Withdrawn {MARKER} incident", withdrawn=True, components=(checkout,)
    )
    public_update(withdrawn, f"Withdrawn {MARKER} update", status=PublicStatus.IDENTIFIED)
    return published.code


def test_no_public_response_shows_a_private_marker(client: Client, planted: str) -> None:
    urls = [*PUBLIC_URLS, reverse("statuspage:incident", kwargs={"code": planted})]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert MARKER not in response.content.decode(), url
    # The published incident itself is there, so the search looked at real content.
    for url in (
        reverse("statuspage:page"),
        reverse("statuspage:api-summary"),
        reverse("statuspage:history-atom"),
        reverse("statuspage:incident", kwargs={"code": planted}),
    ):
        assert "Checkout errors" in client.get(url).content.decode()


def test_a_withdrawn_incidents_page_is_not_found(client: Client) -> None:
    withdrawn = public_incident(f"Withdrawn {MARKER}", withdrawn=True)

    response = client.get(reverse("statuspage:incident", kwargs={"code": withdrawn.code}))

    assert response.status_code == 404
    assert MARKER not in response.content.decode()
