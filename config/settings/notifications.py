"""Email, the paging providers (Twilio, Slack, webhooks) and the outboxes that deliver pages
and Slack calls."""

import os
from typing import Any

from config.settings.environment import PRODUCTION, env_bool

# Email: EMAIL_URL is smtp://[user:password@]host:port[?tls=1]. Without it, development mail goes
# to the log and production mail to the local MTA.
_email_url = os.environ.get("EMAIL_URL", "smtp://localhost:25" if PRODUCTION else "")
if _email_url:
    from urllib.parse import parse_qs, unquote, urlsplit

    _parts = urlsplit(_email_url)
    MAILERS: dict[str, Any] = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _parts.hostname or "localhost",
                "port": _parts.port or 25,
                "username": unquote(_parts.username or ""),
                "password": unquote(_parts.password or ""),
                "use_tls": parse_qs(_parts.query).get("tls", ["0"])[0] == "1",
                "timeout": 10,
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Tocsin <tocsin@localhost>")

# Paging providers. SMS and voice speak Twilio's REST API at TWILIO_API_URL (Twilio itself, or
# any service compatible with it); Slack DMs go through slack-sdk at SLACK_API_URL. Tests point
# both at local stub servers. Without credentials the channel reports a permanent failure.
TWILIO_API_URL = os.environ.get("TWILIO_API_URL", "https://api.twilio.com").rstrip("/")
TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
TWILIO_FROM_NUMBER = os.environ.get("TWILIO_FROM_NUMBER", "")
SLACK_API_URL = os.environ.get("SLACK_API_URL", "https://slack.com/api/")
SLACK_BOT_TOKEN = os.environ.get("SLACK_BOT_TOKEN", "")
SLACK_SIGNING_SECRET = os.environ.get("SLACK_SIGNING_SECRET", "")
# Slack (chatops). Calls go through the outbox: a call may take SLACK_TIMEOUT seconds; one
# claimed longer ago than SLACK_CALL_LEASE is presumed lost with its worker, one queued longer
# than SLACK_REQUEUE_AFTER lost with the broker; a call failing for SLACK_GIVE_UP_AFTER seconds
# (a day: Slack down for hours still catches up) is given up.
SLACK_TIMEOUT = float(os.environ.get("SLACK_TIMEOUT", "10"))
SLACK_CALL_LEASE = int(os.environ.get("SLACK_CALL_LEASE", "60"))
SLACK_REQUEUE_AFTER = int(os.environ.get("SLACK_REQUEUE_AFTER", "30"))
SLACK_GIVE_UP_AFTER = int(os.environ.get("SLACK_GIVE_UP_AFTER", str(24 * 3600)))
# Opening a modal must use Slack's trigger id within 3 s, inside the request: this long at most.
SLACK_MODAL_TIMEOUT = float(os.environ.get("SLACK_MODAL_TIMEOUT", "2"))

# The incident channel's name; {number} and {slug} (of the title) are filled in.
SLACK_CHANNEL_NAME_TEMPLATE = os.environ.get("SLACK_CHANNEL_NAME_TEMPLATE", "inc-{number}-{slug}")
# Where every incident is announced (a channel id, e.g. C0123ABC); empty: nowhere but its own.
SLACK_ANNOUNCEMENTS_CHANNEL = os.environ.get("SLACK_ANNOUNCEMENTS_CHANNEL", "")
# The severities announced there, e.g. "SEV1,SEV2"; empty: every severity.
SLACK_ANNOUNCE_SEVERITIES = [
    name.strip()
    for name in os.environ.get("SLACK_ANNOUNCE_SEVERITIES", "").split(",")
    if name.strip()
]
# Days after resolution an incident channel is archived (reopening unarchives it).
SLACK_ARCHIVE_AFTER_DAYS = float(os.environ.get("SLACK_ARCHIVE_AFTER_DAYS", "7"))
# Seconds a provider call may take before it counts as a transient failure.
NOTIFIER_TIMEOUT = float(os.environ.get("NOTIFIER_TIMEOUT", "10"))
# Outgoing webhooks may only reach public addresses (no SSRF into the internal network),
# unless this is set: for development, and for tests whose receivers listen on loopback.
WEBHOOK_PRIVATE_DESTINATIONS_ALLOWED = env_bool("WEBHOOK_PRIVATE_DESTINATIONS_ALLOWED", False)
# A delivery claimed longer ago than this is presumed dead (its worker killed) and handed out
# again; keep it above what a notifier can take with its retries.
PAGING_DELIVERY_LEASE = int(os.environ.get("PAGING_DELIVERY_LEASE", "60"))
# A queued delivery whose task has not started after this many seconds was lost with the
# broker (Redis restarted without persistence) and is enqueued again.
PAGING_REQUEUE_AFTER = int(os.environ.get("PAGING_REQUEUE_AFTER", "30"))
