"""The audit trail's page: managers and admins read who changed what, and filter it."""

from dataclasses import dataclass

from auditlog.models import LogEntry
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.requests import AuthedRequest
from audit import selectors
from audit.actors import actor_name
from audit.forms import AuditFilterForm

PAGE_SIZE = 50


@dataclass(frozen=True)
class Row:
    entry: LogEntry
    actor: str
    action: str
    kind: str
    changes: list[selectors.Change]


def _row(entry: LogEntry) -> Row:
    model = entry.content_type.model_class()
    kind = str(model._meta.verbose_name) if model is not None else entry.content_type.model
    return Row(
        entry=entry,
        actor=actor_name(entry),
        action=selectors.ACTIONS.get(entry.action, selectors.OTHER_ACTION),
        kind=kind.capitalize(),
        changes=selectors.changes_of(entry),
    )


@login_required
@require_GET
def entry_list(request: AuthedRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    entries = selectors.entry_list(user=request.user, filters=form.filters())
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [_row(entry) for entry in page.object_list]
    return render(request, "audit/list.html", {"form": form, "page": page, "rows": rows})
