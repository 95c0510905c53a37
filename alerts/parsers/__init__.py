"""One parser per source format; each turns a posted JSON document into AlertEvents."""

from alerts.parsers.base import AlertEvent, PayloadError

__all__ = ["AlertEvent", "PayloadError"]
