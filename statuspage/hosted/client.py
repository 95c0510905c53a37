"""The slice of Atlassian Statuspage's REST API (v1) the push uses: create, update, list and
delete a page's incidents, authenticated with `Authorization: OAuth <key>`.

Every call has a timeout, and every failure is a HostedError that says whether trying again
can help. The key travels in a header only: neither it nor the headers appear in an error.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings

# The longest Retry-After taken at its word: a garbled header must not park a row for days.
MAX_RETRY_AFTER = 3600.0


class HostedError(Exception):
    """A call that did not do what was asked. `permanent`: the same call will fail again (a
    4xx other than a rate limit); `retry_after`: the seconds the page asked us to wait (429);
    `unknown_outcome`: the request may have been carried out all the same (a timeout or a 5xx
    after it was sent)."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        rate_limited: bool = False,
        unknown_outcome: bool = False,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        self.rate_limited = rate_limited
        self.unknown_outcome = unknown_outcome


def configured() -> bool:
    return bool(settings.STATUSPAGE_HOSTED_PAGE_ID and settings.STATUSPAGE_HOSTED_API_KEY)


@dataclass(frozen=True)
class HostedClient:
    api_url: str
    page_id: str
    api_key: str
    timeout: float

    @classmethod
    def from_settings(cls) -> HostedClient:
        return cls(
            api_url=settings.STATUSPAGE_HOSTED_API_URL.rstrip("/"),
            page_id=settings.STATUSPAGE_HOSTED_PAGE_ID,
            api_key=settings.STATUSPAGE_HOSTED_API_KEY,
            timeout=settings.STATUSPAGE_HOSTED_TIMEOUT,
        )

    def incident_create(self, incident: dict[str, Any]) -> dict[str, Any]:
        """POST /v1/pages/{page_id}/incidents; the incident as created (with its `id`)."""
        answer = self._call("POST", "incidents", json={"incident": incident})
        if not isinstance(answer, dict) or not answer.get("id"):
            raise HostedError("the created incident came back without an id", unknown_outcome=True)
        return answer

    def incident_update(
        self, incident_id: str, incident: dict[str, Any], *, missing_ok: bool = False
    ) -> dict[str, Any]:
        """PATCH /v1/pages/{page_id}/incidents/{incident_id} with the fields that changed;
        `missing_ok`: an incident deleted there is no error."""
        answer = self._call(
            "PATCH", f"incidents/{incident_id}", json={"incident": incident}, missing_ok=missing_ok
        )
        return answer if isinstance(answer, dict) else {}

    def incident_delete(self, incident_id: str) -> None:
        """DELETE …/incidents/{incident_id}; one already gone counts as deleted."""
        self._call("DELETE", f"incidents/{incident_id}", missing_ok=True)

    def incidents_recent(self) -> list[dict[str, Any]]:
        """GET …/incidents: the page's latest incidents (its maximum, 100), newest first."""
        answer = self._call("GET", "incidents", params={"limit": 100})
        return (
            [item for item in answer if isinstance(item, dict)] if isinstance(answer, list) else []
        )

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        missing_ok: bool = False,
    ) -> Any:
        url = f"{self.api_url}/v1/pages/{self.page_id}/{path}"
        try:
            response = requests.request(
                method,
                url,
                json=json,
                params=params,
                headers={"Authorization": f"OAuth {self.api_key}", "Accept": "application/json"},
                timeout=(self.timeout, self.timeout),
                # A redirect would carry the key to wherever it points.
                allow_redirects=False,
            )
        except requests.ConnectTimeout:
            # Never connected: the request did not leave.
            raise HostedError(
                f"{method} {path}: could not connect within {self.timeout:g} s"
            ) from None
        except requests.ConnectionError as error:
            # Refused or reset before an answer: a connect failure never reached the page,
            # a reset may have; either way the caller looks before creating again.
            raise HostedError(
                f"{method} {path}: unreachable ({error.__class__.__name__})", unknown_outcome=True
            ) from None
        except requests.Timeout:
            raise HostedError(
                f"{method} {path}: no answer within {self.timeout:g} s", unknown_outcome=True
            ) from None
        except requests.RequestException as error:
            raise HostedError(
                f"{method} {path}: {error.__class__.__name__}", unknown_outcome=True
            ) from None
        status = response.status_code
        if missing_ok and status == 404:
            return None
        # Statuspage documents 420 beside 429 for its rate limit.
        if status in (420, 429):
            raise HostedError(
                f"{method} {path}: rate limited ({status})",
                rate_limited=True,
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status >= 500 or status == 408:
            raise HostedError(
                f"{method} {path}: {status} {_excerpt(response)}", unknown_outcome=True
            )
        if status >= 300:
            raise HostedError(f"{method} {path}: {status} {_excerpt(response)}", permanent=True)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise HostedError(
                f"{method} {path}: {status} with a body that is not JSON", unknown_outcome=True
            ) from None


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds to wait: delta-seconds or an HTTP date; None when absent or
    unreadable, at most MAX_RETRY_AFTER."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - time.time()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _excerpt(response: requests.Response) -> str:
    """What the page said, short: Statuspage's errors are {"error": "…"} or {"message": …}."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        for key in ("error", "message", "errors"):
            if key in body:
                return str(body[key])[:300]
    return str(body)[:300]
