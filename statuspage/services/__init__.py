"""statuspage's writes. The interfaces other apps and helpers call are re-exported here."""

from statuspage.services.components import components_sync
from statuspage.services.states import states_recompute

__all__ = ["components_sync", "states_recompute"]
