"""Recording one cart delivery: read, apply, stage into a unit of work and commit it once (with the
reminder timers); retry a lost race with a new read and a new unit of work."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from shopflow.carts.model import CartStatus, apply_cart_change
from shopflow.carts.ports import CartCommit, CartStore, ReceivedCartChange
from shopflow.carts.reminders import CART_REMINDER, STEPS, CartTiming, timer_id, timer_payload
from shopflow.kernel.conflicts import (
    MAX_ATTEMPTS,
    ConcurrentUpdates,
    DuplicateDelivery,
    VersionConflict,
    back_off,
)
from shopflow.kernel.timeline import TimelineEntry
from shopflow.kernel.timers import TimerRequest


@dataclass(frozen=True)
class CartRecorded:
    status: Literal["accepted", "duplicate", "ignored"]
    cart_id: str
    cart_status: CartStatus | None = None
    reason: str | None = None


def record_cart_delivery(
    delivery: ReceivedCartChange,
    store: CartStore,
    *,
    now: datetime,
    dedup_retention: timedelta,
    timing: CartTiming,
    sleep: Callable[[float], None] = time.sleep,
) -> CartRecorded:
    change = delivery.change
    for attempt in range(MAX_ATTEMPTS):
        try:
            loaded = store.load(change.cart_id, delivery.dedup_keys)
        except VersionConflict:
            back_off(attempt, sleep)
            continue
        if loaded.duplicate:
            return CartRecorded("duplicate", change.cart_id)
        stored = loaded.stored
        outcome = apply_cart_change(stored.cart if stored else None, change)
        if outcome.cart is None or outcome.detail is None:
            current = stored.cart.status if stored else None
            return CartRecorded("ignored", change.cart_id, current, outcome.ignored_because)
        cart = outcome.cart
        timers = tuple(
            TimerRequest(
                timer_id(cart.cart_id, step),
                CART_REMINDER,
                timing.due(cart, step),
                timer_payload(cart.cart_id, step),
            )
            for step in STEPS
        )
        work = store.unit_of_work()
        store.stage(
            CartCommit(
                dedup_keys=delivery.dedup_keys,
                cart=cart,
                expected_version=stored.version if stored else None,
                entry=TimelineEntry(
                    at=cart.last_activity_at,
                    recorded_at=now,
                    event=f"cart_{cart.status.value}" if outcome.closed else "cart_seen",
                    status=cart.status,
                    source=delivery.via,
                    detail=outcome.detail,
                ),
                now=now,
                dedup_retention=dedup_retention,
                # Activity moves both reminders; a bought or deleted cart loses them.
                arm=timers if outcome.open else (),
                cancel=tuple(t.timer_id for t in timers) if outcome.closed and stored else (),
            ),
            work,
        )
        try:
            work.commit()
        except DuplicateDelivery:
            return CartRecorded("duplicate", change.cart_id)
        except VersionConflict:
            back_off(attempt, sleep)
            continue
        return CartRecorded("accepted", cart.cart_id, cart.status)
    raise ConcurrentUpdates("cart", {"cart_id": change.cart_id})
