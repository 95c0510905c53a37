"""The playbook's defaults: SEV1 and SEV2 require a postmortem, SEV3 and SEV4 may have one;
action items are due 14/30/60/90 days out; and a starting vocabulary of contributing factors."""

from django.db import migrations

POLICIES = {"SEV1": (True, 14), "SEV2": (True, 30), "SEV3": (False, 60), "SEV4": (False, 90)}

FACTORS = [
    ("Process", "process", "A procedure was missing, unclear or not followed by design."),
    ("Change", "change", "A deploy, configuration or data change started it."),
    ("Capacity", "capacity", "Load exceeded what a part of the system could take."),
    ("Dependency", "dependency", "A service or vendor we rely on failed or degraded."),
    ("Monitoring gap", "monitoring-gap", "We learned of it late, or not from our alerts."),
    ("Configuration", "configuration", "A setting was wrong or drifted."),
    ("Testing gap", "testing-gap", "Tests did not cover the case that broke."),
    ("Documentation", "documentation", "Runbooks or docs were missing or out of date."),
    ("Communication", "communication", "Information did not reach the people who needed it."),
    ("Software defect", "software-defect", "A bug in our code."),
    ("Infrastructure", "infrastructure", "Hosts, network or storage failed."),
    ("Security", "security", "An attack or a security control."),
]


def seed(apps, schema_editor):
    Severity = apps.get_model("incidents", "Severity")
    PostmortemPolicy = apps.get_model("postmortems", "PostmortemPolicy")
    ContributingFactor = apps.get_model("postmortems", "ContributingFactor")
    for severity in Severity.objects.filter(name__in=POLICIES):
        required, days = POLICIES[severity.name]
        PostmortemPolicy.objects.get_or_create(
            severity=severity, defaults={"required": required, "action_item_due_days": days}
        )
    for name, slug, description in FACTORS:
        ContributingFactor.objects.get_or_create(
            slug=slug, defaults={"name": name, "description": description}
        )


class Migration(migrations.Migration):
    dependencies = [
        ("postmortems", "0001_initial"),
        ("incidents", "0002_seed_severities"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
