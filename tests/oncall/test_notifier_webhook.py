"""Outgoing webhook pages: signed JSON POSTs to a local receiver."""

import json
import socket
import threading
import time
from dataclasses import replace

import pytest

from oncall.models import ContactKind
from oncall.notifiers import NotifierError, notifier_for
from oncall.notifiers.webhook import is_public, verify_signature
from tests.oncall.factories import database_down_page

SECRET = "whsec-0123456789abcdef"
PAGE = database_down_page(
    ContactKind.WEBHOOK,
    "set per test",
    secret=SECRET,
    payload={"event": "incident.paged", "incident": {"number": 42, "severity": "SEV1"}},
)


def send(receiver, **changes) -> str:
    return notifier_for("webhook").notify(replace(PAGE, address=receiver.url_for(), **changes))


def test_webhook_posts_the_payload_with_the_page_fields(webhook_receiver):
    send(webhook_receiver)

    [request] = webhook_receiver.requests
    assert (request.method, request.path) == ("POST", "/hooks/tocsin")
    assert request.json() == {
        "event": "incident.paged",
        "incident": {"number": 42, "severity": "SEV1"},
        "notification_id": 42,
        "subject": "[SEV1] INC-42 Database down",
        "text": "Primary database is not accepting connections.",
        "ack_url": "https://tocsin.example/ack/42/s1gn3d/",
        "incident_url": "https://tocsin.example/incidents/42/",
    }


def test_webhook_identifies_itself_and_the_notification(webhook_receiver):
    before = int(time.time())

    send(webhook_receiver)

    [request] = webhook_receiver.requests
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "Tocsin"
    assert request.headers["x-tocsin-notification"] == "42"
    assert before <= int(request.headers["x-tocsin-timestamp"]) <= int(time.time())


def test_webhook_signature_verifies_with_verify_signature(webhook_receiver):
    send(webhook_receiver)

    [request] = webhook_receiver.requests
    assert request.headers["x-tocsin-signature"].startswith("v1=")
    assert verify_signature(
        SECRET,
        request.headers["x-tocsin-timestamp"],
        request.body,
        request.headers["x-tocsin-signature"],
        now=time.time(),
    )


def test_webhook_signature_fails_for_a_tampered_body(webhook_receiver):
    send(webhook_receiver)

    [request] = webhook_receiver.requests
    document = request.json()
    document["ack_url"] = "https://attacker.example/"
    assert not verify_signature(
        SECRET,
        request.headers["x-tocsin-timestamp"],
        json.dumps(document, separators=(",", ":")),
        request.headers["x-tocsin-signature"],
        now=time.time(),
    )


def test_webhook_signature_fails_for_a_replaced_timestamp(webhook_receiver):
    send(webhook_receiver)

    [request] = webhook_receiver.requests
    later = str(int(request.headers["x-tocsin-timestamp"]) + 1)
    assert not verify_signature(
        SECRET, later, request.body, request.headers["x-tocsin-signature"], now=time.time()
    )


def test_webhook_signature_fails_when_stale(webhook_receiver):
    send(webhook_receiver)

    [request] = webhook_receiver.requests
    sent_at = int(request.headers["x-tocsin-timestamp"])
    signed = (request.headers["x-tocsin-timestamp"], request.body)
    signature = request.headers["x-tocsin-signature"]
    assert verify_signature(SECRET, *signed, signature, now=sent_at + 300)
    assert not verify_signature(SECRET, *signed, signature, now=sent_at + 301)
    assert not verify_signature(SECRET, *signed, signature, now=sent_at - 301)


def test_webhook_signature_fails_for_another_secret(webhook_receiver):
    send(webhook_receiver)

    [request] = webhook_receiver.requests
    assert not verify_signature(
        "whsec-other",
        request.headers["x-tocsin-timestamp"],
        request.body,
        request.headers["x-tocsin-signature"],
        now=time.time(),
    )


@pytest.mark.parametrize(("timestamp", "header"), [("", "v1=00"), ("soon", "v1=00"), ("0", "")])
def test_webhook_signature_fails_for_malformed_headers(timestamp, header):
    assert not verify_signature(SECRET, timestamp, b"{}", header, now=0)


