"""On call's addresses, all named under "oncall:": pages (oncall.views), the iCal feeds, and
the inbound hooks (oncall.hook_urls)."""

from django.urls import URLPattern, URLResolver, include, path

from oncall import feeds, hook_urls
from oncall.views import (
    incident_paging,
    layers,
    oncall_now,
    overrides,
    paging_settings,
    policies,
    schedules,
)

app_name = "oncall"

schedule_urls: list[URLPattern | URLResolver] = [
    path("", schedules.schedule_detail, name="schedule-detail"),
    path("edit", schedules.schedule_edit, name="schedule-edit"),
    path("delete", schedules.schedule_delete, name="schedule-delete"),
    path("rotate-feed", schedules.schedule_rotate_feed, name="schedule-rotate-feed"),
    path("layers/new", layers.layer_create, name="layer-create"),
    path("layers/<int:layer_id>/edit", layers.layer_change, name="layer-change"),
    path("layers/<int:layer_id>/end", layers.layer_end, name="layer-end"),
    path("overrides/new", overrides.override_create, name="override-create"),
    path("overrides/<int:override_id>/delete", overrides.override_delete, name="override-delete"),
]

paging_settings_urls: list[URLPattern | URLResolver] = [
    path("", paging_settings.paging_settings, name="paging-settings"),
    path("methods/", paging_settings.method_add, name="contact-method-add"),
    path("methods/<int:pk>/verify/", paging_settings.method_verify, name="contact-method-verify"),
    path(
        "methods/<int:pk>/send-code/",
        paging_settings.method_send_code,
        name="contact-method-send-code",
    ),
    path("methods/<int:pk>/test/", paging_settings.method_test, name="contact-method-test"),
    path("methods/<int:pk>/delete/", paging_settings.method_delete, name="contact-method-delete"),
    path("rules/", paging_settings.rule_add, name="notification-rule-add"),
    path(
        "rules/recommended/",
        paging_settings.rules_recommended,
        name="notification-rules-recommended",
    ),
    path("rules/<int:pk>/delete/", paging_settings.rule_delete, name="notification-rule-delete"),
]

# The incident page's paging panel; incidents.urls owns the other /incidents/<n>/ addresses
# and none of them is one of these.
incident_paging_urls: list[URLPattern | URLResolver] = [
    path("paging/", incident_paging.incident_paging, name="incident-paging"),
    path("paging/live/", incident_paging.incident_paging_live, name="incident-paging-live"),
    path("page/", incident_paging.incident_page_user, name="incident-page-user"),
    path("page-team/", incident_paging.incident_page_team, name="incident-page-team"),
    path("escalate/", incident_paging.incident_escalate, name="incident-escalate"),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include(hook_urls)),
    path("schedules/", schedules.schedule_list, name="schedule-list"),
    path("schedules/new", schedules.schedule_create, name="schedule-create"),
    path("schedules/my-feed", schedules.my_feed_create, name="my-feed-create"),
    path("schedules/my-feed/rotate", schedules.my_feed_rotate, name="my-feed-rotate"),
    path("schedules/<int:pk>/", include(schedule_urls)),
    path("policies/", policies.policy_list, name="policy-list"),
    path("policies/new", policies.policy_create, name="policy-create"),
    path("policies/<int:pk>/", policies.policy_detail, name="policy-detail"),
    path("policies/<int:pk>/edit", policies.policy_edit, name="policy-edit"),
    path("policies/<int:pk>/delete", policies.policy_delete, name="policy-delete"),
    path("oncall/now", oncall_now.oncall_now, name="oncall-now"),
    path("oncall/teams/<slug:slug>/now", oncall_now.team_oncall, name="team-oncall"),
    # No login: the token in the address is the secret, as calendar apps cannot sign in.
    path("oncall/schedules/<str:token>.ics", feeds.schedule_feed, name="schedule-feed"),
    path("oncall/users/<str:token>.ics", feeds.user_feed, name="user-feed"),
    path("me/paging/", include(paging_settings_urls)),
    path("incidents/<int:number>/", include(incident_paging_urls)),
]
