from django.contrib import admin

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
    list_display = ("title", "status", "created_at")
    list_filter = ("status",)
    raw_id_fields = ("incident",)
    # The document is written through postmortems.services, which keeps its revisions.
    readonly_fields = ("sections", "revision")


@admin.register(PostmortemTemplate)
class PostmortemTemplateAdmin(admin.ModelAdmin[PostmortemTemplate]):
    list_display = ("name", "is_default", "updated_at")


@admin.register(ActionItem)
class ActionItemAdmin(admin.ModelAdmin[ActionItem]):
    list_display = ("title", "owner", "due_date", "status", "priority")
    list_filter = ("status", "priority", "kind")
    raw_id_fields = ("incident", "owner")


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(admin.ModelAdmin[OutgoingEmail]):
    list_display = ("key", "to", "state", "attempts", "sent_at")
    list_filter = ("state",)
