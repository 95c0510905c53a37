from datetime import timedelta

from django.db import migrations

# The playbook's severity table. Admins may edit these rows afterwards.
SEVERITIES = [
    {
        "name": "SEV1",
        "rank": 1,
        "description": "Critical business impact",
        "response_target": timedelta(minutes=15),
        "escalation": "Immediate page to on-call and management",
        "examples": "Complete service outage\nData loss or corruption\nSecurity breach",
        "statuspage_impact": "critical",
        "update_cadence": timedelta(minutes=30),
        "color": "#b91c1c",
    },
    {
        "name": "SEV2",
        "rank": 2,
        "description": "Major functionality degraded",
        "response_target": timedelta(minutes=30),
        "escalation": "Page to on-call team",
        "examples": "Partial service outage\nPerformance severely degraded\nKey feature unavailable",
        "statuspage_impact": "major",
        "update_cadence": timedelta(hours=1),
        "color": "#c2410c",
    },
    {
        "name": "SEV3",
        "rank": 3,
        "description": "Minor functionality issue",
        "response_target": timedelta(hours=2),
        "escalation": "Notify team via Slack",
        "examples": "Non-critical feature broken\nWorkaround available\nMinor performance impact",
        "statuspage_impact": "minor",
        "update_cadence": timedelta(hours=4),
        "color": "#a16207",
    },
    {
        "name": "SEV4",
        "rank": 4,
        "description": "Low priority issue",
        "response_target": timedelta(hours=24),
        "escalation": "Create ticket for backlog",
        "examples": "Cosmetic issues\nDocumentation errors\nFeature requests",
        "statuspage_impact": "none",
        "update_cadence": timedelta(hours=24),
        "color": "#4b5563",
    },
]


def seed(apps, schema_editor):
    Severity = apps.get_model("incidents", "Severity")
    for row in SEVERITIES:
        Severity.objects.update_or_create(name=row["name"], defaults=row)
    apps.get_model("incidents", "IncidentCounter").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
