"""Changes to how postmortems are made are configuration: the trail says who changed a
template, a severity's postmortem policy or the vocabulary of contributing factors."""

import pytest
from auditlog.models import LogEntry

from postmortems.models import ContributingFactor, PostmortemPolicy
from postmortems.services.postmortems import template_default
from postmortems.services.templates import template_update


@pytest.mark.django_db
def test_editing_a_template_is_in_the_trail_with_its_new_body(admin_user):
    template = template_default()

    template_update(
        template=template, actor=admin_user, name=template.name, body="# {{ incident.ref }}\n"
    )

    entry = LogEntry.objects.get_for_object(template).latest("timestamp")
    assert entry.changes_dict["body"][1] == "# {{ incident.ref }}\n"


@pytest.mark.django_db
def test_policies_and_factors_are_tracked():
    policy = PostmortemPolicy.objects.get(severity__name="SEV3")
    policy.required = True
    policy.save()
    factor = ContributingFactor.objects.create(name="Alert fatigue", slug="alert-fatigue")

    assert LogEntry.objects.get_for_object(policy).exists()
    assert LogEntry.objects.get_for_object(factor).exists()
