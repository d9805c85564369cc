"""The engine's hot loop says what its steps say (decision 74: `Pricer.evaluate` inlines them for
speed). The pipeline is written out here plainly from the step functions (`kept_competitors`,
`reference`, `action_target`, `multiplier`, `charm`) and floors.py, and every decision of the
fast engine must equal it, field for field, over generated SKUs, competitors, channels and
strategies, including the plans the fast paths single out (the lowest competitor, only a
clearance step, a channel's own ending, strategy endings rounded down)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from shopflow.pricing.engine import (
    Pricer,
    action_target,
    charm,
    kept_competitors,
    multiplier,
    reference,
)
from shopflow.pricing.floors import base_floor, ceiling, channel_floor
from shopflow.pricing.model import (
    CENT,
    Channel,
    CompetitorObservation,
    ListingPrice,
    PriceDecision,
    SkuPricing,
    Status,
    text,
)
from shopflow.pricing.strategy import Plan, Strategy
from tests.unit.test_pricing_properties import NOW, channels, listings, observations, plans, skus


def plainly(
    sku: SkuPricing,
    seen: list[CompetitorObservation],
    channel: Channel,
    listing: ListingPrice,
    plan: Plan,
    now: datetime,
) -> PriceDecision:
    """One SKU on one channel through docs/pricing.md's pipeline, step by step."""
    [terms] = Pricer(plan, [channel]).terms  # the channel's gross-up factors, as the engine keeps them
    old = listing.current_price
    kept: tuple[CompetitorObservation, ...] = ()

    def decision(
        status: Status, rule: str, reason: str, new: Decimal | None = None, **more: object
    ) -> PriceDecision:
        fields = {"reference": None, "floor": None, "ceiling": None, **more}
        return PriceDecision(
            sku.sku, channel.name, channel.currency, old, new, status, rule, reason,
            fields["reference"], fields["floor"], fields["ceiling"], (sku, channel, listing, kept),  # type: ignore[arg-type]
        )  # fmt: skip

    cost = sku.cost
    if cost is None:
        return decision("skipped", "none", "no cost")
    floor = base_floor(cost, sku.min_price, plan.min_margin)
    top = ceiling(cost, sku.max_price, plan.max_markup)
    if top is not None and floor > top:
        return decision("skipped", "none", "floor above ceiling")
    kept = tuple(kept_competitors(seen, sku.currency, plan, now - timedelta(seconds=plan.max_age_seconds)))
    ref = reference(kept, plan)
    target: Decimal | None
    if ref is None:
        if plan.no_competitor == "price":
            target, rule = plan.no_competitor_price, "no competitor: configured price"
        elif plan.no_competitor == "ceiling" and top is not None:
            target, rule = top, "no competitor: ceiling"
        else:
            target, rule = None, "no competitor: keep"
    elif ref.price < floor:
        if plan.below_floor == "keep":
            target, rule = None, "reference below floor: keep"
        elif plan.below_floor == "ceiling" and top is not None:
            target, rule = top, "reference below floor: ceiling"
        else:
            target, rule = floor, "reference below floor: floor"
    else:
        target, rule = action_target(ref.price, plan), plan.rule
    if target is not None:
        factor, applied = multiplier(target, sku, plan)
        if applied:
            target, rule = target * factor, f"{rule} x {applied}"
        if target < floor:
            target, rule = floor, f"{rule} -> floor"
        elif top is not None and target > top:
            target, rule = top, f"{rule} -> ceiling"
    if terms.refused is not None:
        return decision("skipped", rule, terms.refused, reference=ref)

    def grossed_up(base: Decimal) -> Decimal:  # p = (B*fx + fixed_fee) / (1 - commission), min fee
        price = base * terms.per_base + terms.fee_part
        if terms.min_fee_under is not None and price < terms.min_fee_under:
            price = base * channel.fx + channel.fixed_fee + channel.min_fee
        return price

    channel_min = channel_floor(cost, channel, plan.min_margin)
    if sku.min_price is not None and floor == sku.min_price:  # the owner's min_price, grossed up
        net = floor * channel.fx + channel.fixed_fee
        of_base = net / (1 - channel.commission)
        if channel.commission * of_base < channel.min_fee:
            of_base = net + channel.min_fee
        channel_min = max(channel_min, of_base)
    channel_top = None if top is None else grossed_up(top)
    if channel_top is not None and channel_min > channel_top:
        reason = f"channel floor {text(channel_min)} above channel ceiling {text(channel_top)}"
        return decision("skipped", rule, reason, reference=ref, floor=channel_min, ceiling=channel_top)
    at = {"reference": ref, "floor": channel_min, "ceiling": channel_top}
    if target is not None:
        price = grossed_up(target)
    elif old is not None:
        price = old
    else:
        return decision("skipped", rule, "no current price to keep", **at)
    if price < channel_min:
        price, rule = channel_min, rule + " -> channel floor"
    elif channel_top is not None and price > channel_top:
        price, rule = channel_top, rule + " -> channel ceiling"
    if plan.drop_budget_factor is not None and listing.day_start_price is not None:
        limit = listing.day_start_price * plan.drop_budget_factor
        if channel_top is not None and limit > channel_top:
            limit = channel_top
        if price < limit:
            price, rule = limit, rule + " -> daily drop budget"
    new = charm(price, terms.endings, terms.rounding, channel_min, channel_top)
    if new is None:
        return decision("skipped", rule, "no allowed price ending between the floor and the ceiling", **at)
    if old is None:
        return decision("proposed", rule, "first price on this channel", new, **at)
    change, restores_floor = new - old, old < channel_min
    cooling = now - timedelta(seconds=plan.cooldown_seconds)
    if abs(change) < CENT:
        return decision("unchanged", rule, "under 0.01 from the current price", new, **at)
    if plan.only_raise and change < 0:
        return decision("skipped", rule, "only raise", new, **at)
    if listing.last_change_at is not None and listing.last_change_at > cooling and not restores_floor:
        return decision("skipped", rule, "cool-down", new, **at)
    step = abs(change) / old if old > 0 else None
    if step is not None and step <= plan.auto_band:
        return decision("applied", rule, "within the auto band", new, **at)
    if step is not None and step <= plan.approve_band:
        return decision("proposed", rule, "beyond the auto band: owner approves", new, **at)
    if restores_floor:
        return decision("proposed", rule, "restores the floor, beyond the bands: owner approves", new, **at)
    return decision("rejected", rule, "beyond the approve band", new, **at)