def test_webhook_without_secret_is_sent_unsigned(webhook_receiver):
    send(webhook_receiver, secret="")

    [request] = webhook_receiver.requests
    assert "x-tocsin-signature" not in request.headers


def test_webhook_returns_the_receivers_request_id(webhook_receiver):
    webhook_receiver.respond_with(202, headers={"X-Request-Id": "rcv-7f3a"})

    assert send(webhook_receiver) == "rcv-7f3a"


def test_webhook_returns_an_empty_id_when_the_receiver_gives_none(webhook_receiver):
    webhook_receiver.respond_with(204)

    assert send(webhook_receiver) == ""


def test_webhook_redirect_is_permanent_and_not_followed(webhook_receiver):
    webhook_receiver.respond_with(302, headers={"Location": webhook_receiver.url_for("/moved")})

    with pytest.raises(NotifierError) as raised:
        send(webhook_receiver)

    assert raised.value.permanent is True
    assert [request.path for request in webhook_receiver.requests] == ["/hooks/tocsin"]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
def test_webhook_client_error_is_permanent(webhook_receiver, status):
    webhook_receiver.respond_with(status, body=b"no such hook")

    with pytest.raises(NotifierError) as raised:
        send(webhook_receiver)

    assert raised.value.permanent is True
    assert raised.value.message == f"Webhook answered {status}"


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_webhook_server_error_or_throttling_is_transient(webhook_receiver, status):
    webhook_receiver.respond_with(status)

    with pytest.raises(NotifierError) as raised:
        send(webhook_receiver)

    assert raised.value.permanent is False


def test_webhook_rate_limit_carries_retry_after(webhook_receiver):
    webhook_receiver.respond_with(429, headers={"Retry-After": "12"})

    with pytest.raises(NotifierError) as raised:
        send(webhook_receiver)

    assert raised.value.retry_after == 12


def test_webhook_timeout_is_transient(webhook_receiver, settings):
    settings.NOTIFIER_TIMEOUT = 0.2
    webhook_receiver.respond_with(200, delay=2)

    with pytest.raises(NotifierError) as raised:
        send(webhook_receiver)

    assert raised.value.permanent is False


def test_webhook_refused_connection_is_transient(unused_port):
    with pytest.raises(NotifierError) as raised:
        notifier_for("webhook").notify(replace(PAGE, address=f"http://127.0.0.1:{unused_port}/"))

    assert raised.value.permanent is False


@pytest.mark.parametrize("address", ["ftp://example.com/hook", "example.com/hook", "http://"])
def test_webhook_unusable_url_is_permanent(address):
    with pytest.raises(NotifierError) as raised:
        notifier_for("webhook").notify(replace(PAGE, address=address))

    assert raised.value.permanent is True


def test_a_webhook_to_a_private_address_is_refused_at_send_time(webhook_receiver, settings):
    # Added while the name pointed outside; it resolves to loopback now.
    settings.WEBHOOK_PRIVATE_DESTINATIONS_ALLOWED = False

    with pytest.raises(NotifierError) as raised:
        send(webhook_receiver)

    assert raised.value.permanent is True
    webhook_receiver.assert_nothing_sent()


def test_the_receivers_answer_is_not_repeated_in_the_error(webhook_receiver):
    webhook_receiver.respond_with(403, body=b"INTERNAL-SECRET-TOKEN")

    with pytest.raises(NotifierError) as raised:
        send(webhook_receiver)

    assert "INTERNAL-SECRET" not in raised.value.message
    assert "403" in raised.value.message


