"""Properties of the repricing engine over generated SKUs, competitors, channels and strategies
(issue 16, "Faults and properties to test")."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from shopflow.pricing.engine import charm, evaluate
from shopflow.pricing.floors import channel_floor
from shopflow.pricing.model import Channel, CompetitorObservation, ListingPrice, PriceDecision, SkuPricing
from shopflow.pricing.strategy import Plan, Strategy

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
MOVING = ("applied", "proposed")  # decisions whose `new` can reach a channel


def amounts(low: str, high: str, places: int = 2) -> st.SearchStrategy[Decimal]:
    return st.decimals(Decimal(low), Decimal(high), places=places, allow_nan=False, allow_infinity=False)


observations = st.builds(
    CompetitorObservation,
    competitor=st.sampled_from(["a", "b", "c", "d"]),
    price=amounts("0.01", "2000"),
    currency=st.sampled_from(["EUR", "EUR", "EUR", "PLN"]),
    in_stock=st.booleans(),
    observed_at=st.integers(0, 48 * 60).map(lambda minutes: NOW - timedelta(minutes=minutes)),
    shipping=amounts("0", "10"),
    rating=st.none() | amounts("1", "5", 1),
)


@st.composite
def skus(draw: st.DrawFn) -> SkuPricing:
    cost = draw(amounts("0.01", "500"))
    return SkuPricing(
        "SKU-1",
        "EUR",
        cost=cost,
        min_price=draw(st.none() | amounts("0.01", "800")),
        max_price=draw(st.none() | amounts("0.01", "3000")),
        stock=draw(st.none() | st.integers(0, 1000)),
        sales_per_day=draw(st.none() | amounts("0", "50")),
        stock_age_days=draw(st.none() | st.integers(0, 400)),
    )


channels = st.builds(
    Channel,
    name=st.just("channel"),
    currency=st.sampled_from(["EUR", "PLN"]),
    commission=amounts("0", "0.45", 3),
    fixed_fee=amounts("0", "5"),
    min_fee=amounts("0", "5"),
    fx=amounts("0.2", "5", 4),
    price_ending=st.none() | st.sampled_from([Decimal("0.99"), Decimal("0.49"), Decimal("0.00")]),
)


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    auto = draw(st.integers(0, 30))
    data = {
        "reference": draw(st.sampled_from(["lowest", "nth_lowest", "avg_lowest", "highest", "competitor"])),
        "reference_competitor": "b",
        "action": draw(st.sampled_from(["match", "beat", "above", "position"])),
        "amount": draw(st.sampled_from(["0", "0.01", "1", "3%"])),
        "position": draw(st.integers(1, 4)),
        "no_competitor": draw(st.sampled_from(["keep", "ceiling", "price"])),
        "no_competitor_price": "25.00",
        "below_floor": draw(st.sampled_from(["floor", "keep", "ceiling"])),
        "min_rating": draw(st.none() | st.just("3")),
        "min_margin": str(draw(amounts("0", "0.5"))),
        "max_markup": draw(st.none() | st.sampled_from(["1.5", "3"])),
        "auto_pct": auto,
        "approve_pct": auto + draw(st.integers(0, 40)),
        "only_raise": draw(st.booleans()),
        "daily_drop_budget_pct": draw(st.none() | st.integers(0, 30)),
        "cooldown_minutes": draw(st.sampled_from([0, 60])),
        "endings": draw(st.sampled_from([[], [".99"], [".49", ".99"], [".00", ".50"]])),
        "rounding": draw(st.sampled_from(["down", "up"])),
        "overstock_days": draw(st.none() | st.just(60)),
        "sales_goal_per_day": draw(st.none() | st.just(3)),
        "clearance": draw(st.sampled_from([{}, {"60": 10, "120": 30}])),
        "default_elasticity": draw(st.none() | st.just("-2.5")),
    }
    return Strategy.model_validate(data).plan()


@st.composite
def listings(draw: st.DrawFn) -> ListingPrice:
    return ListingPrice(
        "channel",
        current_price=draw(st.none() | amounts("0.01", "5000")),
        last_change_at=draw(
            st.none() | st.integers(1, 120).map(lambda minutes: NOW - timedelta(minutes=minutes))
        ),
        day_start_price=draw(st.none() | amounts("0.01", "5000")),
    )


def usable(channel: Channel, plan: Plan) -> Channel:
    """A commission that eats the whole margin is refused (tests/unit/test_pricing_engine.py)."""
    if channel.commission + plan.min_margin >= 1:
        return replace(channel, commission=Decimal(0))
    return channel


def decide(
    sku: SkuPricing, seen: list[CompetitorObservation], channel: Channel, listing: ListingPrice, plan: Plan
) -> PriceDecision:
    [decision] = evaluate(sku, seen, [(usable(channel, plan), listing)], plan, NOW)
    return decision


EVERYTHING = (skus(), st.lists(observations, max_size=6), channels, listings(), plans())


@settings(max_examples=300, deadline=None)
@given(*EVERYTHING)
def test_a_price_is_never_below_the_floor_nor_above_the_ceiling(
    sku: SkuPricing, seen: list[CompetitorObservation], channel: Channel, listing: ListingPrice, plan: Plan
) -> None:
    decision = decide(sku, seen, channel, listing, plan)
    if decision.status in MOVING:
        assert decision.new is not None and decision.floor is not None
        assert decision.new >= decision.floor
        assert sku.cost is not None
        assert decision.new >= channel_floor(sku.cost, usable(channel, plan), plan.min_margin)
        if decision.ceiling is not None:
            assert decision.new <= decision.ceiling


@settings(max_examples=300, deadline=None)
@given(*EVERYTHING)
def test_the_margin_after_commission_and_fees_is_at_least_the_minimum_on_every_channel(
    sku: SkuPricing, seen: list[CompetitorObservation], channel: Channel, listing: ListingPrice, plan: Plan
) -> None:
    decision = decide(sku, seen, channel, listing, plan)
    if decision.status in MOVING:
        price = decision.new
        assert price is not None and sku.cost is not None
        used = (
            channel if channel.commission + plan.min_margin < 1 else replace(channel, commission=Decimal(0))
        )
        fee = max(used.commission * price, used.min_fee)
        assert price - fee - used.fixed_fee - sku.cost * used.fx >= plan.min_margin * price


@settings(max_examples=300, deadline=None)
@given(*EVERYTHING)
def test_the_same_inputs_twice_change_nothing(
    sku: SkuPricing, seen: list[CompetitorObservation], channel: Channel, listing: ListingPrice, plan: Plan
) -> None:
    first = decide(sku, seen, channel, listing, plan)
    assert decide(sku, seen, channel, listing, plan) == first
    if first.status in MOVING:  # the owner approved, or it was applied: the next run leaves it
        after = replace(listing, current_price=first.new)
        second = decide(sku, seen, channel, after, plan)
        assert (second.status, second.new) == ("unchanged", first.new)


@settings(max_examples=300, deadline=None)
@given(*EVERYTHING)
def test_a_change_beyond_the_bands_is_never_applied(
    sku: SkuPricing, seen: list[CompetitorObservation], channel: Channel, listing: ListingPrice, plan: Plan
) -> None:
    decision = decide(sku, seen, channel, listing, plan)
    if decision.status == "applied":
        assert decision.old is not None and decision.new is not None
        assert abs(decision.new - decision.old) <= plan.auto_band * decision.old
        if plan.only_raise:
            assert decision.new >= decision.old
    if decision.status == "proposed" and decision.old is not None and decision.new is not None:
        beyond = abs(decision.new - decision.old) > plan.approve_band * decision.old
        assert not beyond or decision.old < (decision.floor or 0)  # only a rise restoring the floor


@settings(max_examples=1000, deadline=None)
@given(
    price=amounts("0.01", "1000", 4),
    floor_gap=amounts("0", "50", 4),
    ceiling_gap=st.none() | amounts("0", "50", 4),
    endings=st.sampled_from([(), (Decimal("0.99"),), (Decimal("0.49"), Decimal("0.99")), (Decimal("0.00"),)]),
    mode=st.sampled_from(["down", "up"]),
)
def test_rounding_never_breaks_the_floor_nor_the_ceiling(
    price: Decimal, floor_gap: Decimal, ceiling_gap: Decimal | None, endings: tuple[Decimal, ...], mode: str
) -> None:
    floor = max(price - floor_gap, Decimal("0.01"))
    top = None if ceiling_gap is None else price + ceiling_gap
    rounded = charm(price, endings, mode, floor, top)  # type: ignore[arg-type]
    if rounded is None:  # only when no allowed ending (or cent) lies between them
        assert top is not None
        assert not endings or all(
            not floor <= whole + ending <= top
            for whole in range(int(floor), int(top) + 1)
            for ending in endings
        )
        return
    assert rounded >= floor
    assert top is None or rounded <= top
    if endings:
        assert rounded - rounded.to_integral_value(rounding="ROUND_FLOOR") in endings
