"""What goes to SES, and what a provider's failure says about the message."""

from __future__ import annotations

from email import message_from_bytes, policy
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError

from shopflow.messaging.addresses import UndeliverableAddress, wire_address
from shopflow.messaging.delivery import (
    Accepted,
    Email,
    Rejected,
    SesSender,
    Unknown,
    build_mime,
    classify,
)

TOKEN_URL = "https://api.example/prod/unsubscribe/" + "eyJjIjoiZW1haWwi" * 8 + ".c2lnbmF0dXJl"


def test_an_email_is_text_then_html_with_its_language_and_a_usable_one_click_header() -> None:
    email = Email(
        to="ann@example.com",
        sender="orders@shop.example",
        sender_name="Sklep Zofii",
        subject="Zamówienie #1001 zostało wysłane",
        html="<p>Zamówienie</p>",
        text="Zamówienie",
        language="pl",
        reply_to="help@shop.example",
        headers={"List-Unsubscribe": f"<{TOKEN_URL}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )

    raw = build_mime(email)
    parsed = message_from_bytes(raw, policy=policy.default)

    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert parsed["From"] == "Sklep Zofii <orders@shop.example>" and parsed["Reply-To"] == "help@shop.example"
    assert parsed["Content-Language"] == "pl" and parsed["Subject"] == "Zamówienie #1001 zostało wysłane"
    # Literal on the wire, not folded into an encoded word a mail client cannot follow.
    assert f"List-Unsubscribe: <{TOKEN_URL}>\r\n".encode() in raw
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw


def error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Send"
    )


def test_failures_say_whether_the_provider_may_have_the_message() -> None:
    assert classify(error("Throttling", 400)) == Rejected("Throttling: m", retryable=True)
    assert classify(error("InternalFailure", 500)) == Rejected("InternalFailure: m", retryable=True)
    assert classify(error("MessageRejected", 400)) == Rejected("MessageRejected: m", retryable=False)
    assert isinstance(classify(ConnectTimeoutError(endpoint_url="https://email")), Rejected)
    assert classify(ReadTimeoutError(endpoint_url="https://email")) == Unknown(
        "no answer after the request was sent: ReadTimeoutError"
    )


class RecordingSes:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def send_raw_email(self, **request: Any) -> dict[str, str]:
        self.requests.append(request)
        return {"MessageId": "m-1"}


def email_to(to: str, sender: str = "orders@shop.example") -> Email:
    return Email(to=to, sender=sender, sender_name="Sklep Żółw", subject="s", html="<p>h</p>", text="t")


def header_lines(raw: bytes) -> dict[str, bytes]:
    head = raw.split(b"\r\n\r\n", 1)[0]
    return {line.split(b":", 1)[0].decode(): line.split(b":", 1)[1].strip() for line in head.split(b"\r\n")}


@pytest.mark.parametrize(
    ("address", "on_the_wire"),
    [
        ("ann@example.com", "ann@example.com"),
        ("o'brien+shop@mail.example.co.uk", "o'brien+shop@mail.example.co.uk"),
        ("ann@bücher.de", "ann@xn--bcher-kva.de"),  # RFC 5891: the domain in punycode
        ("anna.x@пример.рф", "anna.x@xn--e1afmkfd.xn--p1ai"),
    ],
)
def test_an_address_goes_to_ses_and_into_to_with_an_ascii_domain(address: str, on_the_wire: str) -> None:
    ses = RecordingSes()

    outcome = SesSender(lambda: ses).send(email_to(address))

    assert outcome == Accepted("m-1")
    [request] = ses.requests
    assert request["Destinations"] == [on_the_wire]
    headers = header_lines(request["RawMessage"]["Data"])
    assert headers["To"] == on_the_wire.encode()
    assert headers["From"] == b"Sklep =?utf-8?b?xbvDs8WCdw==?= <orders@shop.example>"


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        # U+0430, a Cyrillic a: SES has no SMTPUTF8, and an encoded word is no address.
        ("\u0430nn@example.com", "email address not deliverable (non-ASCII local part"),
        ("zoë@example.com", "email address not deliverable (non-ASCII local part"),
        # IDNA 2003 would make it strasse.de: another domain.
        ("ann@straße.de", "email address not deliverable (domain needs IDNA 2008"),
        ("a(b)@example.com", "invalid email address"),
        ("ann..x@example.com", "invalid email address"),
        ("bob at example", "invalid email address"),
        ("ann@ex_ample.com", "invalid email address"),
    ],
)
def test_an_address_that_cannot_go_as_it_is_is_never_sent(address: str, reason: str) -> None:
    ses = RecordingSes()

    outcome = SesSender(lambda: ses).send(email_to(address))

    assert isinstance(outcome, Rejected) and not outcome.retryable
    assert outcome.reason.startswith(reason)
    assert ses.requests == []
    with pytest.raises(UndeliverableAddress):
        build_mime(email_to(address))


def test_the_reason_never_carries_the_address() -> None:
    with pytest.raises(UndeliverableAddress) as raised:
        wire_address("\u0430nn.secret@example.com")
    assert "secret" not in str(raised.value) and "example" not in str(raised.value)


def test_an_idn_sender_domain_is_punycode_in_from_source_and_message_id() -> None:
    ses = RecordingSes()

    SesSender(lambda: ses).send(email_to("ann@example.com", sender="zamowienia@sklep-żółw.pl"))

    [request] = ses.requests
    assert request["Source"].endswith(" <zamowienia@xn--sklep-w-q0a52e8r.pl>") and request["Source"].isascii()
    headers = header_lines(request["RawMessage"]["Data"])
    assert headers["From"].endswith(b"<zamowienia@xn--sklep-w-q0a52e8r.pl>")
    assert headers["Message-ID"].endswith(b"@xn--sklep-w-q0a52e8r.pl>")
