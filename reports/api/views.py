"""The reports API: the monthly report as JSON (reports.export.report_json), for managers and
admins; anyone else is refused with 403 problem details, a month that is not one or has not
begun with 400."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.requests import api_user
from incidents.permissions import Action, require
from ops.api.schema import problems
from ops.problems import PROBLEM_CONTENT_TYPE, problem_body
from reports.api.serializers import MonthlyReportSerializer
from reports.builder import monthly_report
from reports.export import report_json
from reports.months import FIRST_YEAR, LAST_YEAR, reportable_month

# Exactly the months Month.parse accepts (years FIRST_YEAR to LAST_YEAR); of those, a month that
# has not begun is refused, which no pattern can say (tests/test_api_schemathesis.py knows).
MONTH_PATTERN = r"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])$"

MONTH_PARAMETER = OpenApiParameter(
    "month",
    {"type": "string", "pattern": MONTH_PATTERN},
    OpenApiParameter.PATH,
    description="YYYY-MM: a calendar month in the organisation's time zone, "
    f"{FIRST_YEAR}-01 to {LAST_YEAR}-12, and not after the current month.",
)


def _month_problem(request: Request, message: str) -> Response:
    body = problem_body(
        status.HTTP_400_BAD_REQUEST,
        detail=message,
        errors={"month": [message]},
        instance=request.path,
    )
    return Response(body, status=status.HTTP_400_BAD_REQUEST, content_type=PROBLEM_CONTENT_TYPE)


class MonthlyReportView(APIView):
    @extend_schema(
        tags=["reports"],
        summary="Monthly incident report",
        description="The month's incidents, drills aside: each metric (`metrics` defines them; "
        "`anchor` says where MTTR starts) as n, mean, median, p90 and max with how many "
        "incidents were left out, overall and by severity, service and team, against the "
        "month before; the 12-month trend, top services and causes, action items, responder "
        "load, recommendations and the incidents themselves. Durations in seconds, times in "
        "ISO 8601 with the organisation's offset. Managers and admins only.",
        parameters=[MONTH_PARAMETER],
        responses={
            200: MonthlyReportSerializer,
            **problems(
                400,
                403,
                _400="The month is not one, or has not begun: `detail` says why.",
                _403="Only managers and admins may read the incident reports.",
            ),
        },
    )
    def get(self, request: Request, month: str) -> Response:
        require(api_user(request), Action.READ_REPORTS)
        try:
            parsed = reportable_month(month)
        except ValueError as exc:
            return _month_problem(request, str(exc))
        return Response(report_json(monthly_report(parsed)))
