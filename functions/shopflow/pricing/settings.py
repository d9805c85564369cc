"""Pricing's settings: `pricing.*` and a strategy per SKU group, `pricing.strategy.<group>`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from shopflow.kernel.settings import Setting, SettingGroup

if TYPE_CHECKING:
    from shopflow.config.settings import Settings

GROUP_NAME = "[a-z0-9][a-z0-9_-]{0,31}"


def _strategy_check(value: str) -> str | None:
    from shopflow.pricing.strategy import parse_strategy  # pydantic: only where strategies are read

    try:
        parse_strategy(value)
    except ValueError as exc:
        return str(exc).removeprefix("pricing.strategy.default: ")
    return None


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "pricing.enabled",
        "bool",
        "Record pricing inputs and reprice on the schedule (needs cost from the ERP and, per channel, "
        "channels.<name>.currency). Off (the default), pricing inputs are answered ignored.",
        default=False,
    ),
    Setting(
        "pricing.every_minutes",
        "int",
        "Minutes between two scheduled reprices.",
        default=15,
        minimum=5,
        maximum=1440,
    ),
)

STRATEGY_SETTINGS = SettingGroup(
    prefix="pricing.strategy",
    name_pattern=GROUP_NAME,
    what="a SKU group (product.pricing_updated's `group`; `default` for the rest)",
    members=(
        Setting(
            "",
            "string",
            'A pricing strategy as JSON, e.g. {"action": "beat", "amount": "0.01", "min_margin": "0.2"}; '
            "every key may be left out (docs/pricing.md lists them), an unknown key is refused.",
            check=_strategy_check,
        ),
    ),
)

OFF = "pricing is off: set pricing.enabled to true"


def enabled(settings: Settings) -> bool:
    return settings.get("pricing.enabled") is True


NO_SHOP_CURRENCY = (
    "the Shopify shop's currency is not known: set channels.<name>.currency on its channel (one currency)"
)


def shop_currency(settings: Settings, kind: str) -> str | None:
    """The currency of the owner's channels of `kind` (a platform's costs are in it); None when
    none names one, or they name different ones."""
    from shopflow.channels.capability import CHANNEL_SETTINGS

    currencies = {
        settings.get(f"channels.{name}.currency")
        for name in settings.group_names(CHANNEL_SETTINGS)
        if settings.get(f"channels.{name}.kind") == kind
    } - {None}
    return str(currencies.pop()) if len(currencies) == 1 else None


def margin_problems(values: Mapping[str, Any]) -> list[str]:
    """Each priced channel whose commission and a strategy's min_margin leave no price: their sum
    is 1 or more (`(cost + fee) / (1 - commission - min_margin)` has no positive answer)."""
    from decimal import Decimal, InvalidOperation

    from shopflow.pricing.strategy import DEFAULT_PLAN, parse_strategy

    margins: dict[str, Decimal] = {"default": DEFAULT_PLAN.min_margin}
    for key, value in values.items():
        found = STRATEGY_SETTINGS.split(key)
        if found is not None and isinstance(value, str):
            try:
                margins[found[0]] = parse_strategy(value, found[0]).min_margin
            except ValueError:
                continue  # refused on its own, with its own reason
    problems = []
    for key, value in sorted(values.items()):
        if not (key.startswith("channels.") and key.endswith(".commission")) or not isinstance(value, str):
            continue
        try:
            commission = Decimal(value)
        except InvalidOperation:
            continue
        for group, margin in sorted(margins.items()):
            if commission + margin >= 1:
                problems.append(
                    f"{key} {value} + the min_margin {margin} of pricing.strategy.{group} is 1 or more: "
                    "no price on that channel keeps the margin"
                )
    return problems
