"""Twilio's X-Twilio-Signature check for requests Twilio sends us (voice Gather callbacks)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

_DEFAULT_PORTS = {"https": 443, "http": 80}


def twilio_signature_valid(
    *, url: str, params: Mapping[str, str], signature: str, auth_token: str
) -> bool:
    """Whether signature is Twilio's for this request.

    url is the full URL Twilio requested (scheme, host, path and query string, as configured in
    Twilio, not as a proxy rewrote it); params the POST form fields ({} for GET). Twilio signs
    base64(HMAC-SHA1(auth_token, url + name1 + value1 + name2 + value2 ...)) with the fields
    sorted by name. Its own libraries also accept the URL with the default port added or
    removed, since Twilio may sign either form; so do we.
    """
    if not (signature and auth_token):
        return False
    given = signature.encode()
    return any(
        hmac.compare_digest(_signature(candidate, params, auth_token).encode(), given)
        for candidate in _url_variants(url)
    )


def _signature(url: str, params: Mapping[str, str], auth_token: str) -> str:
    signed = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _url_variants(url: str) -> list[str]:
    parts = urlsplit(url)
    default_port = _DEFAULT_PORTS.get(parts.scheme)
    try:
        port = parts.port
    except ValueError:  # not a number: no variant to try, and no reason to raise
        return [url]
    if default_port is None or parts.hostname is None:
        return [url]
    userinfo, _, host = parts.netloc.rpartition("@")
    if port is None:
        # Add the default port; keep IPv6 brackets and any credentials as they were.
        other = host + f":{default_port}"
    elif port == default_port:
        other = host.rsplit(":", 1)[0]
    else:
        return [url]
    netloc = f"{userinfo}@{other}" if userinfo else other
    return [url, urlunsplit(parts._replace(netloc=netloc))]
