"""The postmortem page: the document section by section, each written section edited in
place (htmx swaps the section for its editor and back), a live preview with the blameless
linter's suggestions, refresh from the incident, the Markdown download, and the revisions
with their diffs.

Without JavaScript every control still works: Edit is a link to the page with that section's
editor open, Preview and Save post the form, and the page comes back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.requests import AuthedRequest, wants_fragment
from incidents.models import Incident, Status
from incidents.permissions import Action, can
from ops.forms import add_service_errors
from postmortems import blame, document, selectors_document
from postmortems.blame import Finding
from postmortems.document import Section
from postmortems.markdown import markdown_to_html
from postmortems.models import Postmortem, PostmortemRevision
from postmortems.rendering import TemplateProblem
from postmortems.services import postmortems as services
from postmortems.views import action_items, meetings, workflow

REVISIONS_PER_PAGE = 50


class SectionForm(forms.Form):
    body = forms.CharField(
        required=False,
        strip=False,
        max_length=services.SECTION_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "true"}),
    )
    # The revision the editor started from (postmortem_save_section's base_revision).
    revision = forms.IntegerField(min_value=0, widget=forms.HiddenInput)

    def __init__(self, *args: Any, section: Section, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"edit-{section.key}-%s")
        super().__init__(*args, **kwargs)
        body = self.fields["body"]
        body.label = f"Text of {section.heading}"
        body.help_text = (
            "Markdown: **bold**, - lists, | tables |, ``` code blocks. Ctrl+Enter saves."
        )
        if section.prompt:
            body.widget.attrs["placeholder"] = section.prompt


@dataclass(frozen=True)
class SectionView:
    """A section as the page shows it."""

    section: Section
    html: SafeString
    findings: list[Finding]
    missing: bool  # required, and nobody has written in it yet

    @property
    def key(self) -> str:
        return self.section.key


@dataclass
class Editor:
    """A section's editor: its form, what the preview shows, and a refused save's context."""

    section: Section
    form: SectionForm
    preview: SafeString
    findings: list[Finding]
    # A save refused because someone else changed the section: their text, as it is now.
    theirs: SafeString | None = None
    status: int = 200
    principles: tuple[blame.Principle, ...] = field(default=blame.PRINCIPLES)
    antipatterns: tuple[blame.Antipattern, ...] = field(default=blame.ANTIPATTERNS)


def _html(markdown: str, *, hard_breaks: bool = False) -> SafeString:
    # markdown_to_html's output is sanitized by nh3 (postmortems/markdown.py).
    return mark_safe(markdown_to_html(markdown, hard_breaks=hard_breaks))  # noqa: S308


def _page_get(request: AuthedRequest, number: int) -> tuple[Incident, Postmortem | None]:
    try:
        return selectors_document.postmortem_page_get(user=request.user, number=number)
    except Incident.DoesNotExist as exc:
        raise Http404("No such incident.") from exc


def _postmortem_or_404(request: AuthedRequest, number: int) -> tuple[Incident, Postmortem]:
    incident, postmortem = _page_get(request, number)
    if postmortem is None:
        raise Http404("This incident has no postmortem.")
    return incident, postmortem


def _section_or_404(postmortem: Postmortem, key: str) -> Section:
    for section in document.from_json(postmortem.sections):
        if section.key == key:
            return section
    raise Http404("No such section.")


def _section_view(section: Section, names: list[str]) -> SectionView:
    return SectionView(
        section=section,
        # The header is "**Date:** …" lines, one fact per line.
        html=_html(section.body, hard_breaks=section.key == document.HEADER_KEY),
        findings=[] if section.generated else blame.blame_findings(section.body, names=names),
        missing=section.required and not section.filled,
    )


def _editor(
    section: Section, names: list[str], *, form: SectionForm, body: str, status: int = 200
) -> Editor:
    return Editor(
        section=section,
        form=form,
        preview=_html(body),
        findings=blame.blame_findings(body, names=names),
        status=status,
    )


def _editor_for(section: Section, postmortem: Postmortem, names: list[str]) -> Editor:
    form = SectionForm(
        section=section, initial={"body": section.body, "revision": postmortem.revision}
    )
    return _editor(section, names, form=form, body=section.body)


def _can_edit(request: AuthedRequest, incident: Incident, postmortem: Postmortem) -> bool:
    return not postmortem.is_published and can(request.user, Action.RESPOND, incident)


def _page(
    request: AuthedRequest,
    incident: Incident,
    postmortem: Postmortem | None,
    *,
    editor: Editor | None = None,
    status: int = 200,
) -> HttpResponse:
    can_respond = can(request.user, Action.RESPOND, incident)
    context: dict[str, Any] = {
        "incident": incident,
        "postmortem": postmortem,
        "can_respond": can_respond,
        "resolved": incident.status == Status.RESOLVED,
    }
    if postmortem is None:
        return render(request, "postmortems/detail.html", context, status=status)
    names = selectors_document.people_names(incident)
    sections = document.from_json(postmortem.sections)
    edit_key = request.GET.get("edit", "")
    can_edit = can_respond and not postmortem.is_published
    if editor is None and can_edit and edit_key:
        chosen = next((s for s in sections if s.key == edit_key and not s.generated), None)
        editor = _editor_for(chosen, postmortem, names) if chosen is not None else None
    views = [_section_view(section, names) for section in sections]
    context.update(
        {
            "header": views[0] if views and views[0].key == document.HEADER_KEY else None,
            "sections": [view for view in views if view.key != document.HEADER_KEY],
            "unfilled": [view.section for view in views if view.missing],
            "editor": editor,
            "can_edit": can_edit,
            "latest": selectors_document.revision_latest(postmortem),
            "workflow": workflow.panel_context(postmortem=postmortem, request=request),
            "action_items": action_items.panel_context(postmortem=postmortem, request=request),
            "meetings": meetings.panel_context(postmortem=postmortem, request=request),
        }
    )
    return render(request, "postmortems/detail.html", context, status=status)


@login_required
@require_GET
def postmortem_detail(request: AuthedRequest, number: int) -> HttpResponse:
    incident, postmortem = _page_get(request, number)
    return _page(request, incident, postmortem)


@login_required
@require_POST
def postmortem_start(request: AuthedRequest, number: int) -> HttpResponse:
    incident, _ = _page_get(request, number)
    try:
        services.postmortem_create(incident=incident, actor=request.user)
    except services.PostmortemConflict as exc:
        messages.error(request, str(exc))
    except TemplateProblem as exc:
        # Neither the postmortem template nor the built-in one could draft it: the page, with
        # why, and nothing written.
        messages.error(request, f"The postmortem could not be drafted: {exc}")
        return _page(request, incident, None, status=409)
    return redirect("postmortems:detail", number=number)


@login_required
@require_POST
def postmortem_refresh(request: AuthedRequest, number: int) -> HttpResponse:
    incident, postmortem = _postmortem_or_404(request, number)
    before = postmortem.revision
    try:
        postmortem = services.postmortem_refresh(postmortem=postmortem, actor=request.user)
    except services.PostmortemConflict as exc:
        messages.error(request, str(exc))
    except TemplateProblem as exc:
        messages.error(request, f"The postmortem could not be refreshed: {exc}")
        return _page(request, incident, postmortem, status=409)
    else:
        if postmortem.revision == before:
            messages.info(request, "Refreshed: nothing in the incident had changed.")
        else:
            messages.success(
                request, "Refreshed from the incident. Everything your team wrote is as it was."
            )
    return redirect("postmortems:detail", number=number)


@login_required
@require_GET
def postmortem_download(request: AuthedRequest, number: int) -> HttpResponse:
    incident, postmortem = _postmortem_or_404(request, number)
    response = HttpResponse(
        services.postmortem_markdown(postmortem), content_type="text/markdown; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{incident.ref}-postmortem.md"'
    return response


def _section_fragment(
    request: AuthedRequest,
    incident: Incident,
    postmortem: Postmortem,
    section: Section,
    *,
    saved: bool = False,
    focus_edit: bool = False,
) -> HttpResponse:
    names = selectors_document.people_names(incident)
    context = {
        "incident": incident,
        "postmortem": postmortem,
        "view": _section_view(section, names),
        "can_edit": _can_edit(request, incident, postmortem),
        "saved": saved,
        "focus_edit": focus_edit,
    }
    return render(request, "postmortems/_section.html", context)


def _editor_response(
    request: AuthedRequest, incident: Incident, postmortem: Postmortem, editor: Editor
) -> HttpResponse:
    if not wants_fragment(request):
        return _page(request, incident, postmortem, editor=editor, status=editor.status)
    context = {"incident": incident, "postmortem": postmortem, "editor": editor}
    return render(request, "postmortems/_section_editor.html", context, status=editor.status)


@login_required
@require_GET
def section_edit(request: AuthedRequest, number: int, key: str) -> HttpResponse:
    incident, postmortem = _postmortem_or_404(request, number)
    section = _section_or_404(postmortem, key)
    if not wants_fragment(request):
        url = reverse("postmortems:detail", args=[number])
        return redirect(f"{url}?edit={key}#section-{key}")
    if section.generated or not _can_edit(request, incident, postmortem):
        # The page changed under the person (published, or the section is now generated):
        # the section as it is, without an editor.
        return _section_fragment(request, incident, postmortem, section)
    names = selectors_document.people_names(incident)
    return _editor_response(request, incident, postmortem, _editor_for(section, postmortem, names))


@login_required
@require_http_methods(["GET", "POST"])
def section_detail(request: AuthedRequest, number: int, key: str) -> HttpResponse:
    """GET: the section as the page shows it (what Cancel swaps back). POST: save it."""
    incident, postmortem = _postmortem_or_404(request, number)
    current = _section_or_404(postmortem, key)
    if request.method == "GET":
        if not wants_fragment(request):
            return redirect(f"{reverse('postmortems:detail', args=[number])}#section-{key}")
        return _section_fragment(request, incident, postmortem, current, focus_edit=True)
    form = SectionForm(request.POST, section=current)
    names = selectors_document.people_names(incident)
    body = request.POST.get("body", "")
    if not form.is_valid():
        editor = _editor(current, names, form=form, body=body, status=400)
        return _editor_response(request, incident, postmortem, editor)
    if "preview" in request.POST:
        # A browser without JavaScript asked to see the text rendered before saving.
        return _editor_response(
            request, incident, postmortem, _editor(current, names, form=form, body=body)
        )
    try:
        postmortem = services.postmortem_save_section(
            postmortem=postmortem,
            actor=request.user,
            key=key,
            body=form.cleaned_data["body"],
            base_revision=form.cleaned_data["revision"],
        )
    except ValidationError as exc:
        add_service_errors(form, exc)
        editor = _editor(current, names, form=form, body=body, status=400)
        return _editor_response(request, incident, postmortem, editor)
    except services.StaleSection as exc:
        return _editor_response(request, incident, postmortem, _stale(exc, form, names))
    except services.PostmortemConflict as exc:
        form.add_error(None, str(exc))
        editor = _editor(current, names, form=form, body=body, status=409)
        return _editor_response(request, incident, postmortem, editor)
    except PermissionDenied as exc:
        if not wants_fragment(request):
            raise
        form.add_error(None, str(exc) or "You may not edit this postmortem.")
        editor = _editor(current, names, form=form, body=body, status=403)
        return _editor_response(request, incident, postmortem, editor)
    if not wants_fragment(request):
        messages.success(request, f"Saved {current.heading}.")
        return redirect(f"{reverse('postmortems:detail', args=[number])}#section-{key}")
    saved = _section_or_404(postmortem, key)
    postmortem.incident = incident
    return _section_fragment(request, incident, postmortem, saved, saved=True)


def _stale(exc: services.StaleSection, form: SectionForm, names: list[str]) -> Editor:
    """The editor after a refused save: the person's text kept, theirs shown beside it, and
    the revision moved on, so saving again is a deliberate choice to replace theirs."""
    body = form.cleaned_data["body"]
    bound = SectionForm({"body": body, "revision": exc.revision}, section=exc.section)
    bound.is_valid()
    bound.add_error(None, str(exc))
    editor = _editor(exc.section, names, form=bound, body=body, status=409)
    editor.theirs = _html(exc.section.body)
    return editor


@login_required
@require_POST
def section_preview(request: AuthedRequest, number: int) -> HttpResponse:
    """The editor's text rendered, with the blameless linter's suggestions. Writes nothing."""
    incident, _ = _postmortem_or_404(request, number)
    body = request.POST.get("body", "")[: services.SECTION_MAX_CHARS]
    names = selectors_document.people_names(incident)
    context = {
        "preview": _html(body),
        "findings": blame.blame_findings(body, names=names),
        "key": request.POST.get("key", ""),
    }
    return render(request, "postmortems/_section_preview.html", context)


@login_required
@require_GET
def revision_list(request: AuthedRequest, number: int) -> HttpResponse:
    incident, postmortem = _postmortem_or_404(request, number)
    paginator = Paginator(selectors_document.revision_list(postmortem), REVISIONS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "postmortems/revisions.html",
        {"incident": incident, "postmortem": postmortem, "page": page},
    )


@login_required
@require_GET
def revision_diff(request: AuthedRequest, number: int, revision: int) -> HttpResponse:
    incident, postmortem = _postmortem_or_404(request, number)
    try:
        diff = selectors_document.revision_diff(postmortem=postmortem, number=revision)
    except PostmortemRevision.DoesNotExist as exc:
        raise Http404("No such revision.") from exc
    return render(
        request,
        "postmortems/revision_diff.html",
        {"incident": incident, "postmortem": postmortem, "diff": diff},
    )


_PAGE = "incidents/<int:number>/postmortem/"

urlpatterns: list[URLPattern] = [
    path(_PAGE, postmortem_detail, name="detail"),
    path(f"{_PAGE}start/", postmortem_start, name="start"),
    path("incidents/<int:number>/postmortem.md", postmortem_download, name="markdown"),
    path(f"{_PAGE}refresh/", postmortem_refresh, name="refresh"),
    path(f"{_PAGE}preview/", section_preview, name="preview"),
    path(f"{_PAGE}sections/<str:key>/", section_detail, name="section"),
    path(f"{_PAGE}sections/<str:key>/edit/", section_edit, name="section-edit"),
    path(f"{_PAGE}revisions/", revision_list, name="revisions"),
    path(f"{_PAGE}revisions/<int:revision>/", revision_diff, name="revision"),
]
