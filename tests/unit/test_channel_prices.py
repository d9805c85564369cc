"""What every channel adapter refuses before sending a price, and how it writes money."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shopflow.channels.adapters.prices import money_text, price_refusal
from shopflow.channels.ports import PricePush


def push(price: str, was: str | None = None, currency: str = "EUR") -> PricePush:
    return PricePush("1", "MUG", Decimal(price), None if was is None else Decimal(was), currency, 1)


@pytest.mark.parametrize(
    ("amount", "written"),
    [
        ("19.9", "19.90"),
        ("5", "5.00"),
        ("0", "0.00"),
        ("1E+2", "100.00"),
        ("19.999", "19.999"),
        ("0.10", "0.10"),
    ],
)
def test_money_is_written_with_two_decimals_at_least_and_never_rounded(amount: str, written: str) -> None:
    assert money_text(Decimal(amount)) == written


def test_a_price_a_cut_and_a_free_item_may_be_sent() -> None:
    assert price_refusal(push("19.99")) is None
    assert price_refusal(push("19.99", was="24.99")) is None
    assert price_refusal(push("0")) is None


@pytest.mark.parametrize(
    ("refused", "why"),
    [
        (push("-1"), "price -1: a price is a finite amount, zero or more"),
        (push("NaN"), "price NaN: a price is a finite amount, zero or more"),
        (push("Infinity"), "price Infinity: a price is a finite amount, zero or more"),
        (push("1E+40"), "price 1E+40: a price is a finite amount, zero or more"),
        (push("10", was="10.00"), "was 10.00 is not above the price 10.00: only a cut shows a prior price"),
        (push("10", was="Infinity"), "was Infinity: a prior price is a finite amount"),
        (push("10", currency="eur"), "currency 'eur': an ISO 4217 code such as EUR"),
        (push("10", currency="EURO"), "currency 'EURO': an ISO 4217 code such as EUR"),
    ],
)
def test_anything_else_is_refused_with_the_reason(refused: PricePush, why: str) -> None:
    assert price_refusal(refused) == why
