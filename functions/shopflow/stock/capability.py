"""Stock: what can really be sold per SKU, and checkout holds that run out by themselves.

Registers its settings and the expiry timer's action. Its repository is `runtime.stock`
(`store/stock.py`); the services (`stock/service.py`) are what the reservation routes call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from shopflow.kernel.capability import Capability, TimerAction
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
        "shop.owner_email",
        "string",
        "The owner's address: oversold stock (a paid order beyond what was there) is reported to it.",
        check=email_check,
    ),
)


def hold_minutes(settings: Settings) -> int:
    return settings.int_value("stock.hold_minutes")


def safety_rules(settings: Settings) -> SafetyRules:
    from shopflow.stock.model import parse_safety

    value = settings.get("stock.safety")
    return parse_safety(value if isinstance(value, tuple) else ())


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
)
