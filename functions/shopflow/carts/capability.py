"""Abandoned carts: checkouts the storefront reports, reminded in two steps (the second with a code)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from shopflow.kernel.capability import Capability, Intake, IntakeHandler, TimerAction
from shopflow.kernel.messages import MessageFlow, MessageKind
from shopflow.kernel.settings import Setting

if TYPE_CHECKING:
    from shopflow.bootstrap import Runtime
    from shopflow.config.settings import Settings

KINDS: tuple[MessageKind, ...] = (
    MessageKind("cart_reminder", transactional=False),
    MessageKind("cart_offer", transactional=False, needs_coupon=True),
)

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "notify.cart_reminder.after_minutes",
        "int",
        "Minutes without activity after which a cart counts as abandoned and gets its first reminder.",
        default=60,
        minimum=5,
        maximum=10080,
    ),
    Setting(
        "notify.cart_offer.after_hours",
        "int",
        "Hours after the first reminder the second one, with a single-use discount code, is due "
        "(under notify.marketing.cap_hours the frequency cap skips it).",
        default=24,
        minimum=1,
        maximum=336,
    ),
    Setting(
        "notify.cart_offer.percent",
        "int",
        "Discount (percent) of the second cart reminder's code.",
        default=10,
        minimum=1,
        maximum=90,
    ),
    Setting(
        "notify.cart_offer.valid_days",
        "int",
        "Days the second cart reminder's code stays valid.",
        default=7,
        minimum=1,
        maximum=90,
    ),
    Setting(
        "notify.cart_offer.min_total",
        "int",
        "Smallest cart total (whole units of its currency) that gets the second reminder and its code.",
        default=0,
        minimum=0,
        maximum=1000000,
    ),
)


def intake(runtime: Runtime) -> Mapping[type, IntakeHandler]:
    from shopflow.carts.ports import ReceivedCartChange  # the intake's normalizers load it anyway

    def record(received: ReceivedCartChange, settings: Settings) -> Intake:
        # Cold start: an order webhook loads no cart intake.
        from shopflow.carts.reminders import cart_timing
        from shopflow.carts.service import record_cart_delivery

        recorded = record_cart_delivery(
            received,
            runtime.carts,
            now=runtime.clock.now(),
            dedup_retention=timedelta(days=settings.dedup_retention_days),
            timing=cart_timing(settings),
        )
        details = {"cart_status": recorded.cart_status.value} if recorded.cart_status is not None else {}
        return Intake(recorded.status, {"cart_id": recorded.cart_id}, recorded.reason, details)

    return {ReceivedCartChange: record}


def message_flows(runtime: Runtime) -> Sequence[MessageFlow]:
    from shopflow.carts.flow import CartReminders  # only notify loads flows

    return (
        CartReminders(
            carts=runtime.carts,
            buyers=runtime.buyers,
            settings=runtime.settings.load,
            clock_now=runtime.clock.now,
            kinds=KINDS,
        ),
    )


def timer_actions(runtime: Runtime) -> Mapping[str, TimerAction]:
    from shopflow.carts.reminders import CART_REMINDER
    from shopflow.kernel.queue_messages import CartStepDue

    # notify checks the cart again and sends each channel's message.
    return {CART_REMINDER: lambda payload: runtime.to_notify(CartStepDue.model_validate(payload))}


CAPABILITY = Capability(
    name="carts",
    settings=SETTINGS,
    kinds=KINDS,
    intake=intake,
    intake_modules=("shopflow.carts.reminders", "shopflow.carts.service"),
    message_flows=message_flows,
    timer_actions=timer_actions,
)
