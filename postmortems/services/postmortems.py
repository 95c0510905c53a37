"""The postmortem document and its workflow: drafted on resolve, edited section by section
(every save a revision), refreshed from the incident without losing the team's words, reviewed
and published.

Each function runs in one transaction holding the postmortem's row lock, so two people saving
different sections at once both land, and a save over a section someone else changed since the
editor opened it is refused (StaleSection) rather than silently undoing their words.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.actors import SYSTEM, Actor, actor_user
from incidents.models import Incident, Status
from incidents.permissions import Action, require
from postmortems import default_template, document
from postmortems.context import postmortem_context
from postmortems.document import Section
from postmortems.models import (
    Postmortem,
    PostmortemPolicy,
    PostmortemRevision,
    PostmortemStatus,
    PostmortemTemplate,
)
from postmortems.rendering import TemplateProblem, render
from postmortems.services import meetings

logger = logging.getLogger(__name__)


class PostmortemConflict(Exception):
    """The postmortem is not in a state that allows this; the message says why."""


class StaleSection(PostmortemConflict):
    """A save over a section someone changed after the editor opened it. `revision` is the
    postmortem's revision now: an editor that saves again from it means to replace their
    version with its own, knowingly."""

    def __init__(self, section: Section, changed_by: PostmortemRevision | None, revision: int):
        who = changed_by.author.display_name if changed_by and changed_by.author else "someone"
        super().__init__(
            f"{section.heading} was changed by {who} since you opened it. Compare your text "
            f"with theirs: saving again replaces their version with yours."
        )
        self.section = section
        self.changed_by = changed_by
        self.revision = revision


# A section is a few paragraphs to a few pages; this is far beyond any, and bounds what
# one save stores and every revision copies.
SECTION_MAX_CHARS = 50_000


def template_default() -> PostmortemTemplate:
    """The default template, created from the built-in one the first time it is asked for."""
    template = PostmortemTemplate.objects.filter(is_default=True).first()
    if template is not None:
        return template
    try:
        with transaction.atomic():
            return PostmortemTemplate.objects.create(
                name=default_template.NAME, body=default_template.BODY, is_default=True
            )
    except IntegrityError:
        # Another request created it (or took the name) first.
        return PostmortemTemplate.objects.get(is_default=True)


def policy_requires_postmortem(incident: Incident) -> bool:
    return PostmortemPolicy.objects.filter(severity_id=incident.severity_id, required=True).exists()


def _incident_for_rendering(incident_id: int) -> Incident:
    return Incident.objects.select_related("severity", "team", "commander").get(pk=incident_id)


def render_sections(
    *, incident: Incident, postmortem: Postmortem | None, template_body: str
) -> document.Parsed:
    """The template rendered for the incident and split into sections. TemplateProblem if
    the template fails."""
    context = postmortem_context(incident=incident, postmortem=postmortem)
    return document.parse(render(template_body, context))


def _render_or_fallback(
    incident: Incident, postmortem: Postmortem | None, template: PostmortemTemplate
) -> tuple[document.Parsed, str]:
    """Render with `template`; if an admin's edit broke it, with the built-in template, so a
    resolved incident still gets its draft. Returns the result and a note on what happened.
    TemplateProblem, saying what failed, if the built-in template fails too."""
    try:
        return render_sections(
            incident=incident, postmortem=postmortem, template_body=template.body
        ), ""
    except TemplateProblem as problem:
        if template.body == default_template.BODY:
            raise
        logger.warning("postmortem template %r failed: %s", template.name, problem)
        try:
            parsed = render_sections(
                incident=incident, postmortem=postmortem, template_body=default_template.BODY
            )
        except TemplateProblem as fallback:
            raise TemplateProblem(
                f"The template {template.name!r} failed ({problem}), and so did the built-in "
                f"one ({fallback})."
            ) from fallback
        return parsed, f" (template {template.name!r} failed: {problem}; used the built-in one)"


def record_revision(
    postmortem: Postmortem, *, actor: Actor, summary: str, now: datetime
) -> PostmortemRevision:
    """Caller holds the postmortem's row lock and has set its sections. The revision keeps
    the written sections (document.revision_json)."""
    postmortem.revision += 1
    postmortem.updated_at = now
    postmortem.save(update_fields=["sections", "revision", "updated_at", "title", "refreshed_at"])
    return PostmortemRevision.objects.create(
        postmortem=postmortem,
        number=postmortem.revision,
        author=actor_user(actor),
        created_at=now,
        summary=summary[:200],
        sections=document.revision_json(document.from_json(postmortem.sections)),
    )


def postmortem_create(
    *,
    incident: Incident,
    actor: Actor,
    template: PostmortemTemplate | None = None,
    now: datetime | None = None,
) -> Postmortem:
    """The incident's postmortem, drafted from `template` (the default one) if it has none yet.

    People may start one for any incident they may respond to once it is resolved; resolving
    drafts one on its own (as SYSTEM) where the severity's policy requires it.
    """
    now = now or timezone.now()
    require(actor, Action.RESPOND, incident)
    existing = Postmortem.objects.filter(incident=incident).first()
    if existing is not None:
        return existing
    incident = _incident_for_rendering(incident.pk)
    if incident.status != Status.RESOLVED:
        raise PostmortemConflict(f"{incident.ref} is not resolved yet.")
    template = template or template_default()
    parsed, note = _render_or_fallback(incident, None, template)
    try:
        with transaction.atomic():
            postmortem = Postmortem.objects.create(
                incident=incident,
                title=parsed.title or f"Postmortem: {incident.ref} - {incident.title}",
                template=template,
                sections=document.to_json(parsed.sections),
                created_at=now,
                updated_at=now,
                refreshed_at=now,
            )
            if incident.commander_id is not None:
                postmortem.authors.add(incident.commander_id)
            PostmortemRevision.objects.create(
                postmortem=postmortem,
                number=0,
                author=actor_user(actor),
                created_at=now,
                summary=f"Drafted from the incident{note}"[:200],
                sections=document.revision_json(parsed.sections),
            )
            meetings.meeting_propose(postmortem=postmortem, now=now)
    except IntegrityError:
        # Drafted by someone else (a second worker, a person) meanwhile.
        return Postmortem.objects.get(incident=incident)
    return postmortem


def postmortem_draft_if_required(
    *, incident_id: int, now: datetime | None = None
) -> Postmortem | None:
    """On resolve: draft the postmortem if the severity requires one and none exists. Safe to
    run twice and for an incident reopened meanwhile (then it waits for the next resolve)."""
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None or incident.status != Status.RESOLVED:
        return None
    if not policy_requires_postmortem(incident):
        return None
    return postmortem_create(incident=incident, actor=SYSTEM, now=now)


def lock(postmortem: Postmortem) -> Postmortem:
    return Postmortem.objects.select_for_update().get(pk=postmortem.pk)


def require_edit(actor: Actor, postmortem: Postmortem) -> None:
    require(actor, Action.RESPOND, postmortem.incident)
    if postmortem.status == PostmortemStatus.PUBLISHED:
        raise PostmortemConflict(
            "This postmortem is published and read-only; reopen review to change it."
        )


def postmortem_save_section(
    *,
    postmortem: Postmortem,
    actor: Actor,
    key: str,
    body: str,
    base_revision: int,
    now: datetime | None = None,
) -> Postmortem:
    """Replace one written section's text. `base_revision` is the revision the editor
    started from: if the section changed after it, StaleSection."""
    now = now or timezone.now()
    cleaned = document.normalize_body(body)
    if len(cleaned) > SECTION_MAX_CHARS:
        raise ValidationError(
            {
                "body": f"A section holds at most {SECTION_MAX_CHARS:,} characters; "
                f"this one has {len(cleaned):,}. Link long material instead."
            }
        )
    with transaction.atomic():
        postmortem = lock(postmortem)
        require_edit(actor, postmortem)
        sections = document.from_json(postmortem.sections)
        current = next((section for section in sections if section.key == key), None)
        if current is None:
            raise ValidationError({"key": f"This postmortem has no section {key!r}."})
        if current.generated:
            raise ValidationError(
                {"key": f"{current.heading or 'The header'} is generated from the incident."}
            )
        if not 0 <= base_revision <= postmortem.revision:
            raise ValidationError({"revision": "This editor started from an unknown revision."})
        if cleaned == current.body:
            return postmortem
        if base_revision < postmortem.revision:
            _check_unchanged_since(postmortem, current, base_revision)
        postmortem.sections = document.to_json(document.with_body(sections, key, cleaned))
        record_revision(postmortem, actor=actor, summary=f"Edited {current.heading}", now=now)
    return postmortem


def _check_unchanged_since(postmortem: Postmortem, section: Section, base_revision: int) -> None:
    """StaleSection unless `section` reads as it did at `base_revision`. Caller holds the
    postmortem's row lock. Reads the revisions since, to name who changed it first."""
    since = list(
        PostmortemRevision.objects.filter(postmortem=postmortem, number__gte=base_revision)
        .select_related("author")
        .order_by("number")
    )
    if not since or since[0].number != base_revision:
        raise StaleSection(section, since[0] if since else None, postmortem.revision)
    seen = _section_body(since[0].sections, section.key)
    if seen == section.body:
        return
    changed_by = next(
        (rev for rev in since[1:] if _section_body(rev.sections, section.key) != seen), None
    )
    raise StaleSection(section, changed_by, postmortem.revision)


