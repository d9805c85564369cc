"""Abandoned-cart reminders as a message flow: step 1 after inactivity, step 2 with a code.

The cart intake arms a `cart_reminder` timer per step; when it fires, the timers function
puts a `CartStepDue` on the notify queue and this flow checks the cart again (it may have seen
activity, been bought, or the customer ordered something else meanwhile) before the notify
pipeline sends each channel's message. Step 2's single-use code is made once, stored with the
cart before any message shows it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from shopflow.carts.model import CART_SUBJECT_PREFIX, Cart
from shopflow.carts.ports import StoredCart
from shopflow.carts.reminders import (
    CART_REMINDER,
    KIND_OF_STEP,
    STEP_OF_KIND,
    Step,
    cart_timing,
    check_step,
    timer_id,
)
from shopflow.kernel.conflicts import VersionConflict
from shopflow.kernel.messages import Extras, MessageKind, NotYet, Outbound, Route
from shopflow.kernel.queue_messages import CartStepDue
from shopflow.kernel.skip import Skip
from shopflow.orders.model import DiscountCode, new_code
from shopflow.orders.purchases import BuyerIndex, buyer_keys, pause_after_order

if TYPE_CHECKING:  # settings are handed in; reading them needs no import
    from shopflow.config.settings import Settings


class CartOffers(Protocol):
    """The cart repository as this flow uses it: read a cart, store its step-2 code once."""

    def get(self, cart_id: str) -> StoredCart | None: ...

    def save_offer(self, stored: StoredCart, offer: DiscountCode, now: datetime) -> StoredCart: ...


class NoSuchCart(ValueError):
    """A reminder for a cart that does not exist: it goes to the DLQ after its receives."""


class CartKeptChanging(Exception):
    """The cart changed under every attempt to store its code: SQS brings the reminder back."""


@dataclass
class CartReminders:
    carts: CartOffers
    buyers: BuyerIndex | None
    settings: Callable[[], Settings]
    clock_now: Callable[[], datetime]
    # Its capability's message kinds (capability.py), handed in: the declaration imports the flow.
    kinds: tuple[MessageKind, ...] = field(kw_only=True)

    def routes(self, outbound: Outbound) -> Iterable[Route]:
        return [(CART_REMINDER, CartStepDue, lambda message: self.remind(message, outbound))]

    def remind(self, message: CartStepDue, outbound: Outbound) -> None:
        """A step whose timer fired: check the cart again, then each channel's message."""
        cart_id, step = message.cart_id, message.step
        stored = self.carts.get(cart_id)
        if stored is None:
            raise NoSuchCart(f"cart reminder for {cart_id}: no such cart")
        now, kind, cause = self.clock_now(), KIND_OF_STEP[step], timer_id(cart_id, step)
        checked: Cart | Skip | NotYet = self._check(stored.cart, step, now) or stored.cart
        if (
            isinstance(checked, Cart)
            and step == 2
            and checked.offer is None
            and outbound.waiting(checked.subject_id, kind)
        ):
            checked = self._with_offer(stored, step, now)
        if isinstance(checked, NotYet):
            return  # the cart saw activity: its re-armed timer sends the step
        if isinstance(checked, Skip):
            outbound.skip_waiting(stored.cart, kind, cause=cause, reason=checked.reason)
            return
        outbound.send(checked, kind, cause=cause)

    def subject(self, subject_id: str) -> Cart | None:
        if not subject_id.startswith(CART_SUBJECT_PREFIX):
            return None
        stored = self.carts.get(subject_id.removeprefix(CART_SUBJECT_PREFIX))
        return stored.cart if stored else None

    def recheck(self, subject: Cart, kind: str, now: datetime) -> Cart | Skip | NotYet:
        return self._check(subject, STEP_OF_KIND[kind], now) or subject

    def extras(self, subject: Cart, kind: str) -> Extras:
        return Extras(coupon=subject.offer)

    def _check(self, cart: Cart, step: Step, now: datetime) -> NotYet | Skip | None:
        settings = self.settings()
        pause = pause_after_order(settings)
        since = min(cart.started_at, now - pause)
        keys = buyer_keys(cart.source, cart.customer, cart.tokens)
        return check_step(
            cart,
            step,
            now=now,
            timing=cart_timing(settings),
            purchases=self.buyers.orders_since(keys, since) if (keys and self.buyers) else [],
            pause_after_order=pause,
            offer_min_total=Decimal(settings.int_value("notify.cart_offer.min_total")),
        )

    def _with_offer(self, stored: StoredCart, step: Step, now: datetime) -> Cart | Skip | NotYet:
        """The cart with its single-use code, made once: a retry or a second worker finds it
        stored. A cart that changed meanwhile is checked again: bought or active since, it gets
        no code (why not, instead)."""
        settings = self.settings()
        for _ in range(3):
            offer = DiscountCode(
                code=new_code("BACK"),
                percent=settings.int_value("notify.cart_offer.percent"),
                valid_until=now + timedelta(days=settings.int_value("notify.cart_offer.valid_days")),
            )
            try:
                return self.carts.save_offer(stored, offer, now).cart
            except VersionConflict:
                current = self.carts.get(stored.cart.cart_id)
                if current is None:
                    break
                if current.cart.offer is not None:
                    return current.cart
                verdict = self._check(current.cart, step, now)
                if verdict is not None:
                    return verdict
                stored = current
        raise CartKeptChanging(f"cart {stored.cart.cart_id} kept changing while its code was made")
