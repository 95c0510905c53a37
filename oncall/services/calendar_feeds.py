"""The secrets in iCal feed addresses: a schedule's, and each person's own."""

import logging
import secrets

from django.db import transaction

from accounts.actors import Actor
from accounts.models import User
from incidents.permissions import Action, require
from oncall.models import CalendarFeed, Schedule

logger = logging.getLogger(__name__)


def schedule_rotate_feed_token(*, actor: Actor, schedule: Schedule) -> Schedule:
    """A new secret iCal URL; calendars subscribed to the old one stop updating."""
    require(actor, Action.MANAGE_ONCALL)
    schedule.feed_token = secrets.token_urlsafe(24)
    schedule.save(update_fields=["feed_token"])
    return schedule


def calendar_feed_get_or_create(*, user: User) -> CalendarFeed:
    """The secret of `user`'s own iCal URL, made the first time they look for it."""
    # get_or_create retries the read when a concurrent request inserted the row first.
    feed, created = CalendarFeed.objects.get_or_create(user=user)
    if created:
        logger.info("calendar feed created for %s", user.username)
    return feed


def calendar_feed_rotate(*, user: User) -> CalendarFeed:
    """A new secret for `user`'s own iCal URL; calendars subscribed to the old one stop."""
    with transaction.atomic():
        feed, _ = CalendarFeed.objects.select_for_update().get_or_create(user=user)
        feed.token = secrets.token_urlsafe(24)
        feed.save(update_fields=["token"])
    logger.info("calendar feed rotated by %s", user.username)
    return feed
