"""The HTTP face of intake, shared by every webhook route: size, verify, normalize, record, answer.

Every 4xx is decided before anything is written. Every delivery gets an answer a sender can act
on (decision 44): 400 for a body shopflow refuses, 503 with `Retry-After` while the store or a
queue is unreachable, 500 (logged with the delivery id) for a fault of shopflow's own.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from pydantic import ValidationError

from shopflow.kernel.conflicts import ConcurrentUpdates
from shopflow.observability import logger
from shopflow.webhooks.common import (
    MAX_BODY_BYTES,
    MAX_HEADER_ID_CHARS,
    Ignored,
    PayloadError,
    Received,
    payload_error,
)
from shopflow.webhooks.signatures import SignatureError

if TYPE_CHECKING:  # the runtime and its settings are handed in: intake imports no wiring
    from shopflow.bootstrap import Runtime
    from shopflow.config import Settings

Answer = tuple[int, dict[str, Any]]
# What the route sends: status, JSON body, extra headers (Retry-After on a 503).
Reply = tuple[int, dict[str, Any], dict[str, str]]

_CORRELATION_HEADERS = ("X-Shopify-Webhook-Id", "X-WC-Webhook-Delivery-ID", "webhook-id")
_TOPIC_HEADERS = {"shopify": "X-Shopify-Topic", "woocommerce": "X-WC-Webhook-Topic"}
# A lost race clears in milliseconds; an unreachable store or queue takes longer.
RETRY_AFTER_BUSY_SECONDS = 1
RETRY_AFTER_UNAVAILABLE_SECONDS = 30
# Botocore error codes (and transaction cancellation reasons) that mean "not now", not "never".
_UNAVAILABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ProvisionedThroughputExceeded",
        "ThrottlingException",
        "ThrottlingError",
        "Throttling",
        "RequestLimitExceeded",
        "RequestThrottled",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


def receive(
    sender: str, headers: Mapping[str, str], body: bytes, settings: Settings, runtime: Runtime
) -> Received | Ignored:
    """Verify and normalize with the sender's own module, imported on first use (cold start: each
    sender's models take 20-30 ms to build, and an api container mostly serves one sender)."""
    if sender == "shopify":
        from shopflow.webhooks import shopify

        return shopify.receive(
            headers,
            body,
            secrets=settings.secrets("shopify"),
            shop_domains=settings.shopify_shop_domains,
            now=runtime.clock.now(),
        )
    if sender == "woocommerce":
        from shopflow.webhooks import woocommerce

        return woocommerce.receive(
            headers, body, secrets=settings.secrets("woocommerce"), now=runtime.clock.now()
        )
    if sender == "events":
        from shopflow.webhooks import events

        # The signed timestamp is the sender's real clock; `shopflow local advance` moves only business time.
        return events.receive(
            headers, body, secrets=settings.secrets("events"), real_now=runtime.clock.real_now()
        )
    raise ValueError(f"unknown sender {sender}")


def answer_webhook(sender: str, headers: Mapping[str, str], body: bytes, runtime: Runtime) -> Reply:
    """The answer to one delivery; never raises (an unforeseen error is logged and answered 5xx)."""
    delivery_id = next((headers[h] for h in _CORRELATION_HEADERS if headers.get(h)), None)
    delivery_id = delivery_id[:MAX_HEADER_ID_CHARS] if delivery_id else None
    logger.set_correlation_id(delivery_id)
    try:
        status, answer = _answer(sender, headers, body, runtime)
    except Exception as exc:  # a sender must never get a bare 500 and a lost delivery
        return failed_answer(sender, headers, delivery_id, exc)
    # Only a lost race (`busy_answer`) answers 503 here.
    return status, answer, {"Retry-After": str(RETRY_AFTER_BUSY_SECONDS)} if status == 503 else {}


