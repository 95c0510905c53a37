"""Integration writes: create, change settings, rotate the token. Managers and admins only."""

import logging
import re
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.actors import Actor
from alerts.models import Integration, IntegrationKind, hash_token
from alerts.parsers.generic import template_errors
from alerts.selectors import forget_cached_tokens
from incidents.models import Severity, Team
from incidents.permissions import Action, require
from ops.text import is_storable, shown

logger = logging.getLogger(__name__)

# What a manager may change after creation; kind and team are fixed, the token only rotates.
# In the order the API shows them.
INTEGRATION_SETTINGS = (
    "name",
    "active",
    "severity_map",
    "default_severity",
    "grouping_labels",
    "group_window",
    "auto_resolve",
    "max_incidents_per_minute",
    "title_template",
    "dedup_key_template",
    "severity_template",
    "resolved_template",
    "escalation_policy",
)

# Prometheus' label name syntax; the other sources' keys are held to the same rule.
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
MAX_GROUP_WINDOW = timedelta(days=7)


def _severity_map_errors(value: object) -> tuple[dict[str, str], list[str]]:
    if not isinstance(value, dict):
        return {}, ["Map label values to severity names, e.g. {'critical': 'SEV1'}."]
    known = set(Severity.objects.values_list("name", flat=True))
    cleaned: dict[str, str] = {}
    errors: list[str] = []
    for key, name in value.items():
        hint = str(key).strip().lower()
        if not is_storable(hint) or (isinstance(name, str) and not is_storable(name)):
            # PostgreSQL's jsonb refuses them; shown escaped, as the answer must encode.
            errors.append(f"{shown(hint)!r}: text may not hold NUL or unpaired surrogates.")
        elif not hint or len(hint) > 32:
            errors.append(f"{key!r} is not a severity label value (1 to 32 characters).")
        elif not isinstance(name, str) or name not in known:
            errors.append(f"{hint}: unknown severity {name!r}.")
        else:
            cleaned[hint] = name
    return cleaned, errors


def _grouping_label_errors(value: object) -> list[str]:
    if not isinstance(value, list):
        return ["A list of label names, e.g. ['alertname', 'service']."]
    bad = [str(name) for name in value if not isinstance(name, str) or not LABEL_NAME.match(name)]
    if bad:
        return [f"Not a label name: {', '.join(bad)}."]
    if len(value) > 20:
        return ["At most 20 grouping labels."]
    return []


def _only_settings(names: Iterable[str]) -> None:
    unknown = set(names).difference(INTEGRATION_SETTINGS)
    if unknown:
        raise TypeError(f"Not integration settings: {', '.join(sorted(unknown))}")


def _integration_clean(integration: Integration) -> None:
    """Raise one ValidationError naming every bad setting; nothing is saved on error."""
    errors: dict[str, list[str]] = {}
    integration.severity_map, map_errors = _severity_map_errors(integration.severity_map)
    if map_errors:
        errors["severity_map"] = map_errors
    label_errors = _grouping_label_errors(integration.grouping_labels)
    if label_errors:
        errors["grouping_labels"] = label_errors
    else:
        # Order and repeats do not change a group, so store each name once, sorted.
        integration.grouping_labels = sorted(set(integration.grouping_labels))
    # Checked whatever the kind: a template is refused when saved, not on every delivery.
    errors.update(
        generic_template_errors(
            title_template=integration.title_template,
            dedup_key_template=integration.dedup_key_template,
            severity_template=integration.severity_template,
            resolved_template=integration.resolved_template,
        )
    )
    window = integration.group_window
    if isinstance(window, timedelta) and not timedelta(0) <= window <= MAX_GROUP_WINDOW:
        errors["group_window"] = ["Between 0 seconds and 7 days."]
    try:
        integration.full_clean(exclude=["token_hash", "token_prefix", "storm_incident", *errors])
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def integration_create(
    *,
    name: str,
    kind: IntegrationKind,
    team: Team,
    actor: Actor,
    token: str | None = None,
    **settings: Any,
) -> tuple[Integration, str]:
    """Create an integration and return it with its token, which is shown once only.

    `token` is for the demo, whose token is published so `make run` can print it; anything
    else takes the generated one. A given token is refused in production and when it is short.
    """
    require(actor, Action.MANAGE_INTEGRATIONS)
    _only_settings(settings)
    if token is not None:
        _check_given_token(token)
    token = token or Integration.generate_token()
    integration = Integration(
        name=name,
        kind=kind,
        team=team,
        token_hash=hash_token(token),
        token_prefix=token[:8],
        **settings,
    )
    _integration_clean(integration)
    integration.save()
    logger.info("integration %s created by %s", integration.pk, actor.display_name)
    return integration, token


