"""Signature checks on the raw body, before anything is parsed.

Every check compares in constant time and accepts the current or the previous secret,
so an owner can rotate a secret without dropping deliveries.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from shopflow.kernel.standard_webhooks import standard_webhook_signature, standard_webhooks_key


class SignatureError(Exception):
    """The delivery is not provably from the configured sender (answer 401)."""


def _hmac_sha256_b64(key: bytes, message: bytes) -> bytes:
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest())


def verify_hmac_base64(body: bytes, signature: str | None, secrets: Iterable[str]) -> None:
    """Shopify (`X-Shopify-Hmac-Sha256`) and WooCommerce (`X-WC-Webhook-Signature`):
    base64(HMAC-SHA256(secret, raw body))."""
    if not signature:
        raise SignatureError("missing signature header")
    keys = [s for s in secrets if s]
    if not keys:
        raise SignatureError("no webhook secret is configured")
    given = signature.strip().encode()
    # Compare against every key, not stopping early, so timing says nothing about which matched.
    matches = [hmac.compare_digest(_hmac_sha256_b64(k.encode(), body), given) for k in keys]
    if not any(matches):
        raise SignatureError("signature does not match")


STANDARD_WEBHOOKS_TOLERANCE = timedelta(minutes=5)


def _standard_webhooks_signing_key(secret: str) -> bytes:
    try:
        return standard_webhooks_key(secret)
    except ValueError as exc:
        raise SignatureError(f"configured secret {exc}") from None


# Unix seconds as ASCII digits only: int() would also take `1_764_000_000`, `+1`, ` 1` or
# non-ASCII digits, none of which a sender writes. 12 digits reach far past any real time.
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")


def verify_standard_webhook(
    body: bytes,
    *,
    msg_id: str | None,
    timestamp: str | None,
    signature: str | None,
    secrets: Iterable[str],
    now: datetime,
) -> datetime:
    """Standard Webhooks (standardwebhooks.com): sign `{id}.{timestamp}.{body}` with the
    base64-decoded `whsec_` secret; `webhook-signature` lists `v1,<base64>` entries.

    `now` is real (wall-clock) time: freshness is about the sender's clock, so it never takes
    the business clock that `shopflow local advance` moves (decision 36). Returns the signed timestamp.
    """
    if not msg_id or not timestamp or not signature:
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature header")
    if not _UNIX_SECONDS.fullmatch(timestamp):
        raise SignatureError("webhook-timestamp is not a unix time in seconds")
    try:
        sent_at = datetime.fromtimestamp(int(timestamp), tz=now.tzinfo)
    except (ValueError, OverflowError, OSError) as exc:
        raise SignatureError("webhook-timestamp is not a unix time in seconds") from exc
    if abs(now - sent_at) > STANDARD_WEBHOOKS_TOLERANCE:
        raise SignatureError("webhook-timestamp is outside the 5-minute tolerance")
    keys = [_standard_webhooks_signing_key(s) for s in secrets if s]
    if not keys:
        raise SignatureError("no webhook secret is configured")
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = [_hmac_sha256_b64(k, signed) for k in keys]
    offered = [part.split(",", 1)[1].encode() for part in signature.split() if part.startswith("v1,")]
    matches = [hmac.compare_digest(e, o) for e in expected for o in offered]
    if not any(matches):
        raise SignatureError("signature does not match")
    return sent_at


def sign_standard_webhook(body: bytes, *, msg_id: str, timestamp: int, secret: str) -> str:
    """The `webhook-signature` value a sender puts on `body` (used by shopflow's own senders and tests)."""
    try:
        return standard_webhook_signature(body, msg_id=msg_id, timestamp=timestamp, secret=secret)
    except ValueError as exc:
        raise SignatureError(f"configured secret {exc}") from None


def sign_hmac_base64(body: bytes, secret: str) -> str:
    """The Shopify / WooCommerce signature header value for `body`."""
    return _hmac_sha256_b64(secret.encode(), body).decode()
