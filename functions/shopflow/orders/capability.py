"""Orders: intake of orders from every storefront, their status messages and the late-order check."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from shopflow.kernel.capability import Capability, Intake, IntakeHandler, OrderTimers, TimerAction
from shopflow.kernel.messages import MessageFlow, MessageKind
from shopflow.kernel.settings import Setting

if TYPE_CHECKING:
    from shopflow.bootstrap import Runtime
    from shopflow.config.settings import Settings

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


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "notify.delayed.after_hours",
        "int",
        "Hours after payment an unshipped order counts as late: the customer gets an apology and a code.",
        default=48,
        minimum=1,
        maximum=720,
    ),
    Setting(
        "notify.delayed.coupon_percent",
        "int",
        "Discount (percent) of the late-order apology code.",
        default=10,
        minimum=1,
        maximum=90,
    ),
    Setting(
        "notify.delayed.coupon_valid_days",
        "int",
        "Days the late-order apology code stays valid.",
        default=30,
        minimum=1,
        maximum=365,
    ),
)


def intake(runtime: Runtime) -> Mapping[type, IntakeHandler]:
    from shopflow.orders import service
    from shopflow.orders.ports import ReceivedChange  # cold start: loaded with the first input

    def record(received: ReceivedChange, settings: Settings) -> Intake:
        recorded = service.record_delivery(
            received, runtime.orders, now=runtime.clock.now(), timers=runtime.order_timers(settings)
        )
        details: dict[str, Any] = {}
        if recorded.order_status is not None:
            details["order_status"] = recorded.order_status.value
        if recorded.changes:
            details["changes"] = list(recorded.changes)
        return Intake(recorded.status, {"order_id": recorded.order_id}, recorded.reason, details)

    return {ReceivedChange: record}


def message_flows(runtime: Runtime) -> Sequence[MessageFlow]:
    from shopflow.orders.status_messages import OrderStatusMessages  # only notify loads flows

    return (OrderStatusMessages(get_order=runtime.orders.get, buyers=runtime.buyers),)


def timer_actions(runtime: Runtime) -> Mapping[str, TimerAction]:
    from shopflow.orders.late import LATE_CHECK, check_late_order

    def late_check(payload: dict[str, object]) -> None:
        check_late_order(payload, store=runtime.orders, settings=runtime.settings.load(), clock=runtime.clock)

    return {LATE_CHECK: late_check}


def order_timers(runtime: Runtime, settings: Settings) -> Sequence[OrderTimers]:
    from shopflow.orders.late import late_check_planner

    return (late_check_planner(settings),)


CAPABILITY = Capability(
    name="orders",
    settings=SETTINGS,
    kinds=KINDS,
    events={event: ("notify",) for event in ("OrderPlaced", "OrderStatusChanged", "OrderDelayed")},
    intake=intake,
    message_flows=message_flows,
    timer_actions=timer_actions,
    order_timers=order_timers,
)
