from django.contrib import admin
from django.http import HttpRequest

from postmortems.models import (
    ActionItem,
    ContributingFactor,
    OutgoingEmail,
    Postmortem,
    PostmortemPolicy,
    PostmortemTemplate,
)


@admin.register(PostmortemPolicy)
class PostmortemPolicyAdmin(admin.ModelAdmin[PostmortemPolicy]):
    list_display = ("severity", "required", "action_item_due_days")


@admin.register(ContributingFactor)
class ContributingFactorAdmin(admin.ModelAdmin[ContributingFactor]):
    list_display = ("name", "slug", "active")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Postmortem)
class PostmortemAdmin(admin.ModelAdmin[Postmortem]):
    """Read-only: a postmortem changes through postmortems.services, which keep its revisions
    and its gates (a status set here would publish it past every one)."""

    list_display = ("title", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("title",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(PostmortemTemplate)
class PostmortemTemplateAdmin(admin.ModelAdmin[PostmortemTemplate]):
    list_display = ("name", "is_default", "updated_at")


@admin.register(ActionItem)
class ActionItemAdmin(admin.ModelAdmin[ActionItem]):
    """Wording, team, priority and kind may be corrected here. Status, owner and due date
    change through postmortems.services.action_items (the pages and the API), which keeps the
    reminder timer in step with them; items are created there too."""

    list_display = ("title", "owner", "due_date", "status", "priority")
    list_filter = ("status", "priority", "kind")
    raw_id_fields = ("team",)
    readonly_fields = (
        "incident",
        "owner",
        "due_date",
        "status",
        "wont_do_reason",
        "closed_at",
        "next_reminder_at",
        "created_by",
        "created_at",
        "updated_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(admin.ModelAdmin[OutgoingEmail]):
    list_display = ("key", "to", "state", "attempts", "sent_at")
    list_filter = ("state",)
