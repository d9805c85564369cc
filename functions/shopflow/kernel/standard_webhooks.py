"""The Standard Webhooks secret (standardwebhooks.com): `whsec_` and the base64 of the HMAC key.

One reader for both sides of a secret (decision 55): the signature check of `/webhooks/events`
(`webhooks/signatures.py`) and the setting's check when an owner stores it (`config/spec.py`),
so what a setting accepts is what verifies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

# The reference library (standard-webhooks, python/standardwebhooks/webhooks.py) strips an
# optional `whsec_` and adds padding before decoding; it silently drops characters outside the
# alphabet, which would yield another key than the sender's, so those are refused here.
_WHSEC_PREFIX = "whsec_"
_BASE64_TEXT = re.compile(r"[A-Za-z0-9+/]+=*")


def standard_webhooks_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret: `whsec_` optional, base64 with or without padding.

    Raises `ValueError` saying what is wrong (never echoing the secret).
    """
    encoded = secret.removeprefix(_WHSEC_PREFIX)
    if not _BASE64_TEXT.fullmatch(encoded):
        raise ValueError("must be whsec_ followed by base64 (A-Z a-z 0-9 + /); the prefix is optional")
    unpadded = encoded.rstrip("=")
    if len(unpadded) % 4 == 1:
        raise ValueError("is not whole base64: it has one character too many or too few")
    return base64.b64decode(unpadded + "=" * (-len(unpadded) % 4), validate=True)


def standard_webhook_signature(body: bytes, *, msg_id: str, timestamp: int, secret: str) -> str:
    """The `webhook-signature` entry a sender puts on `body`:
    `v1,` and base64(HMAC-SHA256(key, `{id}.{timestamp}.{body}`)).

    In the kernel so every sender shares it (the outgoing webhook channel, tests, the demo).
    Raises `ValueError` for a secret `standard_webhooks_key` refuses.
    """
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(standard_webhooks_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()
