"""The floor `benchmarks.ingest` compares the webhook with: the least a durable endpoint does.

It goes through the same gunicorn, middleware and database as the webhook, and commits one row
holding the request body before it answers, as an inbox design would.
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


@csrf_exempt
@require_POST
def floor_insert(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_floor (body) VALUES (%s)", [request.body.decode()])
    return JsonResponse({"status": "ok"})
