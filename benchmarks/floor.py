"""The floors benchmarks compare with: the least a durable endpoint does (`benchmarks.ingest`),
and nothing at all (`benchmarks.statuspage`).

Each goes through the same gunicorn and middleware as what it is compared with. The insert
commits one row holding the request body before it answers, as an inbox design would.
"""

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

FLOOR_TABLE_SQL = """
    CREATE TABLE IF NOT EXISTS bench_floor (
        id bigserial PRIMARY KEY,
        received_at timestamptz NOT NULL DEFAULT now(),
        body text NOT NULL
    )
"""


def noop(request: HttpRequest) -> HttpResponse:
    """What `benchmarks.statuspage` compares the public page with: a view that does nothing,
    behind the same middleware."""
    return HttpResponse(b"ok", content_type="text/plain")


@csrf_exempt
@require_POST
def floor_insert(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_floor (body) VALUES (%s)", [request.body.decode()])
    return JsonResponse({"status": "ok"})
