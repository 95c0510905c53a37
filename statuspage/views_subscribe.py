"""The public sign-up pages: subscribe, confirm, unsubscribe. No login; thin over
statuspage.subscriptions.services. They wear the public page's look (statuspage/base.html) but
go through the site's full middleware stack (a form needs its CSRF cookie), so each answer
carries the page's CSP, which allows its accent style by hash."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.lockout import client_address
from statuspage import caching, selectors, views
from statuspage.subscriptions import services, tokens
from statuspage.subscriptions.forms import SubscribeForm

THROTTLED_MESSAGE = (
    "Too many sign-ups from here or for this address. Please wait an hour and try again."
)


def _page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    with timezone.override(caching.page_zone()):
        response = render(
            request, template, {**views.page_context(), **(context or {})}, status=status
        )
    response._csp_config = views.page_csp()  # type: ignore[attr-defined]
    return response


@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request, "statuspage/subscribe/form.html", {"form": SubscribeForm()})
    form = SubscribeForm(request.POST)
    if not form.is_valid():
        return _page(request, "statuspage/subscribe/form.html", {"form": form}, status=400)
    try:
        services.subscription_request(
            address=form.cleaned_data["email"],
            components=form.chosen_components(),
            client_address=client_address(request),
        )
    except services.Throttled:
        form.add_error(None, THROTTLED_MESSAGE)
        return _page(request, "statuspage/subscribe/form.html", {"form": form}, status=429)
    # The same answer for a new, a pending and a subscribed address.
    return _page(request, "statuspage/subscribe/sent.html", {"address": form.cleaned_data["email"]})


# GET only shows the link's sign-up with a button: mail scanners and link previews fetch
# links, and a fetch must not subscribe anyone. The button's POST (a normal form, CSRF-checked)
# confirms.
@require_http_methods(["GET", "POST"])
def subscribe_confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        if request.method != "POST":
            sign_up = services.subscription_confirmable(token=token)
            return _page(
                request,
                "statuspage/subscribe/confirm.html",
                {"sign_up": sign_up, "components": _names(sign_up)},
            )
        subscriber = services.subscription_confirm(token=token)
    except tokens.InvalidToken as error:
        return _page(
            request, "statuspage/subscribe/invalid.html", {"message": str(error)}, status=400
        )
    return _page(request, "statuspage/subscribe/confirmed.html", {"subscriber": subscriber})


def _names(sign_up: tokens.SignUp) -> list[str] | None:
    if sign_up.components is None:
        return None
    chosen = set(sign_up.components)
    return [str(c) for c in selectors.visible_components() if c.code in chosen]


# RFC 8058: a mail client POSTs "List-Unsubscribe=One-Click" to the link with no cookies and
# no page, so there is no CSRF token; the link's random token is what authorises it.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "POST":
        subscriber = services.subscriber_unsubscribe(token=token)
        if subscriber is None:
            return _page(request, "statuspage/subscribe/unknown.html", status=404)
        return _page(request, "statuspage/subscribe/unsubscribed.html", {"subscriber": subscriber})
    subscriber = services.subscriber_by_token(token)
    if subscriber is None:
        return _page(request, "statuspage/subscribe/unknown.html", status=404)
    return _page(request, "statuspage/subscribe/unsubscribe.html", {"subscriber": subscriber})
