"""Postmortem templates: admins create and edit them and choose the one new drafts use; a
preview renders a template against an incident and saves nothing.

A template that does not compile is refused with its line ("Line 4: unexpected '}'"), and
nothing is written. One that compiles but fails on some incident's data is the preview's to
show; a draft that meets it falls back to the built-in template (services.postmortems).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from accounts.actors import SYSTEM, Actor, actor_user
from accounts.models import User
from incidents.models import Incident
from incidents.permissions import Action, require
from postmortems import document
from postmortems.models import Postmortem, PostmortemTemplate
from postmortems.rendering import TemplateProblem, check_syntax
from postmortems.services.postmortems import render_sections

NAME_MAX_LENGTH = PostmortemTemplate._meta.get_field("name").max_length or 100


def require_template_admin(actor: Actor) -> None:
    """Templates run for every postmortem drafted: only admins (and Tocsin) change them."""
    if actor is SYSTEM:
        return
    if not isinstance(actor, User) or not actor.is_active or not actor.is_admin:
        raise PermissionDenied("Only admins may change or preview postmortem templates.")


def _cleaned(name: str, body: str) -> tuple[str, str]:
    """The name and body as stored; ValidationError naming each field that is wrong."""
    errors: dict[str, str] = {}
    name = name.strip()
    body = body.replace("\r\n", "\n")
    if "\x00" in name or "\x00" in body:
        raise ValidationError("A template cannot hold a NUL character.")
    if not name:
        errors["name"] = "Give the template a name."
    elif len(name) > NAME_MAX_LENGTH:
        errors["name"] = f"A name has at most {NAME_MAX_LENGTH} characters."
    if not body.strip():
        errors["body"] = "The template is empty."
    else:
        try:
            check_syntax(body)
        except TemplateProblem as problem:
            errors["body"] = str(problem)
    if errors:
        raise ValidationError(errors)
    return name, body


_NAME_TAKEN = ValidationError({"name": "Another template has this name."})


def _make_default(template: PostmortemTemplate) -> None:
    """Caller is in a transaction. The current default's row is locked first, so two admins
    choosing at once take turns instead of both clearing it."""
    current = list(
        PostmortemTemplate.objects.select_for_update()
        .filter(is_default=True)
        .values_list("pk", flat=True)
    )
    PostmortemTemplate.objects.filter(pk__in=current).exclude(pk=template.pk).update(
        is_default=False
    )
    template.is_default = True


def template_create(
    *, actor: Actor, name: str, body: str, make_default: bool = False
) -> PostmortemTemplate:
    require_template_admin(actor)
    name, body = _cleaned(name, body)
    try:
        with transaction.atomic():
            template = PostmortemTemplate(name=name, body=body, updated_by=actor_user(actor))
            if make_default:
                _make_default(template)
            template.save()
    except IntegrityError as error:
        if PostmortemTemplate.objects.filter(name=name).exists():
            raise _NAME_TAKEN from error
        raise ValidationError("The default template changed meanwhile; try again.") from error
    return template


def template_update(
    *, template: PostmortemTemplate, actor: Actor, name: str, body: str
) -> PostmortemTemplate:
    require_template_admin(actor)
    name, body = _cleaned(name, body)
    try:
        with transaction.atomic():
            template = PostmortemTemplate.objects.select_for_update().get(pk=template.pk)
            template.name, template.body = name, body
            template.updated_by = actor_user(actor)
            template.save(update_fields=["name", "body", "updated_by", "updated_at"])
    except IntegrityError as error:
        raise _NAME_TAKEN from error
    return template


def template_set_default(*, template: PostmortemTemplate, actor: Actor) -> PostmortemTemplate:
    """New drafts use `template` from now on; postmortems already drafted keep theirs."""
    require_template_admin(actor)
    try:
        with transaction.atomic():
            template = PostmortemTemplate.objects.select_for_update().get(pk=template.pk)
            if template.is_default:
                return template
            _make_default(template)
            template.updated_by = actor_user(actor)
            template.save(update_fields=["is_default", "updated_by", "updated_at"])
    except IntegrityError as error:
        # Another admin made a different template the default between our lock and write.
        raise ValidationError("The default template changed meanwhile; try again.") from error
    return template


def template_preview(*, actor: Actor, body: str, incident: Incident) -> document.Parsed:
    """`body` rendered for `incident` and split into sections, as a draft would be. Writes
    nothing. TemplateProblem (with the line) when the template fails."""
    require_template_admin(actor)
    require(actor, Action.VIEW, incident)
    incident = Incident.objects.select_related("severity", "team", "commander").get(pk=incident.pk)
    postmortem = Postmortem.objects.filter(incident=incident).first()
    return render_sections(
        incident=incident, postmortem=postmortem, template_body=body.replace("\r\n", "\n")
    )
