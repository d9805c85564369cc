"""Every capability shopflow runs, in one list: adding one is a line here (docs/architecture.md).

Each entry declares its settings and message kinds, and hooks that wire its flows, timer
actions and order timers into the Runtime (`kernel/capability.py`).
"""

from __future__ import annotations

from collections.abc import Mapping

from shopflow.back_in_stock.capability import CAPABILITY as BACK_IN_STOCK
from shopflow.carts.capability import CAPABILITY as CARTS
from shopflow.catalog.capability import CAPABILITY as CATALOG
from shopflow.channels.capability import CAPABILITY as CHANNELS
from shopflow.kernel.capability import Capability
from shopflow.kernel.messages import MessageKind
from shopflow.kernel.settings import Setting, SettingGroup
from shopflow.orders.capability import CAPABILITY as ORDERS
from shopflow.pricing.capability import CAPABILITY as PRICING
from shopflow.replenishment.capability import CAPABILITY as REPLENISHMENT
from shopflow.reviews.capability import CAPABILITY as REVIEWS
from shopflow.stock.capability import CAPABILITY as STOCK

CAPABILITIES: tuple[Capability, ...] = (
    ORDERS,
    REVIEWS,
    REPLENISHMENT,
    CARTS,
    CATALOG,
    STOCK,
    CHANNELS,
    BACK_IN_STOCK,
    PRICING,
)


def event_routes() -> dict[str, tuple[str, ...]]:
    """Outbox event type -> the queues (by concern) that hear it, as the capabilities publish them."""
    routes: dict[str, tuple[str, ...]] = {}
    for capability in CAPABILITIES:
        for event_type, concerns in capability.events.items():
            if event_type in routes:
                raise ValueError(f"two capabilities publish {event_type!r}")
            routes[event_type] = concerns
    return routes


def message_kinds() -> tuple[MessageKind, ...]:
    return tuple(kind for capability in CAPABILITIES for kind in capability.kinds)


def capability_setting_groups() -> tuple[SettingGroup, ...]:
    return tuple(group for capability in CAPABILITIES for group in capability.setting_groups)


def settings_problems(values: Mapping[str, object]) -> list[str]:
    """What the capabilities' cross-setting checks find wrong in `values` (key -> typed value)."""
    return [
        problem
        for capability in CAPABILITIES
        for check in capability.settings_checks
        for problem in check(values)
    ]


def capability_settings() -> tuple[Setting, ...]:
    """Each capability's own settings, then whether each of its messages goes by email and SMS."""
    own = tuple(setting for capability in CAPABILITIES for setting in capability.settings)
    channels = tuple(
        Setting(
            f"notify.{kind.name}.{channel}",
            "bool",
            f"Send the {kind.name} message by {channel}.",
            default=channel == "email" or kind.sms_by_default,
        )
        for kind in message_kinds()
        for channel in ("email", "sms")
    )
    return own + channels