def test_a_name_that_rebinds_to_loopback_after_the_check_is_not_followed(
    webhook_receiver, settings, monkeypatch
):
    # DNS rebinding: the name answers a public address to the check, then loopback (where
    # an internal service listens) to whoever resolves it again to connect.
    settings.WEBHOOK_PRIVATE_DESTINATIONS_ALLOWED = False
    settings.NOTIFIER_TIMEOUT = 0.5
    real_getaddrinfo = socket.getaddrinfo
    answers = iter(["93.184.216.34", "127.0.0.1", "127.0.0.1"])
    asked: list[str] = []

    def rebinding(host, port, *args, **kwargs):
        if host != "rebind.example":
            return real_getaddrinfo(host, port, *args, **kwargs)
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port or 0))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    port = webhook_receiver.url.rsplit(":", 1)[1]

    with pytest.raises(NotifierError) as raised:
        notifier_for("webhook").notify(
            replace(PAGE, address=f"http://rebind.example:{port}/hooks/tocsin")
        )

    assert raised.value.permanent is False
    assert asked == ["rebind.example"], "resolved once: the address checked is the one used"
    webhook_receiver.assert_nothing_sent()


# IPv6 addresses that reach IPv4 ones: each carries (or could carry) an internal address.
INTERNAL_BEHIND_IPV6 = [
    pytest.param("64:ff9b::a9fe:a9fe", id="nat64-metadata"),
    pytest.param("64:ff9b::7f00:1", id="nat64-loopback"),
    pytest.param("64:ff9b::a00:7", id="nat64-private"),
    pytest.param("64:ff9b:1::a9fe:a9fe", id="local-nat64"),
    pytest.param("64:ff9b:1::808:808", id="local-nat64-any"),
    # SIIT's IPv4-translated form (RFC 2765), which Python's tables call global.
    pytest.param("::ffff:0:a9fe:a9fe", id="ipv4-translated-metadata"),
    pytest.param("::ffff:0:7f00:1", id="ipv4-translated-loopback"),
    # Site-local (RFC 3879): deprecated, still routed inside old networks; Python calls it global.
    pytest.param("fec0::1", id="site-local"),
    pytest.param("2002:a9fe:a9fe::1", id="6to4-metadata"),
    pytest.param("2002:808:808::1", id="6to4-any"),
    pytest.param("2001:0:4136:e378:8000:63bf:3fff:fdd2", id="teredo"),
    pytest.param("::ffff:169.254.169.254", id="ipv4-mapped-metadata"),
    pytest.param("::ffff:127.0.0.1", id="ipv4-mapped-loopback"),
    pytest.param("::169.254.169.254", id="ipv4-compatible-metadata"),
    pytest.param("::8.8.8.8", id="ipv4-compatible-any"),
    pytest.param("ff02::1", id="multicast-v6"),
    pytest.param("224.0.0.1", id="multicast-v4"),
]


@pytest.mark.parametrize("address", INTERNAL_BEHIND_IPV6)
def test_an_address_reaching_an_internal_or_untraceable_ipv4_one_is_not_public(address):
    assert is_public(address) is False


@pytest.mark.parametrize(
    "address",
    ["64:ff9b::808:808", "::ffff:8.8.8.8", "8.8.8.8", "2606:4700:4700::1111"],
)
def test_nat64_and_mapped_addresses_of_public_ipv4_hosts_stay_public(address):
    # An IPv6-only host reaches every IPv4 webhook through NAT64.
    assert is_public(address) is True


@pytest.mark.parametrize("address", INTERNAL_BEHIND_IPV6)
def test_a_webhook_to_an_ipv4_embedding_address_is_refused_at_send_time(
    webhook_receiver, settings, address
):
    settings.WEBHOOK_PRIVATE_DESTINATIONS_ALLOWED = False
    host = f"[{address}]" if ":" in address else address

    with pytest.raises(NotifierError) as raised:
        notifier_for("webhook").notify(replace(PAGE, address=f"http://{host}/hooks/tocsin"))

    assert raised.value.permanent is True
    assert "not a public address" in raised.value.message


def dual_stack(monkeypatch, name: str, addresses: list[str]) -> None:
    """`name` resolves to `addresses`, in that order. At the stdlib boundary: the system's
    resolver has no name for both loopbacks, and nothing of ours is replaced."""
    real_getaddrinfo = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        if host != name:
            return real_getaddrinfo(host, port, *args, **kwargs)
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, 0))
            for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


