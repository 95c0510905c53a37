"""An approval names the revision it approved, and a postmortem the revision that last changed
its details, so publishing can tell an approval of the words being published from one of words
since rewritten. Approvals given before this learn their revision from the revisions: the last
one saved when the reviewer decided."""

from django.db import migrations, models


def backfill(apps, schema_editor):
    ReviewRequest = apps.get_model("postmortems", "ReviewRequest")
    PostmortemRevision = apps.get_model("postmortems", "PostmortemRevision")
    approved = ReviewRequest.objects.filter(state="approved", decided_at__isnull=False)
    for review in approved.iterator():
        number = (
            PostmortemRevision.objects.filter(
                postmortem_id=review.postmortem_id, created_at__lte=review.decided_at
            )
            .order_by("-number")
            .values_list("number", flat=True)
            .first()
        )
        if number is not None:
            review.approved_revision = number
            review.save(update_fields=["approved_revision"])


class Migration(migrations.Migration):
    dependencies = [
        ("postmortems", "0002_seed_policies_and_factors"),
    ]

    operations = [
        migrations.AddField(
            model_name="postmortem",
            name="details_revision",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="reviewrequest",
            name="approved_revision",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
