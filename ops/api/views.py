"""The OpenAPI schema's view, apart from ops.api.schema (what goes in it).

REST_FRAMEWORK's DEFAULT_SCHEMA_CLASS names ops.api.schema, and drf_spectacular.views reads that
setting while it is first imported: a schema module that imported drf_spectacular.views back
could not be loaded when the URLconf was the first to import drf_spectacular.views.
"""

import threading
from typing import Any

from drf_spectacular.views import SpectacularAPIView
from rest_framework.request import Request
from rest_framework.response import Response


class SchemaView(SpectacularAPIView):
    """/api/schema/, generated once per process.

    The schema depends on the code alone, generating it takes about a second, and
    drf-spectacular's first generation is not thread-safe: it loads its extensions lazily, and
    two requests at once on a fresh process answered 500.
    """

    _lock = threading.Lock()
    _schema: dict[str, Any] | None = None

    def _get_schema_response(self, request: Request) -> Response:
        with self._lock:
            if SchemaView._schema is None:
                generator = self.generator_class(urlconf=self.urlconf, patterns=self.patterns)
                SchemaView._schema = generator.get_schema(  # type: ignore[no-untyped-call]
                    request=request, public=self.serve_public
                )
        filename = self._get_filename(request, None)  # type: ignore[no-untyped-call]
        return Response(
            data=SchemaView._schema,
            headers={"Content-Disposition": f'inline; filename="{filename}"'},
        )
