"""The owner's consumption rules and what they make of a delivered order: pure.

A rule gives the days one unit lasts, for a SKU, a product or every product with a tag
(`notify.replenishment.periods`: `sku:CAT-2KG=30, tag:coffee-capsules=10`). A line's supply lasts
quantity x period; the reminder is due that long after delivery, minus the lead time the
customer needs to order and receive more. One reminder per order: when its first consumable is
about to run out, naming every consumable of the order not bought again since.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from shopflow.catalog.model import product_key
from shopflow.kernel.skip import Skip
from shopflow.orders.model import Order, OrderLine, OrderStatus, PastOrder, ordered_recently

if TYPE_CHECKING:  # settings are handed in; reading them needs no import
    from shopflow.config.settings import Settings

REPLENISHMENT = "replenishment"  # the message kind, the timer action and the notify flow
RuleKind = Literal["sku", "product", "tag"]
# Most specific first: a SKU rule beats a product rule beats a tag rule.
_PRECEDENCE: tuple[RuleKind, ...] = ("sku", "product", "tag")
_RULE = re.compile(r"^(sku|product|tag):(.+?)\s*=\s*(\d+)$")
MAX_DAYS_PER_UNIT = 365


@dataclass(frozen=True)
class ConsumptionRule:
    kind: RuleKind
    value: str  # lower-case: SKUs and tags match whatever their case
    per_unit: timedelta


def parse_rule(text: str) -> ConsumptionRule:
    """`sku:CAT-2KG=30` -> one unit of SKU cat-2kg lasts 30 days. ValueError says what is wrong."""
    match = _RULE.match(text.strip())
    if match is None:
        raise ValueError(f"{text.strip()!r} is not sku:<SKU>=<days>, product:<id>=<days> or tag:<tag>=<days>")
    kind, value, days = match.group(1), match.group(2).strip().lower(), int(match.group(3))
    if not value:
        raise ValueError(f"{text.strip()!r} names no {kind}")
    if not 1 <= days <= MAX_DAYS_PER_UNIT:
        raise ValueError(f"{text.strip()!r}: days per unit must be 1 to {MAX_DAYS_PER_UNIT}")
    return ConsumptionRule(kind, value, timedelta(days=days))  # type: ignore[arg-type]  # the regex


@dataclass(frozen=True)
class ReplenishmentRules:
    rules: tuple[ConsumptionRule, ...]
    lead: timedelta  # ordering and delivery take this long: remind this much before running out

    def by(self, kind: RuleKind) -> dict[str, timedelta]:
        return {rule.value: rule.per_unit for rule in self.rules if rule.kind == kind}

    @property
    def uses_tags(self) -> bool:
        return any(rule.kind == "tag" for rule in self.rules)


def replenishment_rules(settings: Settings) -> ReplenishmentRules:
    """Parsed from settings (the spec has refused any malformed entry already)."""
    entries = settings.get("notify.replenishment.periods") or ()
    assert isinstance(entries, tuple)
    return ReplenishmentRules(
        rules=tuple(parse_rule(entry) for entry in entries),
        lead=timedelta(days=settings.int_value("notify.replenishment.lead_days")),
    )


@dataclass(frozen=True)
class Consumable:
    line: OrderLine
    lasts: timedelta  # quantity x days per unit


def tag_keys(order: Order, rules: ReplenishmentRules) -> frozenset[str]:
    """The catalog keys whose tags could decide a line's period (nothing to read if none)."""
    if not rules.uses_tags:
        return frozenset()
    return frozenset(product_key(order.source, line.product_id) for line in order.lines if line.product_id)


def per_unit(
    line: OrderLine, source: str, rules: ReplenishmentRules, tags: Mapping[str, Sequence[str]]
) -> timedelta | None:
    for kind in _PRECEDENCE:
        periods = rules.by(kind)
        if kind == "sku" and line.sku and line.sku.lower() in periods:
            return periods[line.sku.lower()]
        if kind == "product" and line.product_id and line.product_id.lower() in periods:
            return periods[line.product_id.lower()]
        if kind == "tag" and line.product_id:
            # Several tags with periods: the shortest, so nobody is reminded after running out.
            found = [periods[t] for t in tags.get(product_key(source, line.product_id), ()) if t in periods]
            if found:
                return min(found)
    return None


def consumables(
    order: Order, rules: ReplenishmentRules, tags: Mapping[str, Sequence[str]]
) -> tuple[Consumable, ...]:
    """The order's lines that run out, and how long each supply lasts. A supply that lasts no
    longer than the lead time gets no reminder: it would arrive with the parcel."""
    found = []
    for line in order.lines:
        period = per_unit(line, order.source, rules, tags)
        if period is not None and line.quantity * period > rules.lead:
            found.append(Consumable(line, line.quantity * period))
    return tuple(found)


TagLookup = Callable[[Iterable[str]], Mapping[str, Sequence[str]]]  # catalog keys -> their tags


def consumables_of(
    order: Order, rules: ReplenishmentRules, read_tags: TagLookup | None
) -> tuple[Consumable, ...]:
    """`consumables`, with the catalog's tags read only when a tag rule could decide a line."""
    keys = tag_keys(order, rules)
    return consumables(order, rules, read_tags(keys) if (keys and read_tags) else {})


def reminder_due(found: Iterable[Consumable], delivered_at: datetime, lead: timedelta) -> datetime | None:
    """When the first consumable is `lead` from running out; None when there is none."""
    lasts = [c.lasts for c in found]
    return delivered_at + min(lasts) - lead if lasts else None


@dataclass(frozen=True)
class Remind:
    items: tuple[Consumable, ...]  # what the message names


def check_reminder(
    order: Order,
    found: Sequence[Consumable],
    *,
    purchases: Sequence[PastOrder],
    now: datetime,
    pause_after_order: timedelta,
) -> Remind | Skip:
    """When the timer fires (consent, cap and quiet hours are notify's). `purchases`: the
    customer's orders since this one was placed, by any of their identifiers."""
    if order.status is not OrderStatus.DELIVERED:
        return Skip(f"order is {order.status} now")
    if not found:
        return Skip("no product of the order has a consumption period now")
    later = [p for p in purchases if p.order_id != order.order_id]
    left = tuple(c for c in found if not _bought_in(c.line, later))
    if not left:
        again = [p for p in later if any(_bought_in(c.line, [p]) for c in found)]
        return Skip(f"ordered again (order {again[-1].order_id})")
    if recent := ordered_recently(later, now, pause_after_order):
        return Skip(recent)
    return Remind(left)


def _bought_in(line: OrderLine, orders: Iterable[PastOrder]) -> bool:
    ids = {p for p in (line.product_id, line.sku) if p}
    return any(ids & past.products for past in orders)
