"""The HTTP face of intake, shared by every webhook route: size, verify, normalize, record, answer.

Every 4xx is decided before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from shopflow.bootstrap import Runtime
from shopflow.config import Settings
from shopflow.observability import logger
from shopflow.orders.model import Order
from shopflow.orders.service import ConcurrentUpdates, ReplenishmentPlanner, record_delivery
from shopflow.webhooks.common import (
    MAX_BODY_BYTES,
    CartDelivery,
    Ignored,
    PayloadError,
    ProductDelivery,
    Received,
)
from shopflow.webhooks.signatures import SignatureError

Answer = tuple[int, dict[str, Any]]

_CORRELATION_HEADERS = ("X-Shopify-Webhook-Id", "X-WC-Webhook-Delivery-ID", "webhook-id")


def receive(
    sender: str, headers: Mapping[str, str], body: bytes, settings: Settings, runtime: Runtime
) -> Received | Ignored:
    """Verify and normalize with the sender's own module (imported on first use)."""
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


def answer_webhook(sender: str, headers: Mapping[str, str], body: bytes, runtime: Runtime) -> Answer:
    logger.set_correlation_id(next((headers[h] for h in _CORRELATION_HEADERS if headers.get(h)), None))
    if len(body) > MAX_BODY_BYTES:
        return 413, {"error": "payload_too_large", "message": f"body exceeds {MAX_BODY_BYTES} bytes"}
    settings = runtime.settings.load()
    try:
        received = receive(sender, headers, body, settings, runtime)
    except SignatureError as exc:
        logger.warning("webhook rejected", extra={"sender": sender, "reason": str(exc)})
        return 401, {"error": "unauthorized", "message": str(exc)}
    except PayloadError as exc:
        logger.warning("webhook payload invalid", extra={"sender": sender, "field": exc.field})
        return 400, {"error": "invalid_payload", "field": exc.field, "message": exc.message}
    if isinstance(received, Ignored):
        logger.info("webhook ignored", extra={"sender": sender, "reason": received.reason})
        return 200, {"status": "ignored", "reason": received.reason}
    if isinstance(received, CartDelivery):
        return _answer_cart(sender, received, settings, runtime)
    if isinstance(received, ProductDelivery):
        product = received.product
        written = runtime.catalog.save(product)
        status, reason = ("accepted", None) if written else ("ignored", "not newer than the stored product")
        return _recorded(
            sender, received.via, status, {"product_id": product.key}, reason, {"tags": list(product.tags)}
        )
    try:
        recorded = record_delivery(
            received,
            runtime.orders,
            now=runtime.clock.now(),
            dedup_retention=timedelta(days=settings.dedup_retention_days),
            late_after=timedelta(hours=settings.int_value("notify.delayed.after_hours")),
            review_after=timedelta(days=settings.int_value("notify.review.after_days")),
            replenishment_due=_replenishment_planner(settings, runtime),
        )
    except ConcurrentUpdates:
        return _busy("order", {"order_id": received.change.order_id})
    details: dict[str, Any] = {}
    if recorded.order_status is not None:
        details["order_status"] = recorded.order_status.value
    if recorded.changes:
        details["changes"] = list(recorded.changes)
    return _recorded(
        sender, received.via, recorded.status, {"order_id": recorded.order_id}, recorded.reason, details
    )


def _replenishment_planner(settings: Settings, runtime: Runtime) -> ReplenishmentPlanner | None:
    """When a delivered order's consumables are about to run out (product tags from the catalog,
    read only when a tag rule could apply)."""
    from shopflow.replenishment.rules import consumables_of, reminder_due, replenishment_rules

    rules = replenishment_rules(settings)
    if not rules.rules:
        return None

    def due(order: Order, delivered_at: datetime) -> datetime | None:
        return reminder_due(consumables_of(order, rules, runtime.catalog.tags), delivered_at, rules.lead)

    return due


def _answer_cart(sender: str, received: CartDelivery, settings: Settings, runtime: Runtime) -> Answer:
    from shopflow.carts.reminders import cart_timing
    from shopflow.carts.service import record_cart_delivery

    try:
        recorded = record_cart_delivery(
            received,
            runtime.carts,
            now=runtime.clock.now(),
            dedup_retention=timedelta(days=settings.dedup_retention_days),
            timing=cart_timing(settings),
        )
    except ConcurrentUpdates:
        return _busy("cart", {"cart_id": received.change.cart_id})
    details = {"cart_status": recorded.cart_status.value} if recorded.cart_status is not None else {}
    return _recorded(
        sender, received.via, recorded.status, {"cart_id": recorded.cart_id}, recorded.reason, details
    )


def _busy(what: str, ids: dict[str, str]) -> Answer:
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
