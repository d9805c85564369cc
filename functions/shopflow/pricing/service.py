"""Pricing's use cases over its store: record inputs, reprice a shard, answer a proposal.

Reads and writes go through `PricingStore` (store/pricing.py); the decisions are `reprice.py`'s.
A record that changed under a write (another input, a reprice) is read again and decided again,
a bounded number of times (the kernel's back-off), then `ConcurrentUpdates`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from shopflow.channels.capability import CHANNEL_SETTINGS
from shopflow.kernel.capability import Intake
from shopflow.kernel.conflicts import MAX_ATTEMPTS, ConcurrentUpdates, back_off
from shopflow.observability import logger
from shopflow.pricing.engine import Pricer
from shopflow.pricing.model import Channel
from shopflow.pricing.ports import (
    PricesConflict,
    PricingStore,
    ReceivedCompetitorPrice,
    ReceivedCost,
    ReceivedPricingInputs,
)
from shopflow.pricing.recorded import Described, Logged, LoggedInputs, LoggedObservation, RecordingStore
from shopflow.pricing.reprice import ProposalRefused, Repriced, approve, expire, reject, reprice
from shopflow.pricing.settings import STRATEGY_SETTINGS
from shopflow.pricing.state import DEFAULT_GROUP, SHARDS, Proposal, SkuPrices, shard_of
from shopflow.pricing.strategy import DEFAULT_PLAN, parse_strategy

if TYPE_CHECKING:
    from shopflow.config.settings import Settings

DEMAND_DAYS = 7  # a SKU's sales a day: the average of the last week (days of cover, sales goal)
ZERO = Decimal(0)
Sleep = Callable[[float], None]
# SKUs not yet priced on some channel -> {channel: {sku: the shop's own price there}} (its catalog)
ShopPrices = Callable[[Sequence[str]], Mapping[str, Mapping[str, Decimal]]]
StockOf = Callable[[Sequence[str]], Mapping[str, int | None]]  # SKUs -> units available


# -- settings -> pricers --------------------------------------------------------------------------


def pricing_channels(settings: Settings) -> tuple[list[Channel], dict[str, str]]:
    """The channels priced (those with `channels.<name>.currency`), and why others cannot be."""
    priced: list[Channel] = []
    refused: dict[str, str] = {}
    for name in settings.group_names(CHANNEL_SETTINGS):
        currency = settings.get(f"channels.{name}.currency")
        if not currency or settings.get(f"channels.{name}.enabled") is False:
            continue
        economics = {
            field_: settings.get(f"channels.{name}.{field_}")
            for field_ in ("commission", "fixed_fee", "min_fee", "fx", "price_ending")
        }
        try:
            priced.append(Channel.from_data(name, {"currency": currency, **economics}))
        except ValueError as exc:
            refused[name] = str(exc)
    return priced, refused


@dataclass(frozen=True)
class PricingSetup:
    """A pricer per SKU group, from the settings of one run; groups that cannot be priced, why."""

    pricers: Mapping[str, Pricer]
    refused: Mapping[str, str] = field(default_factory=dict)  # group -> why its SKUs wait
    channels: tuple[str, ...] = ()
    currencies: Mapping[str, str] = field(default_factory=dict)  # channel -> its currency
    kinds: Mapping[str, str] = field(default_factory=dict)  # channel -> shopify, woocommerce, webhook

    def pricer_for(self, group: str) -> Pricer | None:
        if group in self.pricers:
            return self.pricers[group]
        if group in self.refused:
            return None
        return self.pricers.get(DEFAULT_GROUP)


def pricing_setup(settings: Settings) -> PricingSetup:
    """Pricers from `pricing.strategy.<group>` and the channels' economics. A strategy refused in
    SSM keeps its last good value in a warm process; in a fresh one its group is not repriced
    (logged): a default strategy the owner did not choose must not move prices."""
    channels, refused_channels = pricing_channels(settings)
    for name, reason in refused_channels.items():
        logger.warning(
            "channel not priced: its economics are invalid", extra={"channel": name, "reason": reason}
        )
    pricers: dict[str, Pricer] = {}
    refused: dict[str, str] = {}
    groups = {DEFAULT_GROUP, *settings.group_names(STRATEGY_SETTINGS)}
    for group in sorted(groups):
        key = STRATEGY_SETTINGS.key(group, "")
        if key in settings.invalid:
            refused[group] = f"{key} in the settings is invalid (see the log); its SKUs keep their prices"
            logger.warning("pricing group not repriced: its strategy is invalid", extra={"group": group})
            continue
        text = settings.get(key)
        plan = parse_strategy(text, group).plan() if isinstance(text, str) else DEFAULT_PLAN
        pricers[group] = Pricer(plan, channels)
    return PricingSetup(
        pricers,
        refused,
        tuple(channel.name for channel in channels),
        {channel.name: channel.currency for channel in channels},
        {channel.name: str(settings.get(f"channels.{channel.name}.kind")) for channel in channels},
    )


# -- inputs ---------------------------------------------------------------------------------------


def _record(
    sku: str,
    store: RecordingStore,
    change: Callable[[SkuPrices], SkuPrices | None],
    log: Callable[[SkuPrices, SkuPrices], Logged],
    stale: str,
    sleep: Sleep,
) -> Intake:
    """Change the SKU's record and write it with its input log line (`recorded.py`), both or
    neither: an input the record ignores (a redelivery, an older one) is not logged either."""
    for attempt in range(MAX_ATTEMPTS):
        state = store.get(sku) or SkuPrices(sku)
        after = change(state)
        if after is None:
            return Intake("ignored", {"sku": sku}, stale)
        try:
            store.save(Repriced(state, after), (log(state, after),))
        except PricesConflict:
            back_off(attempt, sleep)
            continue
        return Intake("accepted", {"sku": sku})
    raise ConcurrentUpdates("SKU pricing", {"sku": sku})


def record_inputs(
    received: ReceivedPricingInputs, store: RecordingStore, sleep: Sleep = time.sleep
) -> Intake:
    inputs = received.inputs
    return _record(
        inputs.sku,
        store,
        lambda state: state.described(inputs),
        lambda state, after: LoggedInputs(inputs.sku, inputs.at, Described.of(state), Described.of(after)),
        "a description as recent is kept",
        sleep,
    )


def record_observation(
    received: ReceivedCompetitorPrice, store: RecordingStore, sleep: Sleep = time.sleep
) -> Intake:
    seen = received.observation
    return _record(
        received.sku,
        store,
        lambda state: state.observed(seen),
        lambda state, after: LoggedObservation(received.sku, seen),
        f"an observation of {seen.competitor} as recent is kept",
        sleep,
    )


def record_cost(
    received: ReceivedCost, currency: str, store: RecordingStore, sleep: Sleep = time.sleep
) -> Intake:
    """A platform's cost (Shopify's, in the shop's `currency`): the cost only; bounds and group
    stay as the ERP described them, and a SKU the ERP prices in another currency keeps its cost."""
    return _record(
        received.sku,
        store,
        lambda state: state.costed(received.cost, currency, received.at),
        lambda state, after: LoggedInputs(
            received.sku, received.at, Described.of(state), Described.of(after)
        ),
        f"a cost as recent is kept, or the SKU is priced in another currency than {currency}",
        sleep,
    )


# -- reprice --------------------------------------------------------------------------------------


@dataclass
class RepriceReport:
    skus: int = 0
    decisions: Counter[str] = field(default_factory=Counter)  # status -> how many
    applied: int = 0
    opened: int = 0
    writes: int = 0
    conflicts: int = 0
    waiting: Counter[str] = field(default_factory=Counter)  # group -> SKUs not repriced, why

    def add(self, other: RepriceReport) -> None:
        self.skus += other.skus
        self.decisions.update(other.decisions)
        self.applied += other.applied
        self.opened += other.opened
        self.writes += other.writes
        self.conflicts += other.conflicts
        self.waiting.update(other.waiting)

    def as_dict(self) -> dict[str, object]:
        return {
            "skus": self.skus,
            "decisions": dict(sorted(self.decisions.items())),
            "applied": self.applied,
            "proposals_opened": self.opened,
            "writes": self.writes,
            "conflicts": self.conflicts,
            "not_repriced": dict(self.waiting),
        }


def sales_per_day(store: PricingStore, shard: int, now: datetime) -> dict[str, Decimal]:
    """Units a day each SKU of `shard` sold over the last `DEMAND_DAYS` full UTC days, from the
    daily sales orders record (one Query a day); a SKU that sold nothing is not in it."""
    today = now.astimezone(UTC).date()
    units: dict[str, int] = {}
    for back in range(1, DEMAND_DAYS + 1):
        for sold in store.sales(shard, today - timedelta(days=back)):
            units[sold.sku] = units.get(sold.sku, 0) + sold.units
    return {sku: Decimal(count) / DEMAND_DAYS for sku, count in units.items()}


def _reprice_one(
    state: SkuPrices, setup: PricingSetup, stock: int | None, sold: Decimal, now: datetime,
    store: PricingStore, report: RepriceReport, sleep: Sleep,
) -> None:  # fmt: skip
    for attempt in range(MAX_ATTEMPTS):
        pricer = setup.pricer_for(state.group)
        if pricer is None:
            report.waiting[state.group] += 1
            return
        outcome = reprice(state, pricer, stock=stock, now=now, sales_per_day=sold)
        try:
            store.save(outcome)
        except PricesConflict:
            report.conflicts += 1
            back_off(attempt, sleep)
            fresh = store.get_many([state.sku]).get(state.sku)  # a batch read, as the page's
            if fresh is None:
                return
            state = fresh
            continue
        report.decisions.update(decision.status for decision in outcome.decisions)
        report.applied += len(outcome.applied)
        report.opened += len(outcome.opened)
        report.writes += outcome.changed
        return
    logger.warning("SKU not repriced: its record kept changing", extra={"sku": state.sku})


def reprice_shard(
    shard: int,
    store: PricingStore,
    setup: PricingSetup,
    stock_of: StockOf,
    now: datetime,
    sleep: Sleep = time.sleep,
    shop_prices: ShopPrices | None = None,
) -> RepriceReport:
    """Every SKU of `shard`, a page of 100 at a time: one read of the page, one of its stock,
    writes only for records that changed. A SKU shopflow has not priced on a channel yet starts
    from the shop's own price there (`shop_prices`, one batch read of the catalog per page)."""
    report = RepriceReport()
    sold = sales_per_day(store, shard, now)
    for page in store.pages(shard):
        stock = stock_of([state.sku for state in page])
        unpriced = [state.sku for state in page if _unpriced(state, setup)]
        shop = shop_prices(unpriced) if shop_prices is not None and unpriced else {}
        for state in page:
            report.skus += 1
            if shop and state.sku in unpriced:
                state = state.with_shop_prices(_shop_prices_of(state.sku, shop, setup), now)
            sku_sold = sold.get(state.sku, ZERO)
            _reprice_one(state, setup, stock.get(state.sku), sku_sold, now, store, report, sleep)
    return report


