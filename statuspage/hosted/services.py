"""Push public incidents to a hosted Atlassian Statuspage, through an outbox.

The publishing code calls `hosted_push_queue(public_incident_id)` in the transaction that
changed what the public sees of an incident (its first public update, a later one, a status or
component change, a resolution, a withdrawal). That bumps the incident's one HostedPush row; a
worker (`deliver_due`, from the beat's tick and from a task enqueued on commit) claims due rows
and brings the hosted page up to date with the incident *as it is when sent*:

- first a POST creating the hosted incident (with the incident's first public update), whose
  id is kept in PublicIncident.hosted_incident_id; then a PATCH of only what changed since the
  last push (a new public update's text and status notify the hosted page's subscribers; a
  component or impact change alone does not, nor does it repeat the last update's text);
- every public update reaches the hosted page, in order: `pushed` remembers the last one
  sent, and updates published since, but for the latest, each go as a PATCH of their own
  text and status (recorded one by one, so a retry resends none) before the PATCH bringing the
  latest state;
- components are the incident's components that have a `hosted_component_id`, each with its
  current state on our page (worst wins across incidents, as we show it), so resolving one of
  two incidents on a component leaves it as the other has it;
- a withdrawn incident (made private after publishing) is deleted from the hosted page, as it
  disappears from ours: withdrawing says the public should not have seen it, and resolving it
  instead would keep its text in the hosted history and tell subscribers it was fixed. Its
  components are first set back to their current state, without notifying. Published again
  later, it is created anew.

One row per incident: its pushes go one at a time, in order, never two at once. Changes that
arrive while a push waits collapse into it (but each public update is still a request of its
own); one that arrives while a push is on its way makes the row go once more afterwards, with
the latest state: a burst of component changes costs one or two requests, not five.

Failures: a 429 (or Statuspage's 420) waits as long as Retry-After says, is no attempt, and
ends this round (the limit is the key's, not the row's); 5xx, timeouts and refused connections
back off (5 s doubling, at most 15 min) and give up after MAX_ATTEMPTS, the last error kept;
any other 4xx fails the row at once with the answer kept. A failed row is tried again by the
incident's next change.

The row is an outbox as ops.outbox describes, whose claim, lease and giving up it uses; a
push that lands marks it `done` (not `sent`): the incident's next change sends it again.

A worker killed mid-push leaves its row `sending`; once the LEASE has run out, the next round
claims it again, so no push is lost. Creating is the one call that must not happen twice: the
row records that a POST was started before making it, and a row claimed again with that mark
(the worker died, the answer timed out or was a 5xx) first looks for the incident among the
hosted page's latest 100 by the marker every created incident carries in its `metadata`
({"tocsin": {"public_incident": <code>}}), and adopts it rather than creating a second. The
look-up trusts Statuspage to return `metadata` in its incident list; a page that did not would
get a duplicate in that rare case, which the marker lets a person find.

Without STATUSPAGE_HOSTED_PAGE_ID and STATUSPAGE_HOSTED_API_KEY nothing is queued and nothing
is sent: no row, no request.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Case, F, PositiveSmallIntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from ops import outbox
from statuspage.hosted.client import HostedClient, HostedError, configured
from statuspage.models import Component, PublicIncident, PublicUpdate
from statuspage.models_hosted import HostedPush, PushState

logger = logging.getLogger(__name__)

# A push holding its row longer than this died with its worker: longer than the few requests
# one push makes take, each bounded by STATUSPAGE_HOSTED_TIMEOUT (10 s to connect, 10 to read).
LEASE = timedelta(seconds=120)
# Attempts at one change before the row gives up (about 40 minutes of backing off).
MAX_ATTEMPTS = 10
FIRST_RETRY = timedelta(seconds=5)
LONGEST_RETRY = timedelta(minutes=15)
# A 429 without a Retry-After waits this long.
RATE_LIMIT_WAIT = 5.0
MARKER = "tocsin"


def hosted_push_queue(public_incident_id: int) -> None:
    """Bring the hosted page's copy of this public incident up to date, soon. Call it in the
    transaction that changed the incident: the push reads the incident once it is committed."""
    if not configured():
        return
    now = timezone.now()
    if not _bump(public_incident_id, now):
        try:
            with transaction.atomic():
                HostedPush.objects.create(
                    public_incident_id=public_incident_id, due_at=now, created_at=now
                )
        except IntegrityError:
            # Another transaction made the row first (we waited for it to commit): bump it.
            _bump(public_incident_id, now)
    transaction.on_commit(_enqueue, robust=True)


def _bump(public_incident_id: int, now: datetime) -> int:
    finished = Q(state__in=(PushState.DONE, PushState.FAILED))
    return HostedPush.objects.filter(public_incident_id=public_incident_id).update(
        wanted=F("wanted") + 1,
        # A row waiting (perhaps on a Retry-After) keeps its due time; one being sent goes
        # again when it is done (its `done` will lag `wanted`).
        state=Case(When(finished, then=Value(PushState.PENDING)), default=F("state")),
        due_at=Case(When(finished, then=Value(now)), default=F("due_at")),
        attempts=Case(
            When(finished, then=Value(0)),
            default=F("attempts"),
            output_field=PositiveSmallIntegerField(),
        ),
    )


def _enqueue() -> None:
    # Lazily: the task module imports this one. The beat's tick would find the row anyway;
    # this makes the hosted page follow within seconds.
    from statuspage.hosted import tasks

    tasks.deliver_due.delay()


def deliver_due(now: datetime | None = None, *, limit: int = 100) -> Counter[str]:
    """Push every row that is due (or whose worker died); how many were "sent" (the hosted
    page is up to date, perhaps with no request needed), "retry", "rate_limited", "failed" or
    "lost" (the lease ran out under us)."""
    outcomes: Counter[str] = Counter()
    if not configured():
        return outcomes
    now = now or timezone.now()
    client = HostedClient.from_settings()
    for _ in range(limit):
        row = outbox.claim_next(
            HostedPush.objects.all(),
            clock=lambda: now,
            lease=LEASE,
            max_attempts=MAX_ATTEMPTS,
            gave_up=_log_workers_died,
        )
        if row is None:
            break
        outcome = _push(row, client, now)
        outcomes[outcome] += 1
        if outcome in ("rate_limited", "retry"):
            # The page limits the key, or is failing: the next rows would fare the same.
            break
    return outcomes


def _log_workers_died(row: HostedPush) -> None:
    # Every attempt died with its worker; the incident's next change tries again.
    logger.error(
        "gave up pushing public incident %s to the hosted status page: %s",
        row.public_incident_id,
        row.last_error,
    )


def _claimed(row: HostedPush) -> QuerySet[HostedPush]:
    """The row, as long as this push's claim on it holds (no one took it over after the
    lease)."""
    return outbox.held(HostedPush.objects.filter(pk=row.pk), claimed_at=row.claimed_at)


class _LeaseLost(Exception):
    """Another worker took the row over while this one pushed (its lease ran out)."""


def _push(row: HostedPush, client: HostedClient, now: datetime) -> str:
    incident = PublicIncident.objects.get(pk=row.public_incident_id)
    try:
        if incident.withdrawn:
            pushed = _withdraw(row, incident, client)
        else:
            if not incident.hosted_incident_id:
                _create(row, incident, client, now)
            # After a create, only what changed since it was read (usually nothing).
            pushed = _update(row, incident, client)
    except HostedError as error:
        return _failed(row, error, now)
    except _LeaseLost:
        return _lease_lost(row)
    except Exception as error:
        # A bug or an answer we could not read: counted, so the row still gives up in time.
        logger.exception("pushing public incident %s failed", incident.pk)
        return _failed(row, HostedError(repr(error)[:300]), now)
    with transaction.atomic():
        more = Q(wanted__gt=row.wanted)
        ours = _claimed(row).update(
            state=Case(When(more, then=Value(PushState.PENDING)), default=Value(PushState.DONE)),
            due_at=now,
            done=row.wanted,
            sent_at=timezone.now(),
            attempts=0,
            last_error="",
            pushed=pushed,
        )
    if not ours:
        return _lease_lost(row)
    return "sent"


def _updates(incident: PublicIncident) -> list[PublicUpdate]:
    """The incident's public updates, oldest first."""
    return list(PublicUpdate.objects.filter(public_incident=incident).order_by("created_at", "id"))


