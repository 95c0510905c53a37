"""Indexes added to the tables paging and incidents write are built without holding those
writes during a deploy (ops.migration_operations.AddIndexWithoutLocking)."""

from importlib import import_module

import pytest
from django.contrib.postgres.operations import AddIndexConcurrently

from ops.migration_operations import AddIndexWithoutLocking


@pytest.mark.parametrize(
    ("app", "migration", "index"),
    [
        ("oncall", "0006_report_indexes", "notification_page_sent"),
        ("incidents", "0008_reopens_drills_and_the_started_index", "incident_started"),
        ("incidents", "0009_report_indexes", "incident_last_resolved"),
        ("incidents", "0010_role_index_and_live_span", "timeline_role_assigned"),
        ("incidents", "0011_report_figures_index", "incident_started_figures"),
        ("incidents", "0012_report_trend_index", "incident_trend"),
        ("incidents", "0013_public_update_index", "status_update_public"),
    ],
)
def test_report_indexes_are_built_concurrently_on_postgresql(app, migration, index):
    module = import_module(f"{app}.migrations.{migration}")
    adding = [op for op in module.Migration.operations if getattr(op, "index", None)]

    assert index in {op.index.name for op in adding}
    assert all(isinstance(op, AddIndexWithoutLocking) for op in adding)
    # CONCURRENTLY cannot run inside a transaction: the migration is not wrapped in one.
    assert module.Migration.atomic is False


def test_the_operation_is_postgresqls_concurrent_one():
    assert issubclass(AddIndexWithoutLocking, AddIndexConcurrently)
