"""Signature checks: only the configured sender's exact bytes pass."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from shopflow.kernel.standard_webhooks import standard_webhooks_key
from shopflow.webhooks.signatures import (
    SignatureError,
    sign_hmac_base64,
    sign_standard_webhook,
    verify_hmac_base64,
    verify_standard_webhook,
)
from tests.support import EVENTS_SECRET

BODY = b'{"id": 1}'
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_current_and_previous_secret_are_both_accepted() -> None:
    verify_hmac_base64(
        BODY, sign_hmac_base64(BODY, "new-secret-0123456"), ["new-secret-0123456", "old-secret-012345"]
    )
    verify_hmac_base64(
        BODY, sign_hmac_base64(BODY, "old-secret-012345"), ["new-secret-0123456", "old-secret-012345"]
    )


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "not-base64!",
        sign_hmac_base64(BODY, "someone-else-secret"),
    ],
)
def test_wrong_or_missing_signature_is_refused(signature: str | None) -> None:
    with pytest.raises(SignatureError):
        verify_hmac_base64(BODY, signature, ["the-shop-secret-0123"])


def test_a_flipped_bit_in_signature_or_body_is_refused() -> None:
    good = sign_hmac_base64(BODY, "the-shop-secret-0123")
    raw = bytearray(base64.b64decode(good))
    raw[0] ^= 0x01
    with pytest.raises(SignatureError):
        verify_hmac_base64(BODY, base64.b64encode(bytes(raw)).decode(), ["the-shop-secret-0123"])
    with pytest.raises(SignatureError):
        verify_hmac_base64(b'{"id": 2}', good, ["the-shop-secret-0123"])


def test_no_configured_secret_refuses_everything() -> None:
    with pytest.raises(SignatureError, match="no webhook secret"):
        verify_hmac_base64(BODY, sign_hmac_base64(BODY, ""), [])


def _standard(timestamp: datetime, secret: str = EVENTS_SECRET, msg_id: str = "msg_1") -> dict:
    ts = int(timestamp.timestamp())
    return {
        "msg_id": msg_id,
        "timestamp": str(ts),
        "signature": sign_standard_webhook(BODY, msg_id=msg_id, timestamp=ts, secret=secret),
    }


def test_standard_webhook_within_tolerance_is_accepted() -> None:
    assert verify_standard_webhook(
        BODY, **_standard(NOW - timedelta(minutes=4)), secrets=[EVENTS_SECRET], now=NOW
    ) == NOW - timedelta(minutes=4)


def test_standard_webhook_any_listed_v1_signature_may_match() -> None:
    headers = _standard(NOW)
    headers["signature"] = "v1,AAAA " + headers["signature"]
    verify_standard_webhook(BODY, **headers, secrets=[EVENTS_SECRET], now=NOW)


@pytest.mark.parametrize("skew", [timedelta(minutes=6), -timedelta(minutes=6)])
def test_standard_webhook_outside_five_minutes_is_refused(skew: timedelta) -> None:
    with pytest.raises(SignatureError, match="tolerance"):
        verify_standard_webhook(BODY, **_standard(NOW + skew), secrets=[EVENTS_SECRET], now=NOW)


def test_standard_webhook_signature_covers_the_id() -> None:
    headers = _standard(NOW)
    headers["msg_id"] = "msg_2"
    with pytest.raises(SignatureError, match="does not match"):
        verify_standard_webhook(BODY, **headers, secrets=[EVENTS_SECRET], now=NOW)


def test_standard_webhook_known_vector() -> None:
    # The Standard Webhooks reference test vector (standard-webhooks/standard-webhooks, libraries' tests).
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    signature = sign_standard_webhook(
        body, msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp=1614265330, secret=secret
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


# A 25-byte key: its base64 ends in padding, which senders often drop (as the reference library allows).
PADDED_SECRET = "whsec_dhRKqL5M5AzZZgvJAYpkBu0hW2wGRoLMcw=="


@pytest.mark.parametrize(
    "configured",
    [
        PADDED_SECRET,
        "whsec_dhRKqL5M5AzZZgvJAYpkBu0hW2wGRoLMcw",  # no padding
        "dhRKqL5M5AzZZgvJAYpkBu0hW2wGRoLMcw==",  # no prefix
        "dhRKqL5M5AzZZgvJAYpkBu0hW2wGRoLMcw",  # neither
    ],
)
def test_standard_webhook_secret_is_read_as_the_reference_library_reads_it(configured: str) -> None:
    headers = _standard(NOW, secret=PADDED_SECRET)
    verify_standard_webhook(BODY, **headers, secrets=[configured], now=NOW)
    assert standard_webhooks_key(configured) == standard_webhooks_key(PADDED_SECRET)


def test_reference_vector_verifies_with_an_unprefixed_secret() -> None:
    verify_standard_webhook(
        b'{"test": 2432232314}',
        msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
        timestamp="1614265330",
        signature="v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        secrets=["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        now=datetime.fromtimestamp(1614265330, tz=UTC),
    )


@pytest.mark.parametrize(
    "secret",
    [
        "",
        "whsec_",
        "whsec_====",
        "whsec_dhRKqL5M5AzZZgvJAYpkBu0hW2wGRoLMc",  # one character short of whole base64
        "whsec_dhRK-L5M5AzZZgvJAYpkBu0hW2wGRoLMcw",  # URL-safe alphabet: another key than the sender's
        "whsec_dhRK qL5M5AzZZgvJAYpkBu0hW2wGRoLMcw",
        "whsec_dhRKqL5M5AzZZgvJAYpkBu0hW2wGRoLMcw==x",
    ],
)
def test_a_secret_that_is_not_base64_is_refused_without_echoing_it(secret: str) -> None:
    with pytest.raises(ValueError) as refused:
        standard_webhooks_key(secret)
    assert "dhRK" not in str(refused.value)


def _signed_raw(timestamp: str, msg_id: str = "msg_1") -> dict[str, str]:
    """Headers signed over `timestamp` exactly as written, as a sender's own code would sign it."""
    key = standard_webhooks_key(EVENTS_SECRET)
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + BODY, hashlib.sha256).digest()
    return {"msg_id": msg_id, "timestamp": timestamp, "signature": "v1," + base64.b64encode(digest).decode()}


def _in_other_digits(ascii_digits: str, *, zero: int) -> str:
    return "".join(chr(zero + int(d)) for d in ascii_digits)


@pytest.mark.parametrize(
    "written",
    [
        f"{int(NOW.timestamp()):_}",  # digit groups: int() takes them
        f"+{int(NOW.timestamp())}",
        f" {int(NOW.timestamp())}",
        f"{int(NOW.timestamp())}\n",
        _in_other_digits(str(int(NOW.timestamp())), zero=0x0660),  # Arabic-Indic: int() reads them
        _in_other_digits(str(int(NOW.timestamp())), zero=0xFF10),  # fullwidth
        f"{int(NOW.timestamp())}.0",
        "0" * 5000 + str(int(NOW.timestamp())),
    ],
)
def test_webhook_timestamp_is_ascii_digits_only(written: str) -> None:
    with pytest.raises(SignatureError, match="not a unix time"):
        verify_standard_webhook(BODY, **_signed_raw(written), secrets=[EVENTS_SECRET], now=NOW)


def test_webhook_timestamp_in_plain_digits_still_verifies() -> None:
    verify_standard_webhook(BODY, **_signed_raw(str(int(NOW.timestamp()))), secrets=[EVENTS_SECRET], now=NOW)
