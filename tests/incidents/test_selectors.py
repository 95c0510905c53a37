"""Reads: who sees which incidents, and how the incident list orders, filters and searches."""

import pytest

from accounts.actors import SYSTEM
from accounts.models import Role, User
from incidents import selectors, services
from incidents.models import Incident, IncidentCounter, RoleKind, Status
from incidents.permissions import Action, can, can_view
from incidents.selectors import IncidentFilters
from tests.factories import ServiceFactory, TeamFactory, UserFactory, declare

pytestmark = pytest.mark.django_db


@pytest.fixture
def private(responder, commander):
    return declare(responder, title="Credentials leaked", private=True, commander=commander)


@pytest.fixture
def public(responder):
    return declare(responder, title="Checkout is failing")


def visible(user) -> set[str]:
    return set(selectors.incidents_visible_to(user).values_list("title", flat=True))


def listed(user, **filters) -> list[str]:
    incidents = selectors.incident_list(user=user, filters=IncidentFilters(**filters))
    return [incident.title for incident in incidents]


def test_an_outsider_does_not_see_a_private_incident(private, public, outsider):
    assert visible(outsider) == {"Checkout is failing"}


def test_a_viewer_sees_public_incidents_only(private, public, viewer):
    assert visible(viewer) == {"Checkout is failing"}


def test_the_declarer_sees_their_private_incident(private, responder):
    assert "Credentials leaked" in visible(responder)


def test_the_commander_sees_the_private_incident(private, commander):
    assert "Credentials leaked" in visible(commander)


def test_a_role_holder_sees_the_private_incident(private, outsider):
    services.incident_assign_role(
        incident=private, actor=SYSTEM, role=RoleKind.SUBJECT_EXPERT, user=outsider
    )

    assert "Credentials leaked" in visible(outsider)


def test_a_participant_without_a_role_sees_the_private_incident(private, outsider):
    # Merging makes the source's declarer a participant of the survivor, with no role there.
    source = declare(outsider, title="Odd logins")
    services.incident_merge(incident=source, into=private, actor=SYSTEM)

    assert "Credentials leaked" in visible(outsider)


def test_visibility_follows_the_participants_relation_alone(private, responder, commander):
    # Declaring and role assignment always add to participants, so nothing else is consulted:
    # someone taken off the participants (by hand, in the admin's database) stops seeing it.
    private.participants.remove(responder, commander)

    assert "Credentials leaked" not in visible(responder)
    assert "Credentials leaked" not in visible(commander)
    assert not can_view(responder, private)
    assert not can_view(commander, private)


def test_a_follower_sees_the_private_incident_but_it_is_not_theirs(private, viewer):
    private.participants.add(viewer)

    assert "Credentials leaked" in visible(viewer)
    assert can_view(viewer, private)
    assert listed(viewer, mine=True) == []


@pytest.mark.parametrize("persona", ["responder", "commander", "outsider", "viewer", "admin_user"])
def test_the_list_and_the_permission_check_agree_on_who_sees_a_private_incident(
    request, private, persona
):
    user = request.getfixturevalue(persona)

    assert ("Credentials leaked" in visible(user)) == can_view(user, private)


def test_an_admin_sees_every_incident(private, public, admin_user):
    assert visible(admin_user) == {"Credentials leaked", "Checkout is failing"}


def test_a_former_commander_still_sees_the_private_incident(private, commander, outsider):
    services.incident_assign_role(
        incident=private, actor=SYSTEM, role=RoleKind.COMMANDER, user=outsider
    )

    assert "Credentials leaked" in visible(commander)


def test_get_for_user_finds_a_visible_incident_by_number(private, commander):
    assert selectors.incident_get_for_user(user=commander, number=private.number) == private


def test_get_for_user_hides_a_private_incident_as_if_it_did_not_exist(private, outsider):
    with pytest.raises(Incident.DoesNotExist):
        selectors.incident_get_for_user(user=outsider, number=private.number)


def test_get_for_user_shows_a_private_incident_to_an_admin(private, admin_user):
    assert selectors.incident_get_for_user(user=admin_user, number=private.number) == private


