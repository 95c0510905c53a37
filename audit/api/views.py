"""The audit trail's API: parse the filters, call the selector, render a page of entries.

The selector checks the caller's role; its PermissionDenied becomes a 403 problem.
"""

from auditlog.models import LogEntry
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics

from accounts.requests import api_user
from audit import selectors
from audit.api.serializers import AuditEntrySerializer, AuditQuerySerializer
from ops.api.schema import problems


@extend_schema_view(
    get=extend_schema(
        tags=["audit"],
        summary="The audit trail",
        description="Changes to configuration, newest first: who made each (null and "
        '`actor_name` "Tocsin" for the system itself), when, to what, and each field before '
        "and after. Secrets are never recorded. Managers and admins.",
        parameters=[AuditQuerySerializer],
        responses={200: AuditEntrySerializer, **problems(403)},
    )
)
class EntryList(generics.ListAPIView[LogEntry]):
    # For the schema only: reads go through the selector, which checks the caller's role.
    queryset = LogEntry.objects.none()
    serializer_class = AuditEntrySerializer

    def get_queryset(self) -> QuerySet[LogEntry]:
        filters = AuditQuerySerializer.parse(self.request.query_params)
        return selectors.entry_list(user=api_user(self.request), filters=filters)
