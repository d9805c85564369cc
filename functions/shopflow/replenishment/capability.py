"""Replenishment: a delivered order's consumables are about to run out; the customer is reminded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from shopflow.kernel.capability import Capability, OrderTimers, TimerAction
from shopflow.kernel.messages import MessageFlow, MessageKind
from shopflow.kernel.settings import Setting, product_url_check, split_list

if TYPE_CHECKING:
    from shopflow.bootstrap import Runtime
    from shopflow.config.settings import Settings

KINDS: tuple[MessageKind, ...] = (MessageKind("replenishment", transactional=False, needs_links=True),)


def _consumption_periods(value: str) -> str | None:
    from shopflow.replenishment.rules import parse_rule  # for cold start: only a settings check needs it

    for entry in split_list(value):
        try:
            parse_rule(entry)
        except ValueError as exc:
            return str(exc)
    return None


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "notify.replenishment.periods",
        "list",
        "Days one unit lasts, comma-separated: sku:<SKU>=<days>, product:<id>=<days>, tag:<tag>=<days> "
        "(a SKU rule beats a product rule beats a tag rule). Empty: no replenishment reminders.",
        default=(),
        check=_consumption_periods,
    ),
    Setting(
        "notify.replenishment.lead_days",
        "int",
        "Days before a customer's supply runs out (quantity x days per unit after delivery) "
        "they are reminded: ordering and delivery take this long.",
        default=5,
        minimum=0,
        maximum=60,
    ),
    Setting(
        "notify.replenishment.url_template",
        "string",
        "Product page, {product_id} or {sku} filled in, linked in replenishment reminders; unset: shop.url.",
        check=product_url_check,
    ),
)


def message_flows(runtime: Runtime) -> Sequence[MessageFlow]:
    from shopflow.replenishment.flow import ReplenishmentReminders  # only notify loads flows

    return (
        ReplenishmentReminders(
            get_order=runtime.orders.get,
            buyers=runtime.buyers,
            settings=runtime.settings.load,
            clock_now=runtime.clock.now,
            read_tags=runtime.catalog.tags,
            kinds=KINDS,
        ),
    )


def timer_actions(runtime: Runtime) -> Mapping[str, TimerAction]:
    from shopflow.kernel.queue_messages import ReplenishmentDue
    from shopflow.replenishment.rules import REPLENISHMENT

    # notify checks the order again and sends each channel's message.
    return {REPLENISHMENT: lambda payload: runtime.to_notify(ReplenishmentDue.model_validate(payload))}


def order_timers(runtime: Runtime, settings: Settings) -> Sequence[OrderTimers]:
    from shopflow.replenishment.timers import replenishment_planner

    planner = replenishment_planner(settings, runtime.catalog.tags)
    return (planner,) if planner is not None else ()


CAPABILITY = Capability(
    name="replenishment",
    settings=SETTINGS,
    kinds=KINDS,
    message_flows=message_flows,
    timer_actions=timer_actions,
    order_timers=order_timers,
)
