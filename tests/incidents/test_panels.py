"""The incident page's panel registry: other apps' sections, at the top or the bottom."""

import pytest
from django.test import RequestFactory

from incidents import panels
from tests.factories import declare

pytestmark = pytest.mark.django_db


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty registry for the test (the apps' panels are back after it), whose panels
    render as their template's name."""
    monkeypatch.setattr(panels, "_panels", {})
    monkeypatch.setattr(panels, "render_to_string", lambda name, context, request: name)


def render(responder, placement: panels.Placement) -> list[str]:
    incident = declare(responder)
    request = RequestFactory().get(incident.get_absolute_url())
    request.user = responder
    return panels.render_panels(incident=incident, request=request, placement=placement)


def test_a_panel_goes_to_the_bottom_unless_it_asks_for_the_top(registry, responder):
    panels.register_panel("below.html", lambda incident, request: {})
    panels.register_panel(
        "above.html", lambda incident, request: {}, placement=panels.Placement.TOP
    )

    assert render(responder, panels.Placement.BOTTOM) == ["below.html"]
    assert render(responder, panels.Placement.TOP) == ["above.html"]


def test_a_panel_with_nothing_to_show_is_left_out(registry, responder):
    panels.register_panel(
        "above.html", lambda incident, request: None, placement=panels.Placement.TOP
    )

    assert render(responder, panels.Placement.TOP) == []