@st.composite
def fast_path_plans(draw: st.DrawFn) -> Plan:
    """The generated strategies, often reduced to what the fast paths single out."""
    plan = draw(plans())
    if draw(st.booleans()):  # only a clearance step can change the target
        plan = replace(plan, overstock_days=None, understock_days=None, sales_goal_per_day=None)
        plan = replace(plan, default_elasticity=None)
    if draw(st.booleans()):  # the lowest competitor followed, maybe with exclusions
        plan = replace(plan, reference="lowest", excluded=frozenset(draw(st.sets(st.sampled_from("abcd")))))
    if draw(st.booleans()):  # strategy endings rounded down
        endings = draw(st.sampled_from([(".49", ".99"), (".99",), (".00", ".50")]))
        plan = replace(plan, endings=tuple(Decimal(ending) for ending in endings), rounding="down")
    return plan


tied_observations = st.builds(  # equal offers from two competitors: the first one seen is the reference
    CompetitorObservation,
    competitor=st.sampled_from(["a", "b", "c", "d"]),
    price=st.sampled_from([Decimal("9.99"), Decimal("12.30"), Decimal("12.30"), Decimal("31.10")]),
    currency=st.just("EUR"),
    in_stock=st.just(True),
    observed_at=st.just(NOW - timedelta(hours=1)),
    rating=st.none() | st.just(Decimal("4")),
)
plain_channels = channels.map(lambda channel: replace(channel, price_ending=None))


@settings(max_examples=800, deadline=None)
@given(
    skus(),
    st.lists(observations | tied_observations, max_size=6),
    channels | plain_channels,
    listings(),
    fast_path_plans(),
    st.sampled_from([None, "10", "1", "0.00"]),
)
def test_every_decision_is_the_one_the_steps_make_one_by_one(
    sku: SkuPricing,
    seen: list[CompetitorObservation],
    channel: Channel,
    listing: ListingPrice,
    plan: Plan,
    min_price: str | None,
) -> None:
    sku = replace(sku, min_price=None if min_price is None else Decimal(min_price))
    [fast] = Pricer(plan, [channel]).evaluate(sku, seen, {channel.name: listing}, NOW)
    assert fast == plainly(sku, seen, channel, listing, plan, NOW)


def test_a_pricer_kept_across_runs_judges_each_run_by_its_own_time() -> None:
    """One pricer for several reprices (a warm Lambda): competitors age out and cool-downs end."""
    plan = Strategy(action="beat", amount="0.01", max_age_hours=24, cooldown_minutes=60).plan()
    pricer = Pricer(plan, [Channel("shop", "EUR")])
    sku = SkuPricing("MUG-1", "EUR", cost=Decimal(10))
    rival = CompetitorObservation("rival", Decimal("19.00"), "EUR", True, NOW - timedelta(hours=23))
    listing = ListingPrice("shop", Decimal("20.00"), last_change_at=NOW - timedelta(minutes=30))
    for now in (NOW, NOW + timedelta(hours=2)):
        [decision] = pricer.evaluate(sku, [rival], {"shop": listing}, now)
        [alone] = Pricer(plan, [Channel("shop", "EUR")]).evaluate(sku, [rival], {"shop": listing}, now)
        assert decision == alone
    assert decision.inputs[3] == ()  # two hours on, the rival's offer is 25 hours old: stale
