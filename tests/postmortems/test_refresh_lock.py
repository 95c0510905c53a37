"""Refresh renders (up to the sandbox's time budget) before it takes the postmortem's row lock,
so saves of sections are not held up by it; under the lock it merges, and renders again only
if the postmortem moved on meanwhile.

These commit for real (transaction=True: a second session holds the row lock while the
refresh waits for it); serialized_rollback restores the seeded severities and postmortem
policies the flush afterwards removes.
"""

import pytest
from django.db import connection, transaction

from incidents.services import incident_add_note
from postmortems.models import Postmortem
from postmortems.services.postmortems import lock, postmortem_refresh, postmortem_save_section
from tests.harness import in_thread, wait_until
from tests.postmortems.document_support import body, drafted

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def waiting_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        # pg_stat_activity is read once per transaction unless told to read again.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database() AND pid <> pg_backend_pid()"
        )
        (count,) = cursor.fetchone()
    return count > 0


def refresh_waiting_on(postmortem: Postmortem, actor, held) -> list[BaseException]:
    """Refresh in a thread while this session holds the row lock; `held` runs in that
    transaction once the refresh waits for the lock, and commits with it."""
    errors: list[BaseException] = []

    def refresh() -> None:
        try:
            postmortem_refresh(postmortem=postmortem, actor=actor)
        except BaseException as error:
            errors.append(error)

    with transaction.atomic():
        lock(postmortem)
        thread = in_thread(refresh)
        wait_until(waiting_for_a_lock, timeout=10, what="the refresh to wait for the row lock")
        held()
    thread.join(timeout=30)
    assert not thread.is_alive()
    return errors


def test_a_refresh_has_rendered_before_it_waits_for_the_row_lock(commander):
    postmortem = drafted(commander)
    incident = postmortem.incident

    errors = refresh_waiting_on(
        postmortem,
        commander,
        lambda: incident_add_note(incident=incident, actor=commander, text="Late note"),
    )

    assert errors == []
    # Rendered before the lock was free, so before the note was there: nothing new, and the
    # refresh took the postmortem as it found it under the lock.
    assert "Late note" not in body(postmortem, "timeline")
    assert Postmortem.objects.get(pk=postmortem.pk).revision == 0


def test_a_refresh_renders_again_when_a_save_landed_while_it_waited(commander, responder):
    postmortem = drafted(commander)
    incident = postmortem.incident

    def save_and_note() -> None:
        postmortem_save_section(
            postmortem=postmortem,
            actor=responder,
            key="root-cause",
            body="The pool was too small.",
            base_revision=0,
        )
        incident_add_note(incident=incident, actor=commander, text="Late note")

    errors = refresh_waiting_on(postmortem, commander, save_and_note)

    assert errors == []
    assert "Late note" in body(postmortem, "timeline")
    assert body(postmortem, "root-cause") == "The pool was too small."
    assert Postmortem.objects.get(pk=postmortem.pk).revision == 2
