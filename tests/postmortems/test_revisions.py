"""Every save is a revision: who, when, what; each viewable as a diff of the Markdown."""

from importlib import import_module

import pytest
from django.apps import apps as django_apps
from django.urls import reverse

from postmortems import document
from postmortems.selectors_document import revision_diff
from tests.postmortems.document_support import drafted, write

pytestmark = pytest.mark.django_db


def test_two_people_editing_two_sections_leave_two_revisions_saying_who_changed_what(
    client, commander, responder, clock
):
    postmortem = drafted(commander)
    write(postmortem, commander, "root-cause", "The pool held 20 connections.")
    first_at = clock.now
    clock.advance(minutes=3)
    write(postmortem, responder, "lessons-learned", "Size pools from peak traffic.")

    revisions = list(postmortem.revisions.order_by("number"))

    assert [(r.number, r.author, r.summary) for r in revisions] == [
        (0, commander, "Drafted from the incident"),
        (1, commander, "Edited Root Cause"),
        (2, responder, "Edited Lessons Learned"),
    ]
    assert [r.created_at for r in revisions[1:]] == [first_at, clock.now]

    cole = revision_diff(postmortem=postmortem, number=1)
    rosa = revision_diff(postmortem=postmortem, number=2)

    assert [line.text for line in cole.lines if line.kind == "add"] == [
        "+The pool held 20 connections."
    ]
    assert [line.text for line in cole.lines if line.kind == "remove"] == [
        "-### Contributing Factors"
    ]
    # The empty section gains its text, and the blank line that separates it from its heading.
    assert [line.text for line in rosa.lines if line.kind in ("add", "remove")] == [
        "+Size pools from peak traffic.",
        "+",
    ]
    assert rosa.previous.number == 1

    client.force_login(responder)
    page = client.get(reverse("postmortems:revisions", args=[postmortem.incident.number]))
    content = page.content.decode()
    assert content.index("Edited Lessons Learned") < content.index("Edited Root Cause")
    assert "<td>Rosa Responder</td>" in content
    assert "<td>Cole Commander</td>" in content


def test_the_diff_page_shows_the_change_escaped(client, commander):
    postmortem = drafted(commander)
    write(postmortem, commander, "root-cause", '<script>alert("x")</script> & <b>bold</b>')
    client.force_login(commander)

    response = client.get(reverse("postmortems:revision", args=[postmortem.incident.number, 1]))

    content = response.content.decode()
    assert response.status_code == 200
    assert "<script>alert" not in content
    assert "<b>bold</b>" not in content
    assert (
        '<span class="pm-diff__line pm-diff__line--add"><span class="visually-hidden">Added: '
        "</span>+&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"
        "</span>"
    ) in content
    assert "1 line added" in content


def test_the_first_revision_is_compared_with_nothing(commander):
    postmortem = drafted(commander)

    diff = revision_diff(postmortem=postmortem, number=0)

    assert diff.previous is None
    assert diff.lines[0].text == "--- (nothing)"
    assert "+## Root Cause" in [line.text for line in diff.lines]
    assert diff.removed == 0


def test_an_unknown_revision_is_not_found(client, commander):
    postmortem = drafted(commander)
    client.force_login(commander)

    response = client.get(reverse("postmortems:revision", args=[postmortem.incident.number, 7]))

    assert response.status_code == 404


def test_revisions_of_a_private_incident_are_hidden_from_outsiders(client, commander, outsider):
    postmortem = drafted(commander, private=True)
    client.force_login(outsider)
    number = postmortem.incident.number

    assert client.get(reverse("postmortems:revisions", args=[number])).status_code == 404
    assert client.get(reverse("postmortems:revision", args=[number, 0])).status_code == 404


def test_the_history_costs_the_same_however_many_revisions(
    client, commander, django_assert_max_num_queries
):
    postmortem = drafted(commander)
    client.force_login(commander)
    url = reverse("postmortems:revisions", args=[postmortem.incident.number])
    with django_assert_max_num_queries(12) as few:
        client.get(url)
    for index in range(30):
        write(postmortem, commander, "lessons-learned", f"Version {index}.")

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)

    assert response.content.decode().count("View changes") == 31


def test_a_revision_keeps_the_written_sections_not_the_timeline(client, commander):
    postmortem = drafted(commander)
    write(postmortem, commander, "root-cause", "The pool held 20 connections.")
    postmortem.refresh_from_db()
    written = [s["key"] for s in postmortem.sections if not s["generated"]]
    generated = [s for s in postmortem.sections if s["generated"]]

    for revision in postmortem.revisions.all():
        assert [s["key"] for s in revision.sections] == written
        assert set().union(*revision.sections) == {"key", "heading", "body"}
    # The document keeps no second copy of its generated text either.
    assert {s["key"] for s in generated} == {"header", "key-figures", "timeline", "action-items"}
    assert {s["generated_body"] for s in generated} == {""}

    client.force_login(commander)
    page = client.get(reverse("postmortems:revision", args=[postmortem.incident.number, 1]))
    assert "Revisions keep the sections your team writes." in page.content.decode()


def test_the_migration_gives_revisions_saved_before_the_shape_of_new_ones(commander):
    """Revisions saved while they held the whole document (generated sections and their
    copies included) keep their written sections only, as new ones do."""
    postmortem = drafted(commander)
    write(postmortem, commander, "root-cause", "The pool held 20 connections.")
    postmortem.refresh_from_db()
    whole = [
        {**s, "generated_body": s["body"]} if s["generated"] else s for s in postmortem.sections
    ]
    postmortem.revisions.update(sections=whole)
    type(postmortem).objects.filter(pk=postmortem.pk).update(sections=whole)
    migration = import_module("postmortems.migrations.0004_revisions_keep_written_sections")

    migration.forwards(django_apps, None)

    postmortem.refresh_from_db()
    assert [s for s in postmortem.sections if s["generated"] and s["generated_body"]] == []
    assert [s["body"] for s in postmortem.sections] == [s["body"] for s in whole]
    written = document.revision_json(document.from_json(whole))
    assert [r.sections for r in postmortem.revisions.all()] == [written, written]
    diff = revision_diff(postmortem=postmortem, number=1)
    assert (diff.added, diff.removed) == (0, 0)
