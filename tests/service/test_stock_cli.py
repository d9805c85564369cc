"""`shopflow stock get|list`: the owner reads a SKU's numbers, its holds and its history (moto).

The shop's day, all on 2026-11-02 (UTC): the ERP counts MUG-01 at 10 (08:55, event evt-set-1);
chk-1 holds 3 (09:01, still held); chk-2 holds 2 with a CAP (09:02) and gives them back
(09:03); breakage takes one off (09:04, evt-adj-1, "dropped in the warehouse"); chk-3 holds 1
and pays (09:05, committed: its end is the order's commit entry); chk-4 holds 1 and lets it
expire (09:06, expired 09:21); a request for 100 is refused (held nothing); order
shopify:1001 pays for 2 CAPs when one was left (09:30): CAP is oversold by one.
Ledger entries are written as the stock inputs write them (`StockMoveItem`).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from pynamodb.connection import Connection

from shopflow import bootstrap
from shopflow.stock.model import Cause, ReservationDue, ReservationRequest, StockItem, StockMovement
from shopflow.stock.service import Held, Short, expire, release, reserve
from shopflow.store.models import ReservationItem, StockMoveItem, iso
from tests.service.conftest import STAGE, Run, Stack

HOLD = timedelta(minutes=15)
DAY = datetime(2026, 11, 2, tzinfo=UTC)
Move = tuple[str, int, int, int, int, int, int]


def at(hour: int, minute: int) -> datetime:
    return DAY.replace(hour=hour, minute=minute)


def hold(checkout: str, *lines: tuple[str, int], now: datetime) -> Held | Short:
    request = ReservationRequest(
        checkout_token=checkout,
        lines=[{"sku": sku, "quantity": quantity} for sku, quantity in lines],
        request_id=f"msg-{checkout}",
    )
    return reserve(request, bootstrap.runtime().stock, now=now, hold=HOLD)


def move(sku: str, when: datetime, **deltas: int) -> None:
    """Move a SKU's stored numbers as the write that records a movement does."""
    stock = bootstrap.runtime().stock
    current = stock.items([sku]).get(sku, StockItem(sku, on_hand=0))
    moved = StockMovement(sku, Cause("event", "test"), when, "test", **deltas).applied_to(current)
    work = stock.unit_of_work()
    stock.stage_item(moved, when, work)
    work.commit()


MOVE_FIELDS = ("atp", "reserved", "committed", "on_hand", "safety", "oversold")  # after the SKU


def ledger(kind: str, cause_id: str, action: str, when: datetime, *moves: Move, note: str = "") -> None:
    """A ledger entry as the stock inputs write it (moves `[sku, atp, reserved, committed,
    on_hand, safety, oversold]`), with the moves it records applied to the SKUs' numbers."""
    StockMoveItem(
        f"STOCKMOVE#{kind}#{cause_id}",
        action,
        item_type="STOCKMOVE",
        skus={m[0] for m in moves},
        action=action,
        at=iso(when),
        moves=json.dumps(moves),
        note=note or None,
    ).save()
    for sku, *deltas in moves:
        move(sku, when, **dict(zip(MOVE_FIELDS, deltas, strict=True)))


@pytest.fixture
def shop(stack: Stack) -> Stack:
    stock = bootstrap.runtime().stock
    move("CAP", at(8, 50), on_hand=1, atp=1)
    move("TEE-M", at(8, 50), on_hand=4, safety=1, atp=3)
    ledger("event", "evt-set-1", "set", at(8, 55), ("MUG-01", 10, 0, 0, 10, 0, 0))
    assert isinstance(hold("chk-1", ("MUG-01", 3), now=at(9, 1)), Held)
    second = hold("chk-2", ("MUG-01", 2), ("CAP", 1), now=at(9, 2))
    assert isinstance(second, Held)
    release(second.reservation.reservation_id, stock, now=at(9, 3))
    broken = ("MUG-01", -1, 0, 0, -1, 0, 0)
    ledger("event", "evt-adj-1", "adjust", at(9, 4), broken, note="dropped in the warehouse")
    ReservationItem(  # paid: its end is the order's commit entry, not a movement of its own
        "RESERVATION#rsv_paid",
        "RESERVATION",
        item_type="RESERVATION",
        checkout_token="chk-3",
        status="committed",
        lines='[["MUG-01",1]]',
        skus={"MUG-01"},
        created_at=iso(at(9, 5)),
        hold_until=iso(at(9, 20)),
        ended_at=iso(at(9, 7)),
    ).save()
    move("MUG-01", at(9, 5), atp=-1, reserved=1)
    fourth = hold("chk-4", ("MUG-01", 1), now=at(9, 6))
    assert isinstance(fourth, Held)
    ledger("order", "shopify:1000", "commit", at(9, 7), ("MUG-01", 0, -1, 1, 0, 0, 0))
    due = ReservationDue(reservation_id=fourth.reservation.reservation_id, lines=[("MUG-01", 1)])
    expire(due, stock, now=at(9, 21))
    assert isinstance(hold("chk-5", ("MUG-01", 100), now=at(9, 22)), Short)
    ledger("order", "shopify:1001", "commit", at(9, 30), ("CAP", -2, 0, 2, 0, 0, 1))
    assert isinstance(hold("chk-6", ("TEE-M", 2), now=at(9, 31)), Held)
    return stack


