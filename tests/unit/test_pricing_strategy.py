"""Pricing strategies: every key optional, unknown keys refused, clear errors (issue 16, item 4)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from shopflow.pricing.strategy import DEFAULT_PLAN, Strategy, parse_strategy


def test_an_empty_strategy_takes_the_defaults() -> None:
    strategy = parse_strategy("{}")
    assert strategy == Strategy()
    assert (strategy.reference, strategy.action, strategy.no_competitor, strategy.below_floor) == (
        "lowest",
        "match",
        "keep",
        "floor",
    )
    assert (strategy.auto_pct, strategy.approve_pct, strategy.cooldown_minutes) == (D(10), D(25), 60)
    assert strategy.max_age_hours == 24
    assert strategy.endings == ()
    assert DEFAULT_PLAN.auto_band == D("0.10")
    assert DEFAULT_PLAN.approve_band == D("0.25")


def test_keys_are_read_and_planned() -> None:
    plan = parse_strategy(
        '{"reference": "avg_lowest", "reference_k": 2, "action": "beat", "amount": "2%",'
        ' "endings": [".99", ".49"], "clearance": {"60": 10, "90": 20}, "daily_drop_budget_pct": 5}'
    ).plan()
    assert (plan.amount, plan.amount_is_pct) == (D("0.02"), True)
    assert plan.endings == (D("0.49"), D("0.99"))
    assert plan.clearance == ((90, D("0.80"), "clearance 90d"), (60, D("0.90"), "clearance 60d"))
    assert plan.drop_budget_factor == D("0.95")
    assert plan.rule == "avg_lowest/beat 2%"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"auto_pcnt": 10}', "auto_pcnt: Extra inputs are not permitted"),
        ('{"auto_pct": 30}', "auto_pct must not exceed approve_pct"),
        ('{"endings": ["99"]}', "endings: Value error, ending '99'"),
        ('{"amount": "cheap"}', "amount 'cheap'"),
        ('{"min_margin": 1.2}', "min_margin: Input should be less than 1"),
        ('{"reference": "cheapest"}', "reference: Input should be"),
        ('{"reference": "competitor"}', "needs reference_competitor"),
        ('{"no_competitor": "price"}', "needs no_competitor_price"),
        ("{auto_pct: 10}", "not JSON"),
        ("[1]", "give a JSON object"),
    ],
)
def test_a_bad_strategy_is_refused_naming_the_group_and_the_key(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=r"^pricing\.strategy\.toys: ") as refused:
        parse_strategy(text, "toys")
    assert message in str(refused.value)
