"""My paging settings (/me/paging/): contact methods, their verification, notification rules.

Every write goes through oncall.services. A form post answers with a redirect back to the page
(post/redirect/get) and a message, except in two cases: a form with errors re-renders the page
with them (400, nothing written), and adding a webhook answers with the page showing its
signing secret, the one time Tocsin shows it.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from redis.exceptions import RedisError

from accounts.models import User
from accounts.requests import AuthedRequest
from oncall.forms import ContactMethodForm, RuleForm, VerifyForm, method_label
from oncall.models import (
    ContactKind,
    ContactMethod,
    Notification,
    NotificationKind,
    NotificationRule,
)
from oncall.services import contacts
from oncall.services.base import clock
from ops.confirm import Confirmation, confirmation_page, confirmed
from ops.forms import add_service_errors

logger = logging.getLogger(__name__)

SETTINGS_URL = "oncall:paging-settings"

# Codes and test pages go to addresses typed into this page, which need not be the typist's:
# a budget per person keeps the page from being used to flood someone's phone.
SEND_BUDGET = 10
SEND_WINDOW = 600  # seconds
TOO_MANY_SENDS = "You asked for many messages in a short time. Wait ten minutes and try again."


@dataclass(frozen=True)
class MethodRow:
    method: ContactMethod
    # The code form, for a method waiting for its code (new, or disabled and sent a new one).
    verify_form: VerifyForm | None


@dataclass(frozen=True)
class Step:
    rule: NotificationRule
    when: str
    # Why this step pages nobody now ("" when it does).
    skipped: str


@dataclass(frozen=True)
class Suggestion:
    method: ContactMethod
    when: str


def _when(delay: timedelta) -> str:
    minutes = int(delay.total_seconds() // 60)
    return "immediately" if minutes == 0 else f"after {minutes} min"


def _skipped(method: ContactMethod) -> str:
    if method.disabled_at is not None:
        return "skipped: the method is disabled"
    if method.verified_at is None:
        return "skipped: the method is not verified"
    return ""


def _awaits_code(method: ContactMethod) -> bool:
    return not method.usable and bool(method.verification_code_hash)


def _may_send(user: User) -> bool:
    """Spend one of the person's codes-and-test-pages budget; False when it is spent.

    Counted in the cache, per person, so that removing a method (which deletes its codes) does
    not give the budget back. With the cache unreachable (Redis down), the codes and test pages
    still on record stand in: the page keeps working, held to its budget except by someone who
    removes methods to reset it, and only while Redis is away.
    """
    key = f"paging-profile:sends:{user.pk}"
    try:
        cache.add(key, 0, timeout=SEND_WINDOW)
        try:
            sent = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=SEND_WINDOW)
            sent = 1
    except RedisError as error:
        logger.warning("send budget of user %s counted from the database: %s", user.pk, error)
        since = clock() - timedelta(seconds=SEND_WINDOW)
        sent = 1 + (
            Notification.objects.filter(
                user=user,
                kind__in=(NotificationKind.VERIFICATION, NotificationKind.TEST),
                created_at__gte=since,
            ).count()
        )
    return sent <= SEND_BUDGET


def _my_methods(user: User) -> list[ContactMethod]:
    return list(
        ContactMethod.objects.filter(user=user, removed_at__isnull=True).order_by(
            "created_at", "id"
        )
    )


def _method_or_404(request: AuthedRequest, pk: int) -> ContactMethod:
    # Another person's method is not found, rather than forbidden: its id tells nothing.
    return get_object_or_404(ContactMethod, pk=pk, user=request.user, removed_at__isnull=True)


def _back(method: ContactMethod | None = None, anchor: str = "") -> HttpResponse:
    url = reverse(SETTINGS_URL)
    if method is not None:
        anchor = f"method-{method.pk}"
    return redirect(f"{url}#{anchor}" if anchor else url)


def _render(
    request: AuthedRequest,
    *,
    add_form: ContactMethodForm | None = None,
    rule_form: RuleForm | None = None,
    verify_forms: dict[int, VerifyForm] | None = None,
    created: ContactMethod | None = None,
    status: int = 200,
) -> HttpResponse:
    """The page. Two queries whatever it lists: my methods, my rules with their methods."""
    verify_forms = verify_forms or {}
    methods = _my_methods(request.user)
    rules = list(
        NotificationRule.objects.filter(user=request.user).select_related("contact_method")
    )
    usable = [method for method in methods if method.usable]
    steps = [Step(rule, _when(rule.delay), _skipped(rule.contact_method)) for rule in rules]
    working = [step for step in steps if not step.skipped]
    context: dict[str, Any] = {
        "methods": [
            MethodRow(
                method,
                verify_forms.get(method.pk)
                or (VerifyForm(auto_id=f"code-{method.pk}-%s") if _awaits_code(method) else None),
            )
            for method in methods
        ],
        "disabled": [method for method in methods if method.disabled_at is not None],
        "usable": usable,
        "steps": steps,
        "summary": ", ".join(
            f"{step.rule.contact_method.get_kind_display()} {step.when}" for step in working
        ),
        # Rules whose methods all stopped working page nobody; say so rather than pretend.
        "steps_page_nobody": bool(steps) and not working,
        "suggestions": [
            Suggestion(method, _when(contacts.RECOMMENDED_DELAY[ContactKind(method.kind)]))
            for method in sorted(
                usable, key=lambda m: contacts.RECOMMENDED_DELAY[ContactKind(m.kind)]
            )
        ],
        "add_form": add_form or ContactMethodForm(auto_id="add-%s"),
        "rule_form": rule_form or RuleForm(methods=usable, auto_id="rule-%s"),
        "created": created,
        "verification_minutes": int(contacts.VERIFICATION_TTL.total_seconds() // 60),
    }
    response = render(request, "oncall/paging_settings.html", context, status=status)
    if created is not None:
        # The one copy of the signing secret on screen: no cache, no back-forward cache.
        response["Cache-Control"] = "no-store"
    return response


@require_GET
@login_required
def paging_settings(request: AuthedRequest) -> HttpResponse:
    return _render(request)


@require_POST
@login_required
def method_add(request: AuthedRequest) -> HttpResponse:
    form = ContactMethodForm(request.POST, auto_id="add-%s")
    if form.is_valid():
        data = form.cleaned_data
        if data["kind"] != ContactKind.WEBHOOK and not _may_send(request.user):
            form.add_error(None, TOO_MANY_SENDS)
        else:
            try:
                method = contacts.contact_method_add(
                    user=request.user,
                    kind=ContactKind(data["kind"]),
                    address=data["address"],
                    label=data["label"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                if method.kind == ContactKind.WEBHOOK:
                    return _render(request, created=method, status=201)
                messages.success(
                    request,
                    f"We sent a code to {method.address}. Enter it below to receive pages there.",
                )
                return _back(method)
    return _render(request, add_form=form, status=400)


@require_POST
@login_required
def method_verify(request: AuthedRequest, pk: int) -> HttpResponse:
    method = _method_or_404(request, pk)
    if method.usable:
        messages.info(request, f"{method_label(method)} is already verified.")
        return _back(method)
    form = VerifyForm(request.POST, auto_id=f"code-{method.pk}-%s")
    if form.is_valid():
        try:
            contacts.contact_method_verify(
                method=method, code=form.cleaned_data["code"], actor=request.user
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Verified: pages can now reach you at {method.address}.")
            return _back(method)
    return _render(request, verify_forms={method.pk: form}, status=400)


@require_POST
@login_required
def method_send_code(request: AuthedRequest, pk: int) -> HttpResponse:
    method = _method_or_404(request, pk)
    if method.usable:
        messages.info(request, f"{method_label(method)} is already verified.")
    elif not _may_send(request.user):
        messages.error(request, TOO_MANY_SENDS)
    else:
        contacts.contact_method_send_code(method=method, actor=request.user)
        messages.success(request, f"A new code is on its way to {method.address}.")
    return _back(method)


@require_POST
@login_required
def method_test(request: AuthedRequest, pk: int) -> HttpResponse:
    method = _method_or_404(request, pk)
    if not method.usable:
        messages.error(request, f"Verify {method.address} before sending a test page to it.")
    elif not _may_send(request.user):
        messages.error(request, TOO_MANY_SENDS)
    else:
        contacts.contact_method_send_test(method=method, actor=request.user)
        messages.success(
            request, f"Test page on its way to {method.address}. It should arrive within a minute."
        )
    return _back(method)


@require_POST
@login_required
def method_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    method = _method_or_404(request, pk)
    label = method_label(method)
    if not confirmed(request):
        # Removing the last working method leaves a person on call unreachable.
        return confirmation_page(
            request,
            Confirmation(
                question=f"Remove {label}?",
                consequence=(
                    "Pages stop going there, and the steps that use it are removed with it. "
                    "This cannot be undone: add it again, and verify it, to be paged there."
                ),
                action="Remove contact method",
                cancel_url=f"{reverse(SETTINGS_URL)}#method-{method.pk}",
            ),
        )
    contacts.contact_method_delete(actor=request.user, method=method)
    messages.success(request, f"Removed {label}, and its steps.")
    return _back()


@require_POST
@login_required
def rule_add(request: AuthedRequest) -> HttpResponse:
    usable = [method for method in _my_methods(request.user) if method.usable]
    form = RuleForm(request.POST, methods=usable, auto_id="rule-%s")
    if form.is_valid():
        method: ContactMethod = form.cleaned_data["method"]
        try:
            contacts.notification_rule_add(
                actor=request.user, method=method, delay=form.cleaned_data["minutes"]
            )
        except ValidationError as exc:
            # The service names the delay; the form calls it minutes.
            form.add_error("minutes", exc.messages)
        else:
            messages.success(request, "Step added.")
            return _back(anchor="rules")
    return _render(request, rule_form=form, status=400)


@require_POST
@login_required
def rule_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(NotificationRule, pk=pk, user=request.user)
    contacts.notification_rule_delete(actor=request.user, rule=rule)
    messages.success(request, "Step removed.")
    return _back(anchor="rules")


@require_POST
@login_required
def rules_recommended(request: AuthedRequest) -> HttpResponse:
    """Steps for each usable method: chat, email and webhook at once, SMS at 1, voice at 5."""
    try:
        contacts.notification_rules_recommended(user=request.user)
    except ValidationError as refused:
        messages.error(request, " ".join(refused.messages))
        return _back(anchor="rules")
    messages.success(request, "Added the recommended steps.")
    return _back(anchor="rules")
