"""The signed-in user of a request: the page views' request type, and the DRF views' user."""

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails
from rest_framework import exceptions
from rest_framework.request import Request

from accounts.models import User


class AuthedRequest(HttpRequest):
    """A request that passed login_required, with django-htmx's details attached."""

    user: User
    htmx: HtmxDetails


def api_user(request: Request) -> User:
    """The user a DRF request authenticated as; 401 when it is anonymous.

    The API's permission classes already refuse anonymous callers; this makes the type say so.
    """
    user = request.user
    if not isinstance(user, User):
        raise exceptions.NotAuthenticated()
    return user
