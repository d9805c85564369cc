"""The canonical order every storefront's payload is normalized into.

Money is `Decimal` in the order's currency (the currency the customer paid in); the
shop's own currency and total are kept beside it when the platform reports both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shopflow.kernel.money import Amount, CurrencyCode


class OrderStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    PROCESSING = "processing"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    RETURNED = "returned"


# The state machine (docs/orders.md). A status only ever moves along these arrows, so a
# late or replayed delivery can never move an order back (delivered -> shipped, say).
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset(
        {
            OrderStatus.PAID,
            OrderStatus.PROCESSING,
            OrderStatus.SHIPPED,
            OrderStatus.DELIVERED,
            OrderStatus.CANCELLED,
        }
    ),
    OrderStatus.PAID: frozenset(
        {
            OrderStatus.PROCESSING,
            OrderStatus.SHIPPED,
            OrderStatus.DELIVERED,
            OrderStatus.CANCELLED,
            OrderStatus.REFUNDED,
        }
    ),
    OrderStatus.PROCESSING: frozenset(
        {OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.CANCELLED, OrderStatus.REFUNDED}
    ),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED, OrderStatus.RETURNED, OrderStatus.REFUNDED}),
    OrderStatus.DELIVERED: frozenset({OrderStatus.RETURNED, OrderStatus.REFUNDED}),
    OrderStatus.RETURNED: frozenset({OrderStatus.REFUNDED}),
    # A cancelled order whose payment was captured is refunded afterwards.
    OrderStatus.CANCELLED: frozenset({OrderStatus.REFUNDED}),
    OrderStatus.REFUNDED: frozenset(),
}


def can_transition(current: OrderStatus, new: OrderStatus) -> bool:
    return new in TRANSITIONS[current]


# Items on one line: a whole number, never a boolean or a float (strict), bounded.
MAX_QUANTITY = 1_000_000
Quantity = Annotated[int, Field(strict=True, ge=0, le=MAX_QUANTITY)]
# Names, emails, phones, tracking numbers: a person or a parcel never needs more.
MAX_TEXT_CHARS = 500
_Text = Annotated[str, Field(max_length=MAX_TEXT_CHARS)]
_Url = Annotated[str, Field(max_length=2048)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, defer_build=True)


class Consent(_Model):
    """Marketing consent per channel; transactional messages need none."""

    email: bool = False
    sms: bool = False


class Customer(_Model):
    external_id: _Text | None = None
    email: _Text | None = None
    phone: _Text | None = None
    name: _Text | None = None
    locale: Annotated[str, Field(max_length=64)] | None = None
    timezone: Annotated[str, Field(max_length=64)] | None = None
    consent: Consent = Consent()


class OrderLine(_Model):
    sku: str | None = None
    name: str
    quantity: Quantity
    # For display: a platform's unit price may be total / quantity as a float (WooCommerce),
    # kept to AMOUNT_PLACES decimals; `line_total` then keeps what the line really costs.
    unit_price: Amount
    product_id: str | None = None
    # The line's total as the platform sent it, when unit_price x quantity does not give it.
    line_total: Amount | None = None

    @property
    def total(self) -> Decimal:
        """What the line costs: exact as the platform sent it."""
        return self.line_total if self.line_total is not None else self.unit_price * self.quantity


class Tracking(_Model):
    number: _Text
    url: _Url | None = None
    carrier: _Text | None = None


class DiscountCode(_Model):
    """A single-use code given to one customer (the late-order apology)."""

    code: str
    percent: int = Field(ge=1, le=100)
    valid_until: datetime


class Order(_Model):
    order_id: str
    source: str
    external_id: str
    number: str
    status: OrderStatus
    currency: CurrencyCode
    total: Amount
    subtotal: Amount | None = None
    shop_currency: CurrencyCode | None = None
    shop_total: Amount | None = None
    lines: tuple[OrderLine, ...] = ()
    customer: Customer = Customer()
    tracking: tuple[Tracking, ...] = ()
    placed_at: datetime | None = None
    # The platform's own last-modified time of the order body: what orders deliveries.
    source_updated_at: datetime | None = None
    refunded_total: Amount = Decimal("0")
    refund_ids: tuple[str, ...] = ()
    # False while only fulfillments or refunds have arrived for an order whose body has not.
    details_received: bool = True
    # Set once, when the order was found paid but not shipped in time (notifications: "delayed").
    delay_coupon: DiscountCode | None = None
    # The cart or checkout it was placed from ("checkout:123", "cart:ab12"): converts that cart.
    cart_tokens: tuple[str, ...] = ()

    @property
    def subject_id(self) -> str:
        """What the order's messages and timeline are filed under (a cart's is `cart|{id}`)."""
        return self.order_id


@dataclass(frozen=True)
class PastOrder:
    """An order a customer placed, as the buyer index remembers it (reminders ask for these)."""

    order_id: str
    placed_at: datetime
    products: frozenset[str] = frozenset()  # product ids and SKUs


def ordered_recently(
    purchases: Sequence[PastOrder], now: datetime, pause: timedelta, *, besides: str | None = None
) -> str | None:
    """Why a marketing reminder waits: the customer ordered within `pause` (any order but
    `besides`, the one the reminder is about). None when they did not, or the pause is 0."""
    recent = [p for p in purchases if p.order_id != besides and p.placed_at >= now - pause]
    if not recent or pause <= timedelta(0):
        return None
    days = pause // timedelta(days=1)
    return f"ordered recently (order {recent[-1].order_id}): no reminders for {days} days"


# No 0/O, 1/I/L: the customer may type it.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_code(prefix: str) -> str:
    """PREFIX-XXXX-XXXX: 8 random characters, about 40 bits: unique in practice, unguessable."""
    import secrets

    chars = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
    return f"{prefix}-{chars[:4]}-{chars[4:]}"


def order_id_for(source: str, external_id: str) -> str:
    return f"{source}:{external_id}"
