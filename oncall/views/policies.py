"""Escalation policies: the list, a policy's page, creating, editing and deleting one."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.requests import AuthedRequest
from incidents.permissions import Action, can, require
from oncall import selectors
from oncall.forms import PolicyForm, level_formset
from oncall.models import EscalationLevel, EscalationPolicy, EscalationTarget, TargetKind
from oncall.policy_usage import policy_uses
from oncall.services import policies
from oncall.views.common import form_status
from ops.confirm import Confirmation, confirmation_page, confirmed
from ops.forms import add_service_errors

POLICY_PREFETCH = (
    Prefetch(
        "levels",
        queryset=EscalationLevel.objects.prefetch_related(
            Prefetch(
                "targets",
                queryset=EscalationTarget.objects.select_related(
                    "user", "schedule__team", "team"
                ).order_by("pk"),
            )
        ),
    ),
)


@dataclass(frozen=True)
class LevelView:
    level: EscalationLevel
    minutes: int
    targets: list[str] = field(default_factory=list)


def describe_target(target: EscalationTarget) -> str:
    if target.kind == TargetKind.USER and target.user is not None:
        return target.user.display_name
    if target.kind == TargetKind.SCHEDULE and target.schedule is not None:
        return f"On call in {target.schedule.name} ({target.schedule.team.name})"
    if target.kind == TargetKind.TEAM_LEADS and target.team is not None:
        return f"Leads of {target.team.name}"
    return "Nobody"


def _level_views(levels: Iterable[EscalationLevel]) -> list[LevelView]:
    return [
        LevelView(
            level=level,
            minutes=int(level.delay.total_seconds() // 60),
            targets=[describe_target(t) for t in level.targets.all()],
        )
        for level in levels
    ]


def unreachable_warnings(levels: Iterable[EscalationLevel]) -> list[str]:
    """A warning for each person a level names who has no contact method a page can use.
    Not an error: the person may add one later, and the other levels still page."""
    named = [
        (level.position, target.user)
        for level in levels
        for target in level.targets.all()
        if target.kind == TargetKind.USER and target.user is not None
    ]
    missing = selectors.unreachable(user.pk for _, user in named)
    return [
        f"Level {position}: {user.display_name} has no verified contact method, "
        "so a page to them reaches nobody."
        for position, user in named
        if user.pk in missing
    ]


def _policy_or_404(pk: int) -> EscalationPolicy:
    try:
        return (
            EscalationPolicy.objects.select_related("team")
            .prefetch_related(*POLICY_PREFETCH)
            .get(pk=pk)
        )
    except EscalationPolicy.DoesNotExist as exc:
        raise Http404("No such escalation policy.") from exc


@login_required
@require_GET
def policy_list(request: AuthedRequest) -> HttpResponse:
    all_policies = list(
        EscalationPolicy.objects.select_related("team").prefetch_related(*POLICY_PREFETCH)
    )
    uses = policy_uses(all_policies, viewer=request.user)
    return render(
        request,
        "oncall/policy_list.html",
        {
            "rows": [(p, _level_views(p.levels.all()), uses[p.pk]) for p in all_policies],
            "can_manage": can(request.user, Action.MANAGE_ONCALL),
        },
    )


@login_required
@require_GET
def policy_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    policy = _policy_or_404(pk)
    return render(
        request,
        "oncall/policy_detail.html",
        {
            "policy": policy,
            "levels": _level_views(policy.levels.all()),
            "warnings": unreachable_warnings(policy.levels.all()),
            "uses": policy_uses([policy], viewer=request.user)[policy.pk],
            "can_manage": can(request.user, Action.MANAGE_ONCALL),
        },
    )


def _policy_form(request: AuthedRequest, policy: EscalationPolicy | None) -> HttpResponse:
    require(request.user, Action.MANAGE_ONCALL)
    data = request.POST if request.method == "POST" else None
    form = PolicyForm.for_policy(policy, data) if policy is not None else PolicyForm(data)
    levels = level_formset(data, levels=list(policy.levels.all()) if policy else None)
    if form.is_valid() and levels.is_valid():
        try:
            saved = policies.policy_save(
                actor=request.user,
                levels=levels.specs(),
                policy=policy,
                **form.cleaned_data,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Escalation policy {saved.name} saved.")
            saved_levels = EscalationLevel.objects.filter(policy=saved).prefetch_related(
                Prefetch("targets", queryset=EscalationTarget.objects.select_related("user"))
            )
            for warning in unreachable_warnings(saved_levels):
                messages.warning(request, warning)
            return redirect("oncall:policy-detail", pk=saved.pk)
    return render(
        request,
        "oncall/policy_form.html",
        {"form": form, "levels": levels, "policy": policy},
        status=form_status(form),
    )


@login_required
def policy_create(request: AuthedRequest) -> HttpResponse:
    return _policy_form(request, None)


@login_required
def policy_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    return _policy_form(request, _policy_or_404(pk))


@login_required
@require_POST
def policy_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    require(request.user, Action.MANAGE_ONCALL)
    policy = _policy_or_404(pk)
    if not confirmed(request):
        return confirmation_page(
            request,
            Confirmation(
                question=f"Delete the escalation policy {policy.name}?",
                consequence="Its levels are deleted with it. This cannot be undone.",
                action="Delete policy",
                cancel_url=reverse("oncall:policy-detail", args=[policy.pk]),
            ),
        )
    try:
        policies.policy_delete(actor=request.user, policy=policy)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("oncall:policy-detail", pk=pk)
    messages.success(request, f"Escalation policy {policy.name} deleted.")
    return redirect("oncall:policy-list")