def _section_body(sections: list[dict[str, object]], key: str) -> str | None:
    for section in sections:
        if section.get("key") == key:
            return str(section.get("body", ""))
    return None


def render_for(postmortem: Postmortem) -> tuple[document.Parsed, str]:
    """The postmortem's template rendered for its incident as it is now (see
    _render_or_fallback)."""
    incident = _incident_for_rendering(postmortem.incident_id)
    return _render_or_fallback(incident, postmortem, postmortem.template or template_default())


def rerender_generated(
    postmortem: Postmortem,
    *,
    now: datetime,
    rendered: tuple[document.Parsed, str] | None = None,
) -> str:
    """Put the generated parts into `postmortem.sections` again (`rendered`, or rendered
    now), keeping every word the team wrote; the caller holds the row lock and saves. Returns
    a note if the template failed and the built-in one was used."""
    parsed, note = rendered or render_for(postmortem)
    sections = document.refresh(document.from_json(postmortem.sections), parsed.sections)
    postmortem.sections = document.to_json(sections)
    postmortem.refreshed_at = now
    return note


def postmortem_refresh(
    *, postmortem: Postmortem, actor: Actor, now: datetime | None = None
) -> Postmortem:
    """Re-render the generated parts (timeline, figures, action items) from the incident and
    keep every word the team wrote. A revision only if something changed.

    Rendering (up to rendering's budget) happens before the row lock is taken, so saves of
    sections are not held up by it; under the lock the result is merged with the sections as
    they are then. What the rendering read of the postmortem (its status and authors) moves
    the revision on when it changes, so if the revision moved meanwhile it renders again."""
    now = now or timezone.now()
    require_edit(actor, postmortem)
    rendered = render_for(postmortem)
    with transaction.atomic():
        seen = postmortem.revision
        postmortem = lock(postmortem)
        require_edit(actor, postmortem)
        if postmortem.revision != seen:
            rendered = render_for(postmortem)
        before = postmortem.sections
        note = rerender_generated(postmortem, now=now, rendered=rendered)
        if postmortem.sections == before:
            postmortem.save(update_fields=["refreshed_at"])
            return postmortem
        record_revision(
            postmortem, actor=actor, summary=f"Refreshed from the incident{note}", now=now
        )
    return postmortem


