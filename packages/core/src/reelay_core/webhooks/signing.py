"""The `Reelay-Signature` header: HMAC-SHA256 with the endpoint's secret over "<t>.<body>".

Receivers check it with `reelay_cli.webhooks.verify_signature`; docs/integrations.md spells the
algorithm out for other languages.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "Reelay-Signature"
EVENT_ID_HEADER = "Reelay-Event-Id"


def new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"
