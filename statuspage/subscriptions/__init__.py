"""Subscribers to the status page: email sign-ups (double opt-in, one-click unsubscribe),
webhook subscribers, and the outbox that tells each of them of each public update once.

services: sign-up, confirmation, unsubscribe, and the fan-out (notify_public_update,
notify_maintenance_event, and for webhooks notify_component_changes); delivery: the outbox's
tick and workers; webhooks: Statuspage's payload and the signed POST; tokens: the signed links.
"""
