"""Writes for postmortems, by area: the document and its workflow (postmortems.py), action
items (action_items.py), the review meeting (meetings.py), reminders (reminders.py) and the
email outbox (emails.py)."""
