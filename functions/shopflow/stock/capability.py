"""Stock: what can really be sold per SKU, and checkout holds that run out by themselves.

Registers its settings and the expiry timer's action. Its repository is `runtime.stock`
(`store/stock.py`); the services (`stock/service.py`) are what the reservation routes call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from shopflow.kernel.capability import Capability, Intake, IntakeHandler, OrderWrites, TimerAction
from shopflow.kernel.messages import MessageFlow, MessageKind
from shopflow.kernel.settings import Setting, email_check, split_list

if TYPE_CHECKING:
    from shopflow.bootstrap import Runtime
    from shopflow.config.settings import Settings
    from shopflow.stock.model import SafetyRules


def _safety_rules(value: str) -> str | None:
    from shopflow.stock.model import parse_safety  # cold start: only a settings check needs it

    try:
        parse_safety(split_list(value))
    except ValueError as exc:
        return str(exc)
    return None


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "stock.enabled",
        "bool",
        "Keep stock: counts and adjustments are recorded, checkouts can hold stock, and orders "
        "commit, ship and give back their SKUs' units. Off (the default), shopflow keeps no stock "
        "and an order costs nothing more; turn it on, then send every SKU's count.",
        default=False,
    ),
    Setting(
        "stock.hold_minutes",
        "int",
        "Minutes a checkout's reservation holds its stock unless the request asks otherwise; "
        "not paid by then, the stock is given back (within the minute the sweep runs).",
        default=15,
        minimum=1,
        maximum=120,
    ),
    Setting(
        "stock.safety",
        "list",
        "Units kept back from sale, comma-separated: sku:<SKU>=<units>, default=<units> for every "
        "other SKU (e.g. sku:MUG-01=2, default=0). Applied when a SKU's count is next set.",
        default=(),
        check=_safety_rules,
    ),
    Setting(
        "stock.master",
        "string",
        "Who says what is on hand: erp (inventory.set and inventory.adjusted events; Shopify's "
        "levels are not obeyed) or shopify (its inventory_levels/update webhooks set the count).",
        default="erp",
        check=lambda value: None if value in ("erp", "shopify") else "must be erp or shopify",
    ),
    Setting(
        "stock.shopify_location",
        "string",
        "With stock.master shopify: the Shopify location id whose levels count (the others are "
        "ignored). Empty: every location's level counts, which suits a shop with one location.",
        check=lambda value: None if value.isdigit() else "must be a Shopify location id (digits)",
    ),
    Setting(
        "shop.owner_email",
        "string",
        "The owner's address: oversold stock (a paid order beyond what was there) and channel "
        "trouble (a channel paused, drift found, pushes given up) are reported to it.",
        check=email_check,
    ),
)


STOCK_OFF = "stock is off: set stock.enabled to true to keep stock"


def enabled(settings: Settings) -> bool:
    return settings.get("stock.enabled") is True


def hold_minutes(settings: Settings) -> int:
    return settings.int_value("stock.hold_minutes")


def safety_rules(settings: Settings) -> SafetyRules:
    from shopflow.stock.model import parse_safety

    value = settings.get("stock.safety")
    return parse_safety(value if isinstance(value, tuple) else ())


def intake(runtime: Runtime) -> Mapping[type, IntakeHandler]:
    from shopflow.stock.ports import ReceivedInventoryLevel, ReceivedStockChange

    def record_change(received: ReceivedStockChange, settings: Settings) -> Intake:
        from shopflow.stock.inputs import record_stock_change  # cold start: only stock inputs load it

        if not enabled(settings):
            return Intake("ignored", {"sku": received.change.sku}, STOCK_OFF)
        return record_stock_change(
            received, runtime.stock, now=runtime.clock.now(), safety=safety_rules(settings)
        )

    def record_level(received: ReceivedInventoryLevel, settings: Settings) -> Intake:
        from shopflow.stock.inputs import record_inventory_level

        if not enabled(settings):
            return Intake("ignored", {"inventory_item_id": received.inventory_item_id}, STOCK_OFF)
        return record_inventory_level(
            received,
            runtime.stock,
            sku_of=runtime.catalog.sku_of_inventory_item,
            master=str(settings.get("stock.master") or "erp"),
            location=str(settings.get("stock.shopify_location") or "") or None,
            now=runtime.clock.now(),
            safety=safety_rules(settings),
        )

    return {ReceivedStockChange: record_change, ReceivedInventoryLevel: record_level}


def order_writes(runtime: Runtime, settings: Settings) -> Sequence[OrderWrites]:
    if not enabled(settings):  # a shop that keeps no stock: an order writes nothing more
        return ()
    from shopflow.stock.orders import OrderStockWrites  # loaded with the first order input

    return (OrderStockWrites(runtime.stock),)


def timer_actions(runtime: Runtime) -> Mapping[str, TimerAction]:
    from shopflow.stock.model import RESERVATION_EXPIRY, ReservationDue
    from shopflow.stock.service import expire

    def expire_reservation(payload: dict[str, object]) -> None:
        expire(ReservationDue.model_validate(payload), runtime.stock, now=runtime.clock.now())

    return {RESERVATION_EXPIRY: expire_reservation}


# The owner's email about an oversell (stock/oversell.py, stock/flow.py): transactional, email.
KINDS: tuple[MessageKind, ...] = (MessageKind("stock_oversold", transactional=True),)


def message_flows(runtime: Runtime) -> Sequence[MessageFlow]:
    from shopflow.stock.flow import OversellMessages  # only notify loads flows

    return (OversellMessages(get_order=runtime.orders.get, settings=runtime.settings.load, kinds=KINDS),)


CAPABILITY = Capability(
    name="stock",
    settings=SETTINGS,
    kinds=KINDS,
    events={"StockOversold": ("notify",)},
    message_flows=message_flows,
    timer_actions=timer_actions,
    intake=intake,
    intake_modules=("shopflow.stock.inputs",),
    order_writes=order_writes,
)
