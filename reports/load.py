"""Responder load: who was paged, how often, and when it cost them their evening."""

from reports.months import Month
from reports.report import ResponderLoad


def responder_load(month: Month) -> list[ResponderLoad]:
    """Being built (issue 14): empty until then, so the report can be built around it."""
    return []
