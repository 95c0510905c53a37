"""The schedules pages: the list and your calendar feed, creating, editing and deleting a
schedule, its page with the two-week calendar, and its feed."""

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from oncall.models import (
    CalendarFeed,
    Schedule,
    ScheduleLayer,
    ScheduleOverride,
)
from oncall.services import rotations
from oncall.services.rotations import LayerSpec
from tests.factories import UserFactory
from tests.oncall.factories import MONDAYS_NINE_UTC, policy, weekly_schedule
from tests.oncall.pages import CONFIRMED, cell, page, people_in, signed_in

# A Monday: the weekly rotation below hands off every Monday at 09:00 UTC.
HANDOFF = MONDAYS_NINE_UTC
LIST = "/schedules/"
CREATE = "/schedules/new"


def test_list_shows_who_is_on_call_now_and_who_is_next(client, viewer, team, alice, bob):
    week_start = timezone.now() - timedelta(days=2)
    weekly_schedule([alice, bob], start=week_start, team=team)

    html = signed_in(client, viewer).get(LIST).content.decode()

    now_cell = re.search(r'data-label="On call now".*?</td>', html, re.S)
    next_cell = re.search(r'data-label="Next".*?</td>', html, re.S)
    assert now_cell is not None and "Alice Adams" in now_cell[0]
    assert next_cell is not None and "Bob Brown" in next_cell[0]


def test_list_gives_the_zone_of_every_time(client, viewer, team, alice, bob):
    weekly_schedule([alice, bob], start=timezone.now() - timedelta(days=2), team=team)

    html = signed_in(client, viewer).get(LIST).content.decode()

    times = re.findall(r"<time [^>]*>([^<]+)</time>", html)
    assert len(times) == 2
    assert all(t.endswith(" UTC") for t in times), times


def test_list_says_nobody_when_no_rotation_covers_now(client, viewer, team):
    Schedule.objects.create(team=team, name="Empty")

    html = signed_in(client, viewer).get(LIST).content.decode()

    assert "Nobody" in html


def test_list_takes_the_same_number_of_queries_for_many_schedules(
    client, viewer, team, alice, bob, django_assert_max_num_queries
):
    signed_in(client, viewer).post("/schedules/my-feed")
    for number in range(6):
        schedule = weekly_schedule(
            [alice, bob], start=timezone.now() - timedelta(days=3), team=team, name=f"S{number}"
        )
        ScheduleOverride.objects.create(
            schedule=schedule,
            user=bob,
            start=timezone.now() + timedelta(days=1),
            end=timezone.now() + timedelta(days=2),
        )

    # session, user, calendar feed, schedules + teams, layers, participants, overrides
    with django_assert_max_num_queries(7):
        response = client.get(LIST)

    assert response.status_code == 200
    assert response.content.decode().count("Alice Adams") == 6


def test_list_writes_nothing(client, responder):
    signed_in(client, responder)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST)

    assert response.status_code == 200
    writes = [q["sql"] for q in queries if not q["sql"].lstrip().upper().startswith("SELECT")]
    assert writes == []
    assert not CalendarFeed.objects.filter(user=responder).exists()


def test_list_offers_your_calendar_feed_address_before_you_have_one(client, responder):
    html = signed_in(client, responder).get(LIST).content.decode()

    assert 'id="my-feed-create"' in html
    assert ".ics" not in html


def test_asking_for_your_calendar_feed_address_shows_it(client, responder):
    response = signed_in(client, responder).post("/schedules/my-feed")
    html = client.get(response["Location"]).content.decode()

    feed = CalendarFeed.objects.get(user=responder)
    assert f"/oncall/users/{feed.token}.ics" in html
    assert 'id="my-feed-create"' not in html


def test_your_feed_keeps_its_address_when_asked_again(client, responder):
    signed_in(client, responder).post("/schedules/my-feed")
    token = CalendarFeed.objects.get(user=responder).token

    client.post("/schedules/my-feed")

    assert list(CalendarFeed.objects.filter(user=responder).values_list("token", flat=True)) == [
        token
    ]


def test_asking_for_your_feed_address_takes_a_post(client, responder):
    response = signed_in(client, responder).get("/schedules/my-feed")

    assert response.status_code == 405
    assert not CalendarFeed.objects.filter(user=responder).exists()


