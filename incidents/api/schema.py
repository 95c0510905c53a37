"""OpenAPI pieces the views share: the token scheme and the problem-details error answers."""

from http import HTTPStatus

from drf_spectacular.authentication import TokenScheme
from drf_spectacular.utils import OpenApiResponse

from incidents.api.serializers import ProblemSerializer
from ops.problems import PROBLEM_CONTENT_TYPE


class ApiTokenScheme(TokenScheme):  # type: ignore[no-untyped-call]
    """Documents `Authorization: Token <key>`; drf-spectacular finds it by subclassing."""

    target_class = "accounts.authentication.ApiTokenAuthentication"
    name = "tokenAuth"
    priority = 0


PROBLEM_DESCRIPTIONS = {
    400: "Malformed JSON or invalid fields; `errors` maps each field to its messages.",
    401: "No credentials, or a wrong or inactive token.",
    403: "Your role may not do this.",
    404: "No such incident, or a private one you take no part in.",
    405: "The method is not allowed here.",
    409: "The incident's lifecycle does not allow this now.",
    413: "The request body is over the size limit.",
    415: "The body is not JSON.",
}


def problems(*codes: int) -> dict[int | tuple[int, str], OpenApiResponse]:
    """The error answers an operation may give, each an application/problem+json body."""
    return {
        (code, PROBLEM_CONTENT_TYPE): OpenApiResponse(
            ProblemSerializer,
            description=PROBLEM_DESCRIPTIONS.get(code, HTTPStatus(code).phrase),
        )
        for code in codes
    }


# Every endpoint answers these.
READ_PROBLEMS = (401,)
# Every endpoint that takes a JSON body may also answer these.
BODY_PROBLEMS = (400, 401, 403, 413, 415)
