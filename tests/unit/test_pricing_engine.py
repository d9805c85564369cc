"""The repricing pipeline step by step, and the named faults (issue 16, item 2 and "Faults")."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

from shopflow.pricing.engine import charm, evaluate
from shopflow.pricing.model import (
    Channel,
    CompetitorObservation,
    DemandEvidence,
    ListingPrice,
    PriceDecision,
    SkuPricing,
)
from shopflow.pricing.strategy import Strategy

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
SHOP = Channel("shop", "EUR")
# cost 10, min margin 15% -> base floor 11.76..; no ceiling unless a test sets one
SKU = SkuPricing("MUG-1", "EUR", cost=D(10))


def seen(price: str, competitor: str = "rival", **changes: Any) -> CompetitorObservation:
    observation = CompetitorObservation(competitor, D(price), "EUR", True, NOW - timedelta(hours=1))
    return replace(observation, **changes)


def decide(
    *observations: CompetitorObservation,
    current: str | None = "20.00",
    sku: SkuPricing = SKU,
    channel: Channel = SHOP,
    listing: ListingPrice | None = None,
    **strategy: Any,
) -> PriceDecision:
    listing = listing or ListingPrice(channel.name, None if current is None else D(current))
    plan = Strategy.model_validate(strategy).plan()
    [decision] = evaluate(sku, observations, [(channel, listing)], plan, NOW)
    return decision


# -- filter competitors and the named faults ------------------------------------------------------


def test_cost_missing_means_no_repricing_with_the_reason_no_cost() -> None:
    decision = decide(seen("19.00"), sku=replace(SKU, cost=None))
    assert (decision.status, decision.reason, decision.new, decision.price) == (
        "skipped",
        "no cost",
        None,
        D(20),
    )


def test_a_competitor_at_one_cent_takes_the_price_to_the_floor_never_under_it() -> None:
    decision = decide(seen("0.01"), current="12.50")
    assert decision.rule == "reference below floor: floor"
    assert decision.new == D("11.77")  # 10 / 0.85 = 11.7647.. rounded up to the cent
    assert decision.status == "applied"


def test_all_competitors_out_of_stock_is_no_competitor_keep_the_price() -> None:
    decision = decide(seen("15.00", in_stock=False), seen("14.00", "other", in_stock=False))
    assert (decision.status, decision.rule, decision.new) == ("unchanged", "no competitor: keep", D(20))


def test_only_stale_observations_count_as_no_competitor() -> None:
    stale = seen("19.00", observed_at=NOW - timedelta(hours=25))
    assert decide(stale).rule == "no competitor: keep"
    assert decide(stale, max_age_hours=48).new == D(19)


def test_a_competitor_in_another_currency_is_ignored() -> None:
    decision = decide(seen("15.00", currency="PLN"), seen("19.00", "euro-rival"))
    assert decision.new == D(19)
    assert decision.reference is not None and decision.reference.competitor == "euro-rival"


def test_excluded_and_low_rated_competitors_are_dropped() -> None:
    rivals = (
        seen("18.50", "cheapo", rating=D("2.1")),
        seen("19.00", "good", rating=D("4.8")),
        seen("18.00", "anon"),
    )
    assert decide(*rivals, excluded=["anon"]).new == D("18.50")
    assert decide(*rivals, min_rating="4").new == D(19)  # unrated "anon" dropped too


# -- reference and action -------------------------------------------------------------------------


RIVALS = (seen("19.00", "a"), seen("18.00", "b", shipping=D("3")), seen("20.00", "c"), seen("21.00", "d"))


def test_references() -> None:
    assert decide(*RIVALS).new == D(18)
    assert decide(*RIVALS, reference="nth_lowest", reference_n=2).new == D(19)
    assert decide(*RIVALS, reference="avg_lowest", reference_k=3).new == D(19)
    assert decide(*RIVALS, reference="highest", current="21.00").new == D(21)
    assert decide(*RIVALS, reference="competitor", reference_competitor="c").new == D(20)
    assert decide(*RIVALS, include_shipping=True).new == D(19)  # b costs 21 with shipping


def test_a_reference_that_is_not_there_is_no_competitor() -> None:
    assert decide(*RIVALS, reference="competitor", reference_competitor="zz").rule == "no competitor: keep"
    assert decide(seen("19.00"), reference="nth_lowest", reference_n=2).rule == "no competitor: keep"


def test_actions() -> None:
    assert decide(*RIVALS, action="beat", amount="0.01").new == D("17.99")
    assert decide(*RIVALS, action="beat", amount="5%").new == D("17.10")
    assert decide(*RIVALS, action="above", amount="1").new == D(19)
    third = decide(*RIVALS, action="position", position=3, amount="0.01")
    assert (third.new, third.rule) == (D("19.99"), "position 3 less 0.01")
    assert decide(*RIVALS, action="position", position=9).new == D(21)  # fewer rivals: the highest


# -- scenarios ------------------------------------------------------------------------------------


def test_no_competitor_scenarios() -> None:
    capped = replace(SKU, max_price=D(22))
    assert decide(sku=capped, no_competitor="ceiling").new == D(22)
    assert decide(no_competitor="ceiling").rule == "no competitor: keep"  # no ceiling to go to
    assert decide(no_competitor="price", no_competitor_price="21.50").new == D("21.50")


def test_reference_below_the_floor_scenarios() -> None:
    capped = replace(SKU, max_price=D(22))
    assert decide(seen("5.00"), below_floor="keep").status == "unchanged"
    assert decide(seen("5.00"), sku=capped, below_floor="ceiling").new == D(22)


# -- multipliers ----------------------------------------------------------------------------------


def test_days_of_cover_multipliers() -> None:
    slow = replace(SKU, stock=200, sales_per_day=D(1))  # 200 days of cover
    assert decide(seen("20.00"), sku=slow, overstock_days=90).new == D("19.40")
    scarce = replace(SKU, stock=3, sales_per_day=D(1))
    assert decide(seen("20.00"), sku=scarce, understock_days=7, current="20.60").new == D("20.60")
    assert decide(seen("20.00"), sku=slow).new == D(20)  # off by default


def test_sales_goal_and_clearance_multipliers() -> None:
    behind = replace(SKU, sales_per_day=D(2))
    assert decide(seen("20.00"), sku=behind, sales_goal_per_day=5).new == D(19)  # 5% default cut
    old_stock = replace(SKU, stock_age_days=95)
    assert decide(seen("20.00"), sku=old_stock, clearance={"60": 5, "90": 8}).new == D("18.40")


def test_demand_elasticity_only_with_enough_evidence() -> None:
    # cost 10, e = -2 -> best price 20; the target 30 may move at most 5% towards it
    strong = DemandEvidence(
        D(-2), weeks_with_sales=10, distinct_prices=4, price_ratio=D("1.2"), ci_upper=D(-1)
    )
    weak = replace(strong, weeks_with_sales=3)  # under 8 weeks of sales: not enough
    assert decide(seen("30.00"), sku=replace(SKU, demand=strong), current="29.00").new == D("28.50")
    assert decide(seen("30.00"), sku=replace(SKU, demand=weak), current="29.00").new == D(30)
    owners = decide(seen("30.00"), sku=replace(SKU, demand=weak), default_elasticity=-2, current="29")
    assert owners.new == D("28.50")  # the owner's default elasticity instead


# -- clamp, channels ------------------------------------------------------------------------------


def test_the_target_is_clamped_to_the_ceiling() -> None:
    assert decide(seen("40.00"), sku=replace(SKU, max_price=D(21))).new == D(21)
    assert decide(seen("40.00"), max_markup=2, current="20").new == D(20)


def test_a_channel_price_covers_its_fees_and_its_own_floor() -> None:
    allegro = Channel(
        "allegro", "PLN", commission=D("0.10"), fixed_fee=D("1"), fx=D("4"), price_ending=D("0.99")
    )
    decision = decide(seen("19.00"), channel=allegro, current="85.00")
    assert decision.new == D("85.99")  # (19*4 + 1) / 0.9 = 85.56, up to .99
    at_floor = decide(seen("0.01"), channel=allegro, current="55.00")
    assert at_floor.new == D(
        "54.99"
    )  # the channel floor (10*4 + 1) / 0.75 = 54.67; base floor 11.77 -> 53.41
    assert at_floor.new is not None and at_floor.floor is not None and at_floor.new >= at_floor.floor


def test_a_channel_whose_commission_eats_the_margin_is_skipped() -> None:
    greedy = Channel("greedy", "EUR", commission=D("0.90"))
    decision = decide(seen("19.00"), channel=greedy)
    assert decision.status == "skipped"
    assert decision.reason.startswith("commission 0.90 + min_margin 0.15 >= 1")


# -- change bands, only-raise, drop budget, cool-down -------------------------------------------


def test_change_bands() -> None:
    assert decide(seen("18.00")).status == "applied"  # -10%
    assert decide(seen("17.99")).status == "proposed"  # just beyond 10%
    assert decide(seen("15.00")).status == "proposed"  # -25%
    rejected = decide(seen("14.99"))
    assert (rejected.status, rejected.price) == ("rejected", D(20))


def test_a_rise_restoring_the_floor_is_never_rejected() -> None:
    decision = decide(seen("30.00"), current="5.00")
    assert (decision.status, decision.new) == ("proposed", D(30))


def test_only_raise() -> None:
    assert decide(seen("19.00"), only_raise=True).status == "skipped"
    assert decide(seen("21.00"), only_raise=True).status == "applied"


def test_the_daily_drop_budget_limits_todays_cuts() -> None:
    listing = ListingPrice("shop", D("19.00"), day_start_price=D(20))
    decision = decide(seen("15.00"), listing=listing, daily_drop_budget_pct=8)
    assert (decision.new, decision.status) == (D("18.40"), "applied")
    assert decision.rule.endswith("-> daily drop budget")


def test_cool_down_except_a_rise_that_restores_the_floor() -> None:
    recent = ListingPrice("shop", D("20.00"), last_change_at=NOW - timedelta(minutes=30))
    assert decide(seen("19.00"), listing=recent).reason == "cool-down"
    assert decide(seen("19.00"), listing=recent, cooldown_minutes=20).status == "applied"
    under_floor = ListingPrice("shop", D("11.00"), last_change_at=NOW - timedelta(minutes=1))
    assert decide(seen("0.01"), listing=under_floor).status == "applied"  # up to 11.77


# -- charm rounding, the last steps --------------------------------------------------------------


def test_charm_rounding_never_breaks_the_floor() -> None:
    endings = (D("0.49"), D("0.99"))
    assert charm(D("12.80"), endings, "down", D(12), None) == D("12.49")
    assert charm(D("12.40"), endings, "down", D("12.34"), None) == D("12.49")  # 11.99 < floor
    assert charm(D("12.34"), (D("0.99"),), "down", D("12.34"), None) == D("12.99")  # research example
    assert charm(D("12.10"), endings, "up", D(12), None) == D("12.49")
    assert charm(D("12.60"), endings, "up", D(12), D("12.80")) == D("12.49")  # the ceiling holds
    assert charm(D("12.60"), (D("0.99"),), "up", D("12.50"), D("12.80")) is None


def test_charm_endings_from_the_strategy() -> None:
    assert decide(seen("19.20"), endings=[".99", ".49"]).new == D("18.99")
    # 11.90 would round down to 11.49, under the floor 11.77: the smallest .49 above it
    assert decide(seen("11.90"), endings=[".49"], current="12.00").new == D("12.49")


def test_a_change_under_a_cent_is_skipped_and_a_first_price_is_proposed() -> None:
    assert decide(seen("20.009")).status == "unchanged"  # rounds down to 20.00
    assert decide(seen("20.004")).status == "unchanged"
    assert decide(seen("19.00"), current=None).status == "proposed"


def test_the_decision_record_at_the_edge_is_strings() -> None:
    record = decide(seen("19.00", "acme")).as_dict()
    assert record == {
        "sku": "MUG-1",
        "channel": "shop",
        "currency": "EUR",
        "old": "20.00",
        "new": "19.00",
        "status": "applied",
        "rule": "lowest/match",
        "reason": "within the auto band",
        "reference_competitor": "acme",
        "reference_price": "19.00",
        "floor": "11.77",
        "ceiling": None,
    }


def test_observations_parse_from_event_data() -> None:
    data = {
        "sku": "MUG-1",
        "competitor": "acme",
        "price": "19.99",
        "currency": "eur",
        "in_stock": True,
        "observed_at": "2026-11-29T11:00:00+00:00",
    }
    assert CompetitorObservation.from_data(data) == seen("19.99", "acme")
    assert SkuPricing.from_data({"sku": "MUG-1", "currency": "EUR", "cost": "10"}) == SKU
