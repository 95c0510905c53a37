"""My paging settings under /me/, and the incident page's paging actions (/me/incidents/…)."""

from django.urls import URLPattern, URLResolver, path

from oncall import incident_views, profile

app_name = "paging-profile"

urlpatterns: list[URLPattern | URLResolver] = [
    path("paging/", profile.paging_settings, name="settings"),
    path("paging/methods/", profile.method_add, name="method-add"),
    path("paging/methods/<int:pk>/verify/", profile.method_verify, name="method-verify"),
    path("paging/methods/<int:pk>/send-code/", profile.method_send_code, name="method-send-code"),
    path("paging/methods/<int:pk>/test/", profile.method_test, name="method-test"),
    path("paging/methods/<int:pk>/delete/", profile.method_delete, name="method-delete"),
    path("paging/rules/", profile.rule_add, name="rule-add"),
    path("paging/rules/recommended/", profile.rules_recommended, name="rules-recommended"),
    path("paging/rules/<int:pk>/delete/", profile.rule_delete, name="rule-delete"),
    path("incidents/<int:number>/paging/", incident_views.incident_paging, name="incident-paging"),
    path("incidents/<int:number>/page/", incident_views.incident_page, name="incident-page"),
    path(
        "incidents/<int:number>/page-team/",
        incident_views.incident_page_team,
        name="incident-page-team",
    ),
    path(
        "incidents/<int:number>/escalate/",
        incident_views.incident_escalate,
        name="incident-escalate",
    ),
]
