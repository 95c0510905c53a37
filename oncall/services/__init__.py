"""On-call writes, one module per sub-domain: escalations (the paging engine and the tick),
deliveries, contacts (contact methods and notification rules), rotations (schedules, layers and
overrides), policies, calendar_feeds; base holds the clock and the permission checks, handoff
the enqueueing of tasks. Callers import the module they mean:
`from oncall.services import escalations`.
"""
