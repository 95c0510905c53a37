"""Indexes added to the tables paging and incidents write are built without holding those
writes during a deploy (ops.migration_operations.AddIndexWithoutLocking)."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.parametrize(
    ("app", "migration", "index"),
    [
        ("oncall", "0006_report_indexes", "notification_page_sent"),
        ("incidents", "0008_reopens_drills_and_the_started_index", "incident_started"),
        ("incidents", "0009_report_indexes", "incident_last_resolved"),
        ("incidents", "0010_role_index_and_live_span", "timeline_role_assigned"),
    ],
)
def test_report_indexes_are_built_concurrently_on_postgresql(
    app, migration, index, transactional_db
):
    out = StringIO()

    call_command("sqlmigrate", app, migration, stdout=out)

    assert f'CREATE INDEX CONCURRENTLY "{index}"' in out.getvalue()
    # CONCURRENTLY cannot run inside a transaction: the migration is not wrapped in one.
    assert "BEGIN;" not in out.getvalue()
