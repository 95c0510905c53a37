"""Absolute addresses on the public page, as the API, the feeds, emails and webhooks give them."""

from django.conf import settings
from django.urls import reverse

from statuspage.models import MaintenanceStatus


def page_url() -> str:
    return settings.BASE_URL + reverse("statuspage:page")


def incident_url(code: str) -> str:
    """The public incident page (statuspage.views.incident)."""
    return settings.BASE_URL + reverse("statuspage:incident", kwargs={"code": code})


def maintenance_url(code: str, status: str) -> str:
    """A maintenance's public page: at an incident's address, as Statuspage lists a
    maintenance among its incidents (statuspage.views.incident serves both). A cancelled one
    has none, so the page itself."""
    if status == MaintenanceStatus.CANCELLED:
        return page_url()
    return incident_url(code)
