"""Reads for the review meeting's panel on the postmortem page, and for the incident page's
postmortem panel: the postmortem of an incident, its meeting and how its invitations stand."""

from __future__ import annotations

from accounts.models import User
from incidents import selectors as incident_selectors
from incidents.models import Incident
from postmortems.models import EmailState, OutgoingEmail, Postmortem, ReviewMeeting


def postmortem_get_for_user(*, user: User, number: int) -> Postmortem:
    """The postmortem of incident `number`, if `user` may see the incident.
    Incident.DoesNotExist or Postmortem.DoesNotExist otherwise."""
    incident = incident_selectors.incident_get_for_user(user=user, number=number)
    return Postmortem.objects.select_related("incident").get(incident=incident)


def incident_postmortem(incident: Incident) -> Postmortem | None:
    """The incident's postmortem, with what the incident page's panel shows of it; None if it
    has none. The caller has checked the incident is visible."""
    return (
        Postmortem.objects.filter(incident=incident)
        .only("pk", "status", "title", "incident_id")
        .first()
    )


def meeting_of(postmortem: Postmortem) -> ReviewMeeting | None:
    return ReviewMeeting.objects.filter(postmortem=postmortem).first()


def invitation_states(meeting: ReviewMeeting) -> dict[str, int]:
    """How many of the current sequence's emails are in each state."""
    counts = {state.value: 0 for state in EmailState}
    states = OutgoingEmail.objects.filter(
        key__startswith=f"invite:{meeting.pk}:{meeting.sequence}:"
    ).values_list("state", flat=True)
    for state in states:
        counts[state] = counts.get(state, 0) + 1
    return counts