def desired_state(incident: PublicIncident, *, as_of: PublicUpdate | None = None) -> dict[str, Any]:
    """What the hosted page should show of the incident, in the terms `pushed` keeps: with
    the latest public update, or with `as_of` (its text and status) when given."""
    latest = as_of or (
        PublicUpdate.objects.filter(public_incident=incident).order_by("-created_at", "-id").first()
    )
    components = (
        incident.components.exclude(hosted_component_id="")
        .order_by("hosted_component_id")
        .values_list("hosted_component_id", "state")
    )
    return {
        "name": incident.name,
        "status": as_of.status if as_of else incident.status,
        "impact_override": incident.impact,
        "components": dict(components),
        "update": latest.code if latest else "",
        "body": latest.body if latest else "",
    }


def _create(row: HostedPush, incident: PublicIncident, client: HostedClient, now: datetime) -> None:
    """Create the hosted incident, or adopt the one a lost attempt created; either way its id
    is stored (committed) before anything else is sent, and `row.pushed` says what it
    carries."""
    found = _find_created(client, incident) if row.create_started_at else None
    if found is None:
        # Created with its first public update: those after it follow as PATCHes (_update),
        # so the hosted page's subscribers hear of each.
        updates = _updates(incident)
        desired = desired_state(incident, as_of=updates[0] if updates else None)
        # Committed before the POST: whatever becomes of this worker, the next claim knows a
        # hosted incident may exist.
        if not _claimed(row).update(create_started_at=now, pushed=desired):
            raise _LeaseLost
        row.pushed = desired
        try:
            found = client.incident_create(_create_fields(incident, desired))
        except HostedError as error:
            if not error.unknown_outcome:
                # Refused (a 4xx, a rate limit): nothing was created, nothing to look for.
                _claimed(row).update(create_started_at=None)
            raise
        logger.info("created hosted incident %s for public incident %s", found["id"], incident.pk)
    else:
        # `row.pushed` still holds what the lost POST carried: the PATCH to follow starts there.
        logger.warning(
            "adopted hosted incident %s, created for public incident %s by a push whose "
            "answer was lost",
            found["id"],
            incident.pk,
        )
    hosted_id = str(found["id"])
    with transaction.atomic():
        if not _claimed(row).update(create_started_at=None):
            raise _LeaseLost
        PublicIncident.objects.filter(pk=incident.pk).update(hosted_incident_id=hosted_id)
    incident.hosted_incident_id = hosted_id
    row.create_started_at = None