def test_a_new_address_for_your_feed_replaces_the_old_one(client, responder):
    signed_in(client, responder).post("/schedules/my-feed")
    old = CalendarFeed.objects.get(user=responder).token

    client.post("/schedules/my-feed/rotate", CONFIRMED)

    assert CalendarFeed.objects.get(user=responder).token != old


def test_a_new_address_for_your_feed_is_asked_for_first(client, responder):
    signed_in(client, responder).post("/schedules/my-feed")
    old = CalendarFeed.objects.get(user=responder).token

    response = client.post("/schedules/my-feed/rotate")

    assert response.status_code == 200
    assert "Give your calendar feed a new address?" in response.content.decode()
    assert CalendarFeed.objects.get(user=responder).token == old


def test_manager_creates_a_schedule(client, manager, team):
    response = signed_in(client, manager).post(
        CREATE, {"team": str(team.pk), "name": "Primary", "time_zone": "Europe/Paris"}
    )

    schedule = Schedule.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/schedules/{schedule.pk}/"
    assert (schedule.team, schedule.name, schedule.time_zone) == (team, "Primary", "Europe/Paris")


def test_schedule_form_rejects_an_unknown_zone_and_writes_nothing(client, manager, team):
    response = signed_in(client, manager).post(
        CREATE, {"team": str(team.pk), "name": "Primary", "time_zone": "Mars/Olympus_Mons"}
    )

    assert response.status_code == 400
    assert "Unknown time zone Mars/Olympus_Mons." in response.content.decode()
    assert not Schedule.objects.exists()


def test_schedule_form_shows_a_duplicate_name_on_the_name_field(client, manager, team):
    Schedule.objects.create(team=team, name="Primary")

    response = signed_in(client, manager).post(
        CREATE, {"team": str(team.pk), "name": "Primary", "time_zone": "UTC"}
    )

    assert response.status_code == 400
    assert (
        "Payments already has a schedule called Primary." in response.context["form"].errors["name"]
    )
    assert Schedule.objects.count() == 1


def test_viewer_may_not_open_the_new_schedule_form(client, viewer):
    assert signed_in(client, viewer).get(CREATE).status_code == 403


def test_responder_may_not_create_a_schedule(client, responder, team):
    response = signed_in(client, responder).post(
        CREATE, {"team": str(team.pk), "name": "Primary", "time_zone": "UTC"}
    )

    assert response.status_code == 403
    assert not Schedule.objects.exists()


def test_manager_renames_a_schedule_and_changes_its_zone(client, manager, weekly):
    response = signed_in(client, manager).post(
        f"/schedules/{weekly.pk}/edit",
        {"team": str(weekly.team.pk), "name": "Payments primary", "time_zone": "Europe/Paris"},
    )

    weekly.refresh_from_db()
    assert response.status_code == 302
    assert (weekly.name, weekly.time_zone) == ("Payments primary", "Europe/Paris")
    assert weekly.layers.count() == 1, "its rotation is kept"


def test_editing_to_a_name_the_team_already_uses_is_a_form_error(client, manager, weekly):
    Schedule.objects.create(team=weekly.team, name="Secondary")

    response = signed_in(client, manager).post(
        f"/schedules/{weekly.pk}/edit",
        {"team": str(weekly.team.pk), "name": "Secondary", "time_zone": "UTC"},
    )

    weekly.refresh_from_db()
    assert response.status_code == 400
    assert (
        "Payments already has a schedule called Secondary."
        in response.context["form"].errors["name"]
    )
    assert weekly.name == "Primary"


def test_manager_deletes_a_schedule_no_policy_pages(client, manager, weekly):
    response = signed_in(client, manager).post(f"/schedules/{weekly.pk}/delete", CONFIRMED)

    assert response.status_code == 302
    assert response["Location"] == LIST
    assert not Schedule.objects.exists()
    assert not ScheduleLayer.objects.exists()


def test_deleting_a_schedule_asks_first_and_deletes_nothing(client, manager, weekly):
    response = signed_in(client, manager).post(f"/schedules/{weekly.pk}/delete")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Delete the schedule Primary?" in html
    assert f'action="/schedules/{weekly.pk}/delete"' in html
    assert '<input type="hidden" name="confirmed" value="yes">' in html
    assert f'href="{page(weekly)}" id="confirm-cancel"' in html
    assert Schedule.objects.filter(pk=weekly.pk).exists()


