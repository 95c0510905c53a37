from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

PING_KEY = "ops:ping:{token}"


@shared_task
def ping(token: str) -> str:
    """Proves a worker consumes the queue: records when it saw `token`, in the shared cache."""
    cache.set(PING_KEY.format(token=token), timezone.now().isoformat(), timeout=3600)
    return token
