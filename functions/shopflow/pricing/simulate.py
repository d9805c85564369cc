"""What-if: replay a window of recorded inputs through two strategies (`shopflow prices simulate`).

Pure: the caller hands in the SKU records, the input log and the daily sales of the window
(`recorded.py`), and a `Pricer` for the current strategy and one for the proposed one. Nothing is
written: each strategy works on its own in-memory copy of each record.

How a SKU is replayed (docs/pricing.md, "What-if"):
- It starts, for both strategies, from the record as it stood when the window opened: the cost
  and bounds then (a logged change keeps what it replaced), the offers logged in the day before
  (older ones are stale to the engine anyway), and per channel the price in force then (the
  record keeps its channels' prices of the last 30 days).
- The reprice runs on the schedule's grid (`every`, 15 minutes): at the first tick, then at each
  tick after an input that moves something (a new or different offer, one that was stale, a cost
  or bound), the tick a kept offer turns stale, the next tick while a cool-down holds a change
  back, and the first tick of a day while the daily drop budget limits it. A tick where nothing
  moved would decide the same as the last (same inputs twice change nothing), so it is skipped.
- `reprice.reprice` decides, exactly as the scheduled run: bands, cool-down, rounding, floors.
  Applied prices are counted as changes; proposals are counted and never approved (the owner's
  answers are not part of the what-if), so the price they would set is not shown.
- The engine gets the week's sales as the live reprice does (units a day over the 7 full days
  before, from the recorded sales; the window's reads start a week early for it). Stock is not
  logged: the days-of-cover steps see no stock in the replay.
- Margin: each day's recorded units x (the strategy's price on the sale's channel, averaged over
  the hours of that day - cost x fx - fixed fee - the larger of commission x price and min fee),
  converted back to the base currency. A sale's channel is the channel its order's `source`
  names; an order from a source that is no priced channel counts on the SKU's first priced
  channel. The units are the recorded ones for both strategies: the what-if does not guess how
  many more a lower price would have sold.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from shopflow.pricing.engine import Pricer
from shopflow.pricing.model import CENT, ZERO, Channel, CompetitorObservation, PriceDecision, text
from shopflow.pricing.recorded import (
    DailySales,
    Described,
    Logged,
    LoggedInputs,
    LoggedObservation,
    ReplayReads,
)
from shopflow.pricing.reprice import reprice
from shopflow.pricing.service import DEMAND_DAYS
from shopflow.pricing.state import SHARDS, ChannelPrice, PricePoint, PricingInputs, SkuPrices

EVERY = timedelta(minutes=15)
HUNDRED = Decimal(100)
DAY = timedelta(days=1)


@dataclass
class StrategyResult:
    """What one strategy would have done over the window."""

    changes: int = 0  # prices applied (SKU x channel x time)
    change_pct_sum: Decimal = ZERO  # of |new - old| / old, in %, over the changes from a price
    change_pct_max: Decimal | None = None
    changes_from_a_price: int = 0
    proposals: int = 0  # proposals it would have opened for the owner
    margin: dict[str, Decimal] = field(default_factory=dict)  # by base currency
    units: int = 0  # recorded units counted in the margin
    unpriced_units: int = 0  # recorded units on a channel the strategy showed no price on
    evaluations: int = 0  # reprices of one SKU run

    def changed(self, old: Decimal | None, new: Decimal) -> None:
        self.changes += 1
        if old:
            pct = abs(new - old) / old * HUNDRED
            self.change_pct_sum += pct
            self.changes_from_a_price += 1
            if self.change_pct_max is None or pct > self.change_pct_max:
                self.change_pct_max = pct

    def add(self, other: StrategyResult) -> None:
        self.changes += other.changes
        self.change_pct_sum += other.change_pct_sum
        self.changes_from_a_price += other.changes_from_a_price
        if other.change_pct_max is not None and (
            self.change_pct_max is None or other.change_pct_max > self.change_pct_max
        ):
            self.change_pct_max = other.change_pct_max
        self.proposals += other.proposals
        for currency, amount in other.margin.items():
            self.margin[currency] = self.margin.get(currency, ZERO) + amount
        self.units += other.units
        self.unpriced_units += other.unpriced_units
        self.evaluations += other.evaluations

    def as_dict(self) -> dict[str, Any]:
        tenth = Decimal("0.1")
        average = self.change_pct_sum / self.changes_from_a_price if self.changes_from_a_price else None
        return {
            "prices_changed": self.changes,
            "average_change_pct": None if average is None else str(average.quantize(tenth)),
            "largest_change_pct": None
            if self.change_pct_max is None
            else str(self.change_pct_max.quantize(tenth)),
            "proposals": self.proposals,
            "margin": {
                currency: text(amount.quantize(CENT)) for currency, amount in sorted(self.margin.items())
            },
            "units": self.units,
            "unpriced_units": self.unpriced_units,
        }


@dataclass
class Simulation:
    start: datetime
    end: datetime
    skus: int
    current: StrategyResult
    proposed: StrategyResult

    def as_dict(self) -> dict[str, object]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "skus": self.skus,
            "current": self.current.as_dict(),
            "proposed": self.proposed.as_dict(),
        }


def _tick_at_or_after(moment: datetime, start: datetime, every: timedelta) -> datetime:
    steps = -((start - moment) // every)  # ceil((moment - start) / every)
    return start + max(steps, 0) * every


def _described(state: SkuPrices, described: Described, at: datetime | None) -> SkuPrices:
    return replace(
        state,
        currency=described.currency,
        cost=described.cost,
        min_price=described.min_price,
        max_price=described.max_price,
        group=described.group,
        inputs_at=at,
    )


def _price_in_force(points: Sequence[PricePoint], at: datetime) -> PricePoint | None:
    found = None
    for point in points:
        if point.at <= at:
            found = point
        else:
            break
    return found


def opening_state(
    record: SkuPrices, log: Sequence[Logged], start: datetime, channels: Sequence[Channel]
) -> SkuPrices:
    """The record as it stood at `start`, as far as the log and the record's 30 days tell."""
    state = replace(record, competitors={}, channels={}, version=0)
    first_change = next((e for e in log if isinstance(e, LoggedInputs) and e.at > start), None)
    if first_change is not None:  # the cost and bounds it replaced were in force at the start
        state = _described(state, first_change.before, None)
    for entry in log:
        if isinstance(entry, LoggedObservation) and entry.at <= start:
            known = state.competitors.get(entry.observation.competitor)
            if known is None or known.observed_at < entry.at:
                state = replace(
                    state, competitors={**state.competitors, entry.observation.competitor: entry.observation}
                )
    opened: dict[str, ChannelPrice] = {}
    for channel in channels:
        kept = record.channels.get(channel.name)
        if kept is None:
            continue
        points = tuple(sorted((p for p in kept.points if p.at <= start), key=lambda p: p.at))
        in_force = _price_in_force(points, start)
        if in_force is None:
            continue
        day_began = datetime.combine(start.date(), time(), UTC)
        day_start = _price_in_force(points, day_began)
        opened[channel.name] = ChannelPrice(
            currency=kept.currency,
            price=in_force.price,
            changed_at=in_force.at,
            day=start.date().isoformat(),
            day_start=day_start.price if day_start is not None else in_force.price,
            points=points,
        )
    return replace(state, channels=opened)


