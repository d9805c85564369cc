"""The late-order check: a timer armed when an order is paid fires after the configured hours;
an order still awaiting shipment then gets a single-use discount code and the "delayed" message.

It is recorded like any other change (`record_delivery`), under the dedup key `late:{order_id}`,
so a timer that fires twice apologises once; the code is stored with the order and the message
records are written in the same transaction.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shopflow.kernel.capability import OrderTimers
from shopflow.kernel.timers import TimerRequest
from shopflow.orders.changes import (
    AWAITING_SHIPMENT,
    DelayDetected,
    DomainEvent,
    OrderPlaced,
    OrderStatusChanged,
)
from shopflow.orders.model import DiscountCode, Order, new_code
from shopflow.orders.ports import OrderStore, ReceivedChange
from shopflow.orders.service import Recorded, record_delivery

if TYPE_CHECKING:  # settings are handed in; reading them needs no import
    from shopflow.clock import Clock
    from shopflow.config.settings import Settings

LATE_CHECK = "late_check"  # the timer action


def late_checks(
    events: tuple[DomainEvent, ...], now: datetime, late_after: timedelta | None
) -> tuple[TimerRequest, ...]:
    """A late-order check for an order that has just become paid and awaits shipment."""
    if late_after is None:
        return ()
    return tuple(
        TimerRequest(
            timer_id=f"late#{event.order_id}",
            action=LATE_CHECK,
            due_at=now + late_after,
            payload=json.dumps({"order_id": event.order_id, "hours": late_after // timedelta(hours=1)}),
        )
        for event in events
        if event.status in AWAITING_SHIPMENT
        and (
            isinstance(event, OrderPlaced)
            or (isinstance(event, OrderStatusChanged) and event.previous_status not in AWAITING_SHIPMENT)
        )
    )


def late_check_planner(settings: Settings) -> OrderTimers:
    """The order timers of the late-order check, as the owner's settings time them."""
    late_after = timedelta(hours=settings.int_value("notify.delayed.after_hours"))

    def plan(events: tuple[DomainEvent, ...], order: Order, now: datetime) -> tuple[TimerRequest, ...]:
        return late_checks(events, now, late_after)

    return plan


def check_late_order(
    payload: dict[str, Any], *, store: OrderStore, settings: Settings, clock: Clock
) -> Recorded:
    order_id = str(payload["order_id"])
    now = clock.now()
    source, external_id = order_id.split(":", 1)
    coupon = DiscountCode(
        code=new_code("SORRY"),
        percent=settings.int_value("notify.delayed.coupon_percent"),
        valid_until=now + timedelta(days=settings.int_value("notify.delayed.coupon_valid_days")),
    )
    change = DelayDetected(
        order_id=order_id,
        source=source,
        external_id=external_id,
        coupon=coupon,
        hours=int(payload["hours"]),
        occurred_at=now,
    )
    return record_delivery(
        ReceivedChange(dedup_keys=(f"late:{order_id}",), change=change, via="late-order check"),
        store,
        now=now,
    )