def _find_created(client: HostedClient, incident: PublicIncident) -> dict[str, Any] | None:
    for candidate in client.incidents_recent():
        metadata = candidate.get("metadata")
        if (
            isinstance(metadata, dict)
            and isinstance(metadata.get(MARKER), dict)
            and metadata[MARKER].get("public_incident") == incident.code
            and candidate.get("id")
        ):
            return candidate
    return None


def _create_fields(incident: PublicIncident, desired: dict[str, Any]) -> dict[str, Any]:
    components: dict[str, str] = desired["components"]
    fields: dict[str, Any] = {
        "name": desired["name"],
        "status": desired["status"],
        "impact_override": desired["impact_override"],
        "component_ids": list(components),
        "components": components,
        "deliver_notifications": True,
        "metadata": {MARKER: {"public_incident": incident.code}},
    }
    if desired["body"]:
        fields["body"] = desired["body"]
    return fields


def _update(row: HostedPush, incident: PublicIncident, client: HostedClient) -> dict[str, Any]:
    # Read again: a create that took seconds may have been overtaken by a change.
    incident.refresh_from_db()
    for missed in _missed(incident, row.pushed.get("update") or ""):
        client.incident_update(
            incident.hosted_incident_id,
            {"body": missed.body, "status": missed.status, "deliver_notifications": True},
        )
        sent = {**row.pushed, "update": missed.code, "body": missed.body, "status": missed.status}
        # Recorded at once: a push that fails after this resends none of those that went.
        if not _claimed(row).update(pushed=sent):
            raise _LeaseLost
        row.pushed = sent
    desired = desired_state(incident)
    fields = _patch_fields(row.pushed, desired)
    if fields:
        client.incident_update(incident.hosted_incident_id, fields)
    return desired