def test_a_schedule_a_policy_pages_is_not_deleted(client, manager, weekly):
    policy((5, [weekly]), name="Payments escalation")

    response = signed_in(client, manager).post(
        f"/schedules/{weekly.pk}/delete", CONFIRMED, follow=True
    )

    assert Schedule.objects.filter(pk=weekly.pk).exists()
    assert (
        "Primary is paged by Payments escalation: remove it from those policies first."
        in response.content.decode()
    )


def test_responder_may_not_edit_or_delete_a_schedule(client, responder, weekly):
    signed_in(client, responder)

    edit = client.post(
        f"/schedules/{weekly.pk}/edit",
        {"team": str(weekly.team.pk), "name": "Mine now", "time_zone": "UTC"},
    )
    delete = client.post(f"/schedules/{weekly.pk}/delete")

    weekly.refresh_from_db()
    assert (edit.status_code, delete.status_code) == (403, 403)
    assert weekly.name == "Primary"


def test_calendar_shows_the_person_on_call_each_day_of_a_weekly_rotation(client, viewer, weekly):
    html = signed_in(client, viewer).get(page(weekly, start="2025-01-06")).content.decode()

    assert people_in(html, "final", "2025-01-06") == ["alice"]  # from 09:00
    assert people_in(html, "final", "2025-01-08") == ["alice"]
    assert people_in(html, "final", "2025-01-12") == ["alice"]
    assert people_in(html, "final", "2025-01-13") == ["alice", "bob"]  # handoff at 09:00
    assert people_in(html, "final", "2025-01-15") == ["bob"]
    assert people_in(html, "final", "2025-01-19") == ["bob"]
    assert "Alice" in cell(html, "final", "2025-01-08")


def test_calendar_has_a_row_per_layer_and_one_for_overrides(client, viewer, weekly):
    layer = weekly.layers.get()

    html = signed_in(client, viewer).get(page(weekly, start="2025-01-06")).content.decode()

    assert people_in(html, f"layer-{layer.pk}", "2025-01-08") == ["alice"]
    assert people_in(html, "overrides", "2025-01-08") == []


def test_calendar_shows_a_changed_rotation_as_two_rows_meeting_at_the_change(
    client, viewer, manager, weekly, bob
):
    old = weekly.layers.get()
    rotations.layer_change(
        actor=manager,
        layer=old,
        spec=LayerSpec(name="Weekly", participants=[bob], rotation_start=HANDOFF),
        effective_at=datetime(2025, 1, 8, tzinfo=UTC),
    )
    new = ScheduleLayer.objects.exclude(pk=old.pk).get()

    html = signed_in(client, viewer).get(page(weekly, start="2025-01-06")).content.decode()

    assert people_in(html, f"layer-{old.pk}", "2025-01-07") == ["alice"]
    assert people_in(html, f"layer-{old.pk}", "2025-01-08") == []
    assert people_in(html, f"layer-{new.pk}", "2025-01-08") == ["bob"]
    assert people_in(html, "final", "2025-01-07") == ["alice"]
    assert people_in(html, "final", "2025-01-08") == ["bob"]
    assert "until 8 Jan 00:00" in html
    assert "from 8 Jan 00:00" in html


def test_calendar_shows_days_in_the_viewers_time_zone(client, weekly):
    tokyo = UserFactory(username="kenji", role=Role.VIEWER, timezone="Asia/Tokyo")

    html = signed_in(client, tokyo).get(page(weekly, start="2025-01-06")).content.decode()

    # 09:00 UTC is 18:00 in Tokyo: Bob takes over in the evening of the 13th there.
    handoff_day = cell(html, "final", "2025-01-13")
    assert re.findall(r'data-user="([^"]+)"', handoff_day) == ["alice", "bob"]
    assert "18:00" in handoff_day
    assert "times in Asia/Tokyo" in html.replace("Times", "times")


def test_calendar_start_moves_the_two_weeks_shown(client, viewer, weekly):
    html = signed_in(client, viewer).get(page(weekly, start="2025-01-13")).content.decode()

    assert people_in(html, "final", "2025-01-20") == ["bob", "alice"]
    assert 'data-day="2025-01-06"' not in html
    assert "?start=2025-01-06" in html  # previous week
    assert "?start=2025-01-20" in html  # next week


