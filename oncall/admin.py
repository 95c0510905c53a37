from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from oncall.models import (
    ContactMethod,
    DeliveryAttempt,
    Escalation,
    EscalationLevel,
    EscalationPolicy,
    EscalationTarget,
    LayerParticipant,
    Notification,
    NotificationRule,
    Schedule,
    ScheduleLayer,
    ScheduleOverride,
)


class LayerInline(admin.TabularInline[ScheduleLayer, Schedule]):
    model = ScheduleLayer
    extra = 0


class OverrideInline(admin.TabularInline[ScheduleOverride, Schedule]):
    model = ScheduleOverride
    extra = 0
    fk_name = "schedule"


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin[Schedule]):
    list_display = ("name", "team", "time_zone")
    list_filter = ("team",)
    search_fields = ("name",)
    exclude = ("feed_token",)
    inlines = (LayerInline, OverrideInline)


class ParticipantInline(admin.TabularInline[LayerParticipant, ScheduleLayer]):
    model = LayerParticipant
    extra = 0


@admin.register(ScheduleLayer)
class ScheduleLayerAdmin(admin.ModelAdmin[ScheduleLayer]):
    list_display = ("name", "schedule", "level", "shift_length", "starts_at", "ends_at")
    inlines = (ParticipantInline,)


class LevelInline(admin.TabularInline[EscalationLevel, EscalationPolicy]):
    model = EscalationLevel
    extra = 0


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin[EscalationPolicy]):
    list_display = ("name", "team", "repeat", "is_default")
    inlines = (LevelInline,)


class TargetInline(admin.TabularInline[EscalationTarget, EscalationLevel]):
    model = EscalationTarget
    extra = 0


@admin.register(EscalationLevel)
class EscalationLevelAdmin(admin.ModelAdmin[EscalationLevel]):
    list_display = ("policy", "position", "delay", "management")
    inlines = (TargetInline,)


@admin.register(ContactMethod)
class ContactMethodAdmin(admin.ModelAdmin[ContactMethod]):
    """Verification happens on the person's paging page: a code proves the address is theirs."""

    list_display = ("user", "kind", "address", "verified_at", "disabled_at")
    list_filter = ("kind",)
    search_fields = ("address", "user__username")
    readonly_fields = ("verified_at", "disabled_at", "disabled_reason")
    exclude = ("verification_code_hash", "verification_expires_at", "verification_attempts")


@admin.register(NotificationRule)
class NotificationRuleAdmin(admin.ModelAdmin[NotificationRule]):
    list_display = ("user", "contact_method", "delay")


class AttemptInline(admin.TabularInline[DeliveryAttempt, Notification]):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("started_at", "duration_ms", "status", "provider_id", "error")


class _EngineRowsAdmin[M: Model](admin.ModelAdmin[M]):
    """Rows the paging engine writes: shown, never added or edited by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(_EngineRowsAdmin[Notification]):
    """Read-only: the paging engine writes these; editing one by hand could page twice."""

    list_display = ("key", "kind", "user", "contact_method", "state", "due_at", "attempts")
    list_filter = ("state", "kind")
    search_fields = ("key", "user__username")
    inlines = (AttemptInline,)


@admin.register(Escalation)
class EscalationAdmin(_EngineRowsAdmin[Escalation]):
    list_display = ("incident", "policy", "state", "level_index", "cycle", "next_at")
    list_filter = ("state",)
