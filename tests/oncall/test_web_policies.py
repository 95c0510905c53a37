"""The escalation policies pages: who is paged, in which order, and where a policy is used."""

import re
from datetime import timedelta

from django.utils import timezone

from alerts.models import Integration
from oncall.models import EscalationPolicy
from tests.alerts.factories import make_integration
from tests.factories import TeamFactory
from tests.oncall.factories import contact, policy, weekly_schedule
from tests.oncall.pages import CONFIRMED

LIST = "/policies/"
CREATE = "/policies/new"


def team_start():
    return timezone.now() - timedelta(days=1)


def signed_in(client, user):
    client.force_login(user)
    return client


def level(index: int, **fields) -> dict[str, object]:
    """One level's fields in the formset's names."""
    return {f"levels-{index}-{name}": value for name, value in fields.items()}


def policy_form(*levels: dict[str, object], total: int | None = None, initial: int = 0, **fields):
    form: dict[str, object] = {
        "name": "Payments",
        "description": "",
        "team": "",
        "repeat": "0",
        "levels-TOTAL_FORMS": str(total if total is not None else max(len(levels), 1)),
        "levels-INITIAL_FORMS": str(initial),
        "levels-MIN_NUM_FORMS": "0",
        "levels-MAX_NUM_FORMS": "20",
    }
    for fields_of_level in levels:
        form.update(fields_of_level)
    form.update(fields)
    return form


