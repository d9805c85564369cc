"""The repricing pipeline, per SKU and channel (issue 16, item 2): pure, no I/O, time handed in.

filter competitors -> reference -> action -> scenarios -> multipliers -> clamp [floor, ceiling]
(base currency, once per SKU), then per channel: gross up to the channel's price, clamp to the
channel's floor and ceiling -> daily drop budget -> charm rounding -> skip under 0.01 -> only-raise
-> cool-down -> change bands -> a decision record.

The gates (only-raise, cool-down, bands) judge the final, rounded price: rounding can carry a
change across a band, and a band judged before it would let that through. Competitors quoting
another currency than the SKU's are ignored (decision 74).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal
from operator import attrgetter
from typing import NamedTuple

from shopflow.pricing.model import (
    CENT,
    ONE,
    ZERO,
    Channel,
    CompetitorObservation,
    ListingPrice,
    PriceDecision,
    Reference,
    SkuPricing,
    Status,
    cents_down,
    cents_up,
    text,
)
from shopflow.pricing.strategy import Plan, Rounding

# Floors are quotients rounded up, as in floors.py (the engine inlines those formulas for speed; the
# property tests hold its prices to floors.channel_floor).
_UP = Context(prec=28, rounding=ROUND_CEILING)
_divide_up = _UP.divide
# The whole part of a price, as `to_integral_value(rounding=ROUND_FLOOR)` gives it: through a
# context, 6x faster than parsing the keyword on every call.
_whole = Context(prec=28, rounding=ROUND_FLOOR).to_integral_value
_MINUS_CENT = -CENT
# A NamedTuple's own constructor is a Python function; `tuple.__new__` builds the same tuple 3x faster.
_new = tuple.__new__
_DEMAND_LOW = Decimal("0.95")
_DEMAND_HIGH = Decimal("1.05")


# -- 1. filter competitors ------------------------------------------------------------------------


def kept_competitors(
    observations: Iterable[CompetitorObservation], currency: str, plan: Plan, cutoff: datetime
) -> list[CompetitorObservation]:
    """In stock, in the SKU's currency, observed at `cutoff` (now - max_age_hours) or later, not
    excluded, rated at least `min_rating` (an unrated competitor is dropped when a minimum is set)."""
    excluded = plan.excluded
    min_rating = plan.min_rating
    return [
        seen
        for seen in observations
        if seen.in_stock
        and seen.currency == currency
        and seen.observed_at >= cutoff
        and seen.competitor not in excluded
        and (min_rating is None or (seen.rating is not None and seen.rating >= min_rating))
    ]


# -- 2. reference ---------------------------------------------------------------------------------


_PRICE = attrgetter("price")


def _offer(seen: CompetitorObservation) -> Decimal:
    return seen.price + seen.shipping


def reference(kept: Sequence[CompetitorObservation], plan: Plan) -> Reference | None:
    """The price the target follows; None when no competitor is left for it."""
    if not kept:
        return None
    offer = _offer if plan.include_shipping else _PRICE
    kind = plan.reference
    if plan.action == "position":  # the nth lowest; with fewer competitors, the highest
        seen = sorted(kept, key=offer)[min(plan.position, len(kept)) - 1]
    elif kind == "lowest":
        seen = min(kept, key=offer)
    elif kind == "highest":
        seen = max(kept, key=offer)
    elif kind == "nth_lowest":
        if len(kept) < plan.reference_n:
            return None
        seen = sorted(kept, key=offer)[plan.reference_n - 1]
    elif kind == "avg_lowest":
        lowest = sorted(kept, key=offer)[: plan.reference_k]
        return Reference(sum((offer(s) for s in lowest), Decimal(0)) / len(lowest), None)
    else:  # a named competitor
        named = [s for s in kept if s.competitor == plan.reference_competitor]
        if not named:
            return None
        seen = min(named, key=offer)
    return Reference(offer(seen), seen.competitor)


# -- 3. action ------------------------------------------------------------------------------------


def action_target(ref: Decimal, plan: Plan) -> Decimal:
    """match R; beat R by an amount or percent; stay above R; position n: the nth lowest less amount."""
    action = plan.action
    if action == "match":
        return ref
    step = ref * plan.amount if plan.amount_is_pct else plan.amount
    if action == "above":
        return ref + step
    return ref - step  # beat, position


# -- 5. multipliers -------------------------------------------------------------------------------


def multiplier(target: Decimal, sku: SkuPricing, plan: Plan) -> tuple[Decimal, str]:
    """Days of cover, sales goal, clearance and demand, each off unless configured; the factor and
    the names of those that applied."""
    factor = ONE
    applied: list[str] = []
    cover = sku.days_of_cover if plan.overstock_days or plan.understock_days else None
    if cover is not None:
        if plan.overstock_days is not None and cover > plan.overstock_days:
            factor *= plan.overstock_factor
            applied.append("overstock")
        elif plan.understock_days is not None and cover < plan.understock_days:
            factor *= plan.understock_factor
            applied.append("understock")
    goal = plan.sales_goal_per_day
    if goal is not None and sku.sales_per_day is not None and sku.sales_per_day < goal:
        factor *= plan.sales_goal_factor
        applied.append("sales goal")
    if plan.clearance and sku.stock_age_days is not None:
        for days, step, name in plan.clearance:  # oldest step first
            if sku.stock_age_days >= days:
                factor *= step
                applied.append(name)
                break
    evidence = sku.demand
    elasticity = (
        evidence.elasticity if evidence is not None and evidence.is_enough() else plan.default_elasticity
    )
    if elasticity is not None and elasticity < -1 and sku.cost is not None and target > 0:
        # The profit-maximising price c*|e|/(|e|-1), approached at most 5% per run.
        best = sku.cost * -elasticity / (-elasticity - ONE)
        demand = best / (target * factor)
        demand = _DEMAND_LOW if demand < _DEMAND_LOW else _DEMAND_HIGH if demand > _DEMAND_HIGH else demand
        factor *= demand
        applied.append("demand")
    return factor, ", ".join(applied)


# -- steps 1-6 in the base currency, once per SKU ------------------------------------------------


class BaseTarget(NamedTuple):
    """The SKU's target before any channel: `price` None keeps each channel's current price."""

    price: Decimal | None
    rule: str
    reference: Reference | None
    floor: Decimal | None
    ceiling: Decimal | None
    kept: tuple[CompetitorObservation, ...]
    skip: str | None = None  # why the SKU is not repriced at all


def base_target(
    sku: SkuPricing, observations: Iterable[CompetitorObservation], plan: Plan, cutoff: datetime
) -> BaseTarget:
    """Steps 1-6 for one SKU; competitors observed before `cutoff` are stale."""
    return _Steps(plan).base_target(sku, observations, cutoff)


class _Steps:
    """Steps 1-6 under one plan, with what the plan decides once (which filters, which reference,
    which multipliers) worked out up front."""

    __slots__ = (
        "_cover", "_lowest", "_margin_share", "_max_markup", "_min_rating", "_no_excluded", "_only_clearance",
        "plan",
    )  # fmt: skip

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self._margin_share = ONE - plan.min_margin
        self._max_markup = plan.max_markup
        self._min_rating = plan.min_rating
        self._no_excluded = not plan.excluded
        # the common reference, inlined: the lowest price, shipping left out
        self._lowest = plan.reference == "lowest" and plan.action != "position" and not plan.include_shipping
        self._cover = bool(plan.overstock_days or plan.understock_days)
        # only clearance can apply (unless a SKU brings its own demand evidence)
        self._only_clearance = (
            not self._cover and plan.sales_goal_per_day is None and plan.default_elasticity is None
        )

    def base_target(
        self, sku: SkuPricing, observations: Iterable[CompetitorObservation], cutoff: datetime
    ) -> BaseTarget:
        cost = sku.cost
        if cost is None:
            return _new(BaseTarget, (None, "none", None, None, None, (), "no cost"))
        floor = _divide_up(cost, self._margin_share)  # floors.base_floor, inlined
        min_price = sku.min_price
        if min_price is not None and min_price > floor:
            floor = min_price
        top = sku.max_price  # floors.ceiling, inlined
        if top is None and self._max_markup is not None:
            top = cost * self._max_markup
        if top is not None and floor > top:
            return _new(BaseTarget, (None, "none", None, floor, top, (), "floor above ceiling"))
        plan = self.plan
        currency = sku.currency
        min_rating = self._min_rating
        ref: Reference | None = None
        kept: list[CompetitorObservation]
        if self._lowest and self._no_excluded:
            # kept_competitors and the lowest of them in one pass: `min(kept, key=...)` costs as much
            # as the filter; `<` keeps the first of equal prices, as `min` does
            kept = []
            low = None
            low_price = ZERO
            for seen in observations:
                if (
                    seen.in_stock
                    and seen.currency == currency
                    and seen.observed_at >= cutoff
                    and (min_rating is None or (seen.rating is not None and seen.rating >= min_rating))
                ):
                    kept.append(seen)
                    if low is None or seen.price < low_price:
                        low, low_price = seen, seen.price
            if low is not None:
                ref = _new(Reference, (low_price, low.competitor))
        else:
            kept = kept_competitors(observations, currency, plan, cutoff)
            if self._lowest:
                if kept:
                    low = min(kept, key=_PRICE)
                    ref = _new(Reference, (low.price, low.competitor))
            else:
                ref = reference(kept, plan)
        target: Decimal | None
        if ref is None:
            scenario = plan.no_competitor
            if scenario == "price":
                target, rule = plan.no_competitor_price, "no competitor: configured price"
            elif scenario == "ceiling" and top is not None:
                target, rule = top, "no competitor: ceiling"
            else:
                target, rule = None, "no competitor: keep"
        elif ref[0] < floor:
            below = plan.below_floor
            if below == "keep":
                target, rule = None, "reference below floor: keep"
            elif below == "ceiling" and top is not None:
                target, rule = top, "reference below floor: ceiling"
            else:
                target, rule = floor, "reference below floor: floor"
        else:
            target = action_target(ref[0], plan)
            rule = plan.rule
        if target is not None:
            if self._only_clearance and sku.demand is None:  # `multiplier` with only its clearance step
                age = sku.stock_age_days
                if age is not None:
                    for days, step, name in plan.clearance:  # oldest step first
                        if age >= days:
                            target *= step  # `multiplier`'s ONE * step is step, digit for digit
                            rule = f"{rule} x {name}"
                            break
            else:
                factor, applied = multiplier(target, sku, plan)
                if applied:
                    target *= factor
                    rule = f"{rule} x {applied}"
            if target < floor:
                target, rule = floor, f"{rule} -> floor"
            elif top is not None and target > top:
                target, rule = top, f"{rule} -> ceiling"
        return _new(BaseTarget, (target, rule, ref, floor, top, tuple(kept), None))


# -- charm rounding -------------------------------------------------------------------------------


def _ending_at_least(price: Decimal, endings: tuple[Decimal, ...]) -> Decimal:
    whole = _whole(price)
    for ending in endings:
        if whole + ending >= price:
            return whole + ending
    return whole + ONE + endings[0]


def _ending_at_most(price: Decimal, endings: tuple[Decimal, ...]) -> Decimal | None:
    whole = _whole(price)
    for ending in reversed(endings):
        if whole + ending <= price:
            return whole + ending
    return whole - ONE + endings[-1] if whole >= ONE else None


def charm(
    price: Decimal, endings: tuple[Decimal, ...], mode: Rounding, floor: Decimal, top: Decimal | None
) -> Decimal | None:
    """`price` on an allowed ending (whole cents without endings), down or up as `mode` says; when
    down falls under the floor, the smallest allowed ending not below it. Never above `top`: then
    the largest ending under it. None when no allowed ending lies between floor and ceiling."""
    if not endings:
        new = cents_up(price) if mode == "up" else cents_down(price)
        if new < floor:
            new = cents_up(floor)
        if top is not None and new > top:
            new = cents_down(top)
            if new < floor:
                return None
        return new
    if mode == "up":
        new = _ending_at_least(price, endings)
    else:
        down = _ending_at_most(price, endings)
        new = down if down is not None and down >= floor else _ending_at_least(floor, endings)
    if top is not None and new > top:
        below = _ending_at_most(top, endings)
        if below is None or below < floor:
            return None
        new = below
    return new


# -- per channel ----------------------------------------------------------------------------------

# How a channel's price is rounded, decided once per channel (`_Terms.rounds`).
_OWN_ENDING = 1  # the channel's own ending, rounded up (inlined)
_ENDINGS_DOWN = 2  # the strategy's endings, rounded down (inlined)
_CHARM = 3  # anything else: `charm`


class _Terms(NamedTuple):
    """A channel under one strategy, precomputed once."""

    channel: Channel
    fx: Decimal
    fixed_fee: Decimal
    min_fee: Decimal
    commission: Decimal
    keep: Decimal  # 1 - commission
    per_base: Decimal  # fx / (1 - commission): p = B * per_base + fee_part
    fee_part: Decimal  # fixed_fee / (1 - commission)
    min_fee_under: Decimal | None  # the minimum fee applies under this price (min_fee / commission)
    floor_share: Decimal  # 1 - commission - min_margin
    margin_share: Decimal  # 1 - min_margin
    endings: tuple[Decimal, ...]
    rounding: Rounding
    refused: str | None  # commission + min_margin >= 1
    rounds: int  # _OWN_ENDING, _ENDINGS_DOWN or _CHARM
    endings_down: tuple[Decimal, ...]  # `endings`, highest first


def _terms(channel: Channel, plan: Plan) -> _Terms:
    margin = plan.min_margin
    commission = channel.commission
    endings = plan.endings if channel.price_ending is None else (channel.price_ending,)
    rounding: Rounding = plan.rounding if channel.price_ending is None else "up"  # its price covers the fees
    if len(endings) == 1 and rounding == "up":
        rounds = _OWN_ENDING
    elif endings and rounding == "down":
        rounds = _ENDINGS_DOWN
    else:
        rounds = _CHARM
    return _Terms(
        channel, channel.fx, channel.fixed_fee, channel.min_fee, commission,
        ONE - commission,
        channel.fx / (ONE - commission) if commission < ONE else ONE,
        channel.fixed_fee / (ONE - commission) if commission < ONE else ONE,
        None if not channel.min_fee
        else channel.min_fee / commission if commission
        else Decimal("Infinity"),
        ONE - commission - margin, ONE - margin,
        endings,
        rounding,
        None if commission + margin < ONE else f"commission {commission} + min_margin {margin} >= 1",
        rounds,
        tuple(reversed(endings)),
    )  # fmt: skip


class Pricer:
    """One strategy over a set of channels: `evaluate` a SKU on each channel it is listed on.
    Build it once per strategy and channel settings; it holds nothing per SKU."""

    __slots__ = ("_named", "_now", "_since", "_steps", "plan", "terms")

    def __init__(self, plan: Plan, channels: Iterable[Channel]) -> None:
        self.plan = plan
        self._steps = _Steps(plan)
        self._now: datetime | None = None
        self._since: tuple[datetime, datetime] = (datetime.min, datetime.min)
        self.terms = tuple(_terms(channel, plan) for channel in channels)
        self._named = tuple((terms.channel.name, terms) for terms in self.terms)

    def evaluate(
        self,
        sku: SkuPricing,
        observations: Iterable[CompetitorObservation],
        listings: Mapping[str, ListingPrice],
        now: datetime,
    ) -> list[PriceDecision]:
        """A decision per channel of this pricer that `listings` names, in the pricer's order.

        The hot loop of a reprice (decision 74): each channel's steps are inlined here, the SKU's
        and the plan's values read once into locals, the rounding kind chosen per channel up front,
        and decisions built with `tuple.__new__` (a NamedTuple's own constructor is a Python
        function, 3x slower for 12 fields). The property tests hold the prices to floors.py."""
        plan = self.plan
        if now is not self._now:  # one reprice run shares one `now`: the cut-offs once per run
            self._now = now
            self._since = (
                now - timedelta(seconds=plan.max_age_seconds),  # observed before: stale
                now - timedelta(seconds=plan.cooldown_seconds),  # changed after: cooling down
            )
        stale_before, cooled = self._since
        base = self._steps.base_target(sku, observations, stale_before)
        base_price, base_rule, ref, base_floor_, base_top, kept, skip = base
        sku_name = sku.sku
        cost = sku.cost
        decisions: list[PriceDecision] = []
        if skip is not None or cost is None or base_floor_ is None:
            for name, terms in self._named:
                listing = listings.get(name)
                if listing is not None:
                    channel = terms.channel
                    decisions.append(_new(PriceDecision, (
                        sku_name, name, channel.currency, listing.current_price, None, "skipped", base_rule,
                        skip or "no cost", ref, None, None, (sku, channel, listing, kept),
                    )))  # fmt: skip
            return decisions
        # only the owner's min_price can lift the grossed-up base floor above the channel floor
        lifted = sku.min_price is not None and base_floor_ == sku.min_price
        drop_factor = plan.drop_budget_factor
        only_raise = plan.only_raise
        auto_band = plan.auto_band
        approve_band = plan.approve_band
        for name, terms in self._named:
            listing = listings.get(name)
            if listing is None:
                continue
            (
                channel, fx, fixed_fee, min_fee, commission, keep, per_base, fee_part, min_fee_under,
                floor_share, margin_share, endings, rounding, refused, rounds, endings_down,
            ) = terms  # fmt: skip
            old = listing.current_price
            rule = base_rule
            if refused is not None:
                decisions.append(_new(PriceDecision, (
                    sku_name, name, channel.currency, old, None, "skipped", rule, refused, ref, None, None,
                    (sku, channel, listing, kept),
                )))  # fmt: skip
                continue
            # channel floor: (cost*fx + fixed_fee) / (1 - commission - min_margin), and with a minimum
            # fee (cost*fx + fixed_fee + min_fee) / (1 - min_margin), the higher
            outlay = cost * fx + fixed_fee
            floor = _divide_up(outlay, floor_share)
            if min_fee_under is not None:  # a minimum fee is set
                with_min_fee = _divide_up(outlay + min_fee, margin_share)
                if with_min_fee > floor:
                    floor = with_min_fee
            if lifted:
                net = base_floor_ * fx + fixed_fee
                of_base = net / keep
                if commission * of_base < min_fee:
                    of_base = net + min_fee
                if of_base > floor:
                    floor = of_base
            # gross up: p = (B*fx + fixed_fee) / (1 - commission), at least B*fx + fixed_fee + min_fee
            # when commission * p < min_fee, i.e. p < min_fee / commission
            top: Decimal | None = None
            if base_top is not None:
                top = base_top * per_base + fee_part
                if min_fee_under is not None and top < min_fee_under:
                    top = base_top * fx + fixed_fee + min_fee
                if floor > top:
                    decisions.append(_new(PriceDecision, (
                        sku_name, name, channel.currency, old, None, "skipped", rule,
                        f"channel floor {text(floor)} above channel ceiling {text(top)}", ref, floor, top,
                        (sku, channel, listing, kept),
                    )))  # fmt: skip
                    continue
            if base_price is not None:
                target = base_price * per_base + fee_part
                if min_fee_under is not None and target < min_fee_under:
                    target = base_price * fx + fixed_fee + min_fee
            elif old is not None:
                target = old
            else:
                decisions.append(_new(PriceDecision, (
                    sku_name, name, channel.currency, old, None, "skipped", rule, "no current price to keep",
                    ref, floor, top, (sku, channel, listing, kept),
                )))  # fmt: skip
                continue
            if target < floor:
                target, rule = floor, rule + " -> channel floor"
            elif top is not None and target > top:
                target, rule = top, rule + " -> channel ceiling"
            # daily drop budget: not under (1 - budget) x the price at the start of the day
            if drop_factor is not None:
                day_start = listing.day_start_price
                if day_start is not None:
                    limit = day_start * drop_factor
                    if top is not None and limit > top:
                        limit = top
                    if target < limit:
                        target, rule = limit, rule + " -> daily drop budget"
            # charm rounding; the two common kinds inlined (`charm` says the same)
            new: Decimal | None
            if rounds == _OWN_ENDING:
                new = _whole(target) + endings[0]
                if new < target:
                    new += ONE
                if top is not None and new > top:
                    new = charm(target, endings, rounding, floor, top)
            elif rounds == _ENDINGS_DOWN:
                whole = _whole(target)  # _ending_at_most(target)
                for ending in endings_down:
                    new = whole + ending
                    if new <= target:
                        break
                else:
                    new = whole - ONE + endings[-1] if whole >= ONE else None
                if new is None or new < floor:
                    new = _ending_at_least(floor, endings)
                if top is not None and new > top:
                    below = _ending_at_most(top, endings)
                    new = None if below is None or below < floor else below
            else:
                new = charm(target, endings, rounding, floor, top)
            if new is None:
                decisions.append(_new(PriceDecision, (
                    sku_name, name, channel.currency, old, None, "skipped", rule,
                    "no allowed price ending between the floor and the ceiling", ref, floor, top,
                    (sku, channel, listing, kept),
                )))  # fmt: skip
                continue
            # the gates, on the rounded price: skip under 0.01, only-raise, cool-down, change bands
            status: Status
            if old is None:
                status, reason = "proposed", "first price on this channel"
            else:
                change = new - old
                if _MINUS_CENT < change < CENT:
                    status, reason = "unchanged", "under 0.01 from the current price"
                elif only_raise and change < 0:
                    status, reason = "skipped", "only raise"
                elif (
                    (changed_at := listing.last_change_at) is not None
                    and changed_at > cooled
                    and not old < floor  # a rise that restores the floor is exempt
                ):
                    status, reason = "skipped", "cool-down"
                else:
                    step = (change if change > 0 else -change) / old if old > 0 else None
                    if step is not None and step <= auto_band:
                        status, reason = "applied", "within the auto band"
                    elif step is not None and step <= approve_band:
                        status, reason = "proposed", "beyond the auto band: owner approves"
                    elif old < floor:  # restores the floor: never refused, the live price loses margin
                        status, reason = "proposed", "restores the floor, beyond the bands: owner approves"
                    else:
                        status, reason = "rejected", "beyond the approve band"
            decisions.append(_new(PriceDecision, (
                sku_name, name, channel.currency, old, new, status, rule, reason, ref, floor, top,
                (sku, channel, listing, kept),
            )))  # fmt: skip
        return decisions


def evaluate(
    sku: SkuPricing,
    observations: Iterable[CompetitorObservation],
    listings: Sequence[tuple[Channel, ListingPrice]],
    plan: Plan,
    now: datetime,
) -> list[PriceDecision]:
    """One decision per (channel, listing); builds a `Pricer` each call (use one for many SKUs)."""
    pricer = Pricer(plan, [channel for channel, _ in listings])
    return pricer.evaluate(sku, observations, {channel.name: listing for channel, listing in listings}, now)