def test_stock_get_tells_the_story_of_a_sku(shop: Stack, run: Run) -> None:
    assert run("stock", "get", "MUG-01") == 0

    lines = run.out.splitlines()
    # 10 counted, 1 broken, 3 held by chk-1, 1 paid (through chk-3's hold)
    assert lines[0].startswith("MUG-01: 5 available to promise (atp)")
    assert lines[1].strip() == "on hand 9 = atp 5 + reserved 3 + committed 1 + safety 0"
    assert "OVERSOLD:" not in run.out and "oversold so far" not in run.out
    held, expired, paid, released = (line.split() for line in _section(run.out, "reservations"))
    assert held[1:4] == ["held", "3", "chk-1"] and held[-1] == "2026-11-02T09:16:00"
    assert paid[1:4] == ["committed", "1", "chk-3"]
    assert expired[1:4] == ["expired", "1", "chk-4"] and expired[-1] == "2026-11-02T09:21:00"
    assert released[1:4] == ["released", "2", "chk-2"] and released[-1] == "2026-11-02T09:03:00"
    assert "chk-5" not in run.out  # refused: it held nothing

    movements = [line.split(maxsplit=4)[:4] for line in _section(run.out, "movements")]
    assert movements == [
        ["2026-11-02T09:21:00", "expire", "reservation", expired[0]],
        ["2026-11-02T09:07:00", "commit", "order", "shopify:1000"],
        ["2026-11-02T09:06:00", "reserve", "reservation", expired[0]],
        ["2026-11-02T09:05:00", "reserve", "reservation", "rsv_paid"],
        ["2026-11-02T09:04:00", "adjust", "event", "evt-adj-1"],
        ["2026-11-02T09:03:00", "release", "reservation", released[0]],
        ["2026-11-02T09:02:00", "reserve", "reservation", released[0]],
        ["2026-11-02T09:01:00", "reserve", "reservation", held[0]],
        ["2026-11-02T08:55:00", "set", "event", "evt-set-1"],
    ]
    adjust = next(line for line in _section(run.out, "movements") if "evt-adj-1" in line)
    assert adjust.split()[4:] == ["-1", "-1", "dropped", "in", "the", "warehouse"]  # on_hand, atp


def test_stock_get_json_is_one_object_with_the_numbers_reservations_and_movements(
    shop: Stack, run: Run
) -> None:
    assert run("stock", "get", "MUG-01", "--json", "--limit", "3") == 0

    report = json.loads(run.out)
    numbers = ("sku", "on_hand", "reserved", "committed", "safety", "atp", "oversold")
    assert {k: report[k] for k in numbers} == {
        "sku": "MUG-01",
        "on_hand": 9,
        "reserved": 3,
        "committed": 1,
        "safety": 0,
        "atp": 5,
        "oversold": 0,
    }
    assert [(r["checkout_token"], r["status"], r["quantity"]) for r in report["reservations"]] == [
        ("chk-1", "held", 3),
        ("chk-4", "expired", 1),  # then the 3 most recently ended
        ("chk-3", "committed", 1),
        ("chk-2", "released", 2),
    ]
    assert report["reservations"][0]["expires_at"] == "2026-11-02T09:16:00+00:00"
    assert report["reservations"][0]["ended_at"] is None
    assert [(m["action"], m["cause"]["kind"], m["cause"]["id"]) for m in report["movements"]] == [
        ("expire", "reservation", report["reservations"][1]["reservation_id"]),
        ("commit", "order", "shopify:1000"),
        ("reserve", "reservation", report["reservations"][1]["reservation_id"]),
    ]
    assert report["movements"][0] == {
        "at": "2026-11-02T09:21:00+00:00",
        "action": "expire",
        "cause": {"kind": "reservation", "id": report["reservations"][1]["reservation_id"]},
        "deltas": {"on_hand": 0, "reserved": -1, "committed": 0, "safety": 0, "atp": 1},
        "oversold": 0,
        "note": None,
    }


def test_a_sku_s_history_is_found_across_scan_pages(
    shop: Stack, run: Run, monkeypatch: pytest.MonkeyPatch, dynamodb_calls: Counter[str]
) -> None:
    assert run("stock", "get", "MUG-01", "--json") == 0
    whole = json.loads(run.out)
    real = Connection.scan

    def small_pages(self: Connection, *args: Any, **kwargs: Any) -> Any:
        return real(self, *args, **{**kwargs, "limit": 3})  # 3 items read per page

    monkeypatch.setattr(Connection, "scan", small_pages)
    dynamodb_calls.clear()
    assert run("stock", "get", "MUG-01", "--json") == 0

    assert json.loads(run.out) == whole
    assert dynamodb_calls["Scan"] > 5