def _moves(
    known: CompetitorObservation | None,
    seen: CompetitorObservation,
    last_run: datetime | None,
    max_age: timedelta,
) -> bool:
    """Whether offer `seen` can change a decision taken at `last_run` (a re-observed, unchanged,
    still fresh offer cannot)."""
    return (
        last_run is None
        or known is None
        or known.observed_at < last_run - max_age  # it was stale: the engine had dropped it
        or (known.price, known.currency, known.in_stock, known.shipping, known.rating)
        != (seen.price, seen.currency, seen.in_stock, seen.shipping, seen.rating)
    )


def _apply(state: SkuPrices, entry: LoggedInputs) -> SkuPrices:
    after = entry.after
    if after.currency is None or after.cost is None:
        return _described(state, after, entry.at)
    inputs = PricingInputs(
        entry.sku, after.cost, after.currency, after.min_price, after.max_price, after.group, entry.at
    )
    return state.described(inputs) or state


def _wake(
    state: SkuPrices,
    decisions: Iterable[PriceDecision],
    now: datetime,
    every: timedelta,
    max_age: timedelta,
    daily: bool,
) -> datetime | None:
    """When, with no new input, a later tick could decide otherwise (`daily`: the strategy reads
    the week's sales, which move at midnight)."""
    wakes: list[datetime] = []
    if daily:
        wakes.append(datetime.combine(now.date() + DAY, time(), UTC))
    for decision in decisions:
        if decision.status == "skipped" and decision.reason == "cool-down":
            wakes.append(now + every)
        if "daily drop budget" in decision.rule:
            wakes.append(datetime.combine(now.date() + DAY, time(), UTC))
    for seen in state.competitors.values():
        stale_at = seen.observed_at + max_age
        if stale_at >= now:
            wakes.append(stale_at + timedelta(microseconds=1))
    return min(wakes) if wakes else None


