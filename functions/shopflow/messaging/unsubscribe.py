"""Unsubscribe tokens: signed, expiring, naming one address on one channel.

`<token> = base64url(json {"c": channel, "a": address, "e": expiry}) "." base64url(HMAC-SHA256)`,
signed with the `notify.unsubscribe.secret` setting; a token that stops one kind of message only
(back-in-stock alerts) also names it (`"k"`). Pure: no I/O, time passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shopflow.kernel.messages import CHANNELS

# Long enough for a customer to act on an old email; a fresh one comes with every message.
TOKEN_LIFETIME = timedelta(days=180)
# A token for the longest address (254 characters) is about 420; anything far longer is not ours.
MAX_TOKEN_CHARS = 1024
_TOKEN = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class TokenError(ValueError):
    """Not a token we issued, altered, or expired: the message says which, for the page."""


@dataclass(frozen=True)
class Unsubscribe:
    channel: str  # email | sms
    address: str
    expires_at: datetime
    scope: str | None = None  # the one kind of message it stops; None: all marketing


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(body: str, secret: str) -> str:
    return _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())


def make_token(channel: str, address: str, *, secret: str, now: datetime, scope: str | None = None) -> str:
    expires = int((now + TOKEN_LIFETIME).timestamp())
    claims: dict[str, object] = {"c": channel, "a": address, "e": expires}
    if scope is not None:
        claims["k"] = scope
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{body}.{_signature(body, secret)}"


def read_token(token: str, *, secrets: tuple[str, ...], now: datetime) -> Unsubscribe:
    """The request a token carries; `TokenError` for anything else, whatever the input."""
    body, _, signature = token.partition(".")
    if not body or not signature:
        raise TokenError("this unsubscribe link is incomplete")
    # Only what `make_token` writes gets near the HMAC and the JSON parser: random bytes,
    # non-ASCII text or a megabyte of path are simply not ours.
    if len(token) > MAX_TOKEN_CHARS or not _TOKEN.fullmatch(token):
        raise TokenError("this unsubscribe link is not valid")
    if not any(hmac.compare_digest(signature, _signature(body, secret)) for secret in secrets):
        raise TokenError("this unsubscribe link is not valid")
    try:
        claims = json.loads(_unb64(body))
        channel, address, expiry, scope = claims["c"], claims["a"], claims["e"], claims.get("k")
        if channel not in CHANNELS or not isinstance(address, str) or type(expiry) is not int:
            raise ValueError("unexpected claims")
        if scope is not None and not (isinstance(scope, str) and re.fullmatch(r"[a-z_]{1,40}", scope)):
            raise ValueError("unexpected scope")
        unsubscribe = Unsubscribe(channel, address, datetime.fromtimestamp(expiry, tz=UTC), scope)
    # Signed by us yet unreadable (an old format, a bug): still only "not valid", never a 5xx.
    except (ValueError, KeyError, TypeError, OverflowError, OSError, RecursionError):
        raise TokenError("this unsubscribe link is not valid") from None
    if unsubscribe.expires_at <= now:
        raise TokenError("this unsubscribe link has expired; use the link in a newer message")
    return unsubscribe
