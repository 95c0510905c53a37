from django.db import models


class HeartbeatKind(models.TextChoices):
    BEAT = "beat", "Beat"
    QUEUE = "queue", "Queue"


class Heartbeat(models.Model):
    """When beat, or a worker consuming a queue, was last seen alive: one row each."""

    kind = models.CharField(max_length=16, choices=HeartbeatKind.choices)
    # The queue's name, or "beat".
    name = models.CharField(max_length=100)
    # The Celery node (or host, for beat) that wrote last.
    hostname = models.CharField(max_length=255)
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "name"], name="ops_heartbeat_kind_name")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.name} at {self.seen_at:%Y-%m-%d %H:%M:%S}"
