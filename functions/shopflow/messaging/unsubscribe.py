"""Unsubscribe tokens: signed, expiring, naming one address on one channel.

`<token> = base64url(json {"c": channel, "a": address, "e": expiry}) "." base64url(HMAC-SHA256)`,
signed with the `notify.unsubscribe.secret` setting. Pure: no I/O, time passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# Long enough for a customer to act on an old email; a fresh one comes with every message.
TOKEN_LIFETIME = timedelta(days=180)


class TokenError(ValueError):
    """Not a token we issued, altered, or expired: the message says which, for the page."""


@dataclass(frozen=True)
class Unsubscribe:
    channel: str  # email | sms
    address: str
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(body: str, secret: str) -> str:
    return _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())


def make_token(channel: str, address: str, *, secret: str, now: datetime) -> str:
    expires = int((now + TOKEN_LIFETIME).timestamp())
    body = _b64(json.dumps({"c": channel, "a": address, "e": expires}, separators=(",", ":")).encode())
    return f"{body}.{_signature(body, secret)}"


def read_token(token: str, *, secrets: tuple[str, ...], now: datetime) -> Unsubscribe:
    body, _, signature = token.partition(".")
    if not body or not signature:
        raise TokenError("this unsubscribe link is incomplete")
    if not any(hmac.compare_digest(signature, _signature(body, secret)) for secret in secrets):
        raise TokenError("this unsubscribe link is not valid")
    try:
        claims = json.loads(_unb64(body))
        unsubscribe = Unsubscribe(
            channel=str(claims["c"]),
            address=str(claims["a"]),
            expires_at=datetime.fromtimestamp(int(claims["e"]), tz=UTC),
        )
    except (ValueError, KeyError, TypeError):
        raise TokenError("this unsubscribe link is not valid") from None
    if unsubscribe.expires_at <= now:
        raise TokenError("this unsubscribe link has expired; use the link in a newer message")
    return unsubscribe
