"""The page's history as Atom and RSS: one entry per public incident update and per maintenance
event, newest first, each linking to the public incident page (a maintenance to its own page,
at an incident's address; a cancelled one, which has none, to the status page). Read through
statuspage.selectors_api, like the JSON API.
"""

from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed, SyndicationFeed
from django.utils.html import format_html, linebreaks

from statuspage import caching, links, selectors_api
from statuspage.models import MaintenanceUpdate, MaintenanceUpdateKind, PublicUpdate

Entry = PublicUpdate | MaintenanceUpdate


class HistoryRssFeed(Feed[Entry, None]):
    feed_type: type[SyndicationFeed] = Rss201rev2Feed
    url_name = "statuspage:history-rss"
    # Guids are tag URIs, not addresses: several entries share an incident's page.
    item_guid_is_permalink = False

    def __call__(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        # Cached under the page's version like the JSON; its links are absolute from BASE_URL,
        # so one render serves every Host.
        response = caching.cached_response(
            request, ("feed", self.url_name), lambda: super(HistoryRssFeed, self).__call__(request)
        )
        response["Access-Control-Allow-Origin"] = "*"
        return response

    def title(self) -> str:
        return f"{settings.STATUSPAGE_NAME} status history"

    def description(self) -> str:
        return f"Incident updates and scheduled maintenance of {settings.STATUSPAGE_NAME}."

    def link(self) -> str:
        return links.page_url()

    def feed_url(self) -> str:
        # Absolute from BASE_URL, so the body does not depend on the request's Host.
        return settings.BASE_URL + reverse(self.url_name)

    def items(self) -> list[Entry]:
        return selectors_api.feed_entries()

    def item_title(self, item: Entry) -> str:
        if isinstance(item, PublicUpdate):
            return f"{item.public_incident.name}: {item.get_status_display()}"
        return f"{item.maintenance.name}: maintenance {_maintenance_event(item)}"

    def item_description(self, item: Entry) -> str:
        text = linebreaks(item.body, autoescape=True)
        if isinstance(item, MaintenanceUpdate):
            # A reader of the feed alone should learn when the window is: as this entry
            # announced it, which a later move leaves alone.
            scheduled_for, scheduled_until = item.window
            text += format_html(
                "<p>Scheduled from {} to {} ({}).</p>",
                _local(scheduled_for),
                _local(scheduled_until),
                settings.STATUSPAGE_TIME_ZONE,
            )
        return text

    def item_link(self, item: Entry) -> str:
        if isinstance(item, PublicUpdate):
            return links.incident_url(item.public_incident.code)
        return links.maintenance_url(item.maintenance.code, item.maintenance.status)

    def item_guid(self, item: Entry) -> str:
        """A tag URI (RFC 4151) per entry: the entry's own code, so it never changes."""
        host = urlsplit(settings.BASE_URL).hostname or "localhost"
        kind = "incident-update" if isinstance(item, PublicUpdate) else "maintenance-update"
        day = f"{item.created_at:%Y-%m-%d}"
        return f"tag:{host},{day}:{settings.STATUSPAGE_PAGE_ID}/{kind}/{item.code}"

    def item_pubdate(self, item: Entry) -> datetime:
        return item.created_at

    def item_updateddate(self, item: Entry) -> datetime:
        return item.created_at


class HistoryAtomFeed(HistoryRssFeed):
    feed_type = Atom1Feed
    url_name = "statuspage:history-atom"

    def subtitle(self) -> str:
        return self.description()


# A maintenance update's title in the feeds, beside a step's own status.
KIND_TITLES = {
    MaintenanceUpdateKind.RESCHEDULED: "rescheduled",
    MaintenanceUpdateKind.EXTENDED: "extended",
    MaintenanceUpdateKind.CHANGED: "components changed",
    MaintenanceUpdateKind.POSTED: "update",
}


def _maintenance_event(update: MaintenanceUpdate) -> str:
    return KIND_TITLES.get(MaintenanceUpdateKind(update.kind)) or (
        update.get_status_display().lower()
    )


def _local(moment: datetime) -> str:
    return f"{moment.astimezone(ZoneInfo(settings.STATUSPAGE_TIME_ZONE)):%Y-%m-%d %H:%M}"
