"""The demo's public status page: its groups and components, what the public was told of each
incident, and two maintenance windows (one done, one coming).

Incidents are published by the seeder as the status page's event handlers would (those run
only once the seed commits, which would stamp everything today) and moved back with the rest
of the incident (statuspage.services.history).
"""

from datetime import datetime, timedelta

from accounts.models import User
from incidents.models import Service
from statuspage.models import Component, Maintenance
from statuspage.services import components as page
from statuspage.services.maintenance import maintenance_schedule, timers_run

# Group name: (description, [(service slug, public name, description)]), in the page's order.
GROUPS = {
    "Payments": (
        "Buying, paying and what follows.",
        [
            ("checkout-api", "Checkout", "Cart, checkout and order confirmation."),
            ("payment-gateway", "Card payments", "Card, wallet and 3-D Secure payments."),
        ],
    ),
    "Developer platform": (
        "What integrations talk to.",
        [("api-gateway", "Public API", "api.example.com and merchant webhooks.")],
    ),
}

# What the public is told an incident is, where its internal title says more than it should.
PUBLIC_NAMES = {
    "Checkout returns 502 for a third of requests": "Checkout errors for some customers",
    "Card authorisations timing out": "Card payments failing",
    "Elevated p99 latency on the API gateway": "Slow API responses",
    "Duplicate charges for some customers": "Some customers charged twice",
    "TLS certificate expired on api.example.com": "API connections failing",
    "Intermittent 401s for mobile clients": "Sign-in errors in the mobile app",
    "Internal services receiving 429 from the gateway": "API requests rate limited",
    "More 5xx responses after the node upgrade": "Increased API error rate",
    "DNS resolution failures in eu-west": "API unreachable in Europe",
    "Memory leak in payment gateway pods": "Intermittent card payment failures",
    "Stale routes after a failed gateway config push": "Some API requests misrouted",
    # Said as it is: the internal title is already fit for the public.
    "Elevated error rate on wallet payments": "Elevated error rate on wallet payments",
}

PAST_MAINTENANCE = (
    "Load balancer upgrade",
    "We are upgrading the load balancers in front of the public API. Requests may be retried "
    "for a few seconds as connections move over.",
    timedelta(hours=1, minutes=30),
)
UPCOMING_MAINTENANCE = (
    "Payment database upgrade",
    "We are upgrading the database behind checkout and card payments. Payments will pause for "
    "up to five minutes in this window; nothing needs to be done on your side.",
    timedelta(hours=2),
)


def public_name(title: str) -> str | None:
    return PUBLIC_NAMES.get(title)


def components_arrange(*, admin: User, catalog: dict[str, Service]) -> None:
    for position, (name, (description, rows)) in enumerate(GROUPS.items(), start=1):
        group = page.group_create(
            actor=admin, name=name, description=description, position=position
        )
        for order, (slug, shown_as, about) in enumerate(rows, start=1):
            page.component_update(
                actor=admin,
                component=Component.objects.get(service=catalog[slug]),
                public_name=shown_as,
                description=about,
                group=group,
                position=order,
            )


def maintenance_past(
    *, admin: User, catalog: dict[str, Service], starts_at: datetime
) -> Maintenance:
    """A window announced three days ahead, started and completed by its timers. Caller runs
    it in its place in the components' history: nothing of theirs may come after `starts_at`."""
    name, message, length = PAST_MAINTENANCE
    maintenance = maintenance_schedule(
        actor=admin,
        name=name,
        message=message,
        scheduled_for=starts_at,
        scheduled_until=starts_at + length,
        components=[Component.objects.get(service=catalog["api-gateway"])],
        now=starts_at - timedelta(days=3),
    )
    timers_run(now=starts_at)
    timers_run(now=starts_at + length)
    return maintenance


def maintenance_upcoming(*, admin: User, catalog: dict[str, Service], now: datetime) -> Maintenance:
    """Next week's window, at 02:00 UTC when checkout is quiet."""
    name, message, length = UPCOMING_MAINTENANCE
    starts_at = (now + timedelta(days=5)).replace(hour=2, minute=0, second=0, microsecond=0)
    return maintenance_schedule(
        actor=admin,
        name=name,
        message=message,
        scheduled_for=starts_at,
        scheduled_until=starts_at + length,
        components=[
            Component.objects.get(service=catalog[slug])
            for slug in ("checkout-api", "payment-gateway")
        ],
    )
