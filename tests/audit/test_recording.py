"""Every way configuration changes leaves an entry naming who, with each field before and after:
a web form, the API with a token, the Django admin, a management command, a task."""

from datetime import timedelta

import pytest
from auditlog.context import set_actor
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken, Role
from accounts.services import api_token_create
from alerts.models import Integration
from chatops.models import SlackUserLink
from chatops.services import channels, people
from incidents.models import Severity
from oncall.models import ContactKind
from oncall.services import contacts
from tests.alerts.factories import make_integration
from tests.audit.support import assert_by, entries_for, last_entry
from tests.factories import TeamFactory, UserFactory
from tests.oncall.factories import contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration(db):
    return make_integration(team=TeamFactory(name="Payments", slug="payments"), name="Prometheus")


def test_a_web_form_change_names_the_signed_in_person_and_each_field(client, manager, integration):
    client.force_login(manager)

    response = client.post(
        f"/integrations/{integration.pk}/edit/",
        {
            "name": "Prod",
            "severity_map": "critical = SEV1",
            "default_severity": "SEV4",
            "grouping_labels": "alertname",
            "group_window": "5",
            "max_incidents_per_minute": "3",
        },
    )

    assert response.status_code == 302
    entry = last_entry(integration)
    assert entry.action == LogEntry.Action.UPDATE
    assert_by(entry, manager)
    assert entry.changes["name"] == ["Prometheus", "Prod"]
    assert entry.changes["max_incidents_per_minute"] == [10, 3]
    assert entry.changes["default_severity"] == [None, "SEV4"]
    assert entry.changes["group_window"] == ["1:00:00", "0:05:00"]
    assert entry.object_repr.startswith("Prod")


def test_an_api_change_names_the_tokens_owner(manager, integration):
    _, key = api_token_create(user=manager)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    response = api.patch(
        f"/api/v1/integrations/{integration.pk}/", {"auto_resolve": True}, format="json"
    )

    assert response.status_code == 200, response.content
    entry = last_entry(integration)
    assert_by(entry, manager)
    assert entry.changes == {"auto_resolve": [False, True]}


def test_an_admin_change_names_the_admin(client):
    root = UserFactory(username="root", is_staff=True, is_superuser=True, role=Role.ADMIN)
    client.force_login(root)
    sev3 = Severity.objects.get(name="SEV3")

    response = client.post(
        f"/admin/incidents/severity/{sev3.pk}/change/",
        {
            "name": "SEV3",
            "rank": str(sev3.rank),
            "description": "Minor: a few customers notice.",
            "response_target": "02:00:00",
            "escalation": sev3.escalation,
            "examples": sev3.examples,
            "statuspage_impact": sev3.statuspage_impact,
            "paging": sev3.paging,
            "update_cadence": "01:00:00",
            "color": sev3.color,
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    entry = last_entry(sev3)
    assert_by(entry, root)
    assert entry.changes["description"] == [sev3.description, "Minor: a few customers notice."]


def test_a_role_change_is_recorded_and_nothing_else_of_the_person(responder):
    responder.role = Role.MANAGER
    responder.first_name = "Rosalind"
    responder.set_password("another-horse-battery")
    responder.save()

    entry = last_entry(responder)

    assert entry.changes == {"role": ["responder", "manager"]}


def test_a_management_command_without_a_person_is_tocsins(manager, capsys):
    call_command("create_token", manager.username, "--name", "ci")

    token = ApiToken.objects.get(user=manager, name="ci")
    entry = last_entry(token)
    assert entry.action == LogEntry.Action.CREATE
    assert_by(entry, None)
    assert entry.changes["name"] == [None, "ci"]
    assert entry.changes["user"] == [None, manager.username]


def test_a_change_made_for_a_person_outside_a_request_names_them(manager, integration):
    # What a command that acts for someone does.
    with set_actor(manager):
        integration.active = False
        integration.save()

    entry = last_entry(integration)
    assert_by(entry, manager)
    assert entry.changes == {"active": [True, False]}


def test_a_task_that_disables_a_contact_method_is_tocsins(responder):
    method = contact(responder, kind=ContactKind.SMS)

    # What the delivery task does when a provider says the number can never work.
    contacts.contact_method_disable(method=method, reason="unknown number", now=timezone.now())

    entry = last_entry(method)
    assert_by(entry, None)
    assert entry.changes["disabled_reason"] == ["", "unknown number"]


def test_a_change_rolled_back_leaves_no_entry(integration):
    before = len(entries_for(integration))

    with pytest.raises(RuntimeError), transaction.atomic():
        Integration.objects.filter(pk=integration.pk).get().delete()
        raise RuntimeError("the change fails after the write")

    assert len(entries_for(integration)) == before


def test_the_entry_is_written_in_the_changes_transaction(manager, integration):
    with transaction.atomic():
        integration.name = "Renamed"
        integration.save()
        # Before commit: the entry is already there, in the same transaction.
        assert last_entry(integration).changes["name"] == ["Prometheus", "Renamed"]


def test_a_deletion_keeps_the_objects_name_and_last_values(manager, integration):
    pk = integration.pk
    integration.delete()

    entry = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Integration), object_pk=str(pk)
    ).latest("timestamp")
    assert entry.action == LogEntry.Action.DELETE
    assert entry.object_repr.startswith("Prometheus")
    assert entry.changes["name"] == ["Prometheus", None]


