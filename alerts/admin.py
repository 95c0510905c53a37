from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from alerts.models import Alert, Integration


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin[Integration]):
    """Tokens are made and rotated by the services (web page, API), never typed in here."""

    list_display = ("name", "kind", "team", "active", "token_prefix", "created_at")
    list_filter = ("kind", "active", "team")
    search_fields = ("name", "token_prefix")
    readonly_fields = ("token_prefix", "created_at", "storm_incident")
    exclude = ("token_hash",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A token made here could not be shown: create integrations on the Integrations page.
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin[Alert]):
    """Read-only: alerts are written by ingestion, one bulk upsert per delivery."""

    list_display = ("title", "status", "integration", "incident", "times_seen", "last_seen_at")
    list_filter = ("status", "integration")
    search_fields = ("title", "dedup_key")
    list_select_related = ("integration", "incident")

    def get_readonly_fields(self, request: HttpRequest, obj: Alert | None = None) -> list[str]:
        return [field.name for field in Alert._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
