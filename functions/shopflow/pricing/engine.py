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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from shopflow.pricing.floors import base_floor, ceiling, channel_floor, gross_up
from shopflow.pricing.model import (
    CENT,
    ONE,
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

_DEMAND_LOW = Decimal("0.95")
_DEMAND_HIGH = Decimal("1.05")


# -- 1. filter competitors ------------------------------------------------------------------------


def kept_competitors(
    observations: Iterable[CompetitorObservation], currency: str, plan: Plan, now: datetime
) -> list[CompetitorObservation]:
    """In stock, in the SKU's currency, observed within `max_age_hours`, not excluded, rated at
    least `min_rating` (an unrated competitor is dropped when a minimum is set)."""
    cutoff = now - timedelta(seconds=plan.max_age_seconds)
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


def _offer(seen: CompetitorObservation, plan: Plan) -> Decimal:
    return seen.price + seen.shipping if plan.include_shipping else seen.price


def reference(kept: Sequence[CompetitorObservation], plan: Plan) -> Reference | None:
    """The price the target follows; None when no competitor is left for it."""
    if not kept:
        return None
    ranked = sorted(kept, key=lambda seen: _offer(seen, plan))
    kind = plan.reference
    if plan.action == "position":  # the nth lowest; with fewer competitors, the highest
        seen = ranked[min(plan.position, len(ranked)) - 1]
        return Reference(_offer(seen, plan), seen.competitor)
    if kind == "lowest":
        seen = ranked[0]
    elif kind == "highest":
        seen = ranked[-1]
    elif kind == "nth_lowest":
        if len(ranked) < plan.reference_n:
            return None
        seen = ranked[plan.reference_n - 1]
    elif kind == "avg_lowest":
        lowest = ranked[: plan.reference_k]
        return Reference(sum((_offer(s, plan) for s in lowest), Decimal(0)) / len(lowest), None)
    else:  # a named competitor
        named = [s for s in ranked if s.competitor == plan.reference_competitor]
        if not named:
            return None
        seen = named[0]
    return Reference(_offer(seen, plan), seen.competitor)


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
        for days, step in plan.clearance:  # oldest step first
            if sku.stock_age_days >= days:
                factor *= step
                applied.append(f"clearance {days}d")
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


@dataclass(frozen=True, slots=True)
class BaseTarget:
    """The SKU's target before any channel: `price` None keeps each channel's current price."""

    price: Decimal | None
    rule: str
    reference: Reference | None
    floor: Decimal | None
    ceiling: Decimal | None
    kept: tuple[CompetitorObservation, ...]
    skip: str | None = None  # why the SKU is not repriced at all


def base_target(
    sku: SkuPricing, observations: Iterable[CompetitorObservation], plan: Plan, now: datetime
) -> BaseTarget:
    cost = sku.cost
    if cost is None:
        return BaseTarget(None, "none", None, None, None, (), skip="no cost")
    floor = base_floor(cost, sku.min_price, plan.min_margin)
    top = ceiling(cost, sku.max_price, plan.max_markup)
    if top is not None and floor > top:
        return BaseTarget(None, "none", None, floor, top, (), skip="floor above ceiling")
    kept = kept_competitors(observations, sku.currency, plan, now)
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
    elif ref.price < floor:
        below = plan.below_floor
        if below == "keep":
            target, rule = None, "reference below floor: keep"
        elif below == "ceiling" and top is not None:
            target, rule = top, "reference below floor: ceiling"
        else:
            target, rule = floor, "reference below floor: floor"
    else:
        target = action_target(ref.price, plan)
        rule = plan.rule
    if target is not None:
        factor, applied = multiplier(target, sku, plan)
        if applied:
            target *= factor
            rule = f"{rule} x {applied}"
        if target < floor:
            target, rule = floor, f"{rule} -> floor"
        elif top is not None and target > top:
            target, rule = top, f"{rule} -> ceiling"
    return BaseTarget(target, rule, ref, floor, top, tuple(kept))


# -- charm rounding -------------------------------------------------------------------------------


def _ending_at_least(price: Decimal, endings: tuple[Decimal, ...]) -> Decimal:
    whole = price.to_integral_value(rounding=ROUND_FLOOR)
    for ending in endings:
        if whole + ending >= price:
            return whole + ending
    return whole + ONE + endings[0]


def _ending_at_most(price: Decimal, endings: tuple[Decimal, ...]) -> Decimal | None:
    whole = price.to_integral_value(rounding=ROUND_FLOOR)
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


def evaluate_channel(
    sku: SkuPricing, base: BaseTarget, channel: Channel, listing: ListingPrice, plan: Plan, now: datetime
) -> PriceDecision:
    old = listing.current_price
    inputs = (sku, channel, listing, base.kept)
    if base.skip is not None or sku.cost is None or base.floor is None:
        reason = base.skip or "no cost"
        return PriceDecision(
            sku.sku, channel.name, channel.currency, old, None, "skipped", base.rule, reason,
            base.reference, None, None, inputs,
        )  # fmt: skip
    if channel.commission + plan.min_margin >= ONE:
        reason = f"commission {channel.commission} + min_margin {plan.min_margin} >= 1"
        return PriceDecision(
            sku.sku, channel.name, channel.currency, old, None, "skipped", base.rule, reason,
            base.reference, None, None, inputs,
        )  # fmt: skip
    floor = channel_floor(sku.cost, channel, plan.min_margin)
    floor_of_base = gross_up(base.floor, channel)
    if floor_of_base > floor:
        floor = floor_of_base
    top = None if base.ceiling is None else gross_up(base.ceiling, channel)
    rule = base.rule

    def skipped(reason: str, new: Decimal | None = None) -> PriceDecision:
        return PriceDecision(
            sku.sku, channel.name, channel.currency, old, new, "skipped", rule, reason,
            base.reference, floor, top, inputs,
        )  # fmt: skip

    if top is not None and floor > top:
        return skipped(f"channel floor {text(floor)} above channel ceiling {text(top)}")
    # gross up, clamp to the channel's floor and ceiling
    if base.price is not None:
        target = gross_up(base.price, channel)
    elif old is not None:
        target = old
    else:
        return skipped("no current price to keep")
    if target < floor:
        target, rule = floor, f"{rule} -> channel floor"
    elif top is not None and target > top:
        target, rule = top, f"{rule} -> channel ceiling"
    # daily drop budget: not under (1 - budget) x the price at the start of the day
    if plan.drop_budget_factor is not None and listing.day_start_price is not None:
        limit = listing.day_start_price * plan.drop_budget_factor
        if top is not None and limit > top:
            limit = top
        if target < limit:
            target, rule = limit, f"{rule} -> daily drop budget"
    # charm rounding: a channel's own ending rounds up (its price covers the fees), else the strategy's
    if channel.price_ending is not None:
        new = charm(target, (channel.price_ending,), "up", floor, top)
    else:
        new = charm(target, plan.endings, plan.rounding, floor, top)
    if new is None:
        return skipped("no allowed price ending between the floor and the ceiling")
    status, reason = _gate(new, listing, floor, plan, now)
    return PriceDecision(
        sku.sku, channel.name, channel.currency, old, new, status, rule, reason, base.reference,
        floor, top, inputs,
    )  # fmt: skip


def _gate(
    new: Decimal, listing: ListingPrice, floor: Decimal, plan: Plan, now: datetime
) -> tuple[Status, str]:
    """Skip under 0.01, only-raise, cool-down, change bands: judged on the rounded price."""
    old = listing.current_price
    if old is None:
        return "proposed", "first price on this channel"
    change = new - old
    if -CENT < change < CENT:
        return "unchanged", "under 0.01 from the current price"
    restores_floor = old < floor
    if plan.only_raise and change < 0:
        return "skipped", "only raise"
    if (
        listing.last_change_at is not None
        and not restores_floor
        and (now - listing.last_change_at).total_seconds() < plan.cooldown_seconds
    ):
        return "skipped", "cool-down"
    step = abs(change) / old if old > 0 else None
    if step is not None and step <= plan.auto_band:
        return "applied", "within the auto band"
    if step is not None and step <= plan.approve_band:
        return "proposed", "beyond the auto band: owner approves"
    if restores_floor:  # never refused: the live price loses margin until the owner acts
        return "proposed", "restores the floor, beyond the bands: owner approves"
    return "rejected", "beyond the approve band"


def evaluate(
    sku: SkuPricing,
    observations: Iterable[CompetitorObservation],
    listings: Sequence[tuple[Channel, ListingPrice]],
    plan: Plan,
    now: datetime,
) -> list[PriceDecision]:
    """One decision per channel the SKU is listed on; the base target is computed once."""
    base = base_target(sku, observations, plan, now)
    return [evaluate_channel(sku, base, channel, listing, plan, now) for channel, listing in listings]
