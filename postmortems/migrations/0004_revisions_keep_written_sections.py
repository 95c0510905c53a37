"""Revisions keep the written sections only (postmortems.document.revision_json), and a
generated section no second copy of its text: the revisions saved before keep the shape new
ones have, so a diff across the change compares like with like, and the megabytes of timeline
they held are given back. Nothing to undo: generated sections are rendered from the incident."""

from typing import Any

from django.db import migrations

KEPT = ("key", "heading", "body")


def _written(sections: Any) -> list[dict[str, Any]]:
    return [
        {name: section.get(name, "") for name in KEPT}
        for section in sections or []
        if isinstance(section, dict) and not section.get("generated")
    ]


def _without_copies(sections: Any) -> list[Any]:
    return [
        {**section, "generated_body": ""}
        if isinstance(section, dict) and section.get("generated")
        else section
        for section in sections or []
    ]


def forwards(apps: Any, schema_editor: Any) -> None:
    revisions = apps.get_model("postmortems", "PostmortemRevision")
    for pk, sections in revisions.objects.values_list("pk", "sections").iterator(chunk_size=100):
        kept = _written(sections)
        if kept != sections:
            revisions.objects.filter(pk=pk).update(sections=kept)
    postmortems = apps.get_model("postmortems", "Postmortem")
    for pk, sections in postmortems.objects.values_list("pk", "sections").iterator(chunk_size=100):
        kept = _without_copies(sections)
        if kept != sections:
            postmortems.objects.filter(pk=pk).update(sections=kept)


class Migration(migrations.Migration):
    dependencies = [("postmortems", "0003_review_approved_revision")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True)]
