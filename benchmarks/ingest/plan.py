"""The ingest benchmark's deliveries: seeded Alertmanager v4 bodies of 10 alerts, and alongside
them the alerts they leave behind, for the data check (also the paging benchmark's load)."""

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

ALERTS_PER_REQUEST = 10
NEW_SHARE, REPEAT_SHARE = 0.5, 0.3  # the rest resolves alerts still firing
WEBHOOK_PATH = "/hooks/alertmanager/"

ALERTNAMES = [
    "HighErrorRate",
    "HighLatency",
    "InstanceDown",
    "DiskFillingUp",
    "CertificateExpiringSoon",
    "QueueBacklogGrowing",
    "ReplicationLagHigh",
    "PodCrashLooping",
    "MemoryPressure",
    "TargetScrapeFailed",
    "ConnectionPoolExhausted",
    "SaturationHigh",
]
SERVICES = [
    "checkout",
    "cart",
    "payments",
    "search",
    "auth",
    "catalog",
    "orders",
    "inventory",
    "shipping",
    "notifications",
    "gateway",
    "billing",
    "profile",
    "recommendations",
    "reviews",
    "media",
    "reports",
    "webhooks",
    "ledger",
    "pricing",
]
# Label value, weight, and the severity the integration's default map gives it.
SEVERITIES = [
    ("critical", 1, "SEV1"),
    ("error", 2, "SEV2"),
    ("warning", 5, "SEV3"),
    ("info", 2, "SEV4"),
]


@dataclass
class PlannedAlert:
    fingerprint: str
    labels: dict[str, str]
    starts_at: datetime  # as stored: the 9 digits sent, truncated to microseconds
    starts_text: str
    severity: str  # the Severity name the integration's default map gives
    ends_at: datetime | None = None
    ends_text: str = ""
    events: int = 0

    @property
    def group(self) -> tuple[str, str]:
        return self.labels["alertname"], self.labels["service"]


@dataclass
class Plan:
    """Seeded Alertmanager deliveries and, alongside, the alerts they leave behind."""

    seed: int
    base: datetime
    alerts: dict[str, PlannedAlert] = field(default_factory=dict)
    firing: list[PlannedAlert] = field(default_factory=list)
    position: dict[str, int] = field(default_factory=dict)  # in `firing`
    mix: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def _new(self) -> PlannedAlert:
        n = len(self.alerts)
        alertname = self.rng.choice(ALERTNAMES)
        service = self.rng.choice(SERVICES)
        label, severity = self.rng.choices(
            [(s[0], s[2]) for s in SEVERITIES], weights=[s[1] for s in SEVERITIES]
        )[0]
        starts = self.base + timedelta(milliseconds=7 * n, microseconds=self.rng.randrange(1000))
        # Nanoseconds below 500 make truncation and rounding to microseconds agree.
        nanos = starts.microsecond * 1000 + self.rng.randrange(500)
        alert = PlannedAlert(
            fingerprint=f"{self.rng.getrandbits(64):016x}",
            labels={
                "alertname": alertname,
                "service": service,
                "severity": label,
                "instance": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}:9100",
                "job": service,
            },
            starts_at=starts,
            starts_text=f"{starts:%Y-%m-%dT%H:%M:%S}.{nanos:09d}Z",
            severity=severity,
        )
        self.alerts[alert.fingerprint] = alert
        self.position[alert.fingerprint] = len(self.firing)
        self.firing.append(alert)
        return alert

    def _pick_firing(self, taken: set[str]) -> PlannedAlert | None:
        for _ in range(3):
            if not self.firing:
                return None
            alert = self.firing[self.rng.randrange(len(self.firing))]
            if alert.fingerprint not in taken:
                return alert
        return None

    def _resolve(self, alert: PlannedAlert) -> None:
        index = self.position.pop(alert.fingerprint)
        last = self.firing.pop()
        if last is not alert:
            self.firing[index] = last
            self.position[last.fingerprint] = index
        ends = alert.starts_at + timedelta(seconds=30 + self.rng.randrange(600), microseconds=1)
        alert.ends_at = ends
        alert.ends_text = f"{ends:%Y-%m-%dT%H:%M:%S.%f}Z"

    def body(self) -> bytes:
        chosen: list[PlannedAlert] = []
        taken: set[str] = set()
        for _ in range(ALERTS_PER_REQUEST):
            roll = self.rng.random()
            alert = None if roll < NEW_SHARE else self._pick_firing(taken)
            if alert is None:
                alert, kind = self._new(), "new"
            elif roll < NEW_SHARE + REPEAT_SHARE:
                kind = "repeat"
            else:
                self._resolve(alert)
                kind = "resolve"
            self.mix[kind] += 1
            alert.events += 1
            taken.add(alert.fingerprint)
            chosen.append(alert)
        return json.dumps(_payload(chosen), separators=(",", ":")).encode()


def _payload(alerts: list[PlannedAlert]) -> dict[str, Any]:
    items = []
    for alert in alerts:
        alertname, service = alert.group
        items.append(
            {
                "status": "resolved" if alert.ends_at else "firing",
                "labels": alert.labels,
                "annotations": {
                    "summary": f"{alertname} on {service} ({alert.labels['instance']})",
                    "description": f"{alertname} has been firing on {service} for 5 minutes.",
                    "runbook_url": f"https://runbooks.example.com/{alertname}",
                },
                "startsAt": alert.starts_text,
                "endsAt": alert.ends_text or "0001-01-01T00:00:00Z",
                "generatorURL": f"http://prometheus.example.com:9090/graph?g0.expr={alertname}",
                "fingerprint": alert.fingerprint,
            }
        )
    first = alerts[0].labels["alertname"]
    return {
        "receiver": "tocsin",
        "status": "firing" if any(i["status"] == "firing" for i in items) else "resolved",
        "alerts": items,
        "groupLabels": {"alertname": first},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example.com:9093",
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{first}"}}',
        "truncatedAlerts": 0,
    }


def webhook_accepted(status: int, body: bytes) -> bool:
    """The webhook took the whole delivery."""
    return status == 200 and json.loads(body).get("alerts") == ALERTS_PER_REQUEST
