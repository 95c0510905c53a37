"""The monthly report page and its CSV (managers and admins)."""

from django.http import HttpRequest, HttpResponse


def monthly_current(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


def monthly(request: HttpRequest, month: str) -> HttpResponse:
    raise NotImplementedError


def monthly_csv(request: HttpRequest, month: str) -> HttpResponse:
    raise NotImplementedError
