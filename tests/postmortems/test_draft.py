"""Resolving drafts the postmortem where the severity requires one."""

import pytest

from incidents.services import incident_resolve
from postmortems import document
from postmortems.models import Postmortem
from postmortems import tasks
from tests.factories import declare, severity


@pytest.mark.django_db
def test_resolving_a_sev1_drafts_its_postmortem(commander):
    incident = declare(commander, severity=severity("SEV1"), summary="Checkout returned 500s.")
    incident_resolve(incident=incident, actor=commander, resolution="Rolled back.")
    tasks.draft_postmortem(incident.pk)  # as the worker does, on the task resolving queued

    postmortem = Postmortem.objects.get(incident=incident)
    sections = document.from_json(postmortem.sections)
    assert [s.heading for s in sections][1:] == [
        "Executive Summary",
        "Key Figures",
        "Impact",
        "Timeline",
        "Root Cause",
        "Detection",
        "Response",
        "Action Items",
        "Lessons Learned",
        "Supporting Information",
    ]
    assert "Checkout returned 500s." in sections[1].body
    assert postmortem.revisions.count() == 1


@pytest.mark.django_db
def test_resolving_a_sev3_drafts_nothing(commander):
    incident = declare(commander, severity=severity("SEV3"))
    incident_resolve(incident=incident, actor=commander, resolution="Fixed.")
    tasks.draft_postmortem(incident.pk)

    assert not Postmortem.objects.filter(incident=incident).exists()
