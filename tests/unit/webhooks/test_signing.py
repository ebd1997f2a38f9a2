"""What reelay signs, the receivers' helper accepts; anything else it refuses, saying why."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from reelay_cli.webhooks import InvalidSignature, sign, verify_signature
from reelay_core.webhooks import signing

SECRET = "whsec_test-secret"
BODY = b'{"id":"evt_1","type":"media.completed","created_at":"2026-11-30T03:00:00Z","data":{}}'
NOW = 1_800_000_000


def test_the_server_signature_verifies_with_the_receiver_helper() -> None:
    header = signing.signature_header(SECRET, NOW, BODY)
    assert verify_signature(BODY, header, SECRET, now=NOW + 10) == NOW
    assert verify_signature(BODY.decode(), header, SECRET, now=NOW) == NOW


def test_the_signature_is_the_documented_hmac() -> None:
    """docs/integrations.md: hex HMAC-SHA256 with the secret over "<t>.<raw body>"."""
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert signing.signature_header(SECRET, NOW, BODY) == f"t={NOW},v1={expected}"
    assert sign(BODY, SECRET, NOW) == signing.signature_header(SECRET, NOW, BODY)


@pytest.mark.parametrize(
    ("body", "secret", "now", "reason"),
    [
        (BODY.replace(b"completed", b"failed"), SECRET, NOW, "no signature matches"),
        (BODY, "whsec_another", NOW, "no signature matches"),
        (BODY, SECRET, NOW + 301, "outside 300 s"),
        (BODY, SECRET, NOW - 301, "outside 300 s"),
    ],
)
def test_a_changed_body_another_secret_or_a_replay_is_refused(
    body: bytes, secret: str, now: int, reason: str
) -> None:
    header = signing.signature_header(SECRET, NOW, BODY)
    with pytest.raises(InvalidSignature, match=reason):
        verify_signature(body, header, secret, now=now)


def test_the_replay_window_is_the_callers_choice() -> None:
    header = signing.signature_header(SECRET, NOW, BODY)
    assert verify_signature(BODY, header, SECRET, tolerance=3600, now=NOW + 3000) == NOW


@pytest.mark.parametrize(
    "header", ["", "v1=abc", f"t={NOW}", "t=soon,v1=abc", "garbage", f"t={NOW},v0=abc"]
)
def test_a_malformed_header_is_refused(header: str) -> None:
    with pytest.raises(InvalidSignature):
        verify_signature(BODY, header, SECRET, now=NOW)


def test_any_of_several_signatures_may_match() -> None:
    """Room for a secret rotation: a header may carry a v1 per secret."""
    good = signing.signature(SECRET, NOW, BODY)
    assert verify_signature(BODY, f"t={NOW},v1=deadbeef,v1={good}", SECRET, now=NOW) == NOW


def test_new_secrets_differ() -> None:
    assert signing.new_secret() != signing.new_secret()
    assert signing.new_secret().startswith("whsec_")
