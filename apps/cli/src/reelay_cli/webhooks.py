"""Checking a reelay webhook in your own receiver: `verify_signature(body, header, secret)`.

Standard library only, so a receiver can import it (`from reelay_cli.webhooks import
verify_signature`) or copy it. The algorithm, for other languages (docs/integrations.md):
the `Reelay-Signature` header is `t=<unix seconds>,v1=<hex>`; `<hex>` is HMAC-SHA256 keyed
with the endpoint's secret over the bytes `<t>.<raw body>`. Accept the request when one `v1`
matches (compared in constant time) and `t` is within `tolerance` seconds of now.
"""

from __future__ import annotations

import hashlib
import hmac
import time

DEFAULT_TOLERANCE = 300


class InvalidSignature(ValueError):
    """The request is not a webhook signed with this secret in the replay window; refuse it."""


def sign(body: bytes | str, secret: str, timestamp: int | None = None) -> str:
    """A `Reelay-Signature` header value for `body` (what reelay sends; `listen` re-signs)."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={_hmac(secret, t, _bytes(body))}"


def verify_signature(
    body: bytes | str,
    header: str,
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> int:
    """The signed timestamp if `header` signs `body` (the raw bytes received, before any JSON
    parsing) with `secret` within `tolerance` seconds of `now`; InvalidSignature otherwise."""
    timestamp, signatures = _parse(header)
    age = (time.time() if now is None else now) - timestamp
    if abs(age) > tolerance:
        raise InvalidSignature(
            f"the signature's timestamp is {abs(age):.0f} s from now, outside {tolerance} s"
        )
    expected = _hmac(secret, timestamp, _bytes(body))
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise InvalidSignature("no signature matches this body and secret")
    return timestamp


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise InvalidSignature("the signature's timestamp is not a number") from None
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise InvalidSignature("the header is not `t=<unix seconds>,v1=<hex>`")
    return timestamp, signatures


def _hmac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def _bytes(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else body
