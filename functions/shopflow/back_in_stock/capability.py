"""Back-in-stock alerts (issue 17): who waits for a sold-out SKU hears, in order, when it is back.

Declares its settings and message kind, records `back_in_stock.subscribed|unsubscribed`, runs a
restock's batches (the `back_in_stock_batch` timer) and checks each alert again before notify
sends it. Restocks are found on the table's stream by `back_in_stock_watch` (watch.py).
Its repository is `runtime.back_in_stock` (`store/back_in_stock.py`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from shopflow.kernel.capability import Capability, Intake, IntakeHandler, TimerAction
from shopflow.kernel.messages import MessageFlow, MessageKind
from shopflow.kernel.settings import Setting

if TYPE_CHECKING:
    from shopflow.back_in_stock.model import RestockRules
    from shopflow.bootstrap import Runtime
    from shopflow.config.settings import Settings

# Asked for by the customer: no consent, no cap; opt-outs apply, one-click stop of this kind.
# By SMS too by default: a shopper who left only a phone number expects a text.
KINDS: tuple[MessageKind, ...] = (
    MessageKind("back_in_stock", transactional=False, requested=True, sms_by_default=True, needs_links=True),
)

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "back_in_stock.enabled",
        "bool",
        "Record back-in-stock subscriptions and alert them when a SKU is back (needs stock.enabled). "
        "Off (the default), subscriptions are answered ignored and nothing is stored.",
        default=False,
    ),
    Setting(
        "back_in_stock.min_atp",
        "int",
        "Available units at which a sold-out SKU counts as back (its atp reaching it from below).",
        default=1,
        minimum=1,
        maximum=100000,
    ),
    Setting(
        "back_in_stock.per_unit",
        "int",
        "Alerts per available unit in one batch: with 2 units and 3, the first 6 waiting hear.",
        default=3,
        minimum=1,
        maximum=100,
    ),
    Setting(
        "back_in_stock.batch_minutes",
        "int",
        "Minutes between two batches of one restock; each batch reads the atp again and the run "
        "stops when the stock is gone (the rest keep their place for the next restock).",
        default=30,
        minimum=1,
        maximum=1440,
    ),
)

OFF = "back-in-stock alerts are off: set back_in_stock.enabled to true"


def enabled(settings: Settings) -> bool:
    return settings.get("back_in_stock.enabled") is True


def rules(settings: Settings) -> RestockRules:
    from shopflow.back_in_stock.model import RestockRules

    return RestockRules(
        min_atp=settings.int_value("back_in_stock.min_atp"),
        per_unit=settings.int_value("back_in_stock.per_unit"),
        batch_minutes=settings.int_value("back_in_stock.batch_minutes"),
    )


def channels_on(settings: Settings) -> tuple[bool, bool]:
    return settings.get("notify.back_in_stock.email") is True, settings.get(
        "notify.back_in_stock.sms"
    ) is True


def _atp_of(runtime: Runtime) -> Any:
    def atp_of(sku: str) -> int | None:
        item = runtime.stock.items([sku]).get(sku)
        return item.atp if item is not None else None

    return atp_of


def intake(runtime: Runtime) -> Mapping[type, IntakeHandler]:
    from shopflow.back_in_stock.ports import ReceivedSubscription, ReceivedUnsubscription

    def record_subscription(received: ReceivedSubscription, settings: Settings) -> Intake:
        from shopflow.back_in_stock.service import subscribe  # cold start: only these inputs load it

        if not enabled(settings):
            return Intake("ignored", {"sku": received.subscription.sku}, OFF)
        return subscribe(received, runtime.back_in_stock, now=runtime.clock.now())

    def record_unsubscription(received: ReceivedUnsubscription, settings: Settings) -> Intake:
        from shopflow.back_in_stock.service import unsubscribe

        if not enabled(settings):
            return Intake("ignored", {"sku": received.sku}, OFF)
        return unsubscribe(received, runtime.back_in_stock, now=runtime.clock.now())

    return {ReceivedSubscription: record_subscription, ReceivedUnsubscription: record_unsubscription}


def timer_actions(runtime: Runtime) -> Mapping[str, TimerAction]:
    from shopflow.back_in_stock.model import BATCH_TIMER
    from shopflow.back_in_stock.service import run_batch

    def batch(payload: dict[str, Any]) -> None:
        settings = runtime.settings.load()
        run_batch(
            str(payload["sku"]),
            runtime.back_in_stock,
            atp_of=_atp_of(runtime),
            purchases_since=runtime.buyers.orders_since,
            to_notify=runtime.to_notify,
            rules=rules(settings),
            channels_on=channels_on(settings),
            now=runtime.clock.now(),
            batch_id=str(payload["batch_id"]) if "batch_id" in payload else None,
        )

    return {BATCH_TIMER: batch}


def message_flows(runtime: Runtime) -> Sequence[MessageFlow]:
    from shopflow.back_in_stock.flow import BackInStockAlerts  # only notify loads flows

    return (
        BackInStockAlerts(
            get=runtime.back_in_stock.subscription,
            requeue=runtime.back_in_stock.requeue,
            atp_of=_atp_of(runtime),
            purchases_since=runtime.buyers.orders_since,
            settings=runtime.settings.load,
            kinds=KINDS,
        ),
    )


CAPABILITY = Capability(
    name="back_in_stock",
    settings=SETTINGS,
    kinds=KINDS,
    intake=intake,
    intake_modules=("shopflow.back_in_stock.service",),
    timer_actions=timer_actions,
    message_flows=message_flows,
)
