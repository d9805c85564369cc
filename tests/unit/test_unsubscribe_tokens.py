"""Unsubscribe links: only ours work, unaltered and unexpired."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from shopflow.messaging.unsubscribe import TOKEN_LIFETIME, TokenError, make_token, read_token

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SECRET = "unsubscribe-secret-0123456789"


def test_a_token_names_its_channel_and_address() -> None:
    token = make_token("email", "ann@example.com", secret=SECRET, now=NOW)

    found = read_token(token, secrets=(SECRET,), now=NOW + timedelta(days=30))

    assert (found.channel, found.address, found.expires_at) == (
        "email",
        "ann@example.com",
        NOW + TOKEN_LIFETIME,
    )
    assert "/" not in token and "+" not in token  # it sits in a URL path


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t: t.split(".")[0], "incomplete"),
        (lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), "not valid"),
        (
            lambda t: make_token("email", "eve@example.com", secret="another-secret-0000000", now=NOW),
            "not valid",
        ),
    ],
    ids=["no-signature", "altered-signature", "other-secret"],
)
def test_a_forged_or_broken_token_is_refused(mutate: object, message: str) -> None:
    token = make_token("email", "ann@example.com", secret=SECRET, now=NOW)

    with pytest.raises(TokenError, match=message):
        read_token(mutate(token), secrets=(SECRET,), now=NOW)  # type: ignore[operator]


def test_a_token_with_a_swapped_address_is_refused() -> None:
    good = make_token("email", "ann@example.com", secret=SECRET, now=NOW)
    other = make_token("email", "bob@example.com", secret=SECRET, now=NOW)
    spliced = other.split(".")[0] + "." + good.split(".")[1]

    with pytest.raises(TokenError, match="not valid"):
        read_token(spliced, secrets=(SECRET,), now=NOW)


def test_an_expired_token_says_so() -> None:
    token = make_token("sms", "+48601234567", secret=SECRET, now=NOW)

    with pytest.raises(TokenError, match="expired"):
        read_token(token, secrets=(SECRET,), now=NOW + TOKEN_LIFETIME)


def _signed_claims(claims: bytes) -> str:
    """A token signed with our secret around claims `make_token` never writes (an old format, a bug)."""
    body = base64.urlsafe_b64encode(claims).rstrip(b"=").decode()
    signature = base64.urlsafe_b64encode(hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).digest())
    return f"{body}.{signature.rstrip(b'=').decode()}"


@pytest.mark.parametrize(
    "token",
    [
        "a.\ud800",  # a lone surrogate
        "é.é",  # non-ASCII where the signature belongs
        "\x00\x01.\x7f",
        "a." + "b" * 100_000,
        "%FF.%FE",
        "a.b.c",
        _signed_claims(b'{"c":"email","a":"ann@example.com","e":99999999999999999999}'),
        _signed_claims(b'{"c":"email","a":"ann@example.com","e":1e400}'),
        _signed_claims(b'{"c":"email","a":"ann@example.com","e":-99999999999999}'),
        _signed_claims(b'{"c":"email","a":"ann@example.com","e":"1792314000"}'),
        _signed_claims(b'{"c":"email","a":"ann@example.com","e":true}'),
        _signed_claims(b'{"c":"fax","a":"ann@example.com","e":1792314000}'),
        _signed_claims(b'{"c":"email","a":["ann@example.com"],"e":1792314000}'),
        _signed_claims(b'["email","ann@example.com",1792314000]'),
        _signed_claims(b"[" * 700),
        _signed_claims(b"\xff\xfe"),
    ],
    ids=lambda t: t[:12].encode("unicode_escape", "backslashreplace").decode(),
)
def test_any_token_that_is_not_ours_and_readable_is_just_not_valid(token: str) -> None:
    with pytest.raises(TokenError, match="not valid"):
        read_token(token, secrets=(SECRET,), now=NOW)
