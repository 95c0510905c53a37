from django.urls import URLPattern, URLResolver, path, register_converter

from statuspage import api, feeds, views, views_staff, views_subscribe


class CodeConverter:
    """A row's public code (statuspage.models.new_code: twelve hex digits; fixtures and older
    rows use other lowercase letters), at most the column's 16 characters. Anything else is no
    address of ours: the resolver answers 404 before a view runs, so a NUL (which PostgreSQL's
    text cannot hold) or a megabyte of junk never reaches a query."""

    regex = "[0-9a-z]{1,16}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class SubscriberTokenConverter(CodeConverter):
    """An unsubscribe link's token: secrets.token_urlsafe (models_subscribers), at most the
    column's 64 characters."""

    regex = "[A-Za-z0-9_-]{1,64}"


class SignedTokenConverter(CodeConverter):
    """A confirmation link's token: django.core.signing's output, URL-safe base64 joined by
    ':' (a leading '.' when compressed); bounded well above any sign-up's size."""

    regex = "[A-Za-z0-9_.:-]{1,4096}"


class MonthConverter(CodeConverter):
    """A history month, YYYY-MM in ASCII digits (\\d would let other scripts' digits in);
    views.history still refuses months that do not exist or are out of range."""

    regex = "[0-9]{4}-[0-9]{2}"


register_converter(CodeConverter, "statuspage_code")
register_converter(SubscriberTokenConverter, "statuspage_subscriber_token")
register_converter(SignedTokenConverter, "statuspage_signed_token")
register_converter(MonthConverter, "statuspage_month")

app_name = "statuspage"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.page, name="page"),
    path("history/", views.history, name="history"),
    path("history/<statuspage_month:month>/", views.history, name="history_month"),
    path("incidents/<statuspage_code:code>/", views.incident, name="incident"),
    # Atlassian Statuspage's public API v2 (statuspage.api).
    path("api/v2/summary.json", api.summary, name="api-summary"),
    path("api/v2/status.json", api.status, name="api-status"),
    path("api/v2/components.json", api.components, name="api-components"),
    path("api/v2/incidents.json", api.incidents, name="api-incidents"),
    path(
        "api/v2/incidents/unresolved.json",
        api.incidents_unresolved,
        name="api-incidents-unresolved",
    ),
    path("api/v2/scheduled-maintenances.json", api.maintenances, name="api-maintenances"),
    path(
        "api/v2/scheduled-maintenances/upcoming.json",
        api.maintenances_upcoming,
        name="api-maintenances-upcoming",
    ),
    path(
        "api/v2/scheduled-maintenances/active.json",
        api.maintenances_active,
        name="api-maintenances-active",
    ),
    path("history.atom", feeds.HistoryAtomFeed(), name="history-atom"),
    path("history.rss", feeds.HistoryRssFeed(), name="history-rss"),
    path("manage/", views_staff.manage, name="manage"),
    path("manage/maintenance/", views_staff.maintenance_create, name="maintenance-create"),
    path(
        "manage/maintenance/<statuspage_code:code>/",
        views_staff.maintenance_edit,
        name="maintenance-edit",
    ),
    path(
        "manage/maintenance/<statuspage_code:code>/updates/",
        views_staff.maintenance_update_post,
        name="maintenance-update",
    ),
    path(
        "manage/maintenance/<statuspage_code:code>/cancel/",
        views_staff.maintenance_cancel,
        name="maintenance-cancel",
    ),
    path(
        "manage/maintenance/<statuspage_code:code>/complete/",
        views_staff.maintenance_complete,
        name="maintenance-complete",
    ),
    path(
        "manage/components/<statuspage_code:code>/",
        views_staff.component_edit,
        name="component-edit",
    ),
    path("manage/groups/", views_staff.group_create, name="group-create"),
    path("manage/groups/<statuspage_code:code>/", views_staff.group_edit, name="group-edit"),
    path(
        "manage/groups/<statuspage_code:code>/delete/",
        views_staff.group_delete,
        name="group-delete",
    ),
    path(
        "manage/incidents/<int:number>/public-update/",
        views_staff.incident_public_update,
        name="incident-public-update",
    ),
    path("subscribe/", views_subscribe.subscribe, name="subscribe"),
    path(
        "subscribe/confirm/<statuspage_signed_token:token>/",
        views_subscribe.subscribe_confirm,
        name="subscribe_confirm",
    ),
    path(
        "unsubscribe/<statuspage_subscriber_token:token>/",
        views_subscribe.unsubscribe,
        name="unsubscribe",
    ),
]
