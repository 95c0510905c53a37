"""`/incident` subcommands: mistakes answered in the request with what to type instead,
accepted commands acknowledged at once and carried out by the task, with the outcome sent
through the command's response_url."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from accounts.models import User
from chatops import commands
from chatops.models import InboundRequest, IncidentChannel, SlackCall
from incidents.models import EventKind, Incident, RoleKind, Source, Status, StatusUpdate
from oncall.models import EscalationPolicy
from tests.chatops.commands_support import command, give_channel, link, race, run_tasks, said
from tests.factories import TeamFactory, UserFactory, declare
from tests.oncall.factories import policy, weekly_schedule

CHANNEL = "C0INCIDENT"


@pytest.fixture
def rosa(responder: User) -> User:
    return link(responder, "U0ROSA")


@pytest.fixture
def incident(rosa: User) -> Incident:
    incident = declare(rosa, title="Checkout is failing")
    give_channel(incident, CHANNEL)
    return incident


@pytest.fixture
def send(client, slack_signing_secret, slack_stub):
    """`/incident <text>` from Rosa in the incident's channel; returns (answer text, what the
    task said through the response_url)."""

    def send_command(text: str, *, user_id: str = "U0ROSA", channel_id: str = CHANNEL):
        key = f"r{InboundRequest.objects.count()}"
        response = command(
            client,
            slack_signing_secret,
            text,
            user_id=user_id,
            channel_id=channel_id,
            response_url=slack_stub.response_url(key),
        )
        assert response.status_code == 200
        answer = response.json()["text"] if response.content else ""
        run_tasks()
        return answer, said(slack_stub, key)

    return send_command


def fresh(incident: Incident) -> Incident:
    return Incident.objects.get(pk=incident.pk)


def test_help_and_empty_text_list_the_commands(send, incident):
    for text, channel_id in (("", "C0GENERAL"), ("help", CHANNEL)):
        answer, later = send(text, channel_id=channel_id)
        assert "`ack`" in answer and "`declare [title]`" in answer and "`oncall [team]`" in answer
        assert later == []


def test_unknown_subcommand_says_to_type_help(send, incident):
    answer, later = send("explode")
    assert "`/incident explode` is not a command I know" in answer
    assert "/incident help" in answer
    assert later == []


def test_outside_an_incident_channel_the_incident_must_be_named(send, incident):
    answer, later = send("ack", channel_id="C0GENERAL")
    assert "This is not an incident channel" in answer
    assert "`/incident INC-42 ack`" in answer
    assert fresh(incident).status == Status.DETECTED
    assert later == []


def test_an_unlinked_slack_account_is_told_to_link_it(send, incident, settings):
    answer, later = send("ack", user_id="U0STRANGER")
    assert "not linked" in answer
    assert "Type `/incident link`" in answer
    assert fresh(incident).status == Status.DETECTED
    assert later == []


def test_an_unknown_incident_is_refused(send, incident):
    answer, _ = send("INC-999 ack", channel_id="C0GENERAL")
    assert "There is no INC-999 that you can see" in answer


def test_a_private_incident_is_unknown_to_those_who_may_not_see_it(send, rosa):
    other = link(UserFactory(username="otto"), "U0OTTO")
    hidden = declare(other, title="Secret", private=True)
    answer, _ = send(f"{hidden.ref} ack", channel_id="C0GENERAL")
    assert f"There is no {hidden.ref}" in answer
    assert fresh(hidden).status == Status.DETECTED


def test_a_viewer_cannot_act(send, incident, viewer):
    link(viewer, "U0VIC")
    answer, later = send("ack", user_id="U0VIC")
    assert "Your Tocsin role (Viewer) may not change incidents" in answer
    assert fresh(incident).status == Status.DETECTED
    assert later == []


def test_ack_in_the_incident_channel(send, incident):
    answer, later = send("ack")
    assert answer == f"Acknowledging {incident.ref}…"
    incident = fresh(incident)
    assert incident.status == Status.ACKNOWLEDGED
    entry = incident.timeline.get(kind=EventKind.ACKNOWLEDGED)
    assert entry.source == Source.SLACK
    assert entry.actor.username == "rosa"
    assert later == [f"You acknowledged {incident.ref}."]


def test_ack_anywhere_with_the_incident_named_first_or_after(send, incident):
    answer, _ = send(f"{incident.ref} ack", channel_id="C0GENERAL")
    assert answer == f"Acknowledging {incident.ref}…"
    assert fresh(incident).status == Status.ACKNOWLEDGED
    _, later = send(f"ack {incident.ref.lower()}", channel_id="C0GENERAL")
    assert later == [f"{incident.ref} was already acknowledged: it is Acknowledged."]


def test_status(send, incident):
    answer, later = send("status Identified")
    assert answer == f"Setting {incident.ref}'s status to identified…"
    assert fresh(incident).status == Status.IDENTIFIED
    assert later == [f"{incident.ref} is now Identified."]


def test_bad_status_lists_the_valid_ones(send, incident):
    answer, later = send("status fixed")
    assert "`fixed` is not a status" in answer
    assert "detected, acknowledged, investigating, identified, monitoring, resolved" in answer
    assert later == []


def test_missing_status_says_what_to_type(send, incident):
    answer, _ = send("status")
    assert "`status` needs a status" in answer
    assert "`/incident status <status>`" in answer


def test_an_illegal_transition_is_answered_not_raised(send, incident):
    send("status monitoring")
    answer, later = send("status detected")
    assert answer.startswith("Setting")
    assert later == [f"{incident.ref}: {incident.ref} cannot move from monitoring to detected."]
    assert fresh(incident).status == Status.MONITORING


def test_severity_is_case_insensitive(send, incident):
    answer, later = send("severity sev1")
    assert answer == f"Setting {incident.ref}'s severity to SEV1…"
    assert fresh(incident).severity.name == "SEV1"
    assert later == [f"{incident.ref} is now SEV1."]


def test_bad_severity_lists_the_valid_ones(send, incident):
    answer, later = send("severity SEV9")
    assert "`SEV9` is not a severity. Valid severities: SEV1, SEV2, SEV3, SEV4" in answer
    assert fresh(incident).severity.name == "SEV2"
    assert later == []


def test_lead_makes_the_mentioned_person_commander(send, incident, commander):
    link(commander, "U0COLE")
    answer, later = send("lead <@U0COLE|cole>")
    assert answer == f"Making Cole Commander commander of {incident.ref}…"
    assert fresh(incident).commander == commander
    assert later == [f"Cole Commander is now incident commander of {incident.ref}."]


def test_role_takes_friendly_names(send, incident, commander):
    link(commander, "U0COLE")
    _, later = send("role comms <@U0COLE>")
    assert incident.roles.get(role=RoleKind.COMMUNICATIONS).user == commander
    assert later == [f"Cole Commander is now communications lead of {incident.ref}."]
    send("role tech-lead <@U0COLE>")
    assert incident.roles.get(role=RoleKind.TECHNICAL_LEAD).user == commander


def test_bad_role_lists_the_roles(send, incident, commander):
    link(commander, "U0COLE")
    answer, _ = send("role boss <@U0COLE>")
    assert "`boss` is not a role. Roles: commander, comms, tech, scribe, expert" in answer


def test_a_mentioned_person_who_is_not_linked_is_named(send, incident, settings):
    answer, later = send("lead <@U0NOBODY|nobody>")
    assert "<@U0NOBODY> has not linked their Slack account" in answer
    assert "`/incident link`" in answer
    assert fresh(incident).commander is None
    assert later == []


def test_an_assignment_the_service_refuses_is_answered(send, incident, commander):
    link(commander, "U0COLE")
    send("lead <@U0COLE>")
    _, later = send("lead <@U0COLE>")
    assert later == [f"{incident.ref}: Cole Commander is already incident commander."]


def test_note(send, incident):
    answer, later = send("note  the cache   was cold")
    assert answer == f"Adding your note to {incident.ref}…"
    note = incident.timeline.get(kind=EventKind.NOTE)
    assert note.message == "the cache   was cold"
    assert note.source == Source.SLACK
    assert later == [f"Your note is on {incident.ref}'s timeline."]


def test_note_without_text(send, incident):
    answer, _ = send("note")
    assert "`note` needs some text. Type `/incident note <text>`" in answer
    assert not incident.timeline.filter(kind=EventKind.NOTE).exists()


def test_update_internal_and_public(send, incident):
    send("update Rolling back")
    answer, later = send("update --public We are rolling back")
    assert answer == f"Posting a public update on {incident.ref}…"
    updates = StatusUpdate.objects.filter(incident=incident).order_by("pk")
    assert [(u.message, u.public) for u in updates] == [
        ("Rolling back", False),
        ("We are rolling back", True),
    ]
    assert later == [f"Posted a public update on {incident.ref}."]


def test_update_without_text(send, incident):
    answer, _ = send("update --public")
    assert "`update` needs some text" in answer


def test_a_public_update_of_a_private_incident_is_refused_by_the_service(send, rosa):
    private = declare(rosa, title="Quiet", private=True)
    give_channel(private, "C0PRIVATE")
    _, later = send("update --public hello", channel_id="C0PRIVATE")
    assert later == [f"{private.ref}: A private incident cannot have public status updates."]


def test_page_a_person(send, incident, commander):
    link(commander, "U0COLE")
    answer, later = send("page <@U0COLE>")
    assert answer == f"Paging Cole Commander for {incident.ref}…"
    assert later == [f"Paging Cole Commander for {incident.ref}."]
    assert incident.timeline.filter(kind=EventKind.PAGE, message__contains="Cole").exists()


def test_page_a_team(send, incident, alice):
    team = TeamFactory(name="Payments", slug="payments")
    policy((5, [weekly_schedule([alice], start=timezone.now() - timedelta(days=1), team=team)]))
    EscalationPolicy.objects.update(team=team)
    answer, later = send("page team Payments")
    assert answer == f"Paging Payments on call for {incident.ref}…"
    assert later == [f"Paging Payments on call for {incident.ref}: {alice.display_name}."]
    assert incident.timeline.filter(
        kind=EventKind.PAGE, message__contains=alice.display_name
    ).exists()


def test_page_an_unknown_team_lists_the_teams(send, incident):
    TeamFactory(name="Payments", slug="payments")
    answer, _ = send("page team nope")
    assert "There is no team called `nope`. Teams: payments" in answer


def test_resolve_with_a_resolution_and_reopen(send, incident):
    answer, later = send("resolve Rolled back the deploy")
    assert answer == f"Resolving {incident.ref}…"
    resolved = fresh(incident)
    assert resolved.status == Status.RESOLVED
    assert resolved.resolution == "Rolled back the deploy"
    assert later == [f"{incident.ref} is resolved."]
    answer, later = send("reopen it relapsed")
    assert answer == f"Reopening {incident.ref}…"
    assert fresh(incident).status == Status.INVESTIGATING
    assert later == [f"{incident.ref} is reopened and back to investigating."]


def test_reopen_an_open_incident_is_answered(send, incident):
    _, later = send("reopen")
    assert later == [f"{incident.ref}: {incident.ref} is not resolved."]


def test_a_task_run_twice_acts_once(client, slack_signing_secret, slack_stub, incident):
    command(
        client,
        slack_signing_secret,
        "note once",
        user_id="U0ROSA",
        channel_id=CHANNEL,
        response_url=slack_stub.response_url("k"),
    )
    inbound = InboundRequest.objects.get()
    commands.process_command(inbound)
    commands.process_command(inbound)
    assert incident.timeline.filter(kind=EventKind.NOTE).count() == 1


# serialized_rollback restores the seeded severities that the flush after the test removes.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_overlapping_runs_of_a_command_act_once(client, slack_signing_secret, slack_stub, rosa):
    # Committed for real here, so declaring already made the channel row.
    incident = declare(rosa, title="Checkout is failing")
    IncidentChannel.objects.filter(incident=incident).update(channel_id=CHANNEL)
    command(
        client,
        slack_signing_secret,
        "note once",
        user_id="U0ROSA",
        channel_id=CHANNEL,
        response_url=slack_stub.response_url("k"),
    )
    inbound = InboundRequest.objects.get()

    assert race(lambda: commands.process_command(inbound)) == []

    assert incident.timeline.filter(kind=EventKind.NOTE).count() == 1
    assert SlackCall.objects.filter(key=f"response:{inbound.key}").count() == 1


def test_oncall_now_and_next(send, rosa, alice, bob):
    team = TeamFactory(name="Payments", slug="payments")
    weekly_schedule([alice, bob], start=timezone.now() - timedelta(days=1), team=team)
    answer, later = send("oncall payments", channel_id="C0GENERAL")
    assert answer.startswith("On call for Payments:")
    assert f"*Primary*: {alice.display_name} until <!date^" in answer
    assert f"; next {bob.display_name} from <!date^" in answer
    assert later == []
    everywhere, _ = send("oncall", channel_id="C0GENERAL")
    assert everywhere.startswith("On call now:") and alice.display_name in everywhere


def test_oncall_for_an_unknown_team(send, rosa):
    answer, _ = send("oncall nope", channel_id="C0GENERAL")
    assert "There is no team called `nope`" in answer


def test_empty_text_in_an_incident_channel_sums_the_incident_up(
    send, incident, commander, settings
):
    link(commander, "U0COLE")
    send("lead <@U0COLE>")
    send("ack")

    answer, later = send("")

    assert answer.startswith(f"*<{settings.BASE_URL}{incident.get_absolute_url()}|")
    assert f"{incident.ref}: Checkout is failing>*" in answer
    assert "Severity: SEV2 · Status: Acknowledged · Commander: Cole Commander" in answer
    assert "`/incident help`" in answer
    assert later == []


def test_a_plain_at_name_must_be_an_exact_tocsin_username(send, incident, commander):
    # should_escape leaves `@name` as typed only when no Slack member is called that.
    answer, _ = send("lead @Cole")
    assert "I do not know who `@Cole` is" in answer
    answer, _ = send("lead cole")
    assert "I do not know who `cole` is" in answer
    assert fresh(incident).commander is None

    send("lead @cole")
    assert fresh(incident).commander == commander


def test_what_people_typed_and_wrote_reaches_slack_escaped(send, rosa, alice):
    team = TeamFactory(name="<!channel> ops", slug="ops")
    start = timezone.now() - timedelta(days=1)
    weekly_schedule([alice], start=start, team=team, name="<!here> primary")
    alice.first_name = "<!channel>"
    alice.save()

    answer, _ = send("oncall ops", channel_id="C0GENERAL")
    assert "<!" not in answer
    assert "&lt;!channel&gt; ops" in answer and "&lt;!here&gt; primary" in answer

    answer, _ = send("status <!channel>")
    assert "`&lt;!channel&gt;` is not a status" in answer

    titled = declare(rosa, title="<!channel> | <https://evil|Ack>")
    give_channel(titled, "C0TITLED")
    answer, _ = send("", channel_id="C0TITLED")
    assert f"|{titled.ref}: &lt;!channel&gt; | &lt;https://evil|Ack&gt;>*" in answer


def test_link_answers_with_a_signed_link_for_the_typist(send, client, commander, settings):
    answer, later = send("link", user_id="U0COLE", channel_id="C0GENERAL")
    assert "works for 10 minutes" in answer
    url = answer.split("<", 1)[1].split("|", 1)[0]
    assert url.startswith(f"{settings.BASE_URL}/me/slack/link?token=")
    assert later == []

    client.force_login(commander)
    [token] = parse_qs(urlsplit(url).query)["token"]
    client.post("/me/slack/link", {"token": token})

    assert link_of(commander) == "U0COLE"
    again, _ = send("link", user_id="U0COLE", channel_id="C0GENERAL")
    assert "is linked to the Tocsin user `cole`" in again


def link_of(user: User) -> str | None:
    from chatops.services.people import slack_id_for_user

    return slack_id_for_user(user)