def test_a_refused_first_address_falls_back_to_the_next_one_checked(webhook_receiver, monkeypatch):
    # The receiver listens on 127.0.0.1 only: [::1] on its port refuses.
    dual_stack(monkeypatch, "dual.example", ["::1", "127.0.0.1"])
    port = webhook_receiver.url.rsplit(":", 1)[1]

    provider_id = notifier_for("webhook").notify(
        replace(PAGE, address=f"http://dual.example:{port}/hooks/tocsin")
    )

    assert provider_id == "req-1"
    [request] = webhook_receiver.requests
    assert request.headers["host"] == f"dual.example:{port}"


@pytest.fixture
def black_hole_on_ipv6_loopback(webhook_receiver):
    """[::1] on the receiver's port accepts no connection and refuses none: a full backlog
    drops SYNs, so connecting there times out, as a broken IPv6 route does."""
    port = int(webhook_receiver.url.rsplit(":", 1)[1])
    listener = socket.socket(socket.AF_INET6)
    listener.bind(("::1", port))
    listener.listen(0)
    filler = socket.create_connection(("::1", port), timeout=1)
    yield
    filler.close()
    listener.close()


def test_a_first_address_that_times_out_falls_back_within_the_timeout(
    webhook_receiver, black_hole_on_ipv6_loopback, monkeypatch, settings
):
    settings.NOTIFIER_TIMEOUT = 2
    dual_stack(monkeypatch, "dual.example", ["::1", "127.0.0.1"])
    port = webhook_receiver.url.rsplit(":", 1)[1]
    started = time.monotonic()

    notifier_for("webhook").notify(
        replace(PAGE, address=f"http://dual.example:{port}/hooks/tocsin")
    )

    assert time.monotonic() - started < 2.5
    assert len(webhook_receiver.requests) == 1


def test_when_no_address_answers_the_failure_is_transient_and_names_each(monkeypatch, unused_port):
    dual_stack(monkeypatch, "dual.example", ["::1", "127.0.0.1"])

    with pytest.raises(NotifierError) as raised:
        notifier_for("webhook").notify(
            replace(PAGE, address=f"http://dual.example:{unused_port}/hooks/tocsin")
        )

    assert raised.value.permanent is False
    assert "::1" in raised.value.message
    assert "127.0.0.1" in raised.value.message


def test_a_fallback_never_leaves_the_addresses_checked(webhook_receiver, monkeypatch, settings):
    # One public address that refuses, then loopback: the check refuses the whole name, so
    # no fallback can reach an address the check did not pass.
    settings.WEBHOOK_PRIVATE_DESTINATIONS_ALLOWED = False
    dual_stack(monkeypatch, "dual.example", ["93.184.216.34", "127.0.0.1"])
    port = webhook_receiver.url.rsplit(":", 1)[1]

    with pytest.raises(NotifierError) as raised:
        notifier_for("webhook").notify(
            replace(PAGE, address=f"http://dual.example:{port}/hooks/tocsin")
        )

    assert raised.value.permanent is True
    webhook_receiver.assert_nothing_sent()


@pytest.fixture
def trickling_receiver():
    """A receiver that reads the page, then sends its answer's head a byte every 0.3 s for
    6 s: each read is quick, the whole answer is not."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            head = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 20 + b"\r\nContent-Length: 0\r\n\r\n"
            for byte in head:
                if stop.wait(0.3):
                    return
                try:
                    connection.sendall(bytes([byte]))
                except OSError:
                    return  # the notifier gave up and closed the connection

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
    stop.set()
    listener.close()
    server.join(timeout=5)


def test_a_receiver_trickling_its_answer_cannot_hold_a_delivery_past_the_timeout(
    trickling_receiver, settings
):
    # Otherwise a few such receivers would hold the pager's threads, and everyone's pages.
    settings.NOTIFIER_TIMEOUT = 1

    started = time.monotonic()
    with pytest.raises(NotifierError) as raised:
        notifier_for("webhook").notify(replace(PAGE, address=trickling_receiver))

    assert time.monotonic() - started < 2.5
    assert raised.value.permanent is False
