"""Writes of the alerts app, a module per reason to change: `integrations` (a manager's
settings and tokens), `ingest` (a delivery's one bulk upsert), `processing` (changed alerts
become incident changes)."""
