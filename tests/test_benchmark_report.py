"""The monthly report benchmark's loader (benchmarks/report/) writes data the application
could have written: it loads with foreign-key triggers off, so nothing else would notice a
dangling reference, a timestamp out of order or a commander the timeline does not name.

A small load (100 incidents, then grown to 1,000, as the benchmark grows 10,000 to 1,000,000)
into the test database, in the test's transaction."""

from datetime import UTC, datetime

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection
from django.db.models import F, ForeignKey, Q

from benchmarks.report.incidents import load_incidents
from benchmarks.report.seed import (
    LOADED_TABLES,
    create_roster,
    indexes_built_after,
    load_other_notifications,
    load_people,
    prepare_session,
)
from benchmarks.report.spec import LOADER_VERSION, MONTHS, Spec, window
from incidents.models import EventKind, Incident, RoleAssignment, Status, TimelineEvent
from oncall.models import Notification, NotificationKind
from reports.months import Month

pytestmark = pytest.mark.django_db

LOADED = 1_000


@pytest.fixture
def spec() -> Spec:
    first = Month.containing(datetime.now(UTC)).minus(MONTHS)
    small = Spec(
        version=LOADER_VERSION,
        incidents=LOADED,
        small=100,
        zone=settings.ORGANISATION_TIME_ZONE,
        first_month=str(first),
        loaded=100,
    )
    prepare_session()
    load_people(datetime.now(UTC))
    create_roster()
    load_other_notifications(small)
    load_incidents(small, small=True)
    assert Incident.objects.count() == 100
    # The growth, as in another session: helpers created again, indexes dropped and rebuilt.
    prepare_session()
    create_roster()
    with indexes_built_after(LOADED_TABLES):
        load_incidents(small, small=False)
    return small


def test_every_reference_points_at_a_row(spec):
    checked = 0
    for model in apps.get_models(include_auto_created=True):
        for field in model._meta.concrete_fields:
            if not isinstance(field, ForeignKey) or not model.objects.exists():
                continue
            target = field.remote_field.model
            dangling = model.objects.filter(**{f"{field.attname}__isnull": False}).exclude(
                **{f"{field.attname}__in": target.objects.values(field.target_field.attname)}
            )
            assert not dangling.exists(), f"{model.__name__}.{field.name}"
            checked += 1
    assert checked > 20


def test_incidents_are_numbered_in_time_and_their_times_in_order(spec):
    start, end = window(spec)
    assert Incident.objects.count() == LOADED
    assert sorted(Incident.objects.values_list("number", flat=True)) == list(range(1, LOADED + 1))
    numbers = list(Incident.objects.order_by("started_at").values_list("number", flat=True))
    assert numbers == sorted(numbers)
    assert not Incident.objects.filter(Q(started_at__lt=start) | Q(started_at__gte=end)).exists()
    out_of_order = (
        Q(detected_at__lt=F("started_at"))
        | Q(declared_at__lt=F("detected_at"))
        | Q(acknowledged_at__lt=F("detected_at"))
        | Q(mitigated_at__lt=F("acknowledged_at"))
        | Q(resolved_at__lt=F("mitigated_at"))
        | Q(last_resolved_at__lt=F("resolved_at"))
    )
    assert not Incident.objects.filter(out_of_order).exists()
    resolved = Incident.objects.filter(status=Status.RESOLVED)
    assert not resolved.filter(Q(resolved_at=None) | Q(last_resolved_at=None)).exists()
    assert not Incident.objects.exclude(status=Status.RESOLVED).exclude(resolved_at=None).exists()
    assert not resolved.filter(reopen_count=0).exclude(last_resolved_at=F("resolved_at")).exists()


def test_the_shares_the_report_reads_are_all_there(spec):
    incidents = Incident.objects.all()
    assert incidents.filter(drill=True).exists()
    assert incidents.filter(reopen_count__gt=0).exists()
    assert incidents.exclude(status=Status.RESOLVED).exists()
    assert incidents.filter(status=Status.RESOLVED, acknowledged_at=None).exists()
    assert incidents.filter(status=Status.RESOLVED, mitigated_at=None).exists()
    assert incidents.filter(merged_into__isnull=False).exists()
    assert incidents.exclude(cause_category="").exists()
    assert not incidents.filter(services=None).exists()
    assert set(incidents.values_list("severity__name", flat=True)) == {
        "SEV1",
        "SEV2",
        "SEV3",
        "SEV4",
    }
    # Pages for the severities that page, and test pages, which a count of pages leaves out.
    pages = Notification.objects.filter(kind=NotificationKind.PAGE)
    assert set(pages.values_list("incident__severity__paging", flat=True)) == {
        "oncall",
        "oncall_and_management",
    }
    assert pages.filter(state="cancelled").exists()
    assert Notification.objects.filter(kind=NotificationKind.TEST).exists()


def test_the_commander_is_the_one_the_role_row_and_the_timeline_name(spec):
    assert RoleAssignment.objects.count() == LOADED
    assert not RoleAssignment.objects.exclude(user=F("incident__commander")).exists()
    handed_over = Incident.objects.exclude(commander=F("declared_by"))
    assert handed_over.exists()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM incidents_incident i JOIN accounts_user u ON u.id = i.commander_id
            WHERE (SELECT e.data ->> 'user' FROM incidents_timelineevent e
                   WHERE e.incident_id = i.id AND e.kind = %s
                   ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1) IS DISTINCT FROM u.username
            """,
            [EventKind.ROLE_ASSIGNED.value],
        )
        assert cursor.fetchone()[0] == 0
    assert TimelineEvent.objects.filter(kind=EventKind.DECLARED).count() == LOADED
