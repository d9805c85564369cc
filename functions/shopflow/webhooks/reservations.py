"""The HTTP face of checkout reservations: `POST /reservations` and `DELETE /reservations/{id}`.

The storefront signs both like `/webhooks/events` (Standard Webhooks, `webhooks.events.secret`;
an empty DELETE body is signed as `{id}.{timestamp}.`), so they share its check, its limits and
its answers to what is not the request's fault (`webhooks/http.py`: 413, 401, 400 naming the
field, 503 with `Retry-After`, 500 logged). Every 4xx is decided before anything is written.
The stock service does the work (`stock/service.py`, decision 59); the `webhook-id` is what
makes a retried POST the same request, answered as the first time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import ValidationError

from shopflow.kernel.conflicts import ConcurrentUpdates
from shopflow.observability import logger
from shopflow.webhooks.common import (
    MAX_BODY_BYTES,
    MAX_HEADER_ID_CHARS,
    PayloadError,
    parse_json_object,
    payload_error,
)

# The webhook routes' answers to a lost race and to a fault, so a storefront sees the same ones.
from shopflow.webhooks.http import RETRY_AFTER_BUSY_SECONDS, Answer, Reply, busy_answer, failed_answer
from shopflow.webhooks.signatures import SignatureError, verify_standard_webhook

if TYPE_CHECKING:  # the runtime is handed in: a handler imports no wiring
    from shopflow.bootstrap import Runtime

SENDER = "reservations"  # in logs, beside shopify / woocommerce / events
# What `ReservationRequest.reservation_id` makes: anything else is unknown without a read.
_RESERVATION_ID = re.compile(r"rsv_[a-z2-7]{26}")


def answer_hold(headers: Mapping[str, str], body: bytes, runtime: Runtime) -> Reply:
    """POST /reservations: 201 held | 409 insufficient_stock; never raises."""
    return _answering(headers, lambda: _hold(headers, body, runtime), body, runtime)


def answer_release(reservation_id: str, headers: Mapping[str, str], body: bytes, runtime: Runtime) -> Reply:
    """DELETE /reservations/{reservation_id}: 200 released | 404 | 409 committed; never raises."""
    return _answering(headers, lambda: _release(reservation_id, runtime), body, runtime)


def _answering(headers: Mapping[str, str], act: Callable[[], Answer], body: bytes, runtime: Runtime) -> Reply:
    """Size, verify, then `act`; what it raises becomes the webhook routes' answer to it."""
    delivery_id = (headers.get("webhook-id") or "")[:MAX_HEADER_ID_CHARS] or None
    logger.set_correlation_id(delivery_id)
    try:
        if len(body) > MAX_BODY_BYTES:
            return (
                413,
                {"error": "payload_too_large", "message": f"body exceeds {MAX_BODY_BYTES} bytes"},
                {},
            )
        refused = _verify(headers, body, runtime)
        if refused is not None:
            return (*refused, {})
        status, answer = act()
    except PayloadError as error:
        logger.warning("reservation request invalid", extra={"sender": SENDER, "field": error.field})
        return 400, {"error": "invalid_payload", "field": error.field, "message": error.message}, {}
    except ConcurrentUpdates as busy:
        return (*busy_answer(busy.what, busy.ids), {"Retry-After": str(RETRY_AFTER_BUSY_SECONDS)})
    except Exception as exc:  # the storefront must get an answer it can retry on (503) or report
        return failed_answer(SENDER, headers, delivery_id, exc)
    return status, answer, {}


def _verify(headers: Mapping[str, str], body: bytes, runtime: Runtime) -> Answer | None:
    settings = runtime.settings.load()
    try:
        # The signed timestamp is the sender's real clock; `shopflow local advance` moves only business time.
        verify_standard_webhook(
            body,
            msg_id=headers.get("webhook-id"),
            timestamp=headers.get("webhook-timestamp"),
            signature=headers.get("webhook-signature"),
            secrets=settings.secrets("events"),
            now=runtime.clock.real_now(),
        )
    except SignatureError as exc:
        logger.warning("reservation request rejected", extra={"sender": SENDER, "reason": str(exc)})
        return 401, {"error": "unauthorized", "message": str(exc)}
    return None


def _hold(headers: Mapping[str, str], body: bytes, runtime: Runtime) -> Answer:
    from shopflow.stock.capability import STOCK_OFF, enabled, hold_minutes  # cold start: only here
    from shopflow.stock.model import ReservationRequest
    from shopflow.stock.service import Held, reserve

    webhook_id = headers["webhook-id"]  # verified present
    if len(webhook_id) > 200:  # ReservationRequest.request_id's bound; named as the header it is
        raise PayloadError("header webhook-id", "is longer than 200 characters")
    data = parse_json_object(body)
    if "request_id" in data:  # the webhook-id is the request's id, never the body's say
        raise PayloadError("request_id", "Extra inputs are not permitted")
    try:
        request = ReservationRequest.model_validate({**data, "request_id": webhook_id})
    except ValidationError as exc:
        raise payload_error(exc) from None
    settings = runtime.settings.load()
    if not enabled(settings):  # nothing is counted, and no order would commit a hold
        return 409, {"error": "stock_off", "message": STOCK_OFF}
    answer = reserve(
        request, runtime.stock, now=runtime.clock.now(), hold=request.hold(hold_minutes(settings))
    )
    if isinstance(answer, Held):
        held = answer.reservation
        logger.info(
            "reservation held",
            extra={"sender": SENDER, "reservation_id": held.reservation_id, "duplicate": answer.duplicate},
        )
        return 201, {
            "reservation_id": held.reservation_id,
            "status": "held",
            "expires_at": _moment(held.expires_at),
            "lines": [{"sku": line.sku, "quantity": line.quantity} for line in held.lines],
        }
    logger.info(
        "reservation refused",
        extra={"sender": SENDER, "reservation_id": answer.reservation_id, "duplicate": answer.duplicate},
    )
    return 409, {
        "error": "insufficient_stock",
        "message": "not enough stock for every line; nothing was held",
        "short": [{"sku": s.sku, "requested": s.requested, "available": s.available} for s in answer.short],
    }


def _release(reservation_id: str, runtime: Runtime) -> Answer:
    from shopflow.stock.service import AlreadyCommitted, ReservationNotFound, release

    try:
        if not _RESERVATION_ID.fullmatch(reservation_id):
            raise ReservationNotFound(reservation_id)
        ended = release(reservation_id, runtime.stock, now=runtime.clock.now())
    except ReservationNotFound:
        return 404, {"error": "not_found", "message": "no such reservation"}
    except AlreadyCommitted as exc:
        return 409, {"error": "already_committed", "message": str(exc)}
    logger.info(
        "reservation ended",
        extra={"sender": SENDER, "reservation_id": reservation_id, "status": ended.status.value},
    )
    # Released now, or earlier (`released` again), or run out (`expired`): the stock is back either way.
    return 200, {"reservation_id": reservation_id, "status": ended.status.value}


def _moment(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
