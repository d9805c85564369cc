"""The messages an order's own life causes, and which outbox event causes which (pure)."""

from __future__ import annotations

from shopflow.kernel.messages import MessageKind

_SMS_BY_DEFAULT = frozenset({"shipped", "delayed"})
KINDS: tuple[MessageKind, ...] = tuple(
    MessageKind(
        name, transactional=True, sms_by_default=name in _SMS_BY_DEFAULT, needs_coupon=name == "delayed"
    )
    for name in ("confirmation", "paid", "shipped", "delivered", "cancelled", "refunded", "delayed")
)

# The status an order moved to -> the message it causes. `processing` and `returned` cause none.
_BY_STATUS: dict[str, str] = {
    "paid": "paid",
    "shipped": "shipped",
    "delivered": "delivered",
    "cancelled": "cancelled",
    "refunded": "refunded",
}

# A new order gets one message, the one for the status it arrives in: before it ships, the
# confirmation (a shop that takes payment at checkout sends one confirmation, not a confirmation
# and a "paid"); once shipped or later, that status's message, which also lists the order (the
# confirmation would promise to say when it ships). `returned` sends nothing, as a change does.
_FIRST_BY_STATUS: dict[str, str] = {
    **_BY_STATUS,
    "pending": "confirmation",
    "paid": "confirmation",
    "processing": "confirmation",
}


def kinds_for(event_type: str, status: str) -> tuple[str, ...]:
    """The messages an outbox event causes: for a new order (`OrderPlaced`) the one message of the
    status it arrives in (`_FIRST_BY_STATUS`); for a status change, that status's message."""
    if event_type == "OrderPlaced":
        return (_FIRST_BY_STATUS[status],) if status in _FIRST_BY_STATUS else ()
    if event_type == "OrderDelayed":
        return ("delayed",)
    if event_type == "OrderStatusChanged" and status in _BY_STATUS:
        return (_BY_STATUS[status],)
    return ()
