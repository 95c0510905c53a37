"""A local server speaking the slice of Twilio's REST API we use: Messages.json and Calls.json."""

from __future__ import annotations

import re
import secrets
from collections import deque
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from tests.stubs.webhook import HttpStub, RecordedRequest, StubResponse

API_VERSION = "2010-04-01"
_PATH = re.compile(rf"/{API_VERSION}/Accounts/(?P<sid>[^/]+)/(?P<resource>Messages|Calls)\.json")
_SID_PREFIX = {"Messages": "SM", "Calls": "CA"}


def twilio_error(status: int, code: int | None, message: str, **extra: Any) -> StubResponse:
    """Twilio's error document, as its API returns it for every 4xx and 5xx."""
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}" if code else None,
        "status": status,
    }
    return StubResponse(status, body, **extra)


class TwilioStub(HttpStub):
    def __init__(self, *, from_number: str = "+15005550006") -> None:
        super().__init__()
        self.account_sid = "AC" + secrets.token_hex(16)
        self.auth_token = secrets.token_hex(16)
        self.from_number = from_number
        self._failures: deque[StubResponse] = deque()
        self._delays: deque[float] = deque()
        self._holds: deque[float] = deque()

    def fail_next(
        self,
        *,
        status: int = 400,
        code: int | None = 21211,
        message: str = "Scripted failure",
        retry_after: float | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` authenticated requests with a Twilio error."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        for _ in range(times):
            self._failures.append(twilio_error(status, code, message, headers=dict(headers)))

    def hold_next(self, seconds: float) -> None:
        """Keep the next request undecided for `seconds`; if its client dies meanwhile the
        message is never accepted (see StubResponse.hold)."""
        self._holds.append(seconds)

    def stall_next(self, seconds: float, *, times: int = 1) -> None:
        """Answer the next `times` requests only after `seconds`, to provoke client timeouts."""
        self._delays.extend([seconds] * times)

    def messages_to(self, number: str) -> list[dict[str, str]]:
        """Form fields of every message Twilio accepted for this number."""
        return self._accepted("Messages", number)

    def calls_to(self, number: str) -> list[dict[str, str]]:
        return self._accepted("Calls", number)

    def respond(self, request: RecordedRequest) -> StubResponse:
        response = self._respond(request)
        if self._holds:
            response.delay, response.hold = self._holds.popleft(), True
        elif self._delays:
            response.delay = self._delays.popleft()
        return response

    def _respond(self, request: RecordedRequest) -> StubResponse:
        match = _PATH.fullmatch(request.path)
        if request.method != "POST" or match is None:
            return twilio_error(
                404, 20404, f"The requested resource {request.path} was not found", unexpected=True
            )
        if request.auth != (self.account_sid, self.auth_token) or match["sid"] != self.account_sid:
            return twilio_error(401, 20003, "Authenticate")
        if self._failures:
            return self._failures.popleft()
        form = request.form
        if not form.get("To"):
            return twilio_error(400, 21604, "A 'To' phone number is required.")
        if not form.get("From"):
            return twilio_error(400, 21603, "A 'From' phone number is required.")
        resource = match["resource"]
        if resource == "Messages" and not form.get("Body"):
            return twilio_error(400, 21602, "Message body is required.")
        if resource == "Calls" and not (form.get("Twiml") or form.get("Url")):
            return twilio_error(400, None, "Either Url or Twiml is required.")
        return StubResponse(201, self._resource(resource, form))

    def _resource(self, resource: str, form: dict[str, str]) -> dict[str, Any]:
        sid = _SID_PREFIX[resource] + secrets.token_hex(16)
        now = format_datetime(datetime.now(UTC), usegmt=True)
        document: dict[str, Any] = {
            "sid": sid,
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "date_created": now,
            "date_updated": now,
            "direction": "outbound-api",
            "from": form["From"],
            "to": form["To"],
            "status": "queued",
            "price": None,
            "price_unit": "USD",
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/{resource}/{sid}.json",
        }
        if resource == "Messages":
            document |= {
                "body": form["Body"],
                "num_segments": "1",
                "num_media": "0",
                "error_code": None,
                "error_message": None,
                "date_sent": None,
                "messaging_service_sid": None,
            }
        else:
            document |= {"start_time": None, "end_time": None, "duration": None}
        return document

    def _accepted(self, resource: str, number: str) -> list[dict[str, str]]:
        return [
            request.form
            for request in self.requests
            if request.status == 201
            and request.path.endswith(f"/{resource}.json")
            and request.form.get("To") == number
        ]