def targets_of(made: EscalationPolicy) -> list[tuple[int, int, list[str]]]:
    """(position, minutes, targets) of each level."""
    return [
        (
            lvl.position,
            int(lvl.delay.total_seconds() // 60),
            sorted(
                t.user.username if t.user else t.schedule.name if t.schedule else t.team.slug
                for t in lvl.targets.all()
            ),
        )
        for lvl in made.levels.order_by("position")
    ]


def test_manager_creates_a_policy_with_its_levels_in_order(client, manager, team, alice, bob):
    schedule = weekly_schedule([alice], start=team_start(), team=team)

    response = signed_in(client, manager).post(
        CREATE,
        policy_form(
            level(0, delay="5", schedules=[str(schedule.pk)], ORDER="1"),
            level(1, delay="10", users=[str(bob.pk)], lead_teams=[str(team.pk)], ORDER="2"),
            level(2, delay="15", users=[str(alice.pk)], management="on", ORDER="3"),
            team=str(team.pk),
            repeat="2",
            is_default="on",
        ),
    )

    made = EscalationPolicy.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/policies/{made.pk}/"
    assert (made.team, made.repeat, made.is_default) == (team, 2, True)
    assert targets_of(made) == [
        (1, 5, ["Primary"]),
        (2, 10, ["bob", "payments"]),
        (3, 15, ["alice"]),
    ]
    assert made.levels.get(position=3).management is True


def test_levels_follow_their_positions_not_the_order_on_the_page(client, manager, alice, bob):
    signed_in(client, manager).post(
        CREATE,
        policy_form(
            level(0, delay="5", users=[str(alice.pk)], ORDER="2"),
            level(1, delay="10", users=[str(bob.pk)], ORDER="1"),
        ),
    )

    assert targets_of(EscalationPolicy.objects.get()) == [(1, 10, ["bob"]), (2, 5, ["alice"])]


def test_blank_levels_are_left_out(client, manager, alice):
    signed_in(client, manager).post(
        CREATE,
        policy_form(level(0, delay="5", users=[str(alice.pk)]), level(1, delay="5"), total=2),
    )

    assert targets_of(EscalationPolicy.objects.get()) == [(1, 5, ["alice"])]


def test_policy_form_rejects_a_level_that_pages_nobody_and_writes_nothing(client, manager):
    response = signed_in(client, manager).post(CREATE, policy_form(level(0, delay="7")))

    assert response.status_code == 400
    assert "Level 1 pages nobody: add a person, schedule or team." in response.content.decode()
    assert not EscalationPolicy.objects.exists()


def test_policy_form_rejects_a_policy_without_levels(client, manager):
    response = signed_in(client, manager).post(CREATE, policy_form(level(0, delay="5")))

    assert response.status_code == 400
    assert "A policy needs at least one level." in response.content.decode()
    assert not EscalationPolicy.objects.exists()


def test_policy_form_rejects_a_duplicate_name_on_the_name_field(client, manager, alice):
    policy((5, [alice]), name="Payments")

    response = signed_in(client, manager).post(
        CREATE, policy_form(level(0, delay="5", users=[str(alice.pk)]))
    )

    assert response.status_code == 400
    assert response.context["form"].errors["name"] == ["There is already a policy called Payments."]
    assert EscalationPolicy.objects.count() == 1


def test_policy_form_rejects_too_many_repeats_and_writes_nothing(client, manager, alice):
    response = signed_in(client, manager).post(
        CREATE, policy_form(level(0, delay="5", users=[str(alice.pk)]), repeat="10")
    )

    assert response.status_code == 400
    assert "repeat" in response.context["form"].errors
    assert not EscalationPolicy.objects.exists()


def test_policy_form_rejects_a_delay_of_zero_minutes(client, manager, alice):
    response = signed_in(client, manager).post(
        CREATE, policy_form(level(0, delay="0", users=[str(alice.pk)]))
    )

    assert response.status_code == 400
    assert "delay" in response.context["levels"].forms[0].errors
    assert not EscalationPolicy.objects.exists()


def test_editing_a_policy_replaces_its_levels(client, manager, alice, bob):
    made = policy((5, [alice]), (10, [bob]), name="Payments")

    response = signed_in(client, manager).post(
        f"/policies/{made.pk}/edit",
        policy_form(
            level(0, delay="3", users=[str(bob.pk)], ORDER="1"),
            level(1, delay="10", users=[str(bob.pk)], ORDER="2", DELETE="on"),
            initial=2,
            name="Payments, renamed",
        ),
    )

    assert response.status_code == 302
    made.refresh_from_db()
    assert made.name == "Payments, renamed"
    assert targets_of(made) == [(1, 3, ["bob"])]


def test_edit_form_shows_the_levels_as_they_are(client, manager, team, alice):
    made = policy((5, [alice]), (10, [team]), name="Payments")

    response = signed_in(client, manager).get(f"/policies/{made.pk}/edit")

    forms = response.context["levels"].forms
    assert forms[0]["users"].value() == [alice.pk]
    assert forms[1]["lead_teams"].value() == [team.pk]
    assert forms[1]["delay"].value() == 10


def test_making_a_policy_the_default_takes_it_from_the_old_default(client, manager, alice):
    old = policy((5, [alice]), name="Old", default=True)

    signed_in(client, manager).post(
        CREATE, policy_form(level(0, delay="5", users=[str(alice.pk)]), is_default="on")
    )

    old.refresh_from_db()
    assert old.is_default is False
    assert EscalationPolicy.objects.get(name="Payments").is_default is True


def test_responder_may_not_create_or_edit_policies(client, responder, alice):
    made = policy((5, [alice]), name="Payments")

    client = signed_in(client, responder)
    codes = (
        client.get(CREATE).status_code,
        client.post(CREATE, policy_form(level(0, delay="5", users=[str(alice.pk)]))).status_code,
        client.get(f"/policies/{made.pk}/edit").status_code,
    )

    assert codes == (403, 403, 403)
    assert EscalationPolicy.objects.count() == 1


def test_viewer_reads_a_policy_without_an_edit_button(client, viewer, alice):
    made = policy((5, [alice]), name="Payments")

    html = signed_in(client, viewer).get(f"/policies/{made.pk}/").content.decode()

    assert "Alice Adams" in html
    assert f"/policies/{made.pk}/edit" not in html


def test_policy_page_says_who_each_level_pages_and_when(client, viewer, team, alice):
    schedule = weekly_schedule([alice], start=team_start(), team=team)
    made = policy((5, [schedule]), (10, [team]), (15, [alice]), name="Payments", repeat=1)

    html = signed_in(client, viewer).get(f"/policies/{made.pk}/").content.decode()

    steps = re.findall(r'<li class="policy-step" id="level-\d">(.*?)</li>', html, re.S)
    assert "On call in Primary (Payments)" in steps[0]
    assert "After 5 minutes" in steps[0]
    assert "Leads of Payments" in steps[1]
    assert "Alice Adams" in steps[2]
    assert "starts again (1 more time)" in steps[2]


def test_policy_page_shows_the_integrations_that_use_it(client, manager, team, alice):
    made = policy((5, [alice]), name="Payments")
    integration = make_integration(team=team, name="Prometheus")
    Integration.objects.filter(pk=integration.pk).update(escalation_policy=made)

    html = signed_in(client, manager).get(f"/policies/{made.pk}/").content.decode()

    used = re.search(r'id="used-title".*?</section>', html, re.S)
    assert used is not None
    assert (
        f'<li><a href="/integrations/{integration.pk}/">Prometheus</a> '
        '<span class="muted small">Prometheus Alertmanager · Payments</span></li>'
    ) in used[0]


def test_policy_page_names_integrations_without_a_link_for_those_who_may_not_open_them(
    client, viewer, team, alice
):
    made = policy((5, [alice]), name="Payments")
    make_integration(team=team, name="Prometheus", escalation_policy=made)

    html = signed_in(client, viewer).get(f"/policies/{made.pk}/").content.decode()

    used = re.search(r'id="used-title".*?</section>', html, re.S)
    assert used is not None
    assert (
        '<li>Prometheus <span class="muted small">Prometheus Alertmanager · Payments</span></li>'
    ) in used[0]
    assert "<a " not in used[0]


def test_policy_page_takes_the_same_number_of_queries_for_many_integrations(
    client, manager, team, alice, django_assert_max_num_queries
):
    made = policy((5, [alice]), (10, [team]), name="Payments")
    for number in range(5):
        other_team = TeamFactory(name=f"Team {number}")
        make_integration(team=other_team, name=f"Source {number}", escalation_policy=made)
    signed_in(client, manager)

    # session, user, policy + team, levels, targets, integrations + teams (alerts' usage),
    # the named people's contact methods (a warning for who cannot be paged)
    with django_assert_max_num_queries(7):
        response = client.get(f"/policies/{made.pk}/")

    assert response.content.decode().count('<li><a href="/integrations/') == 5


def test_unknown_policy_is_404(client, viewer):
    assert signed_in(client, viewer).get("/policies/999999/").status_code == 404


def test_list_shows_each_policy_with_its_levels_and_integrations(client, viewer, team, alice):
    made = policy((5, [alice]), (10, [team]), name="Payments")
    integration = make_integration(team=team, name="Prometheus")
    Integration.objects.filter(pk=integration.pk).update(escalation_policy=made)

    html = signed_in(client, viewer).get(LIST).content.decode()

    assert "Alice Adams" in html
    assert "Leads of Payments" in html
    assert "Prometheus" in html
    assert "Default" in html


def test_list_takes_the_same_number_of_queries_for_many_policies(
    client, viewer, team, alice, django_assert_max_num_queries
):
    schedule = weekly_schedule([alice], start=team_start(), team=team)
    for number in range(5):
        made = policy((5, [alice, schedule]), (10, [team]), name=f"Policy {number}", default=False)
        integration = make_integration(team=team, name=f"Source {number}")
        Integration.objects.filter(pk=integration.pk).update(escalation_policy=made)
    signed_in(client, viewer)

    # session, user, policies + teams, levels, targets, integrations + teams (alerts' usage)
    with django_assert_max_num_queries(6):
        response = client.get(LIST)

    assert response.content.decode().count("On call in Primary") == 5


def test_manager_deletes_a_policy_nothing_uses(client, manager):
    unused = policy((5, []), name="Draft", default=False)

    response = signed_in(client, manager).post(f"/policies/{unused.pk}/delete", CONFIRMED)

    assert response.status_code == 302
    assert response["Location"] == LIST
    assert not EscalationPolicy.objects.exists()


def test_deleting_a_policy_asks_first_and_deletes_nothing(client, manager):
    unused = policy((5, []), name="Draft", default=False)

    response = signed_in(client, manager).post(f"/policies/{unused.pk}/delete")

    assert response.status_code == 200
    assert "Delete the escalation policy Draft?" in response.content.decode()
    assert EscalationPolicy.objects.filter(pk=unused.pk).exists()


def test_the_default_policy_is_not_deleted(client, manager):
    default = policy((5, []), name="Everyone", default=True)

    response = signed_in(client, manager).post(
        f"/policies/{default.pk}/delete", CONFIRMED, follow=True
    )

    assert EscalationPolicy.objects.filter(pk=default.pk).exists()
    assert "Everyone is the default policy: make another one the default first." in (
        response.content.decode()
    )


def test_a_policy_an_integration_routes_to_is_not_deleted(client, manager):
    routed = policy((5, []), name="Payments escalation", default=False)
    integration = make_integration(name="Prometheus")
    integration.escalation_policy = routed
    integration.save()

    response = signed_in(client, manager).post(
        f"/policies/{routed.pk}/delete", CONFIRMED, follow=True
    )

    assert Integration.objects.get().escalation_policy == routed
    assert (
        "Payments escalation is still used by integration Prometheus (Prometheus Alertmanager):"
        " choose another policy there first." in response.content.decode()
    )


def test_a_policy_that_paged_an_incident_is_kept_for_its_history(client, manager, responder):
    from oncall.services import escalations
    from tests.factories import declare

    used = policy((5, [responder]), name="Used", default=False)
    incident = declare(responder)
    escalations.escalation_start(incident=incident, policy=used, manual=True)

    response = signed_in(client, manager).post(
        f"/policies/{used.pk}/delete", CONFIRMED, follow=True
    )

    assert EscalationPolicy.objects.filter(pk=used.pk).exists()
    assert "Used has paged incidents, whose history names it, so it is kept." in (
        response.content.decode()
    )


def test_responder_may_not_delete_a_policy(client, responder):
    unused = policy((5, []), name="Draft", default=False)

    response = signed_in(client, responder).post(f"/policies/{unused.pk}/delete")

    assert response.status_code == 403
    assert EscalationPolicy.objects.filter(pk=unused.pk).exists()


def test_a_teams_policy_is_not_deleted(client, manager, team):
    teams = policy((5, []), name="Payments escalation", default=False)
    teams.team = team
    teams.save()

    response = signed_in(client, manager).post(
        f"/policies/{teams.pk}/delete", CONFIRMED, follow=True
    )

    assert EscalationPolicy.objects.filter(pk=teams.pk).exists()
    assert "The incidents of team Payments use Payments escalation" in response.content.decode()


def test_a_level_naming_someone_without_a_contact_method_saves_with_a_warning(
    client, manager, alice, bob
):
    contact(bob)
    contact(alice, verified=False)

    response = signed_in(client, manager).post(
        CREATE,
        policy_form(level(0, delay="5", users=[str(alice.pk), str(bob.pk)], ORDER="1")),
        follow=True,
    )

    warning = (
        "Level 1: Alice Adams has no verified contact method, so a page to them reaches nobody."
    )
    content = response.content.decode()
    assert EscalationPolicy.objects.exists()
    assert f'<p class="message message--warning">{warning}</p>' in content
    assert re.search(rf'id="policy-warnings".*<li>{warning}</li>', content, re.S)
    assert "Bob Brown has no" not in content


def test_the_policy_page_warns_of_nobody_when_everyone_can_be_paged(client, manager, alice):
    contact(alice)
    made = policy((5, [alice]))

    content = signed_in(client, manager).get(f"/policies/{made.pk}/").content.decode()

    assert "policy-warnings" not in content
