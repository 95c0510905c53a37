"""Subscribers in the Django admin: managers and admins list them; staff add webhook
subscribers (with a public URL; the signing secret is made for them)."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from statuspage.models import Subscriber, SubscriberKind, SubscriberNotification, WebhookAttempt
from statuspage.subscriptions import services


class SubscriberForm(forms.ModelForm[Subscriber]):
    class Meta:
        model = Subscriber
        fields = ("kind", "address", "all_components", "components")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.instance.pk is None and cleaned.get("kind") == SubscriberKind.EMAIL:
            # An email address subscribes itself and confirms: staff cannot opt anyone in.
            self.add_error("kind", "Email subscribers sign up on the status page.")
        elif cleaned.get("kind") == SubscriberKind.WEBHOOK and cleaned.get("address"):
            refused = services.webhook_url_refused(cleaned["address"])
            if refused:
                self.add_error("address", refused)
        return cleaned


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin[Subscriber]):
    form = SubscriberForm
    list_display = (
        "address",
        "kind",
        "all_components",
        "confirmed_at",
        "unsubscribed_at",
        "disabled_at",
        "consecutive_failures",
    )
    list_filter = ("kind",)
    search_fields = ("address",)
    readonly_fields = (
        "secret",
        "created_at",
        "confirmed_at",
        "unsubscribed_at",
        "disabled_at",
        "consecutive_failures",
    )
    filter_horizontal = ("components",)

    def save_model(self, request: HttpRequest, obj: Subscriber, form: Any, change: bool) -> None:
        if not change:
            # A webhook added by staff is confirmed by them, and gets its signing secret.
            obj.address = obj.address.strip()
            obj.secret = services.new_webhook_secret()
            obj.created_at = obj.confirmed_at = timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(SubscriberNotification)
class SubscriberNotificationAdmin(admin.ModelAdmin[SubscriberNotification]):
    list_display = ("event_key", "subscriber", "state", "attempts", "due_at", "sent_at")
    list_filter = ("state",)
    list_select_related = ("subscriber",)
    readonly_fields = [f.name for f in SubscriberNotification._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[SubscriberNotification]:
        return super().get_queryset(request).select_related("subscriber")


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(admin.ModelAdmin[WebhookAttempt]):
    list_display = ("notification", "started_at", "status_code", "succeeded", "duration_ms")
    readonly_fields = [f.name for f in WebhookAttempt._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
