"""A local server speaking the slice of Atlassian Statuspage's REST API (v1) the hosted push
uses: create, update (PATCH), list and delete a page's incidents, with
`Authorization: OAuth <key>`.

It keeps the incidents it was given (with their updates and metadata) and the page's
components' statuses, records every request, and can be told to answer the next requests with
an error (429 with Retry-After, 500, 400) or to answer only after a delay (the client times out,
though the incident was created: an answer lost on the way back). `max_in_flight` says how many
requests it ever held at once.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections import deque
from datetime import UTC, datetime
from typing import Any

from tests.stubs.webhook import HttpStub, RecordedRequest, StubResponse

INCIDENT_STATUSES = {"investigating", "identified", "monitoring", "resolved"}
IMPACTS = {"none", "minor", "major", "critical"}
COMPONENT_STATUSES = {
    "operational",
    "under_maintenance",
    "degraded_performance",
    "partial_outage",
    "major_outage",
}
_PATH = re.compile(r"/v1/pages/(?P<page>[^/]+)/incidents(?:/(?P<incident>[^/]+))?")


def statuspage_error(status: int, message: str, **extra: Any) -> StubResponse:
    """Statuspage's error document: {"error": "…"}."""
    return StubResponse(status, {"error": message}, **extra)


class AtlassianStatuspageStub(HttpStub):
    def __init__(self, *, component_ids: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.page_id = "pg" + secrets.token_hex(5)
        self.api_key = secrets.token_hex(16)
        self.incidents: dict[str, dict[str, Any]] = {}
        # The page's components and their statuses, as incidents set them.
        self.components: dict[str, str] = dict.fromkeys(component_ids, "operational")
        self.max_in_flight = 0
        self._in_flight = 0
        self._flight_lock = threading.Lock()
        self._failures: deque[StubResponse] = deque()
        self._delays: deque[float] = deque()

    def start(self) -> AtlassianStatuspageStub:
        super().start()
        # The base stub's handler speaks GET and POST; this API also PATCHes and DELETEs.
        assert self._server is not None
        handler = self._server.RequestHandlerClass
        handler.do_PATCH = handler.do_POST  # type: ignore[attr-defined]
        handler.do_DELETE = handler.do_POST  # type: ignore[attr-defined]
        return self

    # Scripting.

    def fail_next(
        self,
        status: int,
        *,
        message: str = "Scripted failure",
        retry_after: str | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` authenticated requests with this error, doing nothing."""
        headers = {} if retry_after is None else {"Retry-After": retry_after}
        for _ in range(times):
            self._failures.append(statuspage_error(status, message, headers=dict(headers)))

    def stall_next(self, seconds: float, *, times: int = 1) -> None:
        """Carry out the next `times` requests at once but answer only after `seconds`: a
        client with a shorter timeout never hears that it worked."""
        self._delays.extend([seconds] * times)

    # What the page holds.

    def incident_requests(self, method: str | None = None) -> list[RecordedRequest]:
        return [
            request
            for request in self.requests
            if "/incidents" in request.path and (method is None or request.method == method)
        ]

    def only_incident(self) -> dict[str, Any]:
        assert len(self.incidents) == 1, f"{len(self.incidents)} incidents: {self.incidents}"
        return next(iter(self.incidents.values()))

    # Serving.

    def _handle(self, handler: Any) -> None:
        with self._flight_lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            super()._handle(handler)
        finally:
            with self._flight_lock:
                self._in_flight -= 1

    def respond(self, request: RecordedRequest) -> StubResponse:
        response = self._respond(request)
        if self._delays and response.status < 300:
            response.delay = self._delays.popleft()
        return response

    def _respond(self, request: RecordedRequest) -> StubResponse:
        match = _PATH.fullmatch(request.path)
        if match is None or match["page"] != self.page_id:
            return statuspage_error(404, "Not found", unexpected=True)
        if request.headers.get("authorization") != f"OAuth {self.api_key}":
            return statuspage_error(401, "Could not authenticate")
        if self._failures:
            return self._failures.popleft()
        incident_id = match["incident"]
        match request.method, incident_id:
            case "POST", None:
                return self._create(request)
            case "GET", None:
                listed = sorted(self.incidents.values(), key=lambda i: i["created_at"])
                limit = int(request.query.get("limit", 100))
                return StubResponse(200, list(reversed(listed))[:limit])
            case "PATCH", str():
                return self._update(incident_id, request)
            case "DELETE", str():
                if incident_id not in self.incidents:
                    return statuspage_error(404, "Incident not found")
                return StubResponse(200, self.incidents.pop(incident_id))
        return statuspage_error(405, "Method not allowed", unexpected=True)

    def _create(self, request: RecordedRequest) -> StubResponse:
        fields, problem = self._fields(request)
        if problem:
            return statuspage_error(422, problem)
        if not fields.get("name"):
            return statuspage_error(422, "Name can't be blank")
        now = _now()
        incident: dict[str, Any] = {
            "id": secrets.token_hex(6),
            "page_id": self.page_id,
            "name": fields["name"],
            "status": fields.get("status", "investigating"),
            "impact": fields.get("impact_override", "none"),
            "impact_override": fields.get("impact_override"),
            "metadata": fields.get("metadata", {}),
            "component_ids": [],
            "components": [],
            "incident_updates": [],
            "created_at": now,
            "updated_at": now,
            "resolved_at": None,
            "shortlink": "https://stspg.io/" + secrets.token_hex(4),
        }
        self.incidents[incident["id"]] = incident
        self._apply(incident, fields, new=True)
        return StubResponse(201, incident)

    def _update(self, incident_id: str, request: RecordedRequest) -> StubResponse:
        incident = self.incidents.get(incident_id)
        if incident is None:
            return statuspage_error(404, "Incident not found")
        fields, problem = self._fields(request)
        if problem:
            return statuspage_error(422, problem)
        for name in ("name", "status", "metadata"):
            if name in fields:
                incident[name] = fields[name]
        if "impact_override" in fields:
            incident["impact_override"] = incident["impact"] = fields["impact_override"]
        self._apply(incident, fields, new=False)
        incident["updated_at"] = _now()
        return StubResponse(200, incident)

    def _apply(self, incident: dict[str, Any], fields: dict[str, Any], *, new: bool) -> None:
        for component_id, status in (fields.get("components") or {}).items():
            self.components[component_id] = status
        if "component_ids" in fields:
            incident["component_ids"] = list(fields["component_ids"])
        incident["components"] = [
            {"id": component_id, "status": self.components[component_id]}
            for component_id in incident["component_ids"]
        ]
        if incident["status"] == "resolved" and incident["resolved_at"] is None:
            incident["resolved_at"] = _now()
        if new or "body" in fields or "status" in fields:
            # Statuspage makes an incident update of each creation, new text or status.
            incident["incident_updates"].insert(
                0,
                {
                    "id": secrets.token_hex(6),
                    "incident_id": incident["id"],
                    "status": incident["status"],
                    "body": fields.get("body", ""),
                    "deliver_notifications": bool(fields.get("deliver_notifications", True)),
                    "created_at": _now(),
                },
            )

    def _fields(self, request: RecordedRequest) -> tuple[dict[str, Any], str]:
        try:
            document = request.json()
        except ValueError:
            return {}, "Body is not JSON"
        fields = document.get("incident") if isinstance(document, dict) else None
        if not isinstance(fields, dict):
            return {}, "Missing incident"
        if "status" in fields and fields["status"] not in INCIDENT_STATUSES:
            return fields, f"Status {fields['status']!r} is not included in the list"
        if "impact_override" in fields and fields["impact_override"] not in IMPACTS:
            return fields, f"Impact override {fields['impact_override']!r} is not valid"
        components = fields.get("components") or {}
        for component_id, status in components.items():
            if component_id not in self.components:
                return fields, f"Component {component_id} not found"
            if status not in COMPONENT_STATUSES:
                return fields, f"Component status {status!r} is not valid"
        for component_id in fields.get("component_ids") or []:
            if component_id not in self.components:
                return fields, f"Component {component_id} not found"
        return fields, ""


def _now() -> str:
    return datetime.now(UTC).isoformat()