def test_get_for_user_fetches_what_a_merged_incident_s_header_shows(
    responder, django_assert_num_queries
):
    survivor = declare(responder)
    source = declare(responder, title="Payments time out")
    services.incident_merge(incident=source, into=survivor, actor=responder)

    with django_assert_num_queries(3):  # the incident with its joins, services, roles
        incident = selectors.incident_get_for_user(user=responder, number=source.number)
        assert incident.merged_into is not None
        assert incident.merged_into.ref == survivor.ref


def test_get_for_user_raises_for_an_unknown_number(responder):
    with pytest.raises(Incident.DoesNotExist):
        selectors.incident_get_for_user(user=responder, number=999)


def test_the_list_shows_open_incidents_first_newest_first(responder, clock):
    for title in ("old open", "old resolved", "new open", "new resolved"):
        clock.advance(hours=1)
        incident = declare(responder, title=title)
        if "resolved" in title:
            services.incident_resolve(incident=incident, actor=responder)

    assert listed(responder) == ["new open", "old open", "new resolved", "old resolved"]


def test_a_reopened_incident_is_listed_with_the_open_ones(responder, clock):
    clock.advance(hours=1)
    reopened = declare(responder, title="reopened")
    services.incident_resolve(incident=reopened, actor=responder)
    clock.advance(hours=1)
    declare(responder, title="resolved")
    services.incident_resolve(incident=Incident.objects.get(title="resolved"), actor=responder)

    services.incident_reopen(incident=reopened, actor=responder)

    assert listed(responder) == ["reopened", "resolved"]


def test_the_list_hides_private_incidents_from_outsiders(private, public, outsider):
    assert listed(outsider) == ["Checkout is failing"]


@pytest.fixture
def varied(responder, clock):
    """Four incidents, one per status group, severity, team and service."""
    payments, search = TeamFactory.create(name="Payments"), TeamFactory.create(name="Search")
    checkout = ServiceFactory.create(name="checkout", team=payments)
    indexer = ServiceFactory.create(name="indexer", team=search)
    rows = [
        ("Checkout down", "SEV1", Status.DETECTED, payments, checkout),
        ("Checkout slow", "SEV2", Status.IDENTIFIED, payments, checkout),
        ("Index stale", "SEV3", Status.MONITORING, search, indexer),
        ("Index rebuilt", "SEV4", Status.RESOLVED, search, indexer),
    ]
    for title, severity_name, status, team, service in rows:
        clock.advance(hours=1)
        incident = declare(
            responder, title=title, severity_name=severity_name, team=team, services=[service]
        )
        if status != Status.DETECTED:
            services.incident_set_status(incident=incident, actor=responder, status=status)


def test_filter_by_one_status(varied, responder):
    assert listed(responder, statuses=[Status.IDENTIFIED]) == ["Checkout slow"]


def test_filter_by_several_statuses(varied, responder):
    assert listed(responder, statuses=[Status.DETECTED, Status.RESOLVED]) == [
        "Checkout down",
        "Index rebuilt",
    ]


def test_filter_open_means_every_open_status(varied, responder):
    assert listed(responder, statuses=["open"]) == ["Index stale", "Checkout slow", "Checkout down"]


def test_filter_by_severity(varied, responder):
    assert listed(responder, severities=["SEV1", "SEV4"]) == ["Checkout down", "Index rebuilt"]


def test_filter_by_team(varied, responder):
    assert listed(responder, team="search") == ["Index stale", "Index rebuilt"]


def test_filter_by_service(varied, responder):
    assert listed(responder, service="checkout") == ["Checkout slow", "Checkout down"]


def test_an_incident_with_several_services_is_listed_once(responder):
    declare(
        responder, services=[ServiceFactory.create(name="api"), ServiceFactory.create(name="web")]
    )

    assert listed(responder) == ["Checkout is failing"]


def test_filters_combine(varied, responder):
    assert listed(responder, team="payments", statuses=["open"], severities=["SEV2"]) == [
        "Checkout slow"
    ]


def test_no_filters_lists_everything_visible(varied, responder):
    assert len(listed(responder)) == 4


def test_mine_lists_what_i_declared_command_or_hold_a_role_in(responder, commander, clock):
    somebody = UserFactory.create(username="sol", role=Role.RESPONDER)
    clock.advance(hours=1)
    declare(commander, title="declared")
    clock.advance(hours=1)
    declare(somebody, title="commanded", commander=commander)
    clock.advance(hours=1)
    held = declare(somebody, title="role held")
    services.incident_assign_role(
        incident=held, actor=SYSTEM, role=RoleKind.TECHNICAL_LEAD, user=commander
    )
    clock.advance(hours=1)
    declare(somebody, title="not mine")

    assert listed(commander, mine=True) == ["role held", "commanded", "declared"]


