"""The late-order check: a timer armed when an order is paid fires after the configured hours;
an order still awaiting shipment then gets a single-use discount code and the "delayed" message.

It is recorded like any other change (`record_delivery`), under the dedup key `late:{order_id}`,
so a timer that fires twice apologises once; the code is stored with the order and the message
records are written in the same transaction.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shopflow.clock import Clock
from shopflow.config.settings import Settings
from shopflow.orders.changes import DelayDetected
from shopflow.orders.model import DiscountCode, new_code
from shopflow.orders.ports import OrderStore, ReceivedChange
from shopflow.orders.service import Recorded, record_delivery


def check_late_order(
    payload: dict[str, Any], *, store: OrderStore, settings: Settings, clock: Clock
) -> Recorded:
    order_id = str(payload["order_id"])
    source, external_id = order_id.split(":", 1)
    now = clock.now()
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