def test_an_oversold_sku_says_what_paid_orders_are_owed(shop: Stack, run: Run) -> None:
    assert run("stock", "get", "CAP", "--json") == 0
    report = json.loads(run.out)
    assert (report["atp"], report["committed"], report["oversold"], report["flagged"]) == (-1, 2, 1, True)
    assert report["movements"][0]["cause"] == {"kind": "order", "id": "shopify:1001"}
    assert report["movements"][0]["oversold"] == 1

    assert run("stock", "get", "CAP") == 0
    assert "OVERSOLD: paid orders are owed 1 unit(s) the shelf cannot cover" in run.out
    assert "oversold so far: 1 unit(s)" in run.out


def test_an_unknown_sku_is_exit_1_with_a_message_on_stderr(shop: Stack, run: Run) -> None:
    assert run("stock", "get", "MUG-0") == 1
    assert run.out == ""
    assert run.err.strip() == f"shopflow stock: no SKU MUG-0 in AWS stage {STAGE}"


def test_stock_list_puts_what_runs_out_first_on_top_and_flags_the_oversold(shop: Stack, run: Run) -> None:
    assert run("stock", "list") == 0
    table = run.out.splitlines()
    assert table[0].split() == [
        "SKU", "ON_HAND", "RESERVED", "COMMITTED", "SAFETY", "ATP", "OVERSOLD", "FLAG", "UPDATED_AT"
    ]  # fmt: skip
    assert [row.split()[:8] for row in table[1:4]] == [
        ["CAP", "1", "0", "2", "0", "-1", "1", "OVERSOLD"],
        ["TEE-M", "4", "2", "0", "1", "1", "0", "2026-11-02T09:31:00"],
        ["MUG-01", "9", "3", "1", "0", "5", "0", "2026-11-02T09:21:00"],
    ]
    assert table[4] == "1 SKU(s) OVERSOLD: paid orders are owed units the shelf cannot cover"

    assert run("stock", "list", "--json", "--sort", "sku") == 0
    rows = json.loads(run.out)
    assert [(r["sku"], r["atp"], r["flagged"], r["oversold"]) for r in rows] == [
        ("CAP", -1, True, 1),
        ("MUG-01", 5, False, 0),
        ("TEE-M", 1, False, 0),
    ]


def test_stock_list_of_an_empty_shop(stack: Stack, run: Run) -> None:
    assert run("stock", "list") == 0
    assert run.out.strip() == f"no stock in AWS stage {STAGE}"
    assert run("stock", "list", "--json") == 0 and json.loads(run.out) == []


def test_stock_reads_a_running_shopflow_local(stack: Stack, run: Run, tmp_path: Path) -> None:
    from shopflow.target import LocalSession

    LocalSession(  # its table is the test's (moto patches every endpoint)
        pid=__import__("os").getpid(),
        stage="local",
        region="us-east-1",
        table_name=stack.provisioned.table_name(),
        api_url="http://127.0.0.1:8000",
        control_url="http://127.0.0.1:8001",
        endpoints={},
    ).write(tmp_path)
    move("MUG-01", at(9, 0), on_hand=5, atp=5)

    assert run("stock", "get", "MUG-01", "--local", "--data-dir", str(tmp_path)) == 0
    assert run.out.startswith("MUG-01: 5 available to promise")
    assert run("stock", "get", "NOPE", "--local", "--data-dir", str(tmp_path)) == 1
    assert "no SKU NOPE in shopflow local (stage local)" in run.err
    assert run("stock", "list", "--local", "--data-dir", str(tmp_path / "none")) == 2
    assert "no running `shopflow local`" in run.err
    assert boto3.client("dynamodb").describe_table(TableName=stack.provisioned.table_name())


def _section(out: str, title: str) -> list[str]:
    """The rows of the table under the line starting with `title` (its heading left out)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    rows = []
    for line in lines[start + 2 :]:
        if not line.strip():
            break
        rows.append(line)
    return rows


def test_a_count_below_what_checkouts_hold_is_short_not_oversold(stack: Stack, run: Run) -> None:
    repo = bootstrap.runtime().stock
    work = repo.unit_of_work()
    repo.stage_item(StockItem("MUG-01", on_hand=1, reserved=3), at(9, 0), work)  # counted 1, 3 held
    work.commit()

    assert run("stock", "list") == 0
    assert run.out.splitlines()[1].split()[:8] == ["MUG-01", "1", "3", "0", "0", "-2", "0", "SHORT"]
    assert "SKU(s) OVERSOLD" not in run.out

    assert run("stock", "get", "MUG-01", "--json") == 0
    report = json.loads(run.out)
    assert (report["atp"], report["flagged"], report["owed"]) == (-2, False, 0)
