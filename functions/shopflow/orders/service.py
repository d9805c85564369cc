"""Recording one received change: read, apply, stage into a unit of work and commit it once;
retry only on a lost race, with a new read and a new unit of work."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from shopflow.kernel.capability import OrderTimers, OrderWrites
from shopflow.kernel.conflicts import MAX_ATTEMPTS, ConcurrentUpdates, VersionConflict, back_off
from shopflow.orders.changes import apply_change
from shopflow.orders.model import OrderStatus
from shopflow.orders.ports import Commit, OrderStore, ReceivedChange, StoredOrder


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
    timers: Sequence[OrderTimers] = (),
    writes: Sequence[OrderWrites] = (),
    sleep: Callable[[float], None] = time.sleep,
) -> Recorded:
    """`timers`: what the capabilities arm when an order changes (a late-order check when it is
    paid, a review request when it is delivered, ...), committed with the change; `writes`: what
    they write with it (stock committing the order's lines), staged into the same unit of work."""
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
        work = store.unit_of_work()
        store.stage(
            Commit(
                dedup_keys=delivery.dedup_keys,
                order=outcome.order,
                expected_version=stored.version if stored else None,
                timeline=outcome.timeline,
                events=outcome.events,
                now=now,
                recorded_deliveries=stored.deliveries if stored else (),
                timers=tuple(
                    timer for planner in timers for timer in planner(outcome.events, outcome.order, now)
                ),
            ),
            work,
        )
        for stage_more in writes:
            stage_more(stored.order if stored else None, outcome.order, outcome.events, now, work)
        try:
            work.commit()
        except VersionConflict:
            back_off(attempt, sleep)
            continue
        if outcome.timeline is None:  # only the watermark moved
            return Recorded(
                "ignored", order_id, outcome.order.status, reason=outcome.ignored_because, wrote=True
            )
        return Recorded("accepted", order_id, outcome.order.status, outcome.timeline.changes, wrote=True)
    raise ConcurrentUpdates("order", {"order_id": order_id})
