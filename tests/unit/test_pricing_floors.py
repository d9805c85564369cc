"""Floors, ceilings and channel prices exactly as docs/pricing.md defines them (issue 16, item 3)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from shopflow.pricing.floors import (
    base_floor,
    ceiling,
    channel_floor,
    channel_price,
    check_margin,
    gross_up,
    margin,
    round_up_to_ending,
)
from shopflow.pricing.model import Channel

ALLEGRO = Channel("allegro", "PLN", commission=D("0.10"), fixed_fee=D("1"), min_fee=D("2"), fx=D("4"))


def test_base_floor_is_the_higher_of_min_price_and_the_cost_at_the_minimum_margin() -> None:
    assert base_floor(D("8.50"), None, D("0.15")) == D(10)  # 8.50 / 0.85
    assert base_floor(D("8.50"), D("12"), D("0.15")) == D(12)
    assert base_floor(D("8.50"), D("9"), D("0.15")) == D(10)


def test_ceiling_is_max_price_else_cost_times_max_markup_else_none() -> None:
    assert ceiling(D(10), D(30), D(2)) == D(30)
    assert ceiling(D(10), None, D("2.5")) == D(25)
    assert ceiling(D(10), None, None) is None


def test_a_base_price_is_grossed_up_by_the_commission_and_fixed_fee() -> None:
    # (20 * 4 + 1) / (1 - 0.10) = 90; the commission 9.00 is above the minimum fee
    assert gross_up(D(20), ALLEGRO) == D(90)


def test_the_minimum_fee_applies_when_the_commission_would_be_smaller() -> None:
    # (2 * 4 + 1) / 0.9 = 10, commission 1.00 < min fee 2 -> 2 * 4 + 1 + 2 = 11
    assert gross_up(D(2), ALLEGRO) == D(11)


def test_the_channel_price_rounds_up_to_the_channel_ending_and_never_under_the_channel_floor() -> None:
    ending = Channel("allegro", "PLN", commission=D("0.10"), fx=D("4"), price_ending=D("0.99"))
    assert channel_price(D(20), ending, cost=D(5), min_margin=D("0.15")) == D("88.99")  # 88.888...
    # base 1 would be 4.44 PLN; the channel floor (5*4)/(1-0.10-0.15) = 26.67 wins, then .99
    assert channel_price(D(1), ending, cost=D(5), min_margin=D("0.15")) == D("26.99")


def test_the_channel_floor_covers_commission_fees_and_the_margin() -> None:
    shop = Channel("shop", "EUR", commission=D("0.20"), fixed_fee=D("0.50"))
    floor = channel_floor(D("7.00"), shop, D("0.15"))
    assert floor.quantize(D("0.0001")) == D("11.5385")  # 7.50 / 0.65
    assert floor >= D("7.50") / D("0.65")  # rounded up, never a hair under
    assert margin(floor, D("7.00"), shop) >= D("0.15")


def test_the_channel_floor_also_covers_a_minimum_fee_bigger_than_the_commission() -> None:
    # (1*4 + 1) / (1 - 0.10 - 0.15) = 6.67 would leave 6.67 - 2 - 1 - 4 < 0 after the 2.00 minimum fee
    floor = channel_floor(D(1), ALLEGRO, D("0.15"))
    assert floor.quantize(D("0.0001")) == D("8.2353")  # (1*4 + 1 + 2) / 0.85
    assert margin(floor, D(1), ALLEGRO) >= D("0.15")


def test_a_commission_and_margin_reaching_one_are_refused() -> None:
    with pytest.raises(ValueError, match="must stay under 1"):
        check_margin(D("0.90"), D("0.10"), "channel allegro")
    with pytest.raises(ValueError, match="channel greedy"):
        channel_floor(D(1), Channel("greedy", "EUR", commission=D("0.95")), D("0.05"))


@pytest.mark.parametrize(
    ("price", "ending", "rounded"),
    [
        ("12.34", "0.99", "12.99"),
        ("12.99", "0.99", "12.99"),
        ("13.00", "0.99", "13.99"),
        ("12.341", None, "12.35"),
    ],
)
def test_rounding_up_to_an_ending(price: str, ending: str | None, rounded: str) -> None:
    assert round_up_to_ending(D(price), None if ending is None else D(ending)) == D(rounded)