def postmortem_markdown(postmortem: Postmortem) -> str:
    return document.to_markdown(postmortem.title, document.from_json(postmortem.sections))


# How far back the tick looks for resolved incidents whose draft task was lost.
CATCH_UP_WINDOW_DAYS = 7
# An incident whose draft failed is not tried again for this long: the failure (a template
# that cannot render it, a row the database refuses) would most likely repeat every tick.
CATCH_UP_RETRY_AFTER = timedelta(hours=1)
# The cache key of {incident id: when its draft last failed (ISO 8601)}. The cache only saves
# work: lost, the failures are tried again once each.
_FAILED_KEY = "postmortems:drafts-failed"


def drafts_catch_up(*, now: datetime | None = None, limit: int = 20) -> list[int]:
    """Draft the postmortems a lost task (a Redis restart, a killed worker) did not: resolved
    incidents of a severity that requires one, without one, resolved (or changed since, as a
    second resolve after a reopen does) within the window. A draft that fails is logged and
    the others go on; it is tried again after CATCH_UP_RETRY_AFTER. Returns the incidents
    drafted."""
    now = now or timezone.now()
    remembered: dict[int, str] = cache.get(_FAILED_KEY) or {}
    failed = {
        pk: at
        for pk, at in remembered.items()
        if datetime.fromisoformat(at) > now - CATCH_UP_RETRY_AFTER
    }
    missing = list(
        Incident.objects.filter(
            status=Status.RESOLVED,
            # updated_at moves with every resolve, resolved_at only with the first.
            updated_at__gte=now - timedelta(days=CATCH_UP_WINDOW_DAYS),
            # Give the task resolving enqueued a moment to do it first.
            updated_at__lte=now - timedelta(seconds=30),
            severity__postmortem_policy__required=True,
            postmortem__isnull=True,
        )
        .exclude(pk__in=list(failed))
        .order_by("updated_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    drafted = []
    for incident_id in missing:
        try:
            postmortem_draft_if_required(incident_id=incident_id, now=now)
        except Exception:
            # Whatever one incident's draft raised must not keep the others (and the tick's
            # reminders and emails) from running.
            logger.exception(
                "postmortem draft of incident %s failed; trying again after %s",
                incident_id,
                CATCH_UP_RETRY_AFTER,
            )
            failed[incident_id] = now.isoformat()
        else:
            drafted.append(incident_id)
    if failed != remembered:
        cache.set(_FAILED_KEY, failed, timeout=int(CATCH_UP_RETRY_AFTER.total_seconds()) * 2)
    return drafted
