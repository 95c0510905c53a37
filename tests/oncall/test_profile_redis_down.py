"""My paging settings with Redis refusing connections: methods are added and codes sent, and
the send budget still holds, counted from the codes and test pages on record."""

import pytest
from django.urls import reverse

from oncall.models import ContactMethod, Notification, NotificationKind
from oncall.views.paging_settings import SEND_BUDGET
from tests.oncall.factories import contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, responder):
    client.force_login(responder)
    return client


def test_adding_a_contact_method_sends_its_code_with_redis_refused(
    signed_in, responder, redis_refused
):
    response = signed_in.post(
        reverse("oncall:contact-method-add"),
        {"kind": "email", "address": "rosa@example.com", "label": ""},
    )

    assert response.status_code == 302
    method = ContactMethod.objects.get(user=responder)
    assert method.address == "rosa@example.com"
    assert Notification.objects.filter(
        contact_method=method, kind=NotificationKind.VERIFICATION
    ).exists()


def test_the_send_budget_holds_with_redis_refused(signed_in, responder, redis_refused):
    method = contact(responder)
    for _ in range(SEND_BUDGET):
        signed_in.post(reverse("oncall:contact-method-test", kwargs={"pk": method.pk}))

    response = signed_in.post(
        reverse("oncall:contact-method-add"),
        {"kind": "email", "address": "other@example.com", "label": ""},
    )

    assert response.status_code == 400
    assert "Wait ten minutes" in response.content.decode()
    assert Notification.objects.count() == SEND_BUDGET
    assert not ContactMethod.objects.filter(address="other@example.com").exists()