# Someone besides the server knows a given token, so production never takes one; elsewhere it
# must still be as hard to guess as a 32-character URL-safe string, so a careless caller cannot
# open an integration to a short or guessable secret.
MIN_GIVEN_TOKEN_LENGTH = 32
_URL_SAFE = re.compile(r"[A-Za-z0-9_-]+")


def _check_given_token(token: str) -> None:
    if django_settings.PRODUCTION:
        raise ValueError("A caller-chosen integration token is refused in production.")
    if len(token) < MIN_GIVEN_TOKEN_LENGTH or not _URL_SAFE.fullmatch(token):
        raise ValueError(
            f"A caller-chosen integration token needs at least {MIN_GIVEN_TOKEN_LENGTH} "
            "URL-safe characters (A-Z, a-z, 0-9, - and _)."
        )


def integration_update(*, integration: Integration, actor: Actor, **changes: Any) -> Integration:
    """Change an integration's settings; all of them or, when one is invalid, none."""
    require(actor, Action.MANAGE_INTEGRATIONS)
    _only_settings(changes)
    with transaction.atomic():
        locked = Integration.objects.select_for_update().get(pk=integration.pk)
        for name, value in changes.items():
            setattr(locked, name, value)
        _integration_clean(locked)
        if changes:
            locked.save(update_fields=sorted(changes))
        transaction.on_commit(forget_cached_tokens)
    logger.info(
        "integration %s updated by %s: %s",
        locked.pk,
        actor.display_name,
        ", ".join(sorted(changes)),
    )
    return locked


def integration_rotate_token(*, integration: Integration, actor: Actor) -> str:
    """A new token replaces the old one, which stops working at once; shown once only."""
    require(actor, Action.MANAGE_INTEGRATIONS)
    token = Integration.generate_token()
    integration.token_hash = hash_token(token)
    integration.token_prefix = token[:8]
    integration.save(update_fields=["token_hash", "token_prefix"])
    transaction.on_commit(forget_cached_tokens)
    logger.info("integration %s token rotated by %s", integration.pk, actor.display_name)
    return token


def generic_template_errors(
    *,
    title_template: str = "",
    dedup_key_template: str = "",
    severity_template: str = "",
    resolved_template: str = "",
) -> dict[str, list[str]]:
    """Why each generic-webhook template would be refused, by field; empty when all are fine."""
    templates = {
        "title_template": title_template,
        "dedup_key_template": dedup_key_template,
        "severity_template": severity_template,
        "resolved_template": resolved_template,
    }
    errors = {name: template_errors(source) for name, source in templates.items() if source}
    return {name: messages for name, messages in errors.items() if messages}


def validate_generic_templates(
    *,
    title_template: str = "",
    dedup_key_template: str = "",
    severity_template: str = "",
    resolved_template: str = "",
) -> None:
    """Refuse, at save time, templates that could only fail (or be refused) on every delivery."""
    errors = generic_template_errors(
        title_template=title_template,
        dedup_key_template=dedup_key_template,
        severity_template=severity_template,
        resolved_template=resolved_template,
    )
    if errors:
        raise ValidationError(errors)
