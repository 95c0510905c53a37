"""Postmortem and action-item pages, one module per area; urls.py joins their urlpatterns."""
