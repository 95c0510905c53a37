from django.conf import settings
from django.db import migrations, models

PLAYBOOK = {
    "SEV1": "oncall_and_management",
    "SEV2": "oncall",
    "SEV3": "team_channel",
    "SEV4": "none",
}


def seed_paging(apps, schema_editor):
    Severity = apps.get_model("incidents", "Severity")
    for name, paging in PLAYBOOK.items():
        Severity.objects.filter(name=name).update(paging=paging)


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("incidents", "0004_alter_incident_source_alter_timelineevent_source"),
    ]

    operations = [
        migrations.AddField(
            model_name="team",
            name="leads",
            field=models.ManyToManyField(
                blank=True, related_name="led_teams", to=settings.AUTH_USER_MODEL
            ),
        ),
        migrations.AddField(
            model_name="severity",
            name="paging",
            field=models.CharField(
                choices=[
                    ("oncall_and_management", "Page on call and management"),
                    ("oncall", "Page on call"),
                    ("team_channel", "Notify the team's channel"),
                    ("none", "Nothing (backlog)"),
                ],
                default="oncall",
                max_length=24,
            ),
        ),
        migrations.RunPython(seed_paging, migrations.RunPython.noop),
    ]
