"""A second step before what cannot be undone, asked by the server.

A view whose POST cannot be taken back (delete, end, rotate a secret) first checks
`confirmed(request)`; when the post does not carry the confirmation it answers with
`confirmation_page(...)`, which says what will happen and posts the same fields to the same
address again, confirmed. It needs no JavaScript, is an ordinary page for the keyboard and a
screen reader, and an old form or a replayed post cannot skip it.

Check the permission before asking: a person who may not do it should be told so at once, not
after confirming.
"""

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

CONFIRM_FIELD = "confirmed"
CONFIRM_VALUE = "yes"


@dataclass(frozen=True)
class Confirmation:
    question: str  # the page's heading: "Delete the schedule Payments primary?"
    consequence: str  # what happens, and that it cannot be undone
    action: str  # the button that does it: "Delete schedule"
    cancel_url: str  # where "Cancel" goes back to


def confirmed(request: HttpRequest) -> bool:
    return request.POST.get(CONFIRM_FIELD) == CONFIRM_VALUE


def confirmation_page(request: HttpRequest, confirmation: Confirmation) -> HttpResponse:
    # The post's own fields go with the confirmed one; the CSRF token is the page's own.
    fields = [
        (name, value)
        for name, values in request.POST.lists()
        if name not in {"csrfmiddlewaretoken", CONFIRM_FIELD}
        for value in values
    ]
    return render(
        request,
        "ops/confirm.html",
        {
            "confirmation": confirmation,
            "action_url": request.get_full_path(),
            "fields": fields,
            "confirm_field": CONFIRM_FIELD,
            "confirm_value": CONFIRM_VALUE,
        },
    )
