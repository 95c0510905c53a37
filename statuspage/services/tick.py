"""The status page's tick: every step that happens by itself, each safe to run twice."""

import functools
import logging
from collections.abc import Callable
from datetime import datetime

from django.utils import timezone

from statuspage.services.components import components_sync
from statuspage.services.maintenance import timers_run
from statuspage.services.publishing import public_incidents_catch_up, public_updates_catch_up
from statuspage.services.states import states_recompute

logger = logging.getLogger(__name__)

# In order: components first (a service made public by a bulk write, which sends no signal),
# then the public updates whose event never ran and the public incidents a failed subscriber
# left behind, the maintenance timers, and a last recompute that catches anything else.
STEPS: tuple[tuple[str, Callable[..., object]], ...] = (
    ("components_sync", components_sync),
    ("public_updates_catch_up", public_updates_catch_up),
    ("public_incidents_catch_up", public_incidents_catch_up),
    ("timers_run", timers_run),
    ("states_recompute", functools.partial(states_recompute, quick=True)),
)


def statuspage_tick(*, now: datetime | None = None) -> list[str]:
    """Run every step at `now`; the names of those that failed (each logged), so one broken
    step never stops the maintenance timers."""
    now = now or timezone.now()
    failed = []
    for name, step in STEPS:
        try:
            step(now=now)
        except Exception:
            logger.exception("statuspage tick: %s failed; the other steps go on", name)
            failed.append(name)
    return failed
