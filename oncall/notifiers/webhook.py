"""Outgoing webhook pages: a signed JSON POST to the contact method's URL."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import json
import socket
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
import urllib3
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

from oncall.models import ContactKind
from oncall.notifiers.base import Notifier, NotifierError, Page, parse_retry_after

SIGNATURE_VERSION = "v1"
# Statuses that say "later" rather than "never".
_TRANSIENT_4XX = frozenset({408, 425, 429})
# Enough of an error response to explain the failure in the delivery row.


class WebhookNotifier(Notifier):
    method = ContactKind.WEBHOOK

    def notify(self, page: Page) -> str:
        try:
            parts = urlsplit(page.address)
            port = parts.port
        except ValueError as error:
            raise NotifierError(f"Invalid webhook URL: {error}", permanent=True) from error
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise NotifierError(
                f"Webhook URL must be http(s)://host/...: {page.address!r}", permanent=True
            )
        # Checked again at each send: the name may resolve elsewhere than when it was added.
        # And connected to as checked: resolving once more to connect would let a name answer
        # a public address to the check and an internal one to the connection (DNS rebinding).
        addresses, refused = resolve_destination(parts.hostname)
        if refused:
            raise NotifierError(refused, permanent=True)
        body = webhook_body(page)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Tocsin",
            "X-Tocsin-Notification": str(page.notification_id),
            "X-Tocsin-Timestamp": timestamp,
        }
        if page.secret:
            headers["X-Tocsin-Signature"] = sign(page.secret, timestamp, body)
        if parts.username:
            credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            headers.update(urllib3.make_headers(basic_auth=credentials))
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers["Host"] = parts.netloc.rpartition("@")[2]
        status, response_headers = post_to_checked_addresses(
            parts.scheme, parts.hostname, port, addresses, path, body, headers
        )
        return _outcome(status, response_headers)


def post_to_checked_addresses(
    scheme: str,
    hostname: str,
    port: int | None,
    addresses: list[str],
    path: str,
    body: str,
    headers: dict[str, str],
    *,
    budget: float | None = None,
) -> tuple[int, Mapping[str, str]]:
    """POST to the first of the checked `addresses` that accepts a connection. Every signed
    webhook Tocsin sends goes through here (status page subscribers too).

    A dual-stack name whose IPv6 address is unreachable from here must still be paged over
    IPv4 (and the other way round). Only the addresses checked are tried, never the name
    resolved again. A failure after connecting is not retried elsewhere: the receiver may
    have the page already. One budget (NOTIFIER_TIMEOUT unless given) covers the whole
    exchange, connects and answer alike, so neither a list of unreachable addresses nor a
    receiver trickling its answer can hold a delivery (and a pager thread) past it.
    """
    if budget is None:
        budget = settings.NOTIFIER_TIMEOUT
    deadline = time.monotonic() + budget
    failures: list[str] = []
    for index, address in enumerate(addresses):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        # Each address left gets its share of what remains; a refusal is quick, and the
        # next address inherits the time it did not use.
        timeout = urllib3.Timeout(connect=remaining / (len(addresses) - index), read=remaining)
        pool = _pool(scheme, hostname, address, port, timeout, deadline)
        try:
            response = pool.urlopen(
                "POST",
                path,
                body=body.encode(),
                headers=headers,
                # A redirect could point a signed page anywhere; the owner should fix the URL.
                redirect=False,
                retries=False,
                # Only the status and headers matter; a huge or endless body is not read.
                preload_content=False,
            )
            response.release_conn()
            return response.status, response.headers
        except (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError) as e:
            failures.append(f"{address}: {e!r}")
        except urllib3.exceptions.HTTPError as error:
            raise NotifierError(f"Webhook unreachable: {error!r}", permanent=False) from error
        finally:
            pool.close()
    raise NotifierError(f"Webhook unreachable: {'; '.join(failures)}", permanent=False)


class _Deadline:
    """Shuts the connection down at `deadline` (time.monotonic()), whatever it is waiting for.

    A read timeout bounds each read, not the answer: a receiver sending a byte of its headers
    every few seconds would keep the delivery going for ever.
    """

    sock: socket.socket | None

    def __init__(self, *args: Any, deadline: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline = deadline
        self._watchdog: threading.Timer | None = None

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        self._watchdog = threading.Timer(max(self._deadline - time.monotonic(), 0), self._expire)
        self._watchdog.daemon = True
        self._watchdog.start()

    def _expire(self) -> None:
        sock = self.sock
        if sock is not None:
            # The pending read returns at once, empty, and the exchange fails as cut off.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        super().close()  # type: ignore[misc]


class _HTTPConnection(_Deadline, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_Deadline, urllib3.connection.HTTPSConnection):
    pass


def _pool(
    scheme: str,
    hostname: str,
    address: str,
    port: int | None,
    timeout: urllib3.Timeout,
    deadline: float,
) -> urllib3.HTTPConnectionPool:
    if scheme == "https":
        pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
            address,
            port or 443,
            timeout=timeout,
            deadline=deadline,
            # The certificate must be the name's, although the connection is to an address.
            server_hostname=hostname,
            assert_hostname=hostname,
            cert_reqs="CERT_REQUIRED",
            # The CA bundle requests trusts, as the other notifiers do.
            ca_certs=requests.utils.DEFAULT_CA_BUNDLE_PATH,
        )
        pool.ConnectionCls = _HTTPSConnection
        return pool
    pool = urllib3.HTTPConnectionPool(address, port or 80, timeout=timeout, deadline=deadline)
    pool.ConnectionCls = _HTTPConnection
    return pool


def webhook_body(page: Page) -> str:
    document = {
        **page.payload,
        "notification_id": page.notification_id,
        "subject": page.subject,
        "text": page.text,
        "ack_url": page.ack_url,
        "incident_url": page.incident_url,
    }
    return json.dumps(document, cls=DjangoJSONEncoder, separators=(",", ":"))


def sign(secret: str, timestamp: str, body: str | bytes) -> str:
    """The X-Tocsin-Signature value: v1=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>."""
    raw = body.encode() if isinstance(body, str) else body
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + raw, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={digest.hexdigest()}"


def verify_signature(
    secret: str,
    timestamp: str,
    body: str | bytes,
    header: str,
    *,
    now: float,
    tolerance: float = 300,
) -> bool:
    """Check a received page, as a receiver would: copy this function into your endpoint.

    timestamp and header are the X-Tocsin-Timestamp and X-Tocsin-Signature values, body the raw
    request body, now the receiver's clock (unix seconds). A timestamp more than tolerance
    seconds away from now is refused, so a captured request cannot be replayed later.
    """
    if not (secret and timestamp and header):
        return False
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent_at) > tolerance:
        return False
    # Self-contained (no call to sign()) so receivers can copy it as it stands.
    raw = body.encode() if isinstance(body, str) else body
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + raw, hashlib.sha256)
    expected = f"v1={digest.hexdigest()}"
    # Several comma-separated signatures let a sender roll its secret without a gap.
    return any(
        hmac.compare_digest(expected.encode(), candidate.strip().encode())
        for candidate in header.split(",")
    )


def _outcome(status: int, headers: Mapping[str, str]) -> str:
    if 200 <= status < 300:
        return headers.get("X-Request-Id", "")
    if 300 <= status < 400:
        location = headers.get("Location", "")
        raise NotifierError(
            f"Webhook answered {status} redirect to {location!r}; redirects are not followed",
            permanent=True,
        )
    # Only the status: the body could be anything the URL's owner points us at (an internal
    # service's answer), and this message is shown to the person and on the timeline.
    message = f"Webhook answered {status}"
    if status >= 500 or status in _TRANSIENT_4XX:
        retry_after = parse_retry_after(headers.get("Retry-After"))
        raise NotifierError(message, permanent=False, retry_after=retry_after)
    raise NotifierError(message, permanent=True)


def destination_refused(url: str) -> str:
    """Why a page may not be posted to `url`, or "" when it may.

    A person's webhook must point outside: loopback, private, link-local and other
    non-public addresses would let anyone with an account make Tocsin call internal
    services (SSRF). WEBHOOK_PRIVATE_DESTINATIONS_ALLOWED lifts this for development and
    tests, whose receivers listen on loopback.
    """
    if settings.WEBHOOK_PRIVATE_DESTINATIONS_ALLOWED:
        return ""
    return resolve_destination(urlsplit(url).hostname or "")[1]


def resolve_destination(host: str) -> tuple[list[str], str]:
    """The host's addresses, and why a webhook may not go to them ("" when it may); the
    caller connects to these addresses only, so a second lookup cannot rebind the name."""
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return [], f"Cannot resolve the webhook's host {host!r}."
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    if not addresses:
        return [], f"Cannot resolve the webhook's host {host!r}."
    if not settings.WEBHOOK_PRIVATE_DESTINATIONS_ALLOWED:
        for address in addresses:
            if not is_public(address):
                return addresses, f"The webhook's host {host!r} is not a public address."
    return addresses, ""


# IPv6 ranges that reach IPv4 addresses. NAT64's well-known prefix carries a whole IPv4
# address in its last 32 bits (RFC 6052), and IPv6-only networks reach every IPv4 host
# through it, so the address inside is checked. The others are refused whatever they carry:
# local-use NAT64 may embed the address at several offsets (RFC 8215), 6to4 and Teredo are
# deprecated tunnels through relays we do not choose, and IPv4-compatible addresses were
# deprecated by RFC 4291 (`::1` and `::` are among them). SIIT's IPv4-translated addresses
# (`::ffff:0:a.b.c.d`, RFC 2765) and site-local ones (RFC 3879) reach internal hosts too, and
# Python's tables call both global.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_REFUSED_V6 = tuple(
    ipaddress.IPv6Network(network)
    for network in (
        "64:ff9b:1::/48",
        "2002::/16",
        "2001::/32",
        "::/96",
        "::ffff:0:0:0/96",
        "fec0::/10",
    )
)


def is_public(address: str) -> bool:
    """Whether `address` (an IP address, IPv6 with or without a zone) is a public one,
    including the IPv4 address an IPv6 one reaches."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address):
        # Python's own tables differ between versions for these: decide here, explicitly.
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped.is_global and not ip.ipv4_mapped.is_multicast
        if ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
            return embedded.is_global and not embedded.is_multicast
        if any(ip in network for network in _REFUSED_V6):
            return False
    return ip.is_global and not ip.is_multicast