def _demand(sold: Mapping[date, int], now: datetime) -> Decimal:
    """Units a day over the `DEMAND_DAYS` full UTC days before `now`, as `service.sales_per_day`."""
    today = now.astimezone(UTC).date()
    units = sum(sold.get(today - timedelta(days=back), 0) for back in range(1, DEMAND_DAYS + 1))
    return Decimal(units) / DEMAND_DAYS


@dataclass
class _Replayed:
    """One SKU under one strategy: its price timeline per channel and the cost's."""

    prices: dict[str, list[PricePoint]]
    costs: list[tuple[datetime, Decimal | None, str | None]]


def replay_sku(
    opening: SkuPrices,
    log: Sequence[Logged],
    pricer: Pricer,
    start: datetime,
    end: datetime,
    result: StrategyResult,
    every: timedelta = EVERY,
    sold: Mapping[date, int] | None = None,
) -> _Replayed:
    """Run the reprice over the window for one SKU; count into `result`. `sold`: its units per
    day (all sources), for the week's average the live reprice hands the engine."""
    sold = sold or {}
    max_age = timedelta(seconds=pricer.plan.max_age_seconds)
    daily = pricer.plan.sales_goal_per_day is not None
    events = [entry for entry in log if start < entry.at < end]
    state = opening
    prices = {
        name: [PricePoint(start, channel.price)]
        for name, channel in opening.channels.items()
        if channel.price is not None
    }
    costs: list[tuple[datetime, Decimal | None, str | None]] = [(start, state.cost, state.currency)]
    index = 0
    tick: datetime | None = start
    last_run: datetime | None = None
    wake: datetime | None = None
    while tick is not None and tick < end:
        moved = last_run is None or tick == wake
        seen_now: dict[str, CompetitorObservation] = {}  # the tick's offers, applied at once
        while index < len(events) and events[index].at <= tick:
            entry = events[index]
            index += 1
            if isinstance(entry, LoggedObservation):
                seen = entry.observation
                known = seen_now.get(seen.competitor) or state.competitors.get(seen.competitor)
                if known is None or known.observed_at < seen.observed_at:  # as `SkuPrices.observed`
                    moved = moved or _moves(known, seen, last_run, max_age)
                    seen_now[seen.competitor] = seen
                continue
            if seen_now:
                state = replace(state, competitors={**state.competitors, **seen_now})
                seen_now = {}
            moved = True
            state = _apply(state, entry)
            costs.append((entry.at, state.cost, state.currency))
        if seen_now:
            state = replace(state, competitors={**state.competitors, **seen_now})
        if moved:
            outcome = reprice(state, pricer, stock=None, now=tick, sales_per_day=_demand(sold, tick))
            result.evaluations += 1
            for change in outcome.applied:
                result.changed(change.old, change.price)
                prices.setdefault(change.channel, []).append(PricePoint(tick, change.price))
            result.proposals += len(outcome.opened)
            state = outcome.after
            last_run = tick
            wake = _wake(state, outcome.decisions, tick, every, max_age, daily)
            if wake is not None:
                wake = _tick_at_or_after(wake, start, every)
        next_input = _tick_at_or_after(events[index].at, start, every) if index < len(events) else None
        candidates = [t for t in (next_input, wake) if t is not None and t > tick]
        tick = min(candidates) if candidates else None
    return _Replayed(prices, costs)


def _average_price(points: Sequence[PricePoint], since: datetime, until: datetime) -> Decimal | None:
    """The price shown over [since, until), weighted by time; None while none was shown."""
    if until <= since:
        return None
    total = ZERO
    covered = ZERO
    for index, point in enumerate(points):
        begins = max(point.at, since)
        ends = min(points[index + 1].at if index + 1 < len(points) else until, until)
        if ends > begins:
            seconds = Decimal((ends - begins).total_seconds())
            total += point.price * seconds
            covered += seconds
    return None if covered == 0 else total / covered


def _cost_on(
    costs: Sequence[tuple[datetime, Decimal | None, str | None]], at: datetime
) -> tuple[Decimal | None, str | None]:
    position = bisect_right([moment for moment, _, _ in costs], at) - 1
    _, cost, currency = costs[max(position, 0)]
    return cost, currency


