"""The messages an order can cause, and which change causes which.

Kept free of heavy imports: the settings spec and the intake transaction read it too.
"""

from __future__ import annotations

from typing import Literal

from shopflow.orders.model import OrderStatus

Channel = Literal["email", "sms"]
CHANNELS: tuple[Channel, ...] = ("email", "sms")

# Transactional: about the customer's order, sent without marketing consent.
TRANSACTIONAL_KINDS: tuple[str, ...] = (
    "confirmation",
    "paid",
    "shipped",
    "delivered",
    "cancelled",
    "refunded",
    "delayed",
)
# Marketing: need consent for the channel, honour unsubscribes, carry one-click unsubscribe.
# About a shopper's cart, not an order (abandoned-cart reminders: step 1, and step 2 with a code).
CART_KINDS: tuple[str, ...] = ("cart_reminder", "cart_offer")
# "replenishment": the customer's consumables from a delivered order are about to run out.
MARKETING_KINDS: tuple[str, ...] = ("review", "replenishment", *CART_KINDS)
KINDS: tuple[str, ...] = TRANSACTIONAL_KINDS + MARKETING_KINDS
ORDER_KINDS: tuple[str, ...] = tuple(k for k in KINDS if k not in CART_KINDS)
TRANSACTIONAL: frozenset[str] = frozenset(TRANSACTIONAL_KINDS)


# The status an order moved to -> the message it causes. `processing` and `returned` cause none.
_BY_STATUS: dict[OrderStatus, str] = {
    OrderStatus.PAID: "paid",
    OrderStatus.SHIPPED: "shipped",
    OrderStatus.DELIVERED: "delivered",
    OrderStatus.CANCELLED: "cancelled",
    OrderStatus.REFUNDED: "refunded",
}

# Sent by SMS too unless the owner says otherwise; every kind goes by email by default.
# (A marketing SMS also needs the customer's SMS consent.)
SMS_BY_DEFAULT: frozenset[str] = frozenset({"shipped", "delayed"})


# A new order gets one message, the one for the status it arrives in: before it ships, the
# confirmation (a shop that takes payment at checkout sends one confirmation, not a confirmation
# and a "paid"); once shipped or later, that status's message, which also lists the order (the
# confirmation would promise to say when it ships). `returned` sends nothing, as a change does.
_FIRST_BY_STATUS: dict[OrderStatus, str] = {
    **_BY_STATUS,
    OrderStatus.PENDING: "confirmation",
    OrderStatus.PAID: "confirmation",
    OrderStatus.PROCESSING: "confirmation",
}


def kinds_for(event_type: str, status: OrderStatus) -> tuple[str, ...]:
    """The messages an outbox event causes: for a new order (`OrderPlaced`) the one message of the
    status it arrives in (`_FIRST_BY_STATUS`); for a status change, that status's message."""
    if event_type == "OrderPlaced":
        return (_FIRST_BY_STATUS[status],) if status in _FIRST_BY_STATUS else ()
    if event_type == "OrderDelayed":
        return ("delayed",)
    if event_type == "OrderStatusChanged" and status in _BY_STATUS:
        return (_BY_STATUS[status],)
    return ()
