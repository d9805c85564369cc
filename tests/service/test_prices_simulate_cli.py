"""`shopflow prices simulate` against the test stage on moto: the shop's recorded week (a rival
cutting a little each day, a cost from the ERP, paid orders) replayed through a proposed "beat by
a cent" next to the current "match"; nothing is written, and a bad strategy file is refused."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from shopflow import bootstrap
from shopflow.cli.prices_simulate import register
from shopflow.pricing.reprice import Repriced
from shopflow.pricing.state import ChannelPrice, PricePoint
from tests.service.conftest import STAGE, Stack
from tests.service.test_pricing_recorded import event, observe


def simulate(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`shopflow prices simulate ARGV --stage test` (the command `shopflow prices` registers)."""
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="action", required=True))
    args = parser.parse_args(["simulate", *argv, "--stage", STAGE])
    capsys.readouterr()
    code = int(args.run(args))
    printed = capsys.readouterr()
    return code, printed.out, printed.err


def a_recorded_week(stack: Stack) -> None:
    """Seven days ago the ERP gave MUG-01 a cost of 10.00, it sold at 20.00 on the shop, and a
    rival matched that; from six days ago (an hour past) the rival cut each day while two units
    sold a day."""
    for name, value in (
        ("pricing/enabled", "true"),
        ("channels/shop/currency", "EUR"),
        ("pricing/strategy/default", '{"action": "match"}'),
    ):
        stack.put_setting(name, value)
    now = datetime.now(UTC)  # the command's time on AWS is the machine's
    stack.clock.advance(now - timedelta(days=7) - stack.clock.now())
    event(stack, "product.pricing_updated", {"sku": "MUG-01", "cost": "10.00", "currency": "EUR"})
    store = bootstrap.runtime().pricing
    state = store.get("MUG-01")
    assert state is not None
    since = stack.clock.now()
    priced = ChannelPrice("EUR", D("20.00"), changed_at=since, points=(PricePoint(since, D("20.00")),))
    store.save(Repriced(state, state.with_channel("shop", priced)))
    observe(stack, "20.00", (since + timedelta(minutes=5)).isoformat())
    stack.clock.advance(timedelta(hours=1))
    for day, price in enumerate(("19.50", "19.00", "18.60", "18.20")):
        stack.clock.advance(timedelta(days=1))
        observe(stack, price, stack.clock.now().isoformat())
        data = {
            "source": "erp",
            "external_id": f"o-{day}",
            "status": "paid",
            "currency": "EUR",
            "total": "40.00",
            "lines": [{"sku": "MUG-01", "name": "Mug", "quantity": 2, "unit_price": price}],
            "customer": {"email": "ann@example.com"},
            "updated_at": stack.clock.now().isoformat(),
            "placed_at": stack.clock.now().isoformat(),
        }
        event(stack, "order.created", data)


def test_a_proposed_strategy_is_replayed_next_to_the_current_one_and_nothing_is_written(
    stack: Stack, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    a_recorded_week(stack)
    strategy = tmp_path / "beat.json"
    strategy.write_text('{"action": "beat", "amount": "0.01"}')
    before = sorted((item["pk"], item["sk"], json.dumps(item, default=str)) for item in stack.items())

    code, out, err = simulate(capsys, "--strategy", str(strategy), "--days", "6", "--json")

    assert code == 0, err
    result: dict[str, Any] = json.loads(out)
    current, proposed = result["current"], result["proposed"]
    assert (result["skus"], result["channels"]) == (1, ["shop"]), result
    assert current["prices_changed"] == 4, result  # 19.50, 19.00, 18.60, 18.20
    assert proposed["prices_changed"] == 5  # 19.99 at once, then a cent under each
    assert current["units"] == proposed["units"] == 8
    assert D(proposed["margin"]["EUR"]) < D(current["margin"]["EUR"])
    after = sorted((item["pk"], item["sk"], json.dumps(item, default=str)) for item in stack.items())
    assert after == before

    code, out, _ = simulate(capsys, "--strategy", str(strategy), "--days", "6")
    assert code == 0
    assert "prices changed" in out and "nothing changed" in out


@pytest.mark.parametrize(
    ("text", "said"),
    [('{"action": "beat", "amont": "0.01"}', "amont"), ("not json", "not JSON")],
)
def test_a_bad_strategy_file_is_refused_naming_what_is_wrong(
    stack: Stack, capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, said: str
) -> None:
    strategy = tmp_path / "bad.json"
    strategy.write_text(text)

    code, out, err = simulate(capsys, "--strategy", str(strategy))

    assert code == 2
    assert said in err and out == ""


def test_more_days_than_the_log_keeps_are_refused(
    stack: Stack, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    strategy = tmp_path / "match.json"
    strategy.write_text("{}")

    code, _, err = simulate(capsys, "--strategy", str(strategy), "--days", "45")

    assert code == 2 and "--days" in err