@pytest.fixture
def numbered(responder):
    """INC-1, INC-12 and INC-120, titled after their numbers' neighbours."""
    declare(responder, title="Login fails")
    IncidentCounter.objects.filter(pk=1).update(last_number=11)
    declare(responder, title="Disk full", summary="The 12 GB volume")
    IncidentCounter.objects.filter(pk=1).update(last_number=119)
    declare(responder, title="Queue backlog")


@pytest.mark.parametrize("query", ["INC-12", "inc-12", "INC12", " 12 "])
def test_search_by_reference_finds_that_incident(numbered, responder, query):
    assert listed(responder, query=query) == ["Disk full"]


def test_search_by_bare_number_finds_the_incident_and_mentions_of_it(numbered, responder):
    declare(responder, title="Error 12 on login")

    assert sorted(listed(responder, query="12")) == ["Disk full", "Error 12 on login"]


def test_search_matches_title_case_insensitively(numbered, responder):
    assert listed(responder, query="disk FULL") == ["Disk full"]


def test_search_matches_the_summary(numbered, responder):
    assert listed(responder, query="GB volume") == ["Disk full"]


def test_search_finding_nothing_lists_nothing(numbered, responder):
    assert listed(responder, query="kafka") == []


def test_search_by_reference_respects_privacy(outsider, responder):
    incident = declare(responder, private=True)

    assert listed(outsider, query=incident.ref) == []


def test_the_list_takes_one_query_however_many_rows(
    responder, commander, django_assert_num_queries
):
    team = TeamFactory.create(name="Payments")
    for n in range(5):
        declare(responder, title=f"Incident {n}", team=team, commander=commander)

    with django_assert_num_queries(1):
        rows = [
            (i.severity.name, i.team and i.team.name, i.commander and i.commander.username)
            for i in selectors.incident_list(user=responder)
        ]

    assert rows == [("SEV2", "Payments", "cole")] * 5


def test_the_timeline_reads_in_the_order_things_happened(responder):
    incident = declare(responder)
    services.incident_add_note(incident=incident, actor=responder, text="first")
    services.incident_add_note(incident=incident, actor=responder, text="second")

    entries = selectors.incident_timeline(incident=incident)

    assert [entry.message for entry in entries][1:] == ["first", "second"]


def test_users_who_can_respond_is_user_can_respond_in_sql(db):
    people = [
        UserFactory(
            username=f"{role}-{superuser}-{active}",
            role=role,
            is_superuser=superuser,
            is_active=active,
        )
        for role in Role.values
        for superuser in (False, True)
        for active in (False, True)
    ]

    chosen = set(selectors.users_who_can_respond())

    assert chosen == {person for person in people if person.is_active and person.can_respond}


@pytest.mark.parametrize("private", [False, True])
def test_users_who_can_respond_to_an_incident_is_can_respond_in_sql(db, private):
    people = [
        UserFactory(
            username=f"{role}-{superuser}-{active}-{member}",
            role=role,
            is_superuser=superuser,
            is_active=active,
        )
        for role in Role.values
        for superuser in (False, True)
        for active in (False, True)
        for member in (False, True)
    ]
    incident = declare(private=private)
    incident.participants.add(*(p for p in people if p.username.endswith("-True")))

    chosen = set(selectors.users_who_can_respond_to(incident))

    everyone = set(User.objects.all())  # the declarer too
    assert chosen == {person for person in everyone if can(person, Action.RESPOND, incident)}
    assert chosen != everyone


def test_search_matches_every_word_in_any_order(responder):
    declare(responder, title="500s on checkout")
    declare(responder, title="Checkout is slow")
    declare(responder, title="Login", summary="returns 500 after checkout")

    assert sorted(listed(responder, query="Checkout 500")) == ["500s on checkout", "Login"]


def test_search_words_may_be_split_between_title_and_summary(responder):
    declare(responder, title="Checkout down", summary="Errors 500 everywhere")

    assert listed(responder, query="  500   checkout ") == ["Checkout down"]
