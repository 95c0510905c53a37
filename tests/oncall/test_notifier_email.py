"""Email pages, sent through Django's SMTP mailer to a real SMTP server on loopback."""

from dataclasses import replace

import pytest

from oncall.models import ContactKind
from oncall.notifiers import NotifierError, Page, notifier_for
from tests.oncall.factories import ACK_URL, database_down_page

PAGE = database_down_page(
    ContactKind.EMAIL,
    "rosa@example.com",
    html="<html><body><p>Primary database is <b>down</b>.</p>"
    f'<p><a href="{ACK_URL}">Acknowledge</a></p></body></html>',
)


def send(page: Page = PAGE) -> str:
    return notifier_for("email").notify(page)


def test_email_is_delivered_to_the_address_from_the_default_sender(smtp_stub, settings):
    settings.DEFAULT_FROM_EMAIL = "Tocsin <pager@tocsin.example>"

    send()

    [mail] = smtp_stub.messages
    assert mail.rcpt_tos == ["rosa@example.com"]
    assert mail.mail_from == "pager@tocsin.example"
    assert mail.message["Subject"] == "[SEV1] INC-42 Database down"
    assert mail.message["To"] == "rosa@example.com"


def test_email_returns_the_message_id_it_sent(smtp_stub):
    message_id = send()

    [message] = smtp_stub.messages_to("rosa@example.com")
    assert message["Message-ID"] == message_id
    assert message_id.startswith("<") and message_id.endswith(">")


def test_email_carries_the_notification_header(smtp_stub):
    send()

    [message] = smtp_stub.messages_to("rosa@example.com")
    assert message["X-Tocsin-Notification"] == "42"
    assert message["Auto-Submitted"] == "auto-generated"


def test_email_has_text_and_html_alternatives_both_with_the_ack_link(smtp_stub):
    send()

    [message] = smtp_stub.messages_to("rosa@example.com")
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Primary database is not accepting connections." in text
    assert f"Acknowledge: {ACK_URL}" in text
    assert "Incident: https://tocsin.example/incidents/42/" in text
    assert "<b>down</b>" in html
    assert html.count(ACK_URL) == 1


def test_email_adds_the_ack_link_an_html_template_left_out(smtp_stub):
    send(replace(PAGE, html="<html><body><p>Database down.</p></body></html>"))

    [message] = smtp_stub.messages_to("rosa@example.com")
    html = message.get_body(("html",)).get_content()
    assert f'<p><a href="{ACK_URL}">Acknowledge</a></p></body>' in html


def test_email_does_not_repeat_an_ack_link_the_text_already_has(smtp_stub):
    send(replace(PAGE, text=f"Database down. Acknowledge: {ACK_URL}"))

    [message] = smtp_stub.messages_to("rosa@example.com")
    assert message.get_body(("plain",)).get_content().count(ACK_URL) == 1


def test_email_without_html_is_text_only(smtp_stub):
    send(replace(PAGE, html=""))

    [message] = smtp_stub.messages_to("rosa@example.com")
    assert message.get_content_type() == "text/plain"
    assert ACK_URL in message.get_content()


def test_email_flattens_line_breaks_in_the_subject(smtp_stub):
    send(replace(PAGE, subject="INC-42\r\nBcc: everyone@example.com"))

    [mail] = smtp_stub.messages
    assert mail.rcpt_tos == ["rosa@example.com"]
    assert mail.message["Subject"] == "INC-42 Bcc: everyone@example.com"
    assert mail.message["Bcc"] is None


def test_email_recipient_refused_with_5xx_is_permanent(smtp_stub):
    smtp_stub.refuse("rosa@example.com", reply="550 5.1.1 User unknown")

    with pytest.raises(NotifierError) as raised:
        send()

    assert raised.value.permanent is True
    assert "550" in raised.value.message
    smtp_stub.assert_nothing_sent()


def test_email_recipient_deferred_with_4xx_is_transient(smtp_stub):
    smtp_stub.refuse("rosa@example.com", reply="450 4.2.1 Mailbox busy, try later")

    with pytest.raises(NotifierError) as raised:
        send()

    assert raised.value.permanent is False
    smtp_stub.assert_nothing_sent()


def test_email_unparseable_address_is_permanent(smtp_stub):
    with pytest.raises(NotifierError) as raised:
        send(replace(PAGE, address="rosa@example.com, mallory@example.com"))

    assert raised.value.permanent is True
    smtp_stub.assert_nothing_sent()


def test_email_server_refusing_connections_is_transient(settings, unused_port):
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": unused_port, "timeout": 1},
        }
    }

    with pytest.raises(NotifierError) as raised:
        send()

    assert raised.value.permanent is False


def test_email_server_timeout_is_transient(smtp_stub, settings):
    settings.MAILERS = {"default": smtp_stub.mailer(timeout=0.2)}
    smtp_stub.stall_rcpt(2)

    with pytest.raises(NotifierError) as raised:
        send()

    assert raised.value.permanent is False
    smtp_stub.assert_nothing_sent()
