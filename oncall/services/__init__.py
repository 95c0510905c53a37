"""On-call writes, one module per sub-domain: escalations (the paging engine and the tick),
deliveries, contacts (contact methods and notification rules), rotations (schedules, layers and
overrides), policies, calendar_feeds; base holds the clock and the permission checks, handoff
the enqueueing of tasks. Callers import the module they mean:
`from oncall.services import escalations`.
"""

# TEMPORARY: the lead removes this after merging h/oncallweb. The web layer, the demo seeder,
# benchmarks/paging.py and their tests still call these under their old names
# (/work/wt/oncall-services-map.txt maps each to its home).
from oncall.services.base import (
    clock,
)
from oncall.services.calendar_feeds import (
    calendar_feed_get_or_create,
    calendar_feed_rotate,
    schedule_rotate_feed_token,
)
from oncall.services.contacts import (
    RECOMMENDED_DELAY,
    VERIFICATION_TTL,
    contact_method_add,
    contact_method_delete,
    contact_method_disable,
    contact_method_send_code,
    contact_method_send_test,
    contact_method_verify,
    notification_rule_add,
    notification_rule_delete,
    notification_rules_recommended,
)
from oncall.services.escalations import (
    escalate_now as incident_escalate,
)
from oncall.services.escalations import (
    escalation_advance,
    escalation_start,
    escalation_stop,
    policy_name,
)
from oncall.services.escalations import (
    page_team_for_incident as incident_page_team,
)
from oncall.services.escalations import (
    page_user_for_incident as incident_page_user,
)
from oncall.services.policies import (
    LevelSpec,
    policy_delete,
    policy_save,
)
from oncall.services.rotations import (
    LayerSpec,
    layer_change,
    layer_create,
    layer_end,
    override_create,
    override_delete,
    schedule_create,
    schedule_delete,
    schedule_update,
)

__all__ = [
    "RECOMMENDED_DELAY",
    "VERIFICATION_TTL",
    "LayerSpec",
    "LevelSpec",
    "calendar_feed_get_or_create",
    "calendar_feed_rotate",
    "clock",
    "contact_method_add",
    "contact_method_delete",
    "contact_method_disable",
    "contact_method_send_code",
    "contact_method_send_test",
    "contact_method_verify",
    "escalation_advance",
    "escalation_start",
    "escalation_stop",
    "incident_escalate",
    "incident_page_team",
    "incident_page_user",
    "layer_change",
    "layer_create",
    "layer_end",
    "notification_rule_add",
    "notification_rule_delete",
    "notification_rules_recommended",
    "override_create",
    "override_delete",
    "policy_delete",
    "policy_name",
    "policy_save",
    "schedule_create",
    "schedule_delete",
    "schedule_rotate_feed_token",
    "schedule_update",
]
