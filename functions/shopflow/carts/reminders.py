"""When a cart's reminders are due, and whether one may still go: pure.

Step 1 goes after `inactivity` without news of the cart; step 2 (with a single-use code)
`offer_after` later. Both are timed from the cart's last activity, so new activity moves them;
when a timer fires the cart is checked again, because the world may have changed meanwhile.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from shopflow.carts.model import Cart, CartStatus
from shopflow.kernel.messages import NotYet
from shopflow.kernel.skip import Skip
from shopflow.orders.model import PastOrder, ordered_recently

if TYPE_CHECKING:  # settings are handed in; reading them needs no import
    from shopflow.config.settings import Settings

Step = Literal[1, 2]
STEPS: tuple[Step, ...] = (1, 2)
KIND_OF_STEP: dict[Step, str] = {1: "cart_reminder", 2: "cart_offer"}
STEP_OF_KIND: dict[str, Step] = {kind: step for step, kind in KIND_OF_STEP.items()}
CART_REMINDER = "cart_reminder"  # the timer action


@dataclass(frozen=True)
class CartTiming:
    inactivity: timedelta
    offer_after: timedelta

    def due(self, cart: Cart, step: Step) -> datetime:
        first = cart.last_activity_at + self.inactivity
        return first if step == 1 else first + self.offer_after


def cart_timing(settings: Settings) -> CartTiming:
    return CartTiming(
        inactivity=timedelta(minutes=settings.int_value("notify.cart_reminder.after_minutes")),
        offer_after=timedelta(hours=settings.int_value("notify.cart_offer.after_hours")),
    )


def timer_id(cart_id: str, step: Step) -> str:
    return f"cart#{cart_id}#{step}"


def timer_payload(cart_id: str, step: Step) -> str:
    return json.dumps({"cart_id": cart_id, "step": step})


def check_step(
    cart: Cart,
    step: Step,
    *,
    now: datetime,
    timing: CartTiming,
    purchases: Sequence[PastOrder],
    pause_after_order: timedelta,
    offer_min_total: Decimal,
) -> NotYet | Skip | None:
    """None when the step may go (consent, opt-outs, cap and quiet hours are notify's as for
    every marketing message). `purchases`: the customer's orders since
    min(cart start, now - pause_after_order), by any of the cart's identifiers."""
    if cart.status is CartStatus.CONVERTED:
        into = f" (order {cart.converted_order_id})" if cart.converted_order_id else ""
        return Skip(f"purchased{into}")
    if cart.status is CartStatus.DELETED:
        return Skip("cart deleted at the storefront")
    due = timing.due(cart, step)
    if now < due:
        return NotYet(due)
    bought = [p for p in purchases if p.placed_at >= cart.started_at]
    if bought:
        return Skip(f"purchased (order {bought[-1].order_id})")
    if recent := ordered_recently(purchases, now, pause_after_order):
        return Skip(recent)
    if not cart.lines or cart.currency is None:
        return Skip("cart is empty")
    if step == 2 and cart.total < offer_min_total:
        return Skip(f"cart total {cart.total} is below the offer's minimum {offer_min_total}")
    return None