def _missed(incident: PublicIncident, pushed_code: str) -> list[PublicUpdate]:
    """The public updates after the one last pushed, but for the latest (the state's own
    PATCH carries it); none when the last pushed is unknown here."""
    updates = _updates(incident)
    codes = [update.code for update in updates]
    if pushed_code not in codes:
        return []
    return updates[codes.index(pushed_code) + 1 : -1]


def _patch_fields(pushed: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    """The fields of a PATCH taking the hosted incident from `pushed` to `desired`; empty when
    nothing changed."""
    fields: dict[str, Any] = {
        name: desired[name]
        for name in ("name", "status", "impact_override")
        if pushed.get(name) != desired[name]
    }
    before: dict[str, str] = pushed.get("components") or {}
    after: dict[str, str] = desired["components"]
    if before != after:
        # A component no longer affected is told its state now (another incident's, or
        # operational); it stays as the page last had it otherwise.
        dropped = sorted(set(before) - set(after))
        fields["component_ids"] = list(after)
        fields["components"] = {**_current_states(dropped), **after}
    new_update = desired["update"] and pushed.get("update") != desired["update"]
    if new_update:
        # A new public update: its text is the hosted incident's new update, with its status.
        fields["body"] = desired["body"]
        fields["status"] = desired["status"]
    if fields:
        fields["deliver_notifications"] = bool(new_update)
    return fields


def _current_states(hosted_ids: list[str]) -> dict[str, str]:
    if not hosted_ids:
        return {}
    states = dict(
        Component.objects.filter(hosted_component_id__in=hosted_ids).values_list(
            "hosted_component_id", "state"
        )
    )
    return {hosted_id: states.get(hosted_id, "operational") for hosted_id in hosted_ids}


def _withdraw(row: HostedPush, incident: PublicIncident, client: HostedClient) -> dict[str, Any]:
    """Delete the hosted incident (see the module's docstring); nothing is pushed after."""
    hosted_id = incident.hosted_incident_id
    if not hosted_id and row.create_started_at:
        found = _find_created(client, incident)
        hosted_id = str(found["id"]) if found else ""
    if not hosted_id:
        return {}
    pushed_components = sorted((row.pushed.get("components") or {}).keys())
    if pushed_components:
        client.incident_update(
            hosted_id,
            {"components": _current_states(pushed_components), "deliver_notifications": False},
            # Deleted there by hand already: nothing left to withdraw.
            missing_ok=True,
        )
    client.incident_delete(hosted_id)
    with transaction.atomic():
        if not _claimed(row).update(create_started_at=None):
            raise _LeaseLost
        PublicIncident.objects.filter(pk=incident.pk).update(hosted_incident_id="")
    logger.info("deleted hosted incident %s: public incident %s withdrawn", hosted_id, incident.pk)
    return {}


def retry_delay(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s … at most LONGEST_RETRY, after the `attempts`th attempt."""
    return outbox.backoff(attempts, first=FIRST_RETRY, longest=LONGEST_RETRY)


def _failed(row: HostedPush, error: HostedError, now: datetime) -> str:
    text = str(error)[: outbox.ERROR_LENGTH]
    if error.rate_limited:
        wait = error.retry_after if error.retry_after is not None else RATE_LIMIT_WAIT
        _claimed(row).update(
            state=PushState.PENDING,
            due_at=now + timedelta(seconds=wait),
            last_error=text,
            # The page's limit, not a fault of this push: no attempt.
            attempts=F("attempts") - 1,
        )
        return "rate_limited"
    if error.permanent or row.attempts >= MAX_ATTEMPTS:
        outbox.give_up(_claimed(row), error=text)
        logger.warning(
            "gave up pushing public incident %s to the hosted status page: %s",
            row.public_incident_id,
            text,
        )
        return "failed"
    _claimed(row).update(
        state=PushState.PENDING,
        due_at=now + retry_delay(row.attempts),
        last_error=text,
    )
    return "retry"


def _lease_lost(row: HostedPush) -> str:
    logger.warning(
        "push of public incident %s outlived its lease; another worker has it",
        row.public_incident_id,
    )
    return "lost"
