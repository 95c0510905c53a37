"""The postmortem review meeting and its invitations."""
