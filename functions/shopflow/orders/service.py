"""Recording one verified delivery: read, apply, commit once; retry only on a lost race."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from shopflow.kernel.conflicts import VersionConflict
from shopflow.kernel.timers import TimerRequest
from shopflow.orders.changes import (
    AWAITING_SHIPMENT,
    DomainEvent,
    OrderDelayed,
    OrderPlaced,
    OrderStatusChanged,
    apply_change,
)
from shopflow.orders.model import Order, OrderStatus
from shopflow.orders.ports import Commit, OrderStore, ReceivedChange, StoredOrder
from shopflow.replenishment.rules import REPLENISHMENT

MAX_ATTEMPTS = 6


class ConcurrentUpdates(Exception):
    """The order (or cart) kept changing under us; the sender should retry later (answer 503)."""


@dataclass(frozen=True)
class Recorded:
    status: Literal["accepted", "duplicate", "ignored"]
    order_id: str
    order_status: OrderStatus | None = None
    changes: tuple[str, ...] = ()
    reason: str | None = None
    # Whether the order was written: always when accepted, and when an unchanged but newer
    # body moved its watermark.
    wrote: bool = False


def record_delivery(
    delivery: ReceivedChange,
    store: OrderStore,
    *,
    now: datetime,
    late_after: timedelta | None = None,
    review_after: timedelta | None = None,
    replenishment_due: ReplenishmentPlanner | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Recorded:
    """`late_after`: when an order becomes paid, arm its late-order check for then;
    `review_after`: when it is delivered, arm its review request; `replenishment_due`: when it is
    delivered, when to remind the customer to buy its consumables again (None: never)."""
    change = delivery.change
    order_id = change.order_id
    read_first = not delivery.expect_new
    for attempt in range(MAX_ATTEMPTS):
        stored: StoredOrder | None = None
        if read_first:
            try:
                loaded = store.load(order_id, delivery.dedup_keys)
            except VersionConflict:
                back_off(attempt, sleep)
                continue
            if loaded.duplicate:
                return Recorded("duplicate", order_id)
            stored = loaded.stored
        read_first = True
        outcome = apply_change(stored.order if stored else None, change, via=delivery.via, now=now)
        if outcome.order is None or (
            outcome.timeline is None and (stored is None or outcome.order == stored.order)
        ):
            status = stored.order.status if stored else None
            return Recorded("ignored", order_id, status, reason=outcome.ignored_because)
        try:
            store.commit(
                Commit(
                    dedup_keys=delivery.dedup_keys,
                    order=outcome.order,
                    expected_version=stored.version if stored else None,
                    timeline=outcome.timeline,
                    events=outcome.events,
                    now=now,
                    recorded_deliveries=stored.deliveries if stored else (),
                    timers=late_checks(outcome.events, now, late_after)
                    + review_requests(outcome.events, now, review_after)
                    + replenishment_reminders(outcome.events, outcome.order, now, replenishment_due),
                )
            )
        except VersionConflict:
            back_off(attempt, sleep)
            continue
        if outcome.timeline is None:  # only the watermark moved
            return Recorded(
                "ignored", order_id, outcome.order.status, reason=outcome.ignored_because, wrote=True
            )
        return Recorded("accepted", order_id, outcome.order.status, outcome.timeline.changes, wrote=True)
    raise ConcurrentUpdates(order_id)


LATE_CHECK = "late_check"


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


REVIEW_REQUEST = "review_request"


def review_requests(
    events: tuple[DomainEvent, ...], now: datetime, review_after: timedelta | None
) -> tuple[TimerRequest, ...]:
    """A review request for an order that has just been delivered (checked again when due)."""
    if review_after is None:
        return ()
    return tuple(
        TimerRequest(
            timer_id=f"review#{event.order_id}",
            action=REVIEW_REQUEST,
            due_at=now + review_after,
            payload=json.dumps({"order_id": event.order_id}),
        )
        for event in events
        if _delivers(event)
    )


# The delivered order and the moment of delivery -> when its replenishment reminder is due.
ReplenishmentPlanner = Callable[[Order, datetime], datetime | None]


def replenishment_reminders(
    events: tuple[DomainEvent, ...], order: Order, now: datetime, planner: ReplenishmentPlanner | None
) -> tuple[TimerRequest, ...]:
    """One reminder for an order that has just been delivered, if it holds consumables."""
    if planner is None or not any(_delivers(event) for event in events):
        return ()
    due = planner(order, now)
    if due is None:
        return ()
    return (
        TimerRequest(
            timer_id=f"replenish#{order.order_id}",
            action=REPLENISHMENT,
            due_at=due,
            payload=json.dumps({"flow": REPLENISHMENT, "order_id": order.order_id}),
        ),
    )


def _delivers(event: DomainEvent) -> bool:
    """The event records the order becoming delivered (a late-order notice may carry that status)."""
    return event.status is OrderStatus.DELIVERED and not isinstance(event, OrderDelayed)


def back_off(attempt: int, sleep: Callable[[float], None]) -> None:
    # Someone else is changing the order right now: wait a little (full jitter), read again.
    sleep(random.uniform(0, 0.005 * 2**attempt))  # noqa: S311 - jitter, not crypto
