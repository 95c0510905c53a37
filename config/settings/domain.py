"""The apps' own settings: postmortems, reports, the public status page, the audit trail."""

import os

from config.settings.environment import env_list
from config.settings.web import ORGANISATION_TIME_ZONE

# Postmortem emails (invitations, action-item reminders) go through their outbox: a send
# claimed longer ago than POSTMORTEM_EMAIL_LEASE seconds is presumed lost with its worker, one
# handed to a worker longer than POSTMORTEM_EMAIL_REQUEUE_AFTER ago lost with the broker.
POSTMORTEM_EMAIL_LEASE = int(os.environ.get("POSTMORTEM_EMAIL_LEASE", "300"))
POSTMORTEM_EMAIL_REQUEUE_AFTER = int(os.environ.get("POSTMORTEM_EMAIL_REQUEUE_AFTER", "60"))
# Reports: where time to acknowledge, mitigate and resolve are measured from. "detected" (the
# playbook's MTTR: detection to first resolution), "started" (impact began) or "declared".
REPORTS_MTTR_ANCHOR = os.environ.get("REPORTS_MTTR_ANCHOR", "detected")
# The time to resolve each severity should stay under, in minutes, as "SEV1=60,SEV2=240": the
# report recommends a look at a severity whose median is above it. The playbook's key metrics
# say MTTR < 1 hour for the worst; a severity not listed gets no such recommendation.
REPORTS_MTTR_TARGETS = {
    name.strip(): int(minutes)
    for name, _, minutes in (
        item.partition("=")
        for item in env_list("REPORTS_MTTR_TARGETS", "SEV1=60,SEV2=240,SEV3=1440,SEV4=10080")
    )
}
# Who gets the monthly report on the 1st; empty: every active manager and admin with an email.
REPORTS_RECIPIENTS = env_list("REPORTS_RECIPIENTS", "")
# The monthly email (reports.delivery): a send that held its row longer than REPORTS_EMAIL_LEASE
# seconds died with its worker and is tried again; a recipient's email gives up (failed, logged)
# after REPORTS_EMAIL_MAX_ATTEMPTS attempts, about three hours of backing off.
REPORTS_EMAIL_LEASE = int(os.environ.get("REPORTS_EMAIL_LEASE", "300"))
REPORTS_EMAIL_MAX_ATTEMPTS = int(os.environ.get("REPORTS_EMAIL_MAX_ATTEMPTS", "8"))
# Working hours in each person's own zone, for the off-hours pages of responder load:
# "09:00-18:00" on the ISO weekdays listed (1 Monday … 7 Sunday).
REPORTS_WORKING_HOURS = os.environ.get("REPORTS_WORKING_HOURS", "09:00-18:00")
# How long /metrics reuses the MTTA/MTTR histograms' query (a scan of every incident).
REPORTS_METRICS_CACHE_SECONDS = int(os.environ.get("REPORTS_METRICS_CACHE_SECONDS", "30"))
REPORTS_WORKING_DAYS = [int(day) for day in env_list("REPORTS_WORKING_DAYS", "1,2,3,4,5")]
# The public status page (statuspage): what it is called and looks like, where it lives.
STATUSPAGE_NAME = os.environ.get("STATUSPAGE_NAME", "Tocsin")
# Statuspage's `page.id` in the JSON API; widgets and bots keep it, so set it once.
STATUSPAGE_PAGE_ID = os.environ.get("STATUSPAGE_PAGE_ID", "tocsin")
STATUSPAGE_LOGO_URL = os.environ.get("STATUSPAGE_LOGO_URL", "")
STATUSPAGE_ACCENT_COLOR = os.environ.get("STATUSPAGE_ACCENT_COLOR", "#2563eb")
STATUSPAGE_SUPPORT_URL = os.environ.get("STATUSPAGE_SUPPORT_URL", "")
# Days are counted, and times shown, in this zone (Statuspage's page.time_zone).
STATUSPAGE_TIME_ZONE = os.environ.get("STATUSPAGE_TIME_ZONE", ORGANISATION_TIME_ZONE)
# How much of a span in each state counts as downtime in the 90-day uptime: "state=weight",
# 1 all down, 0 all up. Statuspage's own default counts a major outage as down and a partial
# outage as 30 % down; degraded performance and maintenance count as up.
STATUSPAGE_UPTIME_WEIGHTS = {
    state.strip(): float(weight)
    for state, _, weight in (
        item.partition("=")
        for item in env_list(
            "STATUSPAGE_UPTIME_WEIGHTS",
            "major_outage=1,partial_outage=0.3,degraded_performance=0,under_maintenance=0",
        )
    )
}
# Browsers and proxies may reuse the page and its JSON this many seconds (Cache-Control:
# public); with ETag and Last-Modified they revalidate cheaply after.
STATUSPAGE_MAX_AGE = int(os.environ.get("STATUSPAGE_MAX_AGE", "10"))
# The page's "Past incidents": this many days, today included, as Statuspage's 7 by default.
STATUSPAGE_PAST_INCIDENT_DAYS = int(os.environ.get("STATUSPAGE_PAST_INCIDENT_DAYS", "7"))
# Push public incidents to a hosted Atlassian Statuspage too (statuspage.hosted): its page id
# and an API key (Statuspage: avatar menu, API info). Both empty: no push. One without the other
# is refused at start (statuspage.hosted.checks). The key is a secret: it is never logged.
STATUSPAGE_HOSTED_API_URL = os.environ.get("STATUSPAGE_HOSTED_API_URL", "https://api.statuspage.io")
STATUSPAGE_HOSTED_PAGE_ID = os.environ.get("STATUSPAGE_HOSTED_PAGE_ID", "")
STATUSPAGE_HOSTED_API_KEY = os.environ.get("STATUSPAGE_HOSTED_API_KEY", "")
# Seconds each request to it may take to connect, and again to answer.
STATUSPAGE_HOSTED_TIMEOUT = float(os.environ.get("STATUSPAGE_HOSTED_TIMEOUT", "10"))
# Subscribers (statuspage.subscriptions). A sign-up's confirmation link expires after
# STATUSPAGE_CONFIRM_HOURS; sign-ups are limited per address and per IP (per hour) so the form
# cannot be used to mail-bomb an address or to flood the outbox.
STATUSPAGE_CONFIRM_HOURS = int(os.environ.get("STATUSPAGE_CONFIRM_HOURS", "48"))
STATUSPAGE_SIGNUPS_PER_ADDRESS = int(os.environ.get("STATUSPAGE_SIGNUPS_PER_ADDRESS", "3"))
STATUSPAGE_SIGNUPS_PER_IP = int(os.environ.get("STATUSPAGE_SIGNUPS_PER_IP", "20"))
# The notification outbox: a delivery held longer than STATUSPAGE_DELIVERY_LEASE seconds died
# with its worker, one handed out longer than STATUSPAGE_DELIVERY_REQUEUE_AFTER ago lost its
# task; a notification gives up after STATUSPAGE_DELIVERY_MAX_ATTEMPTS. Emails go out in
# batches of STATUSPAGE_EMAIL_BATCH over one SMTP connection.
STATUSPAGE_DELIVERY_LEASE = int(os.environ.get("STATUSPAGE_DELIVERY_LEASE", "300"))
STATUSPAGE_DELIVERY_REQUEUE_AFTER = int(os.environ.get("STATUSPAGE_DELIVERY_REQUEUE_AFTER", "120"))
STATUSPAGE_DELIVERY_MAX_ATTEMPTS = int(os.environ.get("STATUSPAGE_DELIVERY_MAX_ATTEMPTS", "8"))
STATUSPAGE_EMAIL_BATCH = int(os.environ.get("STATUSPAGE_EMAIL_BATCH", "200"))
# Webhook subscribers must answer 2xx within STATUSPAGE_WEBHOOK_TIMEOUT seconds (Statuspage's
# 30 s); STATUSPAGE_WEBHOOK_DISABLE_AFTER failures in a row disable the subscriber.
STATUSPAGE_WEBHOOK_TIMEOUT = float(os.environ.get("STATUSPAGE_WEBHOOK_TIMEOUT", "30"))
STATUSPAGE_WEBHOOK_DISABLE_AFTER = int(os.environ.get("STATUSPAGE_WEBHOOK_DISABLE_AFTER", "10"))
# statuspage.subscriptions.tasks is not an app's tasks module, which Celery finds by itself.
CELERY_IMPORTS = ["statuspage.subscriptions.tasks"]

# The audit trail (audit/tracked.py chooses the models and leaves out their secrets). Changes are
# stored as JSON values, a related row by its name (still readable after the row is gone), and
# no client address: behind the proxy it would be the proxy's. Raw saves are fixtures being
# loaded (loaddata, a test database restored), which replay rows rather than change them.
AUDITLOG_STORE_JSON_CHANGES = True
AUDITLOG_USE_FK_STRING_REPRESENTATION = True
AUDITLOG_DISABLE_REMOTE_ADDR = True
AUDITLOG_DISABLE_ON_RAW_SAVE = True
