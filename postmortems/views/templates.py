"""The template pages, for admins: the list, a new template, editing one beside a live preview
against a resolved incident, and choosing the default.

The preview is an htmx POST of the text being edited; it renders in the sandbox and writes
nothing. A template that fails shows "Line N: message" there, and saving one that does not
compile is refused with the same message on the form.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.requests import AuthedRequest
from incidents.models import Incident
from ops.forms import add_service_errors
from postmortems import default_template, document, selectors_templates
from postmortems.markdown import markdown_to_html
from postmortems.models import PostmortemTemplate
from postmortems.rendering import MAX_SOURCE, TemplateProblem
from postmortems.services.postmortems import template_default
from postmortems.services.templates import (
    NAME_MAX_LENGTH,
    require_template_admin,
    template_create,
    template_preview,
    template_set_default,
    template_update,
)


class TemplateForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX_LENGTH)
    body = forms.CharField(
        label="Template",
        max_length=MAX_SOURCE,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 30, "spellcheck": "false", "class": "code-input"}),
        help_text=(
            "Jinja2 writing Markdown. Each “## ” heading opens a section; "
            "<!-- generated -->, <!-- required --> and <!-- prompt: … --> under it say how the "
            "section behaves."
        ),
    )


class NewTemplateForm(TemplateForm):
    make_default = forms.BooleanField(
        required=False, label="Use it for new postmortems (make it the default)"
    )


def _template_or_404(pk: int) -> PostmortemTemplate:
    try:
        return selectors_templates.template_get(pk=pk)
    except PostmortemTemplate.DoesNotExist as error:
        raise Http404("No such template.") from error


@login_required
@require_GET
def template_list(request: AuthedRequest) -> HttpResponse:
    require_template_admin(request.user)
    template_default()  # the built-in one, the first time anyone asks
    return render(
        request,
        "postmortems/template_list.html",
        {"templates": selectors_templates.template_list()},
    )


@login_required
@require_http_methods(["GET", "POST"])
def template_new(request: AuthedRequest) -> HttpResponse:
    require_template_admin(request.user)
    form = NewTemplateForm(
        request.POST if request.method == "POST" else None,
        initial={"body": default_template.BODY},
    )
    if form.is_valid():
        try:
            template = template_create(
                actor=request.user,
                name=form.cleaned_data["name"],
                body=form.cleaned_data["body"],
                make_default=form.cleaned_data["make_default"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Template “{template.name}” created.")
            return HttpResponseRedirect(reverse("postmortems:template_edit", args=[template.pk]))
    return _form_page(request, form, template=None)


@login_required
@require_http_methods(["GET", "POST"])
def template_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    require_template_admin(request.user)
    template = _template_or_404(pk)
    form = TemplateForm(
        request.POST if request.method == "POST" else None,
        initial={"name": template.name, "body": template.body},
    )
    if form.is_valid():
        try:
            template = template_update(
                template=template,
                actor=request.user,
                name=form.cleaned_data["name"],
                body=form.cleaned_data["body"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Template “{template.name}” saved.")
            return HttpResponseRedirect(reverse("postmortems:template_edit", args=[template.pk]))
    return _form_page(request, form, template=template)


def _form_page(
    request: AuthedRequest, form: TemplateForm, *, template: PostmortemTemplate | None
) -> HttpResponse:
    context: dict[str, Any] = {
        "form": form,
        "template": template,
        "incidents": selectors_templates.preview_incidents(user=request.user),
    }
    return render(
        request, "postmortems/template_form.html", context, status=400 if form.errors else 200
    )


@login_required
@require_POST
def template_make_default(request: AuthedRequest, pk: int) -> HttpResponse:
    require_template_admin(request.user)
    template = _template_or_404(pk)
    try:
        template = template_set_default(template=template, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"New postmortems are drafted from “{template.name}”.")
    return HttpResponseRedirect(reverse("postmortems:templates"))


@login_required
@require_POST
def template_preview_page(request: AuthedRequest) -> HttpResponse:
    """The preview fragment: `body` rendered for incident `incident` (its number)."""
    require_template_admin(request.user)
    body = request.POST.get("body", "")
    context: dict[str, Any] = {"problem": "", "sections": [], "html": ""}
    try:
        number = int(request.POST.get("incident", ""))
        incident = selectors_templates.preview_incident(user=request.user, number=number)
    except (ValueError, Incident.DoesNotExist):
        context["problem"] = "Choose a resolved incident to preview the template with."
        return _preview(request, context, status=400)
    if len(body) > MAX_SOURCE:
        context["problem"] = f"A template may be at most {MAX_SOURCE:,} characters long."
        return _preview(request, context, status=400)
    try:
        parsed = template_preview(actor=request.user, body=body, incident=incident)
    except TemplateProblem as problem:
        context["problem"] = str(problem)
        return _preview(request, context, status=400)
    context["incident"] = incident
    context["sections"] = parsed.sections[1:]
    context["html"] = markdown_to_html(document.to_markdown(parsed.title, parsed.sections))
    return _preview(request, context)


def _preview(request: AuthedRequest, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    return render(request, "postmortems/template_preview.html", context, status=status)


urlpatterns: list[URLPattern] = [
    path("postmortems/templates/", template_list, name="templates"),
    path("postmortems/templates/new/", template_new, name="template_new"),
    path("postmortems/templates/preview/", template_preview_page, name="template_preview"),
    path("postmortems/templates/<int:pk>/", template_edit, name="template_edit"),
    path(
        "postmortems/templates/<int:pk>/default/",
        template_make_default,
        name="template_make_default",
    ),
]
