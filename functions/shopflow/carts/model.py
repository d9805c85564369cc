"""The canonical cart and how one delivery changes it: pure, no I/O.

A cart is seen (`CartSnapshot`), possibly many times, then converted into an order or deleted.
Deliveries arrive twice and out of order, so: a snapshot older than the one stored changes
nothing, and converted or deleted is final (a late snapshot cannot reopen a bought cart).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shopflow.kernel.money import Amount, CurrencyCode
from shopflow.orders.model import Customer, DiscountCode, OrderLine


class CartStatus(StrEnum):
    OPEN = "open"
    CONVERTED = "converted"
    DELETED = "deleted"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, defer_build=True)


class Cart(_Model):
    cart_id: str  # "{source}:{external_id}"
    source: str
    external_id: str
    status: CartStatus = CartStatus.OPEN
    # None only for a cart whose conversion arrived before any snapshot of it (never reminded).
    currency: CurrencyCode | None = None
    total: Amount = Decimal("0")
    lines: tuple[OrderLine, ...] = ()
    customer: Customer = Customer()
    recovery_url: str | None = None  # where the customer picks the cart up again
    # Identifiers an order carries when it was placed from this cart ("checkout:123", "cart:ab12").
    tokens: tuple[str, ...] = ()
    started_at: datetime
    # The sender's time of the newest snapshot: what orders deliveries and what inactivity counts from.
    last_activity_at: datetime
    converted_order_id: str | None = None
    # The single-use code of the second reminder, made once when it is first due.
    offer: DiscountCode | None = None

    @property
    def subject_id(self) -> str:
        """What the cart's messages and timeline are filed under (an order files under its id)."""
        return cart_subject_id(self.cart_id)


CART_SUBJECT_PREFIX = "cart|"  # "|" never appears in an order id: sources are [a-z0-9_-]


def cart_subject_id(cart_id: str) -> str:
    return f"{CART_SUBJECT_PREFIX}{cart_id}"


class _Change(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    cart_id: str
    source: str
    external_id: str


class CartSnapshot(_Change):
    """The whole cart as the sender sees it (a converted one when `cart.status` says so)."""

    kind: Literal["snapshot"] = "snapshot"
    cart: Cart


class CartConverted(_Change):
    kind: Literal["converted"] = "converted"
    order_id: str | None = None
    occurred_at: datetime


class CartDeleted(_Change):
    kind: Literal["deleted"] = "deleted"
    occurred_at: datetime


CartChange = CartSnapshot | CartConverted | CartDeleted


@dataclass(frozen=True)
class CartOutcome:
    cart: Cart | None  # None: nothing to store
    detail: str | None  # the timeline line; None when nothing changed
    ignored_because: str | None = None

    @property
    def open(self) -> bool:
        """Still waiting for the customer: its reminders are (re-)armed."""
        return self.cart is not None and self.cart.status is CartStatus.OPEN

    @property
    def closed(self) -> bool:
        return self.cart is not None and self.cart.status is not CartStatus.OPEN


def apply_cart_change(current: Cart | None, change: CartChange) -> CartOutcome:
    if current is not None and current.status is not CartStatus.OPEN:
        return CartOutcome(None, None, ignored_because=f"cart is {current.status} already")
    if isinstance(change, CartSnapshot):
        seen = change.cart
        if current is None:
            return CartOutcome(seen, _seen_detail(seen, "cart started"))
        if seen.last_activity_at <= current.last_activity_at:
            return CartOutcome(None, None, ignored_because="stale")
        updated = seen.model_copy(
            update={
                "started_at": min(current.started_at, seen.started_at),
                "offer": current.offer,
                "tokens": tuple(dict.fromkeys((*current.tokens, *seen.tokens))),
            }
        )
        return CartOutcome(updated, _seen_detail(updated, "cart updated"))
    base = current or Cart(
        cart_id=change.cart_id,
        source=change.source,
        external_id=change.external_id,
        started_at=change.occurred_at,
        last_activity_at=change.occurred_at,
    )
    if isinstance(change, CartConverted):
        converted = base.model_copy(
            update={"status": CartStatus.CONVERTED, "converted_order_id": change.order_id}
        )
        order = f" into order {change.order_id}" if change.order_id else ""
        return CartOutcome(converted, f"cart converted{order}: no reminders")
    deleted = base.model_copy(update={"status": CartStatus.DELETED})
    return CartOutcome(deleted, "cart deleted at the storefront: no reminders")


def _seen_detail(cart: Cart, what: str) -> str:
    if cart.status is CartStatus.CONVERTED:
        return "cart completed: no reminders"
    items = sum(line.quantity for line in cart.lines)
    return f"{what}: {items} item{'' if items == 1 else 's'}, {cart.total} {cart.currency or ''}".rstrip()