def test_team_members_added_are_recorded_by_name(alice):
    team = TeamFactory(name="Payments", slug="payments")

    team.members.add(alice)

    assert last_entry(team).changes == {
        "members": {"type": "m2m", "operation": "add", "objects": ["alice"]}
    }


def test_state_the_system_keeps_for_itself_is_no_entry(integration):
    before = len(entries_for(integration))
    integration.storm_incident = None
    integration.save(update_fields=["storm_incident"])
    token = api_token_create(user=UserFactory(username="someone"))[0]
    token.last_used_at = timezone.now() - timedelta(minutes=5)
    token.save(update_fields=["last_used_at"])

    assert len(entries_for(integration)) == before
    assert len(entries_for(token)) == 1  # its creation


def test_a_new_row_lists_its_own_columns_only():
    team = TeamFactory(name="Payments", slug="payments")

    entry = last_entry(team)

    assert entry.action == LogEntry.Action.CREATE
    assert set(entry.changes) == {"name", "slug", "description"}


def test_people_joining_from_their_side_are_recorded_on_the_team(alice, bob):
    team = TeamFactory(name="Payments", slug="payments")

    alice.led_teams.add(team)

    assert last_entry(team).changes == {
        "leads": {"type": "m2m", "operation": "add", "objects": ["alice"]}
    }
    assert all("leads" not in (entry.changes or {}) for entry in entries_for(alice))


def test_clearing_a_team_names_only_those_who_left(alice, bob, responder):
    team = TeamFactory(name="Payments", slug="payments")
    team.members.add(bob, alice)

    team.members.clear()

    assert last_entry(team).changes == {
        "members": {"type": "m2m", "operation": "delete", "objects": ["alice", "bob"]}
    }


def test_slack_links_and_team_channels_are_on_the_trail(admin_user, responder):
    # Who acts as whom from Slack is access: an admin linking someone by hand must show.
    with set_actor(admin_user):
        link = people.slack_link_set(
            user=responder,
            slack_user_id="U0ROSA",
            source=SlackUserLink.Source.HAND,
            actor=admin_user,
        )
        team_channel = channels.team_channel_set(
            team=TeamFactory(name="Search", slug="search"),
            channel_id="C0SEARCH",
            channel_name="search-alerts",
            actor=admin_user,
        )

    entry = last_entry(link)
    assert_by(entry, admin_user)
    assert entry.changes["slack_user_id"] == [None, "U0ROSA"]
    assert last_entry(team_channel).changes["channel_id"] == [None, "C0SEARCH"]
