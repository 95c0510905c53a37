"""Action-item pages: "My action items" (and every item one may see), an item's page with its
edit form, the add form posted from the postmortem and incident pages, and the report.

The add form lives in templates/postmortems/_action_items.html, shown on the postmortem page
(panel_context) and in the incident page's panel (postmortems/panels.py). An htmx post gets
that part back, re-rendered; a plain post is redirected to the page it came from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.core.validators import URLValidator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_GET, require_http_methods

from accounts.forms import PersonChoiceField
from accounts.models import User
from accounts.requests import AuthedRequest, wants_fragment
from incidents.models import Incident, Team
from incidents.permissions import Action, can
from incidents.selectors import incident_get_for_user
from ops.forms import add_service_errors
from postmortems import report
from postmortems import selectors_action_items as selectors
from postmortems.models import (
    ActionItem,
    ActionItemKind,
    ActionItemPriority,
    ActionItemStatus,
    Postmortem,
)
from postmortems.services import action_items as services
from postmortems.services.reminders import organisation_today

PAGE_SIZE = 50
PARTIAL = "postmortems/_action_items.html"


class ActionItemForm(forms.Form):
    """A new action item. The service checks it again (owner, due date, link)."""

    title = forms.CharField(max_length=services.TITLE_MAX)
    owner = PersonChoiceField(
        queryset=User.objects.none(), required=False, empty_label="Nobody yet"
    )
    due_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    priority = forms.ChoiceField(choices=ActionItemPriority.choices, initial=ActionItemPriority.P3)
    kind = forms.ChoiceField(
        choices=ActionItemKind.choices,
        initial=ActionItemKind.PREVENT,
        help_text="Prevent it happening again, detect it sooner, mitigate or repair its "
        "effects, or improve how we respond (process).",
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"), required=False, empty_label="The incident's team"
    )
    description = forms.CharField(
        required=False, max_length=services.MAX_TEXT, widget=forms.Textarea(attrs={"rows": 3})
    )
    success_criteria = forms.CharField(
        required=False,
        max_length=services.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="How we will know it is done.",
    )
    # A CharField, not a URLField: that one would accept ftp:// and guess a scheme.
    ticket_url = forms.CharField(
        label="Ticket URL",
        required=False,
        max_length=services.TICKET_URL_MAX,
        validators=[
            URLValidator(
                schemes=["http", "https"],
                message="Give a link starting with http:// or https://.",
            )
        ],
        widget=forms.URLInput(attrs={"placeholder": "https://…"}),
    )

    def __init__(
        self, *args: Any, incident: Incident, keep_owner: User | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        owner_field = cast(PersonChoiceField, self.fields["owner"])
        owner_field.queryset = selectors.possible_owners(incident=incident, keep=keep_owner)


class ActionItemEditForm(ActionItemForm):
    status = forms.ChoiceField(choices=ActionItemStatus.choices)
    wont_do_reason = forms.CharField(
        label="Why it will not be done",
        required=False,
        max_length=services.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Needed for won't do.",
    )
    field_order = ("title", "status", "wont_do_reason", "owner", "due_date", "priority", "kind")

    def __init__(self, *args: Any, item: ActionItem, **kwargs: Any) -> None:
        super().__init__(*args, incident=item.incident, keep_owner=item.owner, **kwargs)
        self.fields["due_date"].required = True
        cast(forms.ModelChoiceField[Team], self.fields["team"]).empty_label = "No team"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("status") == ActionItemStatus.WONT_DO and not data.get("wont_do_reason"):
            self.add_error("wont_do_reason", "Say why this will not be done.")
        return data


def initial_of(item: ActionItem) -> dict[str, Any]:
    return {name: getattr(item, name) for name in services.EDITABLE_FIELDS}


class ActionItemFilterForm(forms.Form):
    STATUS_CHOICES = [
        ("", "Any status"),
        (selectors.NOT_CLOSED, "Open or in progress"),
        *ActionItemStatus.choices,
    ]

    tab = forms.ChoiceField(choices=[("mine", "Mine"), ("all", "All")], required=False)
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False)
    owner = forms.ChoiceField(required=False)  # a username, or "none" for unowned items
    team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label="Any team",
    )
    overdue = forms.BooleanField(label="Only overdue", required=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.people = {
            person.username: person for person in selectors.people_owning_items(user=user)
        }
        cast(forms.ChoiceField, self.fields["owner"]).choices = [
            ("", "Any owner"),
            ("none", "Nobody"),
            *((name, person.display_name) for name, person in self.people.items()),
        ]

    def tab_name(self) -> str:
        self.is_valid()
        return "all" if self.cleaned_data.get("tab") == "all" else "mine"

    def filters(self) -> selectors.ActionItemFilters:
        """The valid filters; an invalid one is reported on the form and otherwise ignored."""
        self.is_valid()
        data = self.cleaned_data
        owner_name = data.get("owner") or ""
        team: Team | None = data.get("team")
        status = data.get("status") or ""
        return selectors.ActionItemFilters(
            statuses=[status] if status else [],
            owner=owner_name if owner_name in self.people else "",
            unowned=owner_name == "none",
            team_slug=team.slug if team else "",
            overdue=True if data.get("overdue") else None,
        )


def _incident_or_404(request: AuthedRequest, number: int) -> Incident:
    try:
        return incident_get_for_user(user=request.user, number=number)
    except Incident.DoesNotExist as exc:
        raise Http404("No such incident.") from exc


def _item_or_404(request: AuthedRequest, pk: int) -> ActionItem:
    try:
        return selectors.action_item_get_for_user(user=request.user, pk=pk)
    except ActionItem.DoesNotExist as exc:
        raise Http404("No such action item.") from exc


def items_context(
    *,
    incident: Incident,
    user: User,
    back: str,
    form: ActionItemForm | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """What templates/postmortems/_action_items.html needs, as `action_items`: the incident's
    items, and for those who may add one a button that fetches the add form (so the pages that
    show this part pay for the form's choices only when someone opens it), or `form` itself
    when it came back with errors. `back` is the page to return to. Two queries at most."""
    can_add = can(user, Action.RESPOND, incident)
    items = selectors.incident_action_items(incident=incident)
    today = organisation_today(now)
    new_url = reverse("postmortems:action_item_new", kwargs={"number": incident.number})
    context = {
        "incident": incident,
        "items": items,
        "open_count": sum(not item.is_closed for item in items),
        "overdue_count": sum(selectors.is_overdue(item, today=today) for item in items),
        "can_add": can_add,
        "new_url": new_url,
        "add_url": f"{new_url}?{urlencode({'back': back})}",
        "back": back,
        "today": today,
    }
    if can_add and form is not None:
        context.update(_form_context(incident, form, back=back))
    return context


def _form_context(incident: Incident, form: ActionItemForm, *, back: str) -> dict[str, Any]:
    """What templates/postmortems/action_item_form.html needs."""
    return {
        "incident": incident,
        "form": form,
        "back": back,
        "new_url": reverse("postmortems:action_item_new", kwargs={"number": incident.number}),
        "default_due_days": services.default_due_days(incident),
    }


def panel_context(*, postmortem: Postmortem, request: HttpRequest) -> dict[str, Any]:
    """What templates/postmortems/_action_items.html needs on the postmortem page (a signed-in
    user's)."""
    return items_context(
        incident=postmortem.incident,
        user=cast(User, request.user),
        back=request.get_full_path(),
    )


def _back(request: AuthedRequest, incident: Incident) -> str:
    """The page the form came from, if it is ours; else the incident page."""
    back = request.POST.get("back") or request.GET.get("back") or ""
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return back
    return incident.get_absolute_url()


def _new_form(incident: Incident, data: Any = None) -> ActionItemForm:
    # Its own ids: the incident page holds other forms with fields of the same names.
    return ActionItemForm(data, incident=incident, auto_id="id_new_item_%s")


@login_required
@require_http_methods(["GET", "POST"])
def action_item_new(request: AuthedRequest, number: int) -> HttpResponse:
    """GET: the add form (htmx: just the form, for the button that fetched it). POST: add the
    item; htmx gets the action items part back, a plain post goes back where it came from."""
    incident = _incident_or_404(request, number)
    back = _back(request, incident)
    if request.method == "GET":
        if not can(request.user, Action.RESPOND, incident):
            raise PermissionDenied("You may not add action items to this incident.")
        form_context = _form_context(incident, _new_form(incident), back=back)
        if wants_fragment(request):
            return render(request, "postmortems/action_item_form.html", form_context)
        return render(
            request, "postmortems/action_item_new.html", {**form_context, "standalone": True}
        )
    form = _new_form(incident, request.POST)
    item = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            item = services.action_item_create(
                incident=incident,
                actor=request.user,
                title=data["title"],
                owner=data["owner"],
                team=data["team"],
                due_date=data["due_date"],
                priority=data["priority"],
                kind=data["kind"],
                description=data["description"],
                success_criteria=data["success_criteria"],
                ticket_url=data["ticket_url"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
    if item is not None and not wants_fragment(request):
        messages.success(request, f"Added action item “{item.title}”.")
        return redirect(back)
    if wants_fragment(request):
        context = items_context(
            incident=incident, user=request.user, back=back, form=None if item else form
        )
        context["added"] = item
        return render(request, PARTIAL, {"action_items": context}, status=200 if item else 400)
    return render(
        request,
        "postmortems/action_item_new.html",
        {**_form_context(incident, form, back=back), "standalone": True},
        status=400,
    )


@login_required
@require_http_methods(["GET", "POST"])
def action_item_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    item = _item_or_404(request, pk)
    can_edit = can(request.user, Action.RESPOND, item.incident)
    form = None
    status = 200
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied("You may not change this action item.")
        form = ActionItemEditForm(request.POST, item=item)
        if form.is_valid():
            try:
                services.action_item_update(
                    item=item, actor=request.user, changes=_changes(form.cleaned_data)
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Saved.")
                return redirect(item)
        status = 400
    elif can_edit:
        form = ActionItemEditForm(initial=initial_of(item), item=item)
    has_postmortem = Postmortem.objects.filter(incident_id=item.incident_id).exists()
    postmortem_url = report.postmortem_path(item.incident.number) if has_postmortem else ""
    return render(
        request,
        "postmortems/action_item.html",
        {
            "item": item,
            "form": form,
            "postmortem_url": postmortem_url,
            "today": organisation_today(),
        },
        status=status,
    )


def _changes(data: dict[str, Any]) -> dict[str, Any]:
    return {name: data.get(name) or _empty(name) for name in services.EDITABLE_FIELDS}


def _empty(name: str) -> Any:
    return None if name in ("owner", "team", "due_date") else ""


@login_required
@require_GET
def my_action_items(request: AuthedRequest) -> HttpResponse:
    form = ActionItemFilterForm(request.GET, user=request.user)
    tab = form.tab_name()
    filters = form.filters()
    if tab == "mine":
        filters = selectors.ActionItemFilters(
            statuses=filters.statuses, owner=request.user.username
        )
    items = selectors.action_item_list(user=request.user, filters=filters)
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "postmortems/my_action_items.html",
        {
            "form": form,
            "tab": tab,
            "page": page,
            "today": organisation_today(),
        },
    )


@login_required
@require_GET
def action_item_report(request: AuthedRequest) -> HttpResponse:
    return render(
        request,
        "postmortems/report.html",
        {
            "report": report.action_item_report(user=request.user),
            "definitions": report.definitions(),
            "days": report.REPORT_DAYS,
        },
    )


@login_required
@require_GET
def action_item_report_json(request: AuthedRequest) -> JsonResponse:
    return JsonResponse(
        report.action_item_report(user=request.user).as_json(),
        json_dumps_params={"ensure_ascii": False},
    )


urlpatterns: list[URLPattern] = [
    path("action-items/", my_action_items, name="my_action_items"),
    path("action-items/report/", action_item_report, name="action_item_report"),
    path("action-items/report.json", action_item_report_json, name="action_item_report_json"),
    path("action-items/<int:pk>/", action_item_detail, name="action_item"),
    path("incidents/<int:number>/action-items/new/", action_item_new, name="action_item_new"),
]