def _answer(sender: str, headers: Mapping[str, str], body: bytes, runtime: Runtime) -> Answer:
    if len(body) > MAX_BODY_BYTES:
        return 413, {"error": "payload_too_large", "message": f"body exceeds {MAX_BODY_BYTES} bytes"}
    settings = runtime.settings.load()
    try:
        received = receive(sender, headers, body, settings, runtime)
    except SignatureError as exc:
        logger.warning("webhook rejected", extra={"sender": sender, "reason": str(exc)})
        return 401, {"error": "unauthorized", "message": str(exc)}
    except (PayloadError, ValidationError) as exc:
        # A ValidationError here comes from building the canonical order out of a validated body
        # (a value no boundary type caught): still the body's fault, named by the canonical field.
        error = exc if isinstance(exc, PayloadError) else payload_error(exc)
        logger.warning("webhook payload invalid", extra={"sender": sender, "field": error.field})
        return 400, {"error": "invalid_payload", "field": error.field, "message": error.message}
    if isinstance(received, Ignored):
        logger.info("webhook ignored", extra={"sender": sender, "reason": received.reason})
        return 200, {"status": "ignored", "reason": received.reason}
    record = runtime.intake_handlers.get(type(received))
    if record is None:  # a normalizer made an input no capability registered
        raise TypeError(f"no capability records {type(received).__name__}")
    try:
        intake = record(received, settings)
    except ConcurrentUpdates as busy:
        return busy_answer(busy.what, busy.ids)
    return _recorded(
        sender, received.via, intake.status, dict(intake.ids), intake.reason, dict(intake.details)
    )


def failed_answer(sender: str, headers: Mapping[str, str], delivery_id: str | None, exc: Exception) -> Reply:
    """Log what failed and where (error type and code lines, never values: a message or a
    traceback may quote the customer's data) and answer so that a sender that retries does."""
    topic = headers.get(_TOPIC_HEADERS.get(sender, ""))
    context = {
        "sender": sender,
        "topic": topic[:MAX_HEADER_ID_CHARS] if topic else None,
        "delivery_id": delivery_id,
        "error_type": type(exc).__name__,
        "where": [f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno} {f.name}" for f in _frames(exc)],
    }
    cause = unavailable_cause(exc)
    if cause is not None:
        logger.error("webhook not recorded: store or queue unreachable", extra={**context, "cause": cause})
        message = "shopflow cannot reach its store right now; nothing was recorded, retry later"
        answer = {"error": "unavailable", "message": message, "delivery_id": delivery_id}
        return 503, answer, {"Retry-After": str(RETRY_AFTER_UNAVAILABLE_SECONDS)}
    logger.error("webhook not recorded: unexpected error", extra=context)
    message = "shopflow failed to record this delivery; retry later"
    return 500, {"error": "internal_error", "message": message, "delivery_id": delivery_id}, {}


def _frames(exc: BaseException) -> list[traceback.FrameSummary]:
    return list(traceback.extract_tb(exc.__traceback__))[-4:]


def unavailable_cause(exc: BaseException) -> str | None:
    """Why the store or a queue cannot be used right now (a botocore connection error, throttling,
    a 5xx), looking through PynamoDB's wrapping and the exception chain; None for anything else."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, BotocoreConnectionError | HTTPClientError):  # EndpointConnection, timeouts
            return type(current).__name__
        if isinstance(current, ClientError):
            code = str(current.response.get("Error", {}).get("Code", ""))
            if code in _UNAVAILABLE_CODES:
                return code
        for reason in getattr(current, "cancellation_reasons", None) or ():
            if getattr(reason, "code", None) in _UNAVAILABLE_CODES:
                return str(reason.code)
        cause = getattr(current, "cause", None)  # PynamoDB keeps botocore's error here
        pending += [
            cause if isinstance(cause, BaseException) else None,
            current.__cause__,
            current.__context__,
        ]
    return None


def busy_answer(what: str, ids: dict[str, str]) -> Answer:
    logger.warning(f"{what} busy; asking the sender to retry", extra=ids)
    return 503, {"error": "busy", "message": f"the {what} is being changed concurrently; retry later"}


def _recorded(
    sender: str, via: str, status: str, ids: dict[str, str], reason: str | None, details: dict[str, Any]
) -> Answer:
    """Log what a recorded delivery did and answer the sender: status, ids, details, reason."""
    logger.info(
        "webhook recorded", extra={"sender": sender, "via": via, "result": status, **ids, "reason": reason}
    )
    answer: dict[str, Any] = {"status": status, **ids, **details}
    if reason:
        answer["reason"] = reason
    return 200, answer
