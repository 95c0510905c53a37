from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from auditlog.models import LogEntry
        from django.db.models.signals import pre_save

        from audit import actors, set_null, team_people, tracked

        tracked.register()
        team_people.connect()
        set_null.connect()
        pre_save.connect(actors.name_actor, sender=LogEntry, dispatch_uid="audit.name_actor")
        pre_save.connect(
            tracked.redact_addresses, sender=LogEntry, dispatch_uid="audit.redact_addresses"
        )
        pre_save.connect(
            tracked.mark_rotations, sender=LogEntry, dispatch_uid="audit.mark_rotations"
        )
