"""The incident list stays fast at 100,000 incidents only while its indexes match its queries
(benchmarks/pages.py measures it). These tests catch a query and its index drifting apart.

A handful of rows would be read by a sequential scan anyway, so each test forbids the scans
that would not prove anything and asks the planner whether the index can serve the query."""

import pytest
from django.db import connection

from incidents import selectors
from tests.factories import declare

pytestmark = pytest.mark.django_db


def forbid(*scans: str) -> None:
    with connection.cursor() as cursor:
        for scan in scans:
            # SET LOCAL ends with the test's transaction.
            cursor.execute(f"SET LOCAL enable_{scan} = off")


def test_list_pages_read_rows_in_index_order_without_sorting(responder):
    declare(responder, title="Checkout is failing")
    forbid("seqscan")
    page = selectors.incident_list(user=responder)[:25]
    plan = page.explain()
    assert "incident_list_order" in plan
    assert "Sort Key" not in plan


def test_search_uses_the_trigram_indexes(responder):
    declare(responder, title="Database failover took four minutes")
    # Left only bitmap scans, which need a condition an index can answer: the LIKE itself.
    forbid("seqscan", "indexscan")
    filters = selectors.IncidentFilters(query="failover")
    plan = selectors.incident_list(user=responder, filters=filters).explain()
    assert "incident_title_trgm" in plan
    assert "incident_summary_trgm" in plan
