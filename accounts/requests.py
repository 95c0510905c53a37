"""The signed-in user of a request: the page views' request type, and the DRF views' user."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django_htmx.middleware import HtmxDetails
from rest_framework import exceptions
from rest_framework.request import Request

from accounts.models import User


class AuthedRequest(HttpRequest):
    """A request that passed login_required, with django-htmx's details attached."""

    user: User
    htmx: HtmxDetails


def wants_fragment(request: AuthedRequest) -> bool:
    """An htmx request swaps a fragment in; a history restore after a cache miss needs the
    whole page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def render_fragment_or_page(
    request: AuthedRequest, *, fragment: str, page: str, context: dict[str, Any]
) -> HttpResponse:
    """One URL, two answers: `fragment` for htmx, `page` otherwise."""
    response = render(request, fragment if wants_fragment(request) else page, context)
    # The same URL answers with a fragment or a page, so caches must tell them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


def api_user(request: Request) -> User:
    """The user a DRF request authenticated as; 401 when it is anonymous.

    The API's permission classes already refuse anonymous callers; this makes the type say so.
    """
    user = request.user
    if not isinstance(user, User):
        raise exceptions.NotAuthenticated()
    return user
