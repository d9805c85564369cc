"""What a channel shows of a SKU (issue 15, item 2):
q = 0 if atp <= end_when else min(stock_max, floor(atp * stock_pct / 100))."""

from __future__ import annotations

import pytest

from shopflow.channels.model import ShowRules, published_quantity


@pytest.mark.parametrize(
    ("atp", "rules", "shown"),
    [
        (10, ShowRules(), 10),
        (0, ShowRules(), 0),
        (-3, ShowRules(), 0),  # oversold: nothing to sell anywhere
        (10, ShowRules(stock_pct=50), 5),
        (5, ShowRules(stock_pct=50), 2),  # rounded down: never a unit that is not there
        (1, ShowRules(stock_pct=50), 0),
        (100, ShowRules(stock_max=20), 20),
        (100, ShowRules(stock_pct=10, stock_max=20), 10),
        (2, ShowRules(end_when=2), 0),  # the listing ends before the last units
        (3, ShowRules(end_when=2), 3),
        (7, ShowRules(stock_pct=0), 0),
    ],
)
def test_the_published_quantity(atp: int, rules: ShowRules, shown: int) -> None:
    assert published_quantity(atp, rules) == shown
