"""Who bought what: the buyer's identifiers and the port reminders ask "did they order since?".

Every reminder (abandoned cart, review, replenishment) waits after the customer's last order
and stops once they bought; they all ask the buyer index through `BuyerIndex`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from shopflow.orders.model import Customer, Order, PastOrder

if TYPE_CHECKING:  # settings are handed in; reading them needs no import
    from shopflow.config.settings import Settings


def buyer_keys(source: str, customer: Customer, tokens: Iterable[str] = ()) -> tuple[str, ...]:
    """Every identifier of a buyer, normalized so a cart and an order of one person meet."""
    keys: list[str] = []
    if customer.external_id:
        keys.append(f"id:{source}:{customer.external_id}")
    if customer.email and customer.email.strip():
        keys.append(f"email:{customer.email.strip().lower()}")
    if customer.phone:
        digits = re.sub(r"[^\d]", "", customer.phone)
        if len(digits) >= 6:
            keys.append(f"phone:{digits}")
    keys.extend(f"token:{source}:{token}" for token in tokens if token)
    return tuple(dict.fromkeys(keys))


def order_buyer_keys(order: Order) -> tuple[str, ...]:
    return buyer_keys(order.source, order.customer, order.cart_tokens)


def order_products(order: Order) -> frozenset[str]:
    return frozenset(p for line in order.lines for p in (line.product_id, line.sku) if p)


class BuyerIndex(Protocol):
    def record(self, order: Order, placed_at: datetime) -> None:
        """Index a placed order under each of its buyer's keys (idempotent)."""
        ...

    def orders_since(self, keys: Sequence[str], since: datetime) -> list[PastOrder]:
        """Orders placed at or after `since` by any of `keys`, oldest first, each once."""
        ...


def pause_after_order(settings: Settings) -> timedelta:
    """No marketing reminder this long after the customer's last order (0: no pause)."""
    return timedelta(days=settings.int_value("notify.marketing.pause_after_order_days"))
