"""The postmortem's workflow on its page, and the list of postmortems.

The postmortem page includes templates/postmortems/_workflow.html with `workflow` =
panel_context(...): status, reviewers and their thread, and the forms of the workflow. Every
action is a POST to its own view, as on the incident page. An htmx request gets the panel back:
with the form's errors (400), a refusal (403) or a conflict (409), or as it is after the change,
with an HX-Trigger `postmortem-changed` other parts of the page may listen to. Publishing and
reopening change the whole page (read-only or not), so htmx is sent to the page again. A plain
form post is redirected to the postmortem page, or shown the panel with its errors on a page of
its own, so the UI also works without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from accounts.forms import PeopleChoiceField
from accounts.models import User
from accounts.requests import AuthedRequest, render_fragment_or_page, wants_fragment
from incidents.models import Service, Severity, Team
from incidents.permissions import Action, can
from ops.forms import add_service_errors
from postmortems import selectors
from postmortems.models import ContributingFactor, Postmortem, PostmortemStatus, ReviewState
from postmortems.services import workflow
from postmortems.services.postmortems import PostmortemConflict

PAGE_SIZE = 25
PANEL_ID = "postmortem-workflow"
CHANGED_EVENT = "postmortem-changed"


class WorkflowForm(forms.Form):
    """A form of the panel: it knows the postmortem and who fills it in."""

    def __init__(self, *args: Any, postmortem: Postmortem, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.postmortem = postmortem
        self.user = user


class RequestReviewForm(WorkflowForm):
    reviewers = PeopleChoiceField(
        queryset=User.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text="People who may respond to the incident; each is emailed.",
        error_messages={"required": "Name at least one reviewer."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        people = selectors.people_who_may_respond_to(self.postmortem.incident)
        field = cast(PeopleChoiceField, self.fields["reviewers"])
        field.queryset = people.exclude(pk=self.user.pk)


class ReviewForm(WorkflowForm):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("comment", "Comment")])
    comment = forms.CharField(
        label="Your review",
        required=False,
        max_length=workflow.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Needed to comment; optional with an approval.",
    )


class CommentForm(WorkflowForm):
    text = forms.CharField(
        label="Reply in the thread",
        max_length=workflow.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class DetailsForm(WorkflowForm):
    title = forms.CharField(max_length=workflow.TITLE_MAX_LENGTH)
    authors = PeopleChoiceField(
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    contributing_factors = forms.ModelMultipleChoiceField(
        queryset=ContributingFactor.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Conditions that made it possible or worse; the monthly report counts them.",
    )
    no_action_reason = forms.CharField(
        label="Why no action is needed",
        required=False,
        max_length=workflow.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Publishing needs an action item, or this.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        postmortem = self.postmortem
        people = selectors.people_who_may_respond_to(postmortem.incident)
        # Those already named stay choosable even if they no longer qualify: saving the
        # title must not fail over an author who has left.
        authors = postmortem.authors.values("pk")
        factors = postmortem.contributing_factors.values("pk")
        author_field = cast(PeopleChoiceField, self.fields["authors"])
        factor_field = cast(
            forms.ModelMultipleChoiceField[ContributingFactor], self.fields["contributing_factors"]
        )
        author_field.queryset = User.objects.filter(
            Q(pk__in=people.values("pk")) | Q(pk__in=authors)
        ).order_by("first_name", "last_name", "username")
        factor_field.queryset = ContributingFactor.objects.filter(
            Q(active=True) | Q(pk__in=factors)
        )
        if not self.is_bound:
            self.initial = {
                "title": postmortem.title,
                "authors": [row["pk"] for row in authors],
                "contributing_factors": [row["pk"] for row in factors],
                "no_action_reason": postmortem.no_action_reason,
            }


class PublishForm(WorkflowForm):
    """Nothing to fill in: the button is the form."""


# The panel's forms, by the name the template uses for each.
PANEL_FORMS: dict[str, type[WorkflowForm]] = {
    "request_review": RequestReviewForm,
    "review": ReviewForm,
    "comment": CommentForm,
    "details": DetailsForm,
}


def _postmortem_or_404(user: User, number: int) -> Postmortem:
    try:
        return selectors.postmortem_get_for_user(user=user, number=number)
    except Postmortem.DoesNotExist as exc:
        raise Http404("No such postmortem.") from exc


def _form(
    key: str, form_class: type[WorkflowForm], postmortem: Postmortem, user: User, data: Any = None
) -> WorkflowForm:
    return form_class(data, postmortem=postmortem, user=user, auto_id=f"workflow-{key}-%s")


def _context(
    request: HttpRequest,
    postmortem: Postmortem,
    *,
    bound: dict[str, WorkflowForm] | None = None,
    notice: str = "",
) -> dict[str, Any]:
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied("Sign in to see this postmortem.")
    bound = bound or {}
    published = postmortem.status == PostmortemStatus.PUBLISHED
    can_respond = can(user, Action.RESPOND, postmortem.incident)
    can_edit = can_respond and not published
    reviews = list(selectors.postmortem_reviews(postmortem))
    my_review = next((review for review in reviews if review.reviewer_id == user.pk), None)
    stale = workflow.stale_approvals(postmortem, reviews)
    usable = set()
    if can_edit:
        usable |= {"request_review", "comment", "details"}
    if can_respond and my_review and postmortem.status == PostmortemStatus.IN_REVIEW:
        usable.add("review")
    panel_forms = {
        key: bound.get(key) or _form(key, PANEL_FORMS[key], postmortem, user)
        for key in sorted(usable)
    }
    return {
        "postmortem": postmortem,
        "incident": postmortem.incident,
        "panel_id": PANEL_ID,
        "published": published,
        "can_respond": can_respond,
        "can_edit": can_edit,
        "reviews": reviews,
        "approvals": sum(
            1
            for review in reviews
            if review.state == ReviewState.APPROVED and review.pk not in stale
        ),
        # Approvals of words that have changed since: shown as such, to be given again.
        "stale": stale,
        "my_review": my_review,
        "my_review_stale": my_review is not None and my_review.pk in stale,
        "comments": list(selectors.postmortem_comments(postmortem)),
        "problems": [] if published else workflow.publish_problems(postmortem),
        "forms": panel_forms,
        "notice": notice,
    }


def panel_context(*, postmortem: Postmortem, request: HttpRequest) -> dict[str, Any]:
    """What templates/postmortems/_workflow.html needs on the postmortem page."""
    return _context(request, postmortem)


def _panel(
    request: AuthedRequest,
    postmortem: Postmortem,
    *,
    status: int = 200,
    bound: dict[str, WorkflowForm] | None = None,
    notice: str = "",
) -> HttpResponse:
    """The panel alone for htmx, or on a page of its own (a plain post with errors)."""
    template = (
        "postmortems/_workflow.html" if wants_fragment(request) else "postmortems/workflow.html"
    )
    context = {"workflow": _context(request, postmortem, bound=bound, notice=notice)}
    return render(request, template, context, status=status)


def _refuse(request: AuthedRequest, postmortem: Postmortem, exc: PermissionDenied) -> HttpResponse:
    if wants_fragment(request):
        notice = str(exc) or "You may not change this postmortem."
        return _panel(request, postmortem, status=403, notice=notice)
    raise exc


# What an action does with the postmortem and the cleaned form: call one service.
type Perform = Callable[[AuthedRequest, Postmortem, dict[str, Any]], object]
type WorkflowView = Callable[[AuthedRequest, int], HttpResponse]


def workflow_action(
    form_class: type[WorkflowForm], *, key: str, reloads_page: bool = False
) -> Callable[[Perform], WorkflowView]:
    """A POST that changes the postmortem from its panel (`key` names the panel's form).

    `reloads_page`: the change alters the whole page (published pages are read-only), so a
    successful htmx request is sent to the page rather than given the panel."""

    def decorate(perform: Perform) -> WorkflowView:
        def view(request: AuthedRequest, number: int) -> HttpResponse:
            postmortem = _postmortem_or_404(request.user, number)
            # The services decide; asked first here too, so a viewer's post is refused rather
            # than shown the errors of a form they were never offered.
            if not can(request.user, Action.RESPOND, postmortem.incident):
                return _refuse(request, postmortem, PermissionDenied())
            form = _form(key, form_class, postmortem, request.user, request.POST)
            bound = {key: form} if key in PANEL_FORMS else {}
            if not form.is_valid():
                return _panel(request, postmortem, status=400, bound=bound)
            try:
                perform(request, postmortem, form.cleaned_data)
            except ValidationError as exc:
                if not bound:
                    return _panel(request, postmortem, status=400, notice=" ".join(exc.messages))
                add_service_errors(form, exc)
                return _panel(request, postmortem, status=400, bound=bound)
            except PostmortemConflict as exc:
                if wants_fragment(request):
                    return _panel(request, postmortem, status=409, notice=str(exc))
                messages.error(request, str(exc))
                return redirect(postmortem)
            except PermissionDenied as exc:
                return _refuse(request, postmortem, exc)
            if not wants_fragment(request):
                return redirect(postmortem)
            if reloads_page:
                return HttpResponseClientRedirect(postmortem.get_absolute_url())
            # Re-read through the selector: the service changed the row and its relations.
            response = _panel(request, _postmortem_or_404(request.user, number))
            return trigger_client_event(response, CHANGED_EVENT)

        view.__name__, view.__qualname__ = perform.__name__, perform.__qualname__
        view.__doc__ = perform.__doc__
        return require_POST(login_required(view))

    return decorate


@workflow_action(RequestReviewForm, key="request_review")
def request_review(request: AuthedRequest, postmortem: Postmortem, data: dict[str, Any]) -> object:
    return workflow.postmortem_request_review(
        postmortem=postmortem, actor=request.user, reviewers=data["reviewers"]
    )


@workflow_action(ReviewForm, key="review")
def review(request: AuthedRequest, postmortem: Postmortem, data: dict[str, Any]) -> object:
    return workflow.postmortem_review(
        postmortem=postmortem,
        actor=request.user,
        approve=data["decision"] == "approve",
        comment=data["comment"],
    )


@workflow_action(CommentForm, key="comment")
def comment(request: AuthedRequest, postmortem: Postmortem, data: dict[str, Any]) -> object:
    return workflow.postmortem_comment(postmortem=postmortem, actor=request.user, text=data["text"])


@workflow_action(DetailsForm, key="details")
def details(request: AuthedRequest, postmortem: Postmortem, data: dict[str, Any]) -> object:
    return workflow.postmortem_update_details(
        postmortem=postmortem,
        actor=request.user,
        title=data["title"],
        authors=data["authors"],
        contributing_factors=data["contributing_factors"],
        no_action_reason=data["no_action_reason"],
    )


@workflow_action(PublishForm, key="publish", reloads_page=True)
def publish(request: AuthedRequest, postmortem: Postmortem, data: dict[str, Any]) -> object:
    return workflow.postmortem_publish(postmortem=postmortem, actor=request.user)


@workflow_action(PublishForm, key="reopen", reloads_page=True)
def reopen(request: AuthedRequest, postmortem: Postmortem, data: dict[str, Any]) -> object:
    return workflow.postmortem_reopen_review(postmortem=postmortem, actor=request.user)


STATUS_FILTER_CHOICES = [("", "Any status"), *PostmortemStatus.choices]


class PostmortemFilterForm(forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "INC-42 or words from the postmortem"}
        ),
    )
    status = forms.ChoiceField(choices=STATUS_FILTER_CHOICES, required=False)
    severity = forms.ModelChoiceField(
        queryset=Severity.objects.all(),
        to_field_name="name",
        required=False,
        empty_label="Any severity",
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.all(), to_field_name="slug", required=False, empty_label="Any team"
    )
    service = forms.ModelChoiceField(
        queryset=Service.objects.all(),
        to_field_name="slug",
        required=False,
        empty_label="Any service",
    )
    factor = forms.ModelChoiceField(
        label="Contributing factor",
        queryset=ContributingFactor.objects.all(),
        to_field_name="slug",
        required=False,
        empty_label="Any contributing factor",
    )
    month = forms.DateField(
        label="Month the incident began",
        required=False,
        input_formats=["%Y-%m"],
        widget=forms.Select,
        error_messages={"invalid": "Enter a month as YYYY-MM."},
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        months = selectors.postmortem_months(user=user)
        widget = cast(forms.Select, self.fields["month"].widget)
        widget.choices = [
            ("", "Any month"),
            *((f"{month:%Y-%m}", f"{month:%B %Y}") for month in months),
        ]

    def filters(self) -> selectors.PostmortemFilters:
        """The valid filters; an invalid one is reported on the form and otherwise ignored."""
        self.is_valid()
        data = self.cleaned_data
        severity: Severity | None = data.get("severity")
        team: Team | None = data.get("team")
        service: Service | None = data.get("service")
        factor: ContributingFactor | None = data.get("factor")
        month: date | None = data.get("month")
        return selectors.PostmortemFilters(
            query=data.get("q", ""),
            statuses=[data["status"]] if data.get("status") else [],
            severities=[severity.name] if severity else [],
            team=team.slug if team else "",
            service=service.slug if service else "",
            factor=factor.slug if factor else "",
            month=month,
        )


@login_required
@require_GET
def postmortem_list(request: AuthedRequest) -> HttpResponse:
    form = PostmortemFilterForm(request.GET, user=request.user)
    postmortems = selectors.postmortem_list(user=request.user, filters=form.filters())
    page = Paginator(postmortems, PAGE_SIZE).get_page(request.GET.get("page"))
    return render_fragment_or_page(
        request,
        fragment="postmortems/list_results.html",
        page="postmortems/list.html",
        context={"form": form, "page": page},
    )


PREFIX = "incidents/<int:number>/postmortem/"

urlpatterns: list[URLPattern] = [
    path("postmortems/", postmortem_list, name="list"),
    path(f"{PREFIX}request-review/", request_review, name="request_review"),
    path(f"{PREFIX}review/", review, name="review"),
    path(f"{PREFIX}comment/", comment, name="comment"),
    path(f"{PREFIX}details/", details, name="details"),
    path(f"{PREFIX}publish/", publish, name="publish"),
    path(f"{PREFIX}reopen/", reopen, name="reopen"),
]
