"""Email through SES and SMS through SNS, one provider call per attempt.

Neither provider takes an idempotency key, so the client makes a single attempt (no botocore
retries) and the answer says what is known: the provider took the message (`Accepted`), it
surely did not (`Rejected`, retryable for throttling and 5xx), or nobody knows because the
request left and no answer came back (`Unknown`). The send-once record decides what to do next.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from typing import Any

from shopflow.messaging.addresses import UndeliverableAddress, wire_address


@dataclass(frozen=True)
class Accepted:
    provider_message_id: str


@dataclass(frozen=True)
class Rejected:
    reason: str
    retryable: bool


@dataclass(frozen=True)
class Unknown:
    reason: str


SendOutcome = Accepted | Rejected | Unknown

# Codes that say the provider did not take the message this time, and might next time.
_RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "Throttled",
        "TooManyRequestsException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalError",
        "InternalErrorException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


@dataclass(frozen=True)
class Email:
    to: str
    sender: str
    sender_name: str
    subject: str
    html: str
    text: str
    language: str | None = None  # Content-Language: en, ru, pl
    reply_to: str | None = None
    configuration_set: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)  # List-Unsubscribe, ... (marketing)
    sent_at: datetime | None = None  # the Date header (the sender's clock); None: now


_WIRE = email_policy.SMTP.clone(max_line_length=998)


def build_mime(email: Email) -> bytes:
    """multipart/alternative with the text part first, as mail clients expect. Addresses go in
    their wire form (`wire_address`); one that cannot raises `UndeliverableAddress`."""
    sender = wire_address(email.sender)
    message = EmailMessage()
    message["From"] = formataddr((email.sender_name, sender))  # a non-ASCII name: an encoded word
    message["To"] = wire_address(email.to)
    message["Date"] = format_datetime((email.sent_at or datetime.now(UTC)).astimezone(UTC))  # RFC 5322
    message["Subject"] = email.subject
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    if email.reply_to:
        message["Reply-To"] = wire_address(email.reply_to)
    for name, value in email.headers.items():
        message[name] = value
    message.set_content(email.text, subtype="plain", charset="utf-8")
    message.add_alternative(email.html, subtype="html", charset="utf-8")
    if email.language:  # after the content: set_content() clears Content-* headers
        message["Content-Language"] = email.language
    return message.as_bytes(policy=_WIRE)


def classify(exc: Exception) -> SendOutcome:
    """What an exception from one provider call tells about the message."""
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
    )

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        reason = f"{code}: {error.get('Message', '')}".strip().rstrip(":")
        return Rejected(reason, retryable=code in _RETRYABLE_CODES or status >= 500)
    if isinstance(exc, ConnectTimeoutError | EndpointConnectionError):
        return Rejected(f"could not connect: {exc}", retryable=True)  # the request never left
    if isinstance(exc, ReadTimeoutError | ConnectionClosedError):
        return Unknown(f"no answer after the request was sent: {type(exc).__name__}")
    raise exc


class SesSender:
    def __init__(self, client: Callable[[], Any]) -> None:
        self._client = client

    def send(self, email: Email) -> SendOutcome:
        try:
            request: dict[str, Any] = {
                "Source": formataddr((email.sender_name, wire_address(email.sender))),
                "Destinations": [wire_address(email.to)],
                "RawMessage": {"Data": build_mime(email)},
            }
        except UndeliverableAddress as exc:  # never a malformed header; retrying cannot help
            return Rejected(str(exc), retryable=False)
        if email.configuration_set:
            request["ConfigurationSetName"] = email.configuration_set
        try:
            answer = self._client().send_raw_email(**request)
        except Exception as exc:
            return classify(exc)
        return Accepted(str(answer["MessageId"]))


class SnsSender:
    def __init__(self, client: Callable[[], Any]) -> None:
        self._client = client

    def send(self, phone: str, body: str, *, transactional: bool) -> SendOutcome:
        kind = "Transactional" if transactional else "Promotional"
        try:
            answer = self._client().publish(
                PhoneNumber=phone,
                Message=body,
                MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": kind}},
            )
        except Exception as exc:
            return classify(exc)
        return Accepted(str(answer["MessageId"]))
