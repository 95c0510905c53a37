"""Who and what the demo holds, and its published secrets: `make run` prints the logins."""

from dataclasses import dataclass

from accounts.models import Role

DEMO_PASSWORD = "tocsin-demo"  # noqa: S105 - published on purpose: these are demo accounts


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: str
    team: str = ""


DEMO_USERS = (
    DemoUser("admin", "Amara", "Okafor", Role.ADMIN, "platform"),
    DemoUser("manager", "Miguel", "Santos", Role.MANAGER, "payments"),
    DemoUser("responder", "Riya", "Patel", Role.RESPONDER, "payments"),
    DemoUser("oncall", "Owen", "Fischer", Role.RESPONDER, "platform"),
    DemoUser("viewer", "Vera", "Lind", Role.VIEWER),
)

TEAMS = {
    "payments": ("Payments", "Checkout, payment processing and billing."),
    "platform": ("Platform", "Edge, databases and the infrastructure everything runs on."),
}

# slug: (name, team slug, shown on the public status page)
SERVICES = {
    "checkout-api": ("Checkout API", "payments", True),
    "payment-gateway": ("Payment Gateway", "payments", True),
    "billing-worker": ("Billing Worker", "payments", False),
    "api-gateway": ("API Gateway", "platform", True),
    "core-database": ("Core Database", "platform", False),
}

# Published on purpose, like the demo passwords: `make run` prints it so a newcomer can post an
# alert at once. The seeders refuse to run in production. integration_create takes a given token
# only outside production and only of 32 URL-safe characters or more.
DEMO_ALERTMANAGER_TOKEN = "tocsin-demo-alertmanager-published"  # noqa: S105
# The team the demo's Alertmanager integration belongs to, and pages.
DEMO_ALERTS_TEAM = "platform"
