"""The status page's rows in Django's admin, for inspection and repair. The spans, public
updates and timers are records: read only here, written by statuspage.services."""

from typing import Any

from django.contrib import admin
from django.db import transaction
from django.db.models import Model, QuerySet
from django.forms import BaseFormSet, ModelForm
from django.http import HttpRequest

from statuspage import versions
from statuspage.models import (
    Component,
    ComponentGroup,
    ComponentOverride,
    ComponentStateChange,
    Maintenance,
    MaintenanceTimer,
    MaintenanceUpdate,
    PublicIncident,
    PublicUpdate,
)
from statuspage.services import states_recompute


def _page_changed() -> None:
    # After the commit, as the services' writes are seen. The new version first, so no cached
    # render or ETag of the old page is served even if the recompute fails (robust: the edit
    # is saved, the admin is not answered 500 for it); then the states are derived from what
    # was saved (a withdrawn incident), and a state that moves bumps the version again.
    transaction.on_commit(versions.bump, robust=True)
    transaction.on_commit(states_recompute, robust=True)


class PageAdmin[M: Model](admin.ModelAdmin[M]):
    """Rows the public page shows: an edit, addition or deletion here refreshes it."""

    # save_model is always followed by save_related, which saves the many-to-many
    # components the states are derived from.
    def save_related(
        self,
        request: HttpRequest,
        form: ModelForm[M],
        formsets: list[BaseFormSet[Any]],
        change: bool,
    ) -> None:
        super().save_related(request, form, formsets, change)
        _page_changed()

    def delete_model(self, request: HttpRequest, obj: M) -> None:
        super().delete_model(request, obj)
        _page_changed()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[M]) -> None:
        super().delete_queryset(request, queryset)
        _page_changed()


@admin.register(ComponentGroup)
class ComponentGroupAdmin(PageAdmin[ComponentGroup]):
    list_display = ("name", "position")


@admin.register(Component)
class ComponentAdmin(PageAdmin[Component]):
    list_display = ("__str__", "service", "group", "position", "state", "state_since")
    list_filter = ("state", "group")
    # The state is derived (statuspage.services.states); editing it here would leave its spans
    # behind.
    readonly_fields = ("service", "state", "state_since", "created_at")


class ReadOnlyAdmin[M: Model](admin.ModelAdmin[M]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ComponentStateChange)
class ComponentStateChangeAdmin(ReadOnlyAdmin[ComponentStateChange]):
    list_display = ("component", "state", "started_at", "ended_at")
    list_filter = ("state",)


class PublicUpdateInline(admin.TabularInline[PublicUpdate, PublicIncident]):
    model = PublicUpdate
    fields = ("created_at", "status", "body")
    readonly_fields = fields
    extra = 0


@admin.register(PublicIncident)
class PublicIncidentAdmin(PageAdmin[PublicIncident]):
    list_display = ("name", "status", "impact", "withdrawn", "created_at", "resolved_at")
    list_filter = ("status", "impact", "withdrawn")
    readonly_fields = ("incident", "status", "impact", "created_at", "updated_at")
    inlines = (PublicUpdateInline,)


@admin.register(ComponentOverride)
class ComponentOverrideAdmin(ReadOnlyAdmin[ComponentOverride]):
    list_display = ("public_incident", "component", "state", "set_at", "set_by")


class MaintenanceUpdateInline(admin.TabularInline[MaintenanceUpdate, Maintenance]):
    model = MaintenanceUpdate
    fields = ("created_at", "status", "body")
    readonly_fields = fields
    extra = 0


class MaintenanceTimerInline(admin.TabularInline[MaintenanceTimer, Maintenance]):
    model = MaintenanceTimer
    fields = ("kind", "due_at", "claimed_at", "done_at")
    readonly_fields = fields
    extra = 0


@admin.register(Maintenance)
class MaintenanceAdmin(PageAdmin[Maintenance]):
    list_display = ("name", "status", "scheduled_for", "scheduled_until")
    list_filter = ("status",)
    # Scheduling, editing, cancelling and completing go through /status/manage/, which keeps
    # the timers in step with the window, leaves an update and tells the subscribers once;
    # an edit here would do none of that. Deleting a maintenance is the admin's repair.
    readonly_fields = (
        "name",
        "message",
        "components",
        "status",
        "scheduled_for",
        "scheduled_until",
        "started_at",
        "completed_at",
    )
    inlines = (MaintenanceUpdateInline, MaintenanceTimerInline)


# The subscribers' admin lives beside its models (statuspage.models_subscribers).
from statuspage import admin_subscribers  # noqa: E402, F401