def margin_of(
    replayed: _Replayed,
    sales: Iterable[DailySales],
    channels: Mapping[str, Channel],
    channel_of: Callable[[str], str | None],
    start: datetime,
    end: datetime,
    result: StrategyResult,
) -> None:
    """Add the margin the strategy's prices earn on the recorded sales into `result`."""
    priced = [name for name in channels if name in replayed.prices]
    first_day = start.astimezone(UTC).date()
    for sold in sales:
        if sold.day < first_day:  # read for the week's average before the window, not sold in it
            continue
        name = channel_of(sold.source)
        if name is None or name not in channels:
            name = priced[0] if priced else None
        since = max(datetime.combine(sold.day, time(), UTC), start)
        until = min(since.replace(hour=0, minute=0, second=0, microsecond=0) + DAY, end)
        price = None if name is None else _average_price(replayed.prices.get(name, ()), since, until)
        cost, currency = _cost_on(replayed.costs, since + (until - since) / 2)
        if name is None or price is None or cost is None or currency is None:
            result.unpriced_units += sold.units
            continue
        channel = channels[name]
        fees = channel.fixed_fee + max(channel.commission * price, channel.min_fee)
        per_unit = (price - cost * channel.fx - fees) / channel.fx
        result.margin[currency] = result.margin.get(currency, ZERO) + per_unit * sold.units
        result.units += sold.units


def simulate(
    records: Iterable[SkuPrices],
    log: Iterable[Logged],
    sales: Iterable[DailySales],
    current: Pricer,
    proposed: Pricer,
    start: datetime,
    end: datetime,
    *,
    channel_of: Callable[[str], str | None] = lambda source: source,
    every: timedelta = EVERY,
) -> Simulation:
    """Replay [start, end) for each record through both pricers (priced on the same channels);
    `log` from a day before `start` (the offers fresh at the start), `sales` of the window's days."""
    logs: dict[str, list[Logged]] = defaultdict(list)
    for entry in log:
        logs[entry.sku].append(entry)
    sold: dict[str, list[DailySales]] = defaultdict(list)
    for day in sales:
        sold[day.sku].append(day)
    units: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for day in sales:
        units[day.sku][day.day] += day.units
    channels = {terms.channel.name: terms.channel for terms in current.terms}
    ordered = list(channels.values())
    report = Simulation(start, end, 0, StrategyResult(), StrategyResult())
    for record in records:
        report.skus += 1
        mine = sorted(logs.get(record.sku, ()), key=lambda entry: entry.at)
        opening = opening_state(record, mine, start, ordered)
        for pricer, result in ((current, report.current), (proposed, report.proposed)):
            replayed = replay_sku(opening, mine, pricer, start, end, result, every, units.get(record.sku))
            margin_of(replayed, sold.get(record.sku, ()), channels, channel_of, start, end, result)
    return report


@dataclass(frozen=True)
class Window:
    """What a replay reads: the records, and the log and sales of its days."""

    records: list[SkuPrices]
    log: list[Logged]
    sales: list[DailySales]


def read_window(
    reads: ReplayReads,
    start: datetime,
    end: datetime,
    keep: Callable[[SkuPrices], bool] = lambda _: True,
    shards: Iterable[int] = range(SHARDS),
) -> Window:
    """Every record `keep` selects, shard by shard (a Query a page), and per shard and day one
    Query of the log (from the day before `start`: the offers fresh then) and one of the sales."""
    records: list[SkuPrices] = []
    log: list[Logged] = []
    sales: list[DailySales] = []
    log_days = days_of(start - DAY, end)
    sale_days = days_of(start - timedelta(days=DEMAND_DAYS), end)  # the week's average before it
    for shard in shards:
        kept = [state for page in reads.pages(shard) for state in page if keep(state)]
        records.extend(kept)
        mine = {state.sku for state in kept}
        if not mine:
            continue
        for day in log_days:
            log.extend(entry for entry in reads.logged(shard, day) if entry.sku in mine)
        for day in sale_days:
            sales.extend(sold for sold in reads.sales(shard, day) if sold.sku in mine)
    return Window(records, log, sales)


def simulate_stored(
    reads: ReplayReads,
    current: Pricer,
    proposed: Pricer,
    start: datetime,
    end: datetime,
    *,
    keep: Callable[[SkuPrices], bool] = lambda _: True,
    channel_of: Callable[[str], str | None] = lambda source: source,
    every: timedelta = EVERY,
    on_shard: Callable[[int], None] = lambda shard: None,
) -> Simulation:
    """`simulate` over what the store keeps, one shard at a time (a shard's window in memory);
    `on_shard(n)` before each (a long replay says how far it is)."""
    total = Simulation(start, end, 0, StrategyResult(), StrategyResult())
    for shard in range(SHARDS):
        on_shard(shard)
        window = read_window(reads, start, end, keep, (shard,))
        part = simulate(
            window.records, window.log, window.sales, current, proposed, start, end,
            channel_of=channel_of, every=every,
        )  # fmt: skip
        total.skus += part.skus
        total.current.add(part.current)
        total.proposed.add(part.proposed)
    return total


def days_of(start: datetime, end: datetime) -> list[date]:
    """The calendar days (UTC) the window touches."""
    first, last = start.astimezone(UTC).date(), end.astimezone(UTC).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
