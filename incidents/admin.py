from django.contrib import admin

from incidents.models import Incident, Service, Severity, Team, TimelineEvent


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin[Team]):
    list_display = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("members", "leads")
    search_fields = ("name",)


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin[Service]):
    list_display = ("name", "slug", "team", "public")
    list_filter = ("team", "public")
    prepopulated_fields = {"slug": ("name",)}
    search_fields = ("name",)


@admin.register(Severity)
class SeverityAdmin(admin.ModelAdmin[Severity]):
    list_display = ("name", "rank", "description", "response_target", "paging", "statuspage_impact")


class TimelineInline(admin.TabularInline[TimelineEvent, Incident]):
    model = TimelineEvent
    extra = 0
    can_delete = False
    fields = ("occurred_at", "kind", "actor", "source", "message", "highlighted")
    readonly_fields = fields


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin[Incident]):
    """Read-only: incidents change through the services, so the timeline stays whole."""

    list_display = ("number", "title", "severity", "status", "team", "private", "declared_at")
    list_filter = ("status", "severity", "team", "private")
    search_fields = ("title", "number")
    list_select_related = ("severity", "team")
    inlines = (TimelineInline,)

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        # Deleting would take the timeline, roles and updates with it: incidents are records.
        return False
