"""The public sign-up pages: subscribe, confirm, unsubscribe. No login; thin over
statuspage.subscriptions.services."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.lockout import client_address
from statuspage import selectors
from statuspage.subscriptions import services, tokens
from statuspage.subscriptions.forms import SubscribeForm

THROTTLED_MESSAGE = (
    "Too many sign-ups from here or for this address. Please wait an hour and try again."
)


@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render(request, "statuspage/subscribe/form.html", {"form": SubscribeForm()})
    form = SubscribeForm(request.POST)
    if not form.is_valid():
        return render(request, "statuspage/subscribe/form.html", {"form": form}, status=400)
    try:
        services.subscription_request(
            address=form.cleaned_data["email"],
            components=form.chosen_components(),
            client_address=client_address(request),
        )
    except services.Throttled:
        form.add_error(None, THROTTLED_MESSAGE)
        return render(request, "statuspage/subscribe/form.html", {"form": form}, status=429)
    # The same answer for a new, a pending and a subscribed address.
    return render(
        request, "statuspage/subscribe/sent.html", {"address": form.cleaned_data["email"]}
    )


# GET only shows the link's sign-up with a button: mail scanners and link previews fetch
# links, and a fetch must not subscribe anyone. The button's POST (a normal form, CSRF-checked)
# confirms.
@require_http_methods(["GET", "POST"])
def subscribe_confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        if request.method != "POST":
            sign_up = services.subscription_confirmable(token=token)
            return render(
                request,
                "statuspage/subscribe/confirm.html",
                {"sign_up": sign_up, "components": _names(sign_up)},
            )
        subscriber = services.subscription_confirm(token=token)
    except tokens.InvalidToken as error:
        return render(
            request, "statuspage/subscribe/invalid.html", {"message": str(error)}, status=400
        )
    return render(request, "statuspage/subscribe/confirmed.html", {"subscriber": subscriber})


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
            return render(request, "statuspage/subscribe/unknown.html", status=404)
        return render(request, "statuspage/subscribe/unsubscribed.html", {"subscriber": subscriber})
    subscriber = services.subscriber_by_token(token)
    if subscriber is None:
        return render(request, "statuspage/subscribe/unknown.html", status=404)
    return render(request, "statuspage/subscribe/unsubscribe.html", {"subscriber": subscriber})
