"""Stock's inputs through the signed HTTP routes on moto: the stock master's counts
(`inventory.set`, Shopify's levels) and adjustments, and what orders do to stock (commit on
payment, through the checkout's hold or directly; shipment; cancellation before and after
shipping; an oversell reported to the owner), each with its ledger entry."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from shopflow import bootstrap
from shopflow.stock.model import Cause
from shopflow.stock.oversell import STOCK_OVERSOLD
from tests.service.conftest import Stack, post_shopify, run_due
from tests.support import dumps, events_headers


@pytest.fixture(autouse=True)
def keeps_stock(stack: Stack) -> None:
    stack.put_setting("stock/enabled", "true")


def event(stack: Stack, type_: str, data: dict[str, Any], *, msg_id: str | None = None) -> Any:
    body = dumps({"type": type_, "timestamp": "2026-11-02T09:00:00Z", "data": data})
    headers = events_headers(body, timestamp=int(stack.clock.now().timestamp()), msg_id=msg_id)
    return stack.client.http.post("/webhooks/events", headers=headers, body=body)


def numbers(stack: Stack, sku: str) -> dict[str, int]:
    item = stack.table.get_item(Key={"pk": f"STOCK#{sku}", "sk": "STOCK"}, ConsistentRead=True)["Item"]
    found = {n: int(item[n]) for n in ("on_hand", "reserved", "committed", "safety", "atp", "oversold")}
    assert found["atp"] + found["reserved"] + found["committed"] + found["safety"] == found["on_hand"]
    return found


def count(stack: Stack, sku: str, on_hand: int, sequence: int) -> Any:
    return event(stack, "inventory.set", {"sku": sku, "on_hand": on_hand, "sequence": sequence})


def ledger(stack: Stack) -> list[tuple[str, str, str]]:
    """(cause, action, moves) of every ledger entry, oldest first."""
    entries = sorted(stack.items_of("STOCKMOVE"), key=lambda i: (i["at"], i["pk"]))
    return [(i["pk"].removeprefix("STOCKMOVE#"), i["action"], i["moves"]) for i in entries]


def order(stack: Stack, external_id: str, status: str, lines: list[tuple[str, int]], **extra: Any) -> Any:
    data = {
        "source": "erp",
        "external_id": external_id,
        "status": status,
        "currency": "EUR",
        "total": "10.00",
        "lines": [{"sku": sku, "name": sku, "quantity": q, "unit_price": "1.00"} for sku, q in lines],
        "customer": {"email": "ann@example.com"},
        "updated_at": stack.clock.now().isoformat(),
        **extra,
    }
    return event(stack, "order.created", data)


def order_status(stack: Stack, external_id: str, status: str) -> Any:
    stack.clock.advance(timedelta(minutes=1))
    data = {
        "source": "erp",
        "external_id": external_id,
        "status": status,
        "updated_at": stack.clock.now().isoformat(),
    }
    return event(stack, "order.status_changed", data)


def hold(stack: Stack, token: str, lines: list[tuple[str, int]], **extra: Any) -> str:
    body = dumps({"checkout_token": token, "lines": [{"sku": s, "quantity": q} for s, q in lines], **extra})
    headers = events_headers(body, timestamp=int(stack.clock.now().timestamp()))
    answer = stack.client.http.post("/reservations", headers=headers, body=body)
    assert answer.status_code == 201, answer.body
    return str(answer.json_body["reservation_id"])


# --- the stock master's counts ----------------------------------------------------------------


def test_a_count_sets_on_hand_and_the_safety_buffer_and_answers_the_numbers(stack: Stack) -> None:
    stack.put_setting("stock/safety", "sku:MUG-01=2, default=0")

    answer = count(stack, "MUG-01", 10, 1)

    assert answer.status_code == 200
    assert answer.json_body == {
        "status": "accepted",
        "sku": "MUG-01",
        "on_hand": 10,
        "reserved": 0,
        "committed": 0,
        "safety": 2,
        "atp": 8,
    }
    assert numbers(stack, "MUG-01")["atp"] == 8
    assert [(cause.split("#")[0], action) for cause, action, _ in ledger(stack)] == [("event", "set")]


def test_counts_out_of_order_the_highest_sequence_wins_and_an_older_one_is_stale(stack: Stack) -> None:
    assert count(stack, "MUG-01", 5, 2).json_body["status"] == "accepted"
    late = count(stack, "MUG-01", 9, 1)  # sent before, arrived after
    newer = count(stack, "MUG-01", 7, 3)

    assert late.status_code == 200
    assert (late.json_body["status"], late.json_body["reason"]) == ("ignored", "stale")
    assert newer.json_body["status"] == "accepted"
    assert numbers(stack, "MUG-01")["on_hand"] == 7
    assert len(ledger(stack)) == 2  # the stale one moved nothing


def test_a_count_keeps_what_checkouts_hold(stack: Stack) -> None:
    count(stack, "MUG-01", 10, 1)
    hold(stack, "chk-1", [("MUG-01", 3)])

    count(stack, "MUG-01", 4, 2)  # the ERP counted 4 on the shelf

    assert numbers(stack, "MUG-01") == {
        "on_hand": 4,
        "reserved": 3,
        "committed": 0,
        "safety": 0,
        "atp": 1,
        "oversold": 0,
    }


def test_the_same_adjustment_delivered_three_times_is_applied_once(stack: Stack) -> None:
    count(stack, "MUG-01", 10, 1)
    data = {"sku": "MUG-01", "delta": -3, "reason": "broken in the warehouse"}

    answers = [event(stack, "inventory.adjusted", data, msg_id="msg_adjust_1") for _ in range(3)]

    assert [a.json_body["status"] for a in answers] == ["accepted", "duplicate", "duplicate"]
    assert numbers(stack, "MUG-01")["on_hand"] == 7 and numbers(stack, "MUG-01")["atp"] == 7
    entry = bootstrap.runtime().stock.ledger_entry(Cause("event", "msg_adjust_1"), "adjust")
    assert entry is not None and entry.note == "broken in the warehouse"


def test_an_adjustment_of_an_unknown_sku_or_below_zero_is_ignored_with_the_reason(stack: Stack) -> None:
    count(stack, "MUG-01", 2, 1)

    unknown = event(stack, "inventory.adjusted", {"sku": "NOPE", "delta": 5, "reason": "delivery"})
    below = event(stack, "inventory.adjusted", {"sku": "MUG-01", "delta": -3, "reason": "count"})

    assert (unknown.json_body["status"], unknown.json_body["reason"]) == ("ignored", "unknown_sku")
    assert (below.json_body["status"], below.json_body["reason"]) == ("ignored", "on_hand_below_zero")
    assert numbers(stack, "MUG-01")["on_hand"] == 2
    assert len(ledger(stack)) == 1


@pytest.mark.parametrize(
    ("type_", "data", "field"),
    [
        ("inventory.set", {"sku": "MUG-01", "on_hand": -1, "sequence": 1}, "data.on_hand"),
        ("inventory.set", {"sku": "MUG-01", "on_hand": 1.5, "sequence": 1}, "data.on_hand"),
        ("inventory.set", {"on_hand": 1, "sequence": 1}, "data.sku"),
        ("inventory.set", {"sku": "MUG-01", "on_hand": 1}, "data.sequence"),
        ("inventory.adjusted", {"sku": "MUG-01", "delta": 0, "reason": "x"}, "data.delta"),
        ("inventory.adjusted", {"sku": "MUG-01", "delta": 2}, "data.reason"),
    ],
)
def test_bad_stock_input_is_400_naming_the_field_and_stores_nothing(
    stack: Stack, type_: str, data: dict[str, Any], field: str
) -> None:
    answer = event(stack, type_, data)

    assert answer.status_code == 400
    assert answer.json_body["field"] == field
    assert stack.items() == []


def test_with_stock_off_counts_are_ignored_and_orders_move_nothing(stack: Stack) -> None:
    stack.put_setting("stock/enabled", "false")  # the default; before the first request reads it

    counted = count(stack, "MUG-01", 9, 1)
    paid = order(stack, "1", "paid", [("MUG-01", 2)])

    assert (counted.json_body["status"], counted.json_body["reason"]) == (
        "ignored",
        "stock is off: set stock.enabled to true to keep stock",
    )
    assert paid.json_body["status"] == "accepted"
    assert stack.items_of("STOCK") == [] and stack.items_of("STOCKMOVE") == []


# --- Shopify's levels -------------------------------------------------------------------------

PRODUCT = {
    "id": 632910392,
    "title": "Mug",
    "tags": "",
    "updated_at": "2026-11-01T10:00:00Z",
    "variants": [{"id": 808950810, "sku": "MUG-01", "inventory_item_id": 39072856}],
}


def level(
    available: int, updated_at: str = "2026-11-02T08:00:00Z", location: int = 905684977
) -> dict[str, Any]:
    return {
        "inventory_item_id": 39072856,
        "location_id": location,
        "available": available,
        "updated_at": updated_at,
    }


def test_shopify_levels_are_not_obeyed_while_the_erp_is_the_stock_master(stack: Stack) -> None:
    post_shopify(stack, "products/update", PRODUCT)

    answer = post_shopify(stack, "inventory_levels/update", level(6))

    assert answer["status"] == "ignored" and "stock master is erp" in answer["reason"]
    assert stack.items_of("STOCK") == []


def test_with_shopify_as_stock_master_its_level_sets_the_count_through_the_variant(stack: Stack) -> None:
    stack.put_setting("stock/master", "shopify")
    post_shopify(stack, "products/update", PRODUCT)

    first = post_shopify(stack, "inventory_levels/update", level(6))
    older = post_shopify(stack, "inventory_levels/update", level(9, "2026-11-02T07:00:00Z"))

    assert (first["status"], first["sku"], first["on_hand"]) == ("accepted", "MUG-01", 6)
    assert (older["status"], older["reason"]) == ("ignored", "stale")
    assert numbers(stack, "MUG-01")["atp"] == 6


def test_shopify_available_counts_without_the_paid_orders_shopify_already_took_out(stack: Stack) -> None:
    stack.put_setting("stock/master", "shopify")
    post_shopify(stack, "products/update", PRODUCT)
    post_shopify(stack, "inventory_levels/update", level(6))
    order(stack, "1", "paid", [("MUG-01", 2)])

    # Shopify took the 2 paid units out of available: on_hand stays 6, atp 4
    post_shopify(stack, "inventory_levels/update", level(4, "2026-11-02T08:30:00Z"))

    assert numbers(stack, "MUG-01") == {
        "on_hand": 6,
        "reserved": 0,
        "committed": 2,
        "safety": 0,
        "atp": 4,
        "oversold": 0,
    }


def test_a_level_of_an_unknown_inventory_item_is_ignored_with_the_reason(stack: Stack) -> None:
    stack.put_setting("stock/master", "shopify")

    answer = post_shopify(stack, "inventory_levels/update", {"inventory_level": level(6)})

    assert answer["status"] == "ignored" and "unknown inventory item" in answer["reason"]


# --- orders -----------------------------------------------------------------------------------


def test_payment_commits_the_checkouts_hold_and_shipping_takes_it_off_the_shelf(stack: Stack) -> None:
    count(stack, "MUG-01", 10, 1)
    reservation_id = hold(stack, "chk-9", [("MUG-01", 3)])

    order(stack, "1", "paid", [("MUG-01", 3)], checkout_token="chk-9")
    committed = numbers(stack, "MUG-01")
    order_status(stack, "1", "shipped")

    assert committed == {"on_hand": 10, "reserved": 0, "committed": 3, "safety": 0, "atp": 7, "oversold": 0}
    assert numbers(stack, "MUG-01") == {
        "on_hand": 7,
        "reserved": 0,
        "committed": 0,
        "safety": 0,
        "atp": 7,
        "oversold": 0,
    }
    assert (
        stack.table.get_item(Key={"pk": f"RESERVATION#{reservation_id}", "sk": "RESERVATION"})["Item"][
            "status"
        ]
        == "committed"
    )
    assert stack.items_of("TIMER") == [] or all("stock#" not in t["pk"] for t in stack.items_of("TIMER"))
    actions = [(cause, action) for cause, action, _ in ledger(stack)]
    assert ("order#erp:1", "commit") in actions and ("order#erp:1", "ship") in actions


def test_a_paid_order_naming_its_reservation_commits_it(stack: Stack) -> None:
    count(stack, "MUG-01", 10, 1)
    reservation_id = hold(stack, "chk-1", [("MUG-01", 2)])

    order(stack, "1", "paid", [("MUG-01", 2)], reservation_id=reservation_id)

    assert numbers(stack, "MUG-01")["reserved"] == 0 and numbers(stack, "MUG-01")["committed"] == 2
    assert numbers(stack, "MUG-01")["atp"] == 8


def test_a_marketplace_order_that_arrives_paid_commits_directly(stack: Stack) -> None:
    count(stack, "MUG-01", 10, 1)

    order(stack, "77", "paid", [("MUG-01", 4)])

    assert numbers(stack, "MUG-01") == {
        "on_hand": 10,
        "reserved": 0,
        "committed": 4,
        "safety": 0,
        "atp": 6,
        "oversold": 0,
    }


def test_a_payment_after_its_hold_expired_commits_directly(stack: Stack) -> None:
    count(stack, "MUG-01", 3, 1)
    hold(stack, "chk-1", [("MUG-01", 2)], hold_minutes=1)
    stack.clock.advance(timedelta(minutes=2))
    run_due(stack)  # the hold expires: its 2 units are back
    assert numbers(stack, "MUG-01")["atp"] == 3

    order(stack, "1", "paid", [("MUG-01", 2)], checkout_token="chk-1")

    assert numbers(stack, "MUG-01") == {
        "on_hand": 3,
        "reserved": 0,
        "committed": 2,
        "safety": 0,
        "atp": 1,
        "oversold": 0,
    }


def test_a_cancellation_before_shipping_gives_the_units_back_after_shipping_it_does_not(stack: Stack) -> None:
    count(stack, "MUG-01", 10, 1)
    order(stack, "1", "paid", [("MUG-01", 2)])
    order(stack, "2", "paid", [("MUG-01", 3)])

    order_status(stack, "1", "cancelled")
    order_status(stack, "2", "shipped")
    order_status(stack, "2", "refunded")  # after shipping: a return is not a restock

    assert numbers(stack, "MUG-01") == {
        "on_hand": 7,
        "reserved": 0,
        "committed": 0,
        "safety": 0,
        "atp": 7,
        "oversold": 0,
    }


def test_an_oversold_paid_order_is_taken_recorded_and_reported_to_the_owner(stack: Stack) -> None:
    count(stack, "MUG-01", 1, 1)

    answer = order(stack, "1", "paid", [("MUG-01", 3)])

    assert answer.json_body["status"] == "accepted"  # never refused: the money is taken
    assert numbers(stack, "MUG-01") == {
        "on_hand": 1,
        "reserved": 0,
        "committed": 3,
        "safety": 0,
        "atp": -2,
        "oversold": 2,
    }
    events = [i for i in stack.items() if i.get("event_type") == STOCK_OVERSOLD]
    assert len(events) == 1
    assert json.loads(events[0]["payload"])["lines"] == [
        {"sku": "MUG-01", "ordered": 3, "oversold": 2, "atp_after": -2}
    ]
    entry = bootstrap.runtime().stock.ledger_entry(Cause("order", "erp:1"), "commit")
    assert entry is not None and entry.movements[0].oversold == 2


def test_an_order_line_of_an_untracked_sku_moves_no_stock_but_the_others(stack: Stack) -> None:
    count(stack, "MUG-01", 5, 1)

    order(stack, "1", "paid", [("MUG-01", 1), ("GIFT-CARD", 1)])

    assert numbers(stack, "MUG-01")["committed"] == 1
    assert stack.items_of("STOCK") and all(i["pk"] != "STOCK#GIFT-CARD" for i in stack.items_of("STOCK"))
    entry = bootstrap.runtime().stock.ledger_entry(Cause("order", "erp:1"), "commit")
    assert entry is not None and entry.note == "untracked: GIFT-CARD"


def test_every_write_of_a_sku_raises_its_version_so_a_later_state_is_known_later(stack: Stack) -> None:
    def version() -> int:
        item = stack.table.get_item(Key={"pk": "STOCK#MUG-01", "sk": "STOCK"}, ConsistentRead=True)["Item"]
        return int(item["version"])

    count(stack, "MUG-01", 10, 1)
    seen = [version()]
    hold(stack, "chk-1", [("MUG-01", 2)])
    seen.append(version())
    order(stack, "1", "paid", [("MUG-01", 2)], checkout_token="chk-1")
    seen.append(version())
    event(stack, "inventory.adjusted", {"sku": "MUG-01", "delta": 1, "reason": "found one"})
    seen.append(version())

    assert seen == [1, 2, 3, 4]