def test_calendar_ignores_a_start_that_is_not_a_date(client, viewer, weekly):
    response = signed_in(client, viewer).get(page(weekly, start="soon"))

    assert response.status_code == 200
    monday = timezone.now().date() - timedelta(days=timezone.now().weekday())
    assert f'data-day="{monday.isoformat()}"' in response.content.decode()


def test_calendar_shows_an_override_in_its_row_and_in_the_final_schedule(
    client, viewer, weekly, responder
):
    ScheduleOverride.objects.create(
        schedule=weekly,
        user=responder,
        start=datetime(2025, 1, 8, 0, tzinfo=UTC),
        end=datetime(2025, 1, 9, 0, tzinfo=UTC),
    )

    html = signed_in(client, viewer).get(page(weekly, start="2025-01-06")).content.decode()

    assert people_in(html, "overrides", "2025-01-08") == ["rosa"]
    assert people_in(html, "final", "2025-01-08") == ["rosa"]
    assert people_in(html, "final", "2025-01-09") == ["alice"]


def test_final_shifts_link_to_take_them_for_responders(client, teammate, team, alice, bob):
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(days=1)
    schedule = weekly_schedule([alice, bob], start=start, team=team)
    day = timezone.localtime(start + timedelta(days=2)).date().isoformat()

    html = signed_in(client, teammate).get(page(schedule)).content.decode()
    link = re.search(r'href="([^"]+)"', cell(html, "final", day))

    assert link is not None
    query = parse_qs(urlparse(link[1].replace("&amp;", "&")).query)
    assert datetime.fromisoformat(query["start"][0]) == start
    assert datetime.fromisoformat(query["end"][0]) == start + timedelta(days=7)
    assert query["user"] == [str(teammate.pk)]


def test_viewers_see_final_shifts_without_links(client, viewer, team, alice, bob):
    start = timezone.now() + timedelta(days=1)
    schedule = weekly_schedule([alice, bob], start=start, team=team)
    day = timezone.localtime(start + timedelta(days=2)).date().isoformat()

    html = signed_in(client, viewer).get(page(schedule)).content.decode()

    assert "href=" not in cell(html, "final", day)


def test_schedule_page_says_who_is_on_call_now_and_next(client, viewer, team, alice, bob):
    schedule = weekly_schedule([alice, bob], start=timezone.now() - timedelta(days=1), team=team)

    html = signed_in(client, viewer).get(page(schedule)).content.decode()

    now_box = re.search(r'id="on-call-now">(.*?)</div>', html, re.S)
    next_box = re.search(r'id="on-call-next">(.*?)</div>', html, re.S)
    assert now_box is not None and "Alice Adams" in now_box[1]
    assert next_box is not None and "Bob Brown" in next_box[1]


def test_schedule_page_of_an_unknown_schedule_is_404(client, viewer):
    assert signed_in(client, viewer).get("/schedules/999999/").status_code == 404


def test_schedule_page_shows_its_feed_address(client, viewer, weekly):
    html = signed_in(client, viewer).get(page(weekly)).content.decode()

    assert f"/oncall/schedules/{weekly.feed_token}.ics" in html


def test_manager_gives_the_schedule_feed_a_new_address(client, manager, weekly):
    old = weekly.feed_token

    signed_in(client, manager).post(f"/schedules/{weekly.pk}/rotate-feed", CONFIRMED)

    weekly.refresh_from_db()
    assert weekly.feed_token != old


def test_a_new_schedule_feed_address_is_asked_for_first(client, manager, weekly):
    old = weekly.feed_token

    response = signed_in(client, manager).post(f"/schedules/{weekly.pk}/rotate-feed")

    weekly.refresh_from_db()
    assert response.status_code == 200
    assert "Give the calendar feed of Primary a new address?" in response.content.decode()
    assert weekly.feed_token == old


def test_responder_may_not_give_the_schedule_feed_a_new_address(client, responder, weekly):
    old = weekly.feed_token

    response = signed_in(client, responder).post(f"/schedules/{weekly.pk}/rotate-feed")

    weekly.refresh_from_db()
    assert response.status_code == 403
    assert weekly.feed_token == old
