"""`shopflow prices simulate`'s replay (pricing/simulate.py) on the in-memory store: a proposed
strategy run over the recorded offers, costs and sales next to the current one, from the same
starting prices, and nothing written."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from shopflow.kernel.unit_of_work import InMemoryUnitOfWork
from shopflow.pricing.engine import Pricer
from shopflow.pricing.model import Channel, CompetitorObservation
from shopflow.pricing.ports import ReceivedCompetitorPrice, ReceivedPricingInputs
from shopflow.pricing.recorded import DailySales
from shopflow.pricing.service import record_inputs, record_observation
from shopflow.pricing.simulate import read_window, simulate
from shopflow.pricing.state import ChannelPrice, PricePoint, PricingInputs
from shopflow.pricing.strategy import Strategy
from shopflow.store.pricing import InMemoryPricingStore

END = datetime(2026, 11, 29, 0, 0, tzinfo=UTC)
START = END - timedelta(days=7)
SHOP = Channel("shop", "EUR")
MARKET = Channel("market", "EUR", commission=D("0.10"))


def pricer(*channels: Channel, **strategy: object) -> Pricer:
    return Pricer(Strategy(**strategy).plan(), channels or (SHOP,))  # type: ignore[arg-type]


def observe(store: InMemoryPricingStore, sku: str, price: str, at: datetime) -> None:
    seen = CompetitorObservation("rival", D(price), "EUR", True, at)
    record_observation(ReceivedCompetitorPrice(f"ev-{sku}-{at}", sku, seen, "test"), store)


def shop(sku: str = "MUG-1", price: str = "20.00", *channels: Channel) -> InMemoryPricingStore:
    """A SKU costing 10.00, priced at `price` on each channel since before the window, a rival at
    that price the evening before it, cutting a little each day, and 2 units sold a day."""
    store = InMemoryPricingStore()
    inputs = PricingInputs(sku, D("10.00"), "EUR", None, None, None, START - timedelta(days=20))
    record_inputs(ReceivedPricingInputs("ev-in", inputs, "test"), store)
    state = store.records[sku]
    since = START - timedelta(days=10)
    for channel in channels or (SHOP,):
        state = state.with_channel(
            channel.name,
            ChannelPrice("EUR", D(price), changed_at=since, points=(PricePoint(since, D(price)),)),
        )
    store.records[sku] = state
    observe(store, sku, price, START - timedelta(hours=3))
    for day, rival in enumerate(("19.50", "19.00", "18.60", "18.20", "18.00")):
        observe(store, sku, rival, START + timedelta(days=day, hours=9))
    for day in range(7):
        work = InMemoryUnitOfWork()
        when = (START + timedelta(days=day)).date()
        store.stage_sales(DailySales(sku, when, "erp", 2, D("38.00"), "EUR"), work)
        work.commit()
    return store


def test_beating_by_a_cent_changes_more_prices_and_earns_less_than_matching() -> None:
    store = shop()
    window = read_window(store, START, END)

    result = simulate(
        window.records, window.log, window.sales, pricer(action="match"),
        pricer(action="beat", amount="0.01"), START, END,
    )  # fmt: skip

    current, proposed = result.current.as_dict(), result.proposed.as_dict()
    assert result.skus == 1
    assert current["prices_changed"] == 5  # 19.50, 19.00, 18.60, 18.20, 18.00
    assert proposed["prices_changed"] == 6  # 19.99 at once, then 19.49 ... 17.99
    assert current["proposals"] == proposed["proposals"] == 0
    # the same 14 units (7 days x 2, sold from "erp": on the SKU's first channel), a cent less each
    assert current["units"] == proposed["units"] == 14
    assert D(current["margin"]["EUR"]) - D(proposed["margin"]["EUR"]) > D("0.10")  # type: ignore[index]
    assert D(proposed["largest_change_pct"]) < D("3")  # type: ignore[arg-type]


def test_a_cut_beyond_the_auto_band_is_counted_as_a_proposal_and_never_applied() -> None:
    store = shop()
    observe(store, "MUG-1", "16.00", END - timedelta(hours=12))  # -11% from 18.00: the owner decides
    window = read_window(store, START, END)

    result = simulate(
        window.records, window.log, window.sales, pricer(action="match"), pricer(action="match"), START, END
    )

    assert result.current.proposals == result.proposed.proposals == 1
    assert result.current.changes == 5  # the proposal is not approved in the replay


def test_a_sale_counts_on_the_channel_its_source_names_with_that_channels_fees() -> None:
    store = shop("MUG-1", "20.00", SHOP, MARKET)
    window = read_window(store, START, END)
    both = pricer(SHOP, MARKET, action="match")
    on_shop = simulate(window.records, window.log, window.sales, both, both, START, END)
    on_market = simulate(
        window.records, window.log, window.sales, both, both, START, END,
        channel_of=lambda source: "market",
    )  # fmt: skip

    # the market grosses its 10% commission up: a higher price, but the same margin net of it
    assert on_shop.current.units == on_market.current.units == 14
    shop_margin = on_shop.current.margin["EUR"]
    market_margin = on_market.current.margin["EUR"]
    assert abs(market_margin - shop_margin) < shop_margin * D("0.1")


def test_a_simulation_writes_nothing() -> None:
    store = shop()
    before = copy.deepcopy((store.records, store.log, store.sold, store.changes, store.waiting))
    writes = store.writes

    window = read_window(store, START, END)
    simulate(
        window.records, window.log, window.sales, pricer(action="match"),
        pricer(action="beat", amount="0.01"), START, END,
    )  # fmt: skip

    assert (store.records, store.log, store.sold, store.changes, store.waiting) == before
    assert store.writes == writes


def test_the_cost_in_force_at_the_start_is_the_one_a_later_change_replaced() -> None:
    store = shop()
    raised = PricingInputs("MUG-1", D("17.00"), "EUR", None, None, None, START + timedelta(days=3))
    record_inputs(ReceivedPricingInputs("ev-in-2", raised, "test"), store)
    window = read_window(store, START, END)

    result = simulate(
        window.records, window.log, window.sales, pricer(action="match"), pricer(action="match"), START, END
    )

    # 10.00 for three days: it follows the rival to 18.60; then 17.00, whose floor 20.00 lifts it
    # back (a 7.5% rise) and holds it there (a cost of 17.00 from the start would change nothing)
    assert result.current.changes == 4
    assert result.current.as_dict()["largest_change_pct"] == "7.5"


def test_a_sales_goal_sees_the_weeks_recorded_sales_as_the_live_reprice_does() -> None:
    store = shop()  # 2 units a day; the week before the window sold 2 a day too
    for back in range(1, 8):
        work = InMemoryUnitOfWork()
        store.stage_sales(
            DailySales("MUG-1", (START - timedelta(days=back)).date(), "erp", 2, D("38"), "EUR"), work
        )
        work.commit()
    window = read_window(store, START, END)
    behind = pricer(action="match", sales_goal_per_day="5", sales_goal_pct=5)  # under goal: 5% off
    ahead = pricer(action="match", sales_goal_per_day="1", sales_goal_pct=5)  # over goal: as is

    result = simulate(window.records, window.log, window.sales, ahead, behind, START, END)

    assert result.current.units == result.proposed.units == 14  # the week before is not margin
    assert result.current.changes == 5
    assert D(result.proposed.as_dict()["margin"]["EUR"]) < D(result.current.as_dict()["margin"]["EUR"])  # type: ignore[index]
