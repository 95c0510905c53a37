"""What the status page does when an incident changes: keep its public copy and the
components' states in step. Each handler records statuspage's own rows and enqueues tasks."""


def connect() -> None:
    """Subscribe the handlers to incidents' domain events (AppConfig.ready)."""