def _unpriced(state: SkuPrices, setup: PricingSetup) -> bool:
    return any((known := state.channels.get(name)) is None or known.price is None for name in setup.channels)


def _shop_prices_of(
    sku: str, shop: Mapping[str, Mapping[str, Decimal]], setup: PricingSetup
) -> dict[str, tuple[Decimal, str]]:
    return {
        channel: (prices[sku], setup.currencies[channel])
        for channel, prices in shop.items()
        if sku in prices and channel in setup.currencies
    }


def reprice_all(
    store: PricingStore,
    setup: PricingSetup,
    stock_of: StockOf,
    now: datetime,
    sleep: Sleep = time.sleep,
    shop_prices: ShopPrices | None = None,
) -> RepriceReport:
    report = RepriceReport()
    for shard in range(SHARDS):
        report.add(reprice_shard(shard, store, setup, stock_of, now, sleep, shop_prices))
    return report


# -- the owner's answers --------------------------------------------------------------------------


def _waiting(store: PricingStore, wanted: str) -> Proposal:
    for proposal in store.proposals():
        if proposal.proposal_id == wanted:
            return proposal
    raise ProposalRefused(f"{wanted}: no such proposal waits (approved, rejected or expired already)")


def approve_proposal(
    wanted: str, store: PricingStore, setup: PricingSetup, stock_of: StockOf, now: datetime
) -> Repriced:
    """Apply a waiting proposal; `ProposalRefused` (and the proposal closed) when its inputs moved."""
    proposal = _waiting(store, wanted)
    state = store.get(proposal.sku)
    if state is None:
        raise ProposalRefused(f"{wanted}: SKU {proposal.sku} has no pricing record")
    pricer = setup.pricer_for(state.group)
    if pricer is None:
        raise ProposalRefused(f"{wanted}: {setup.refused[state.group]}")
    try:
        outcome = approve(
            state,
            wanted,
            pricer,
            stock=stock_of([state.sku]).get(state.sku),
            now=now,
            sales_per_day=sales_per_day(store, shard_of(state.sku), now).get(state.sku, ZERO),
        )
    except ProposalRefused:
        store.save(expire(state, wanted))
        raise
    store.save(outcome)  # PricesConflict: the record moved meanwhile; the owner tries again
    return outcome


def reject_proposal(wanted: str, store: PricingStore, now: datetime) -> Repriced:
    proposal = _waiting(store, wanted)
    state = store.get(proposal.sku)
    if state is None:
        raise ProposalRefused(f"{wanted}: SKU {proposal.sku} has no pricing record")
    outcome = reject(state, wanted, now)
    store.save(outcome)
    return outcome
