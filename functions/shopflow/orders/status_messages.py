"""The messages an order's own life causes: confirmation, paid, shipped, delivered, cancelled,
refunded and the late-order apology. Transactional: sent without marketing consent.

Outbox events (`OrderPlaced`, `OrderStatusChanged`, `OrderDelayed`) reach the notify queue as
`EventMessage`s; this flow turns each into the message of the status it announces and hands it
to the notify pipeline, which decides, sends once and settles it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from shopflow.kernel.messages import Extras, MessageKind, Outbound, Route
from shopflow.kernel.queue_messages import EventMessage
from shopflow.kernel.skip import Skip
from shopflow.orders.message_kinds import kinds_for
from shopflow.orders.model import Order, OrderStatus
from shopflow.orders.purchases import BuyerIndex

if TYPE_CHECKING:
    from shopflow.orders.ports import StoredOrder


# The outbox events this flow hears (dispatch routes them to the notify queue).
EVENT_TYPES = ("OrderPlaced", "OrderStatusChanged", "OrderDelayed")


class BadOrderEvent(ValueError):
    """An event body without its order: it goes to the DLQ after its receives."""


class OrderMissing(Exception):
    """The event's order is not readable yet (it is written with the event): SQS brings it back."""


@dataclass(frozen=True)
class OrderEvent:
    cause: str  # outbox_id
    event_type: str
    order_id: str
    status: OrderStatus
    occurred_at: datetime | None = None

    @classmethod
    def of(cls, message: EventMessage) -> OrderEvent:
        event = message.event
        try:
            return cls(
                cause=message.outbox_id,
                event_type=message.type,
                order_id=str(event["order_id"]),
                status=OrderStatus(event["status"]),
                occurred_at=datetime.fromisoformat(event["occurred_at"])
                if event.get("occurred_at")
                else None,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise BadOrderEvent(f"{message.type} without its order: {type(exc).__name__}") from None


@dataclass
class OrderStatusMessages:
    get_order: Callable[[str], StoredOrder | None]
    buyers: BuyerIndex | None = None
    # Its capability's message kinds (capability.py), handed in: the declaration imports the flow.
    kinds: tuple[MessageKind, ...] = field(kw_only=True)

    def routes(self, outbound: Outbound) -> Iterable[Route]:
        def heard(message: EventMessage) -> None:
            self.notify(OrderEvent.of(message), outbound)

        return [(event_type, EventMessage, heard) for event_type in EVENT_TYPES]

    def notify(self, event: OrderEvent, outbound: Outbound) -> None:
        kinds = kinds_for(event.event_type, event.status)
        if not kinds:
            return
        stored = self.get_order(event.order_id)
        if stored is None:
            raise OrderMissing(f"order {event.order_id} not found")  # cannot happen: written with the event
        placed_at = stored.order.placed_at or event.occurred_at
        if event.event_type == "OrderPlaced" and self.buyers is not None and placed_at is not None:
            # The intake wrote the buyer index right after its commit; a crash in between would
            # let a reminder miss this order, so it is written again here (the same items).
            self.buyers.record(stored.order, placed_at)
        for kind in kinds:
            outbound.send(stored.order, kind, cause=event.cause)

    def subject(self, subject_id: str) -> Order | None:
        stored = self.get_order(subject_id)
        return stored.order if stored else None

    def recheck(self, subject: Order, kind: str, now: datetime) -> Order:
        return subject  # about the order's own status: it goes as the order is now

    def extras(self, subject: Order, kind: str) -> Extras | Skip:
        return Extras(coupon=subject.delay_coupon)
