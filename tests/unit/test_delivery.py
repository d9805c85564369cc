"""What goes to SES, and what a provider's failure says about the message."""

from __future__ import annotations

from email import message_from_bytes, policy

from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError

from shopflow.messaging.delivery import Email, Rejected, Unknown, build_mime, classify

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
