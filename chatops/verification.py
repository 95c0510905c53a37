"""Requests from Slack are taken only when signed with our signing secret, and fresh.

Slack signs `v0:<timestamp>:<raw body>` with HMAC-SHA256; slack-sdk's SignatureVerifier checks
that and refuses a timestamp more than five minutes off, so a captured request cannot be
replayed later. The check runs on the raw body, before anything parses it.
"""

import logging
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from slack_sdk.signature import SignatureVerifier

logger = logging.getLogger(__name__)

View = Callable[[HttpRequest], HttpResponse]


def signed_by_slack(request: HttpRequest) -> bool:
    secret = settings.SLACK_SIGNING_SECRET
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    signature = request.headers.get("X-Slack-Signature", "")
    if not (secret and timestamp and signature):
        return False
    try:
        return SignatureVerifier(secret).is_valid(request.body, timestamp, signature)
    except ValueError:
        # A timestamp that is not a number.
        return False


def from_slack(view: View) -> View:
    """Take the request only if Slack signed it; otherwise 401, a log line, and nothing done."""

    @csrf_exempt
    @require_POST
    @wraps(view)
    def checked(request: HttpRequest) -> HttpResponse:
        if not signed_by_slack(request):
            reason = (
                "no signing secret configured"
                if not settings.SLACK_SIGNING_SECRET
                else ("missing, forged or stale signature")
            )
            logger.warning(
                "refused a request to %s claiming to be from Slack: %s (timestamp %r)",
                request.path,
                reason,
                request.headers.get("X-Slack-Request-Timestamp", "")[:20],
            )
            return JsonResponse({"ok": False, "error": "invalid_signature"}, status=401)
        return view(request)

    return checked
