"""Orders: intake of orders from every storefront, their status messages and the late-order check."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from shopflow.kernel.capability import Capability, Intake, IntakeHandler, OrderTimers, TimerAction
from shopflow.kernel.messages import MessageFlow
from shopflow.kernel.settings import Setting
from shopflow.orders.message_kinds import KINDS

if TYPE_CHECKING:
    from shopflow.bootstrap import Runtime
    from shopflow.config.settings import Settings

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
            received,
            runtime.orders,
            now=runtime.clock.now(),
            timers=runtime.order_timers(settings),
            writes=runtime.order_writes(settings),
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

    return (OrderStatusMessages(get_order=runtime.orders.get, buyers=runtime.buyers, kinds=KINDS),)


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
