"""The request type of views behind login_required."""

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from accounts.models import User


class AuthedRequest(HttpRequest):
    """A request that passed login_required, with django-htmx's details attached."""

    user: User
    htmx: HtmxDetails
