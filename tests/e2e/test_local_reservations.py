"""`shopflow local` end to end, through signed HTTP and the CLI only: the ERP counts stock
(`inventory.set`, `inventory.adjusted`), the storefront's checkouts hold it, orders commit, ship
and cancel it, and `shopflow stock get|list` tell the story (issue 14's faults).

One instance serves the whole module (a start is most of a test's time); each test has SKUs of
its own, so the tests do not see each other's stock."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from typing import Any

import pytest

from tests.e2e.conftest import Instance, start, user_env
from tests.support import dumps, events_headers

Answer = tuple[int, dict[str, Any]]


class Storefront:
    """What the ERP and the storefront send (signed with the instance's secret, real time), and
    what the owner sees with `shopflow stock`."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        enabled = instance.cli("config", "set", "stock.enabled", "true")  # the owner keeps stock
        assert enabled.returncode == 0, enabled.stderr
        secret = instance.cli("config", "get", "webhooks.events.secret", "--reveal")
        assert secret.returncode == 0, secret.stderr
        self.secret = secret.stdout.strip()

    def call(self, method: str, path: str, body: bytes, **signing: Any) -> Answer:
        signing.setdefault("secret", self.secret)
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.instance.port}{path}",
            data=body,
            headers=events_headers(body, **signing),
            method=method,
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - http to localhost
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def event(self, type_: str, data: dict[str, Any], **signing: Any) -> Answer:
        body = dumps({"type": type_, "timestamp": datetime.now(UTC).isoformat(), "data": data})
        return self.call("POST", "/webhooks/events", body, **signing)

    def count(self, sku: str, on_hand: int, sequence: int) -> Answer:
        return self.event("inventory.set", {"sku": sku, "on_hand": on_hand, "sequence": sequence})

    def hold(self, token: str, lines: list[tuple[str, int]], **extra: Any) -> Answer:
        body = dumps(
            {"checkout_token": token, "lines": [{"sku": s, "quantity": q} for s, q in lines], **extra}
        )
        return self.call("POST", "/reservations", body)

    def order(self, external_id: str, lines: list[tuple[str, int]], **extra: Any) -> Answer:
        """An order that arrives paid (a marketplace's, or the storefront's after payment)."""
        data = {
            "source": "erp",
            "external_id": external_id,
            "status": "paid",
            "currency": "EUR",
            "total": "10.00",
            "lines": [{"sku": s, "name": s, "quantity": q, "unit_price": "1.00"} for s, q in lines],
            "customer": {"email": "ann@example.com"},
            "updated_at": datetime.now(UTC).isoformat(),
            **extra,
        }
        return self.event("order.created", data)

    def order_status(self, external_id: str, status: str, *, minutes_later: int) -> Answer:
        at = datetime.now(UTC) + timedelta(minutes=minutes_later)  # each update newer than the last
        data = {"source": "erp", "external_id": external_id, "status": status, "updated_at": at.isoformat()}
        return self.event("order.status_changed", data)

    def stock(self, sku: str) -> dict[str, Any]:
        """`shopflow stock get SKU --json`, the invariant checked on the way."""
        shown = self.instance.cli("stock", "get", sku, "--json")
        assert shown.returncode == 0, shown.stderr
        story: dict[str, Any] = json.loads(shown.stdout)
        assert story["atp"] + story["reserved"] + story["committed"] + story["safety"] == story["on_hand"]
        return story

    def levels(self) -> list[dict[str, Any]]:
        """`shopflow stock list --json`."""
        listed = self.instance.cli("stock", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        rows: list[dict[str, Any]] = json.loads(listed.stdout)
        return rows


def numbers(story: dict[str, Any]) -> tuple[int, int, int, int]:
    return story["on_hand"], story["reserved"], story["committed"], story["atp"]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Storefront]:
    instance = start(tmp_path_factory.mktemp("stock") / "data", env=user_env())
    try:
        yield Storefront(instance)
    finally:
        instance.stop()


def test_the_last_unit_is_held_for_one_checkout_and_refused_to_the_next(shop: Storefront) -> None:
    assert shop.count("MUG-01", 1, 1) == (
        200,
        {
            "status": "accepted",
            "sku": "MUG-01",
            "on_hand": 1,
            "reserved": 0,
            "committed": 0,
            "safety": 0,
            "atp": 1,
        },
    )

    first, second = shop.hold("chk-1", [("MUG-01", 1)]), shop.hold("chk-2", [("MUG-01", 1)])

    assert (first[0], first[1]["status"], first[1]["lines"]) == (
        201,
        "held",
        [{"sku": "MUG-01", "quantity": 1}],
    )
    assert second == (
        409,
        {
            "error": "insufficient_stock",
            "message": "not enough stock for every line; nothing was held",
            "short": [{"sku": "MUG-01", "requested": 1, "available": 0}],
        },
    )
    # The first checkout gives its unit back (an empty signed body), and the second gets it.
    released = shop.call("DELETE", f"/reservations/{first[1]['reservation_id']}", b"")
    assert released == (200, {"reservation_id": first[1]["reservation_id"], "status": "released"})
    assert shop.hold("chk-2", [("MUG-01", 1)])[0] == 201
    # The owner sees the story: chk-2's hold now, chk-1's given back, the refusal nowhere.
    story = shop.stock("MUG-01")
    assert numbers(story) == (1, 1, 0, 0)
    assert [(r["checkout_token"], r["status"]) for r in story["reservations"]] == [
        ("chk-2", "held"),
        ("chk-1", "released"),
    ]
    assert [(m["action"], m["cause"]["id"]) for m in story["movements"]][1:-1] == [
        ("release", first[1]["reservation_id"]),
        ("reserve", first[1]["reservation_id"]),
    ]
    assert story["movements"][-1]["action"] == "set"  # the ERP's count came first


def test_the_same_adjustment_delivered_three_times_is_applied_once(shop: Storefront) -> None:
    shop.count("ADJ-01", 10, 1)
    broken = {"sku": "ADJ-01", "delta": -3, "reason": "broken in the warehouse"}

    answers = [shop.event("inventory.adjusted", broken, msg_id="msg_adjust_adj01") for _ in range(3)]

    assert [(status, answer["status"]) for status, answer in answers] == [
        (200, "accepted"),
        (200, "duplicate"),
        (200, "duplicate"),
    ]
    story = shop.stock("ADJ-01")
    assert numbers(story) == (7, 0, 0, 7)
    assert [(m["action"], m["deltas"]["on_hand"], m["note"]) for m in story["movements"]] == [
        ("adjust", -3, "broken in the warehouse"),
        ("set", 10, "sequence 1"),
    ]


def test_counts_arriving_out_of_order_the_highest_sequence_wins(shop: Storefront) -> None:
    newest, oldest, middle = (
        shop.count("SEQ-01", 7, 3),
        shop.count("SEQ-01", 9, 1),
        shop.count("SEQ-01", 5, 2),
    )

    assert newest[1]["status"] == "accepted"
    assert [(status, answer["status"], answer["reason"]) for status, answer in (oldest, middle)] == [
        (200, "ignored", "stale"),
        (200, "ignored", "stale"),
    ]
    story = shop.stock("SEQ-01")
    assert numbers(story) == (7, 0, 0, 7)
    assert [m["action"] for m in story["movements"]] == ["set"]  # the stale ones moved nothing


def test_two_lines_of_one_sku_that_together_exceed_atp_are_refused_though_each_would_fit(
    shop: Storefront,
) -> None:
    shop.count("TWO-01", 5, 1)

    refused = shop.hold("chk-two", [("TWO-01", 3), ("TWO-01", 3)])

    assert refused == (
        409,
        {
            "error": "insufficient_stock",
            "message": "not enough stock for every line; nothing was held",
            "short": [{"sku": "TWO-01", "requested": 6, "available": 5}],
        },
    )
    story = shop.stock("TWO-01")
    assert numbers(story) == (5, 0, 0, 5) and story["reservations"] == []
    held = shop.hold("chk-two-again", [("TWO-01", 3)])  # one line alone fits
    assert (held[0], held[1]["lines"]) == (201, [{"sku": "TWO-01", "quantity": 3}])


def test_a_paid_order_naming_its_checkout_token_commits_the_checkouts_hold(shop: Storefront) -> None:
    shop.count("PAY-01", 10, 1)
    status, held = shop.hold("chk-pay", [("PAY-01", 3)])
    assert status == 201

    paid = shop.order("pay-1", [("PAY-01", 3)], checkout_token="chk-pay")

    assert paid[0] == 200 and paid[1]["status"] == "accepted"
    story = shop.stock("PAY-01")
    assert numbers(story) == (10, 0, 3, 7)
    assert [(r["reservation_id"], r["status"]) for r in story["reservations"]] == [
        (held["reservation_id"], "committed")
    ]
    newest = story["movements"][0]
    assert (newest["action"], newest["cause"]) == ("commit", {"kind": "order", "id": "erp:pay-1"})
    # The storefront cannot take a paid hold back.
    assert shop.call("DELETE", f"/reservations/{held['reservation_id']}", b"")[0] == 409


def test_an_order_paid_after_its_hold_expired_is_committed_directly(shop: Storefront) -> None:
    shop.count("LATE-01", 3, 1)
    status, held = shop.hold("chk-late", [("LATE-01", 2)], hold_minutes=1)
    assert status == 201

    # The shopper pays three minutes later: the local clock moves on, the sweep ends the hold.
    moved = shop.instance.cli_plain("local", "advance", "3m")
    assert moved.returncode == 0, moved.stderr
    story = wait_for(shop, "LATE-01", lambda s: s["reservations"][0]["status"] == "expired")
    assert numbers(story) == (3, 0, 0, 3)
    paid = shop.order("late-1", [("LATE-01", 2)], checkout_token="chk-late")

    assert paid[0] == 200 and paid[1]["status"] == "accepted"
    story = shop.stock("LATE-01")
    assert numbers(story) == (3, 0, 2, 1) and story["oversold"] == 0
    assert [(r["reservation_id"], r["status"]) for r in story["reservations"]] == [
        (held["reservation_id"], "expired")
    ]
    assert [m["action"] for m in story["movements"]][:3] == ["commit", "expire", "reserve"]


def test_a_cancellation_after_shipping_puts_no_stock_back_before_shipping_it_does(shop: Storefront) -> None:
    shop.count("SHIP-01", 10, 1)
    shop.order("ship-1", [("SHIP-01", 3)])
    shop.order("ship-2", [("SHIP-01", 2)])

    shipped = shop.order_status("ship-1", "shipped", minutes_later=1)
    after_shipping = shop.order_status("ship-1", "cancelled", minutes_later=2)
    before_shipping = shop.order_status("ship-2", "cancelled", minutes_later=1)

    assert [answer[0] for answer in (shipped, after_shipping, before_shipping)] == [200, 200, 200]
    story = shop.stock("SHIP-01")
    assert numbers(story) == (7, 0, 0, 7)  # ship-1's 3 left the shelf for good, ship-2's 2 came back
    assert sorted((m["cause"]["id"], m["action"]) for m in story["movements"] if m["action"] != "set") == [
        ("erp:ship-1", "commit"),
        ("erp:ship-1", "ship"),
        ("erp:ship-2", "commit"),
        ("erp:ship-2", "release"),
    ]


def test_a_paid_order_beyond_the_stock_is_taken_flagged_and_the_owner_is_emailed(shop: Storefront) -> None:
    owner = "owner@demo-shop.example"
    assert shop.instance.cli("config", "set", "shop.owner_email", owner).returncode == 0
    shop.count("OVER-01", 1, 1)

    paid = shop.order("over-1", [("OVER-01", 3)])

    assert paid[0] == 200 and paid[1]["status"] == "accepted"  # never refused: the money is taken
    (row,) = [row for row in shop.levels() if row["sku"] == "OVER-01"]
    assert (row["atp"], row["committed"], row["oversold"], row["flagged"]) == (-2, 3, 2, True)
    (sent,) = emails_to(shop.instance, owner)
    assert "- OVER-01: ordered 3, oversold 2, available to sell now -2" in sent


def emails_to(instance: Instance, address: str, timeout: float = 60.0) -> list[str]:
    """The text of the outbox's emails to `address`, once there is one (stream, dispatch, notify, SES)."""
    deadline = time.monotonic() + timeout
    while True:
        messages = (
            message_from_bytes(path.read_bytes(), policy=policy.default)
            for path in sorted((instance.data_dir / "outbox").glob("*.eml"))
        )
        found = [str(m.get_body(("plain",)).get_content()) for m in messages if m["To"] == address]  # type: ignore[union-attr]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_a_retried_hold_gets_the_first_answer_and_holds_nothing_more(shop: Storefront) -> None:
    shop.count("RETRY-01", 4, 1)
    body = dumps({"checkout_token": "chk-retry", "lines": [{"sku": "RETRY-01", "quantity": 3}]})

    first, again = (shop.call("POST", "/reservations", body, msg_id="msg_hold_retry01") for _ in range(2))

    assert first[0] == 201 and again == first
    story = shop.stock("RETRY-01")
    assert numbers(story) == (4, 3, 0, 1) and len(story["reservations"]) == 1


def wait_for(shop: Storefront, sku: str, done: Any, timeout: float = 90.0) -> dict[str, Any]:
    """`stock get` until `done(story)`: the sweep runs on the local clock, its timers on queues."""
    deadline = time.monotonic() + timeout
    while True:
        story = shop.stock(sku)
        if done(story) or time.monotonic() > deadline:
            return story
        time.sleep(0.5)


# --- bad input: refused before anything is written ---------------------------------------------

MIB = 1024 * 1024


def reservation(lines: list[dict[str, Any]]) -> bytes:
    return dumps({"checkout_token": "chk-bad", "lines": lines})


BAD_RESERVATIONS: dict[str, tuple[bytes, dict[str, Any], int, str | None]] = {
    "negative quantity": (reservation([{"sku": "BAD-01", "quantity": -1}]), {}, 400, "lines.0.quantity"),
    "fractional quantity": (reservation([{"sku": "BAD-01", "quantity": 1.5}]), {}, 400, "lines.0.quantity"),
    "91 SKUs": (
        reservation(
            [{"sku": "BAD-01", "quantity": 1}] + [{"sku": f"BAD-X{n}", "quantity": 1} for n in range(90)]
        ),
        {},
        400,
        "lines",
    ),
    "missing sku": (reservation([{"quantity": 1}]), {}, 400, "lines.0.sku"),
    "oversized body": (
        dumps({"checkout_token": "chk-bad", "lines": [{"sku": "BAD-01", "quantity": 1}], "pad": "x" * MIB}),
        {},
        413,
        None,
    ),
    "bad signature": (
        reservation([{"sku": "BAD-01", "quantity": 1}]),
        {"secret": "whsec_" + "A" * 32},
        401,
        None,
    ),
    "stale signature": (
        reservation([{"sku": "BAD-01", "quantity": 1}]),
        {"timestamp": int(time.time()) - 3600},
        401,
        None,
    ),
}


@pytest.fixture(scope="module")
def counted(shop: Storefront) -> str:
    """BAD-01, counted 5 once for every bad request."""
    assert shop.count("BAD-01", 5, 1)[0] == 200
    return "BAD-01"


@pytest.mark.parametrize("case", list(BAD_RESERVATIONS))
def test_a_bad_reservation_request_is_refused_and_holds_nothing(
    shop: Storefront, counted: str, case: str
) -> None:
    body, signing, expected, field = BAD_RESERVATIONS[case]

    status, answer = shop.call("POST", "/reservations", body, **signing)

    assert status == expected, answer
    if field is not None:
        assert (answer["error"], answer["field"]) == ("invalid_payload", field)
    story = shop.stock(counted)
    assert numbers(story) == (5, 0, 0, 5) and story["reservations"] == []


def bad_count(data: dict[str, Any], **signing: Any) -> tuple[bytes, dict[str, Any]]:
    return dumps({"type": "inventory.set", "timestamp": "2026-11-28T10:00:00Z", "data": data}), signing


BAD_COUNTS = {
    "negative on_hand": (bad_count({"sku": "NEW-01", "on_hand": -1, "sequence": 1}), 400, "data.on_hand"),
    "fractional on_hand": (bad_count({"sku": "NEW-01", "on_hand": 1.5, "sequence": 1}), 400, "data.on_hand"),
    "missing sku": (bad_count({"on_hand": 4, "sequence": 1}), 400, "data.sku"),
    "oversized body": (
        bad_count({"sku": "NEW-01", "on_hand": 4, "sequence": 1, "pad": "x" * MIB}),
        413,
        None,
    ),
    "bad signature": (
        bad_count({"sku": "NEW-01", "on_hand": 4, "sequence": 1}, secret="whsec_" + "A" * 32),
        401,
        None,
    ),
}


@pytest.mark.parametrize("case", list(BAD_COUNTS))
def test_a_bad_count_is_refused_and_counts_nothing(shop: Storefront, case: str) -> None:
    (body, signing), expected, field = BAD_COUNTS[case]
    before = shop.levels()

    status, answer = shop.call("POST", "/webhooks/events", body, **signing)

    assert status == expected, answer
    if field is not None:
        assert answer["field"] == field
    assert shop.levels() == before
    assert not any(row["sku"] == "NEW-01" for row in before)


def test_a_bad_adjustment_is_refused_and_the_same_webhook_id_then_still_applies(shop: Storefront) -> None:
    """A delivery refused as invalid was not recorded: its corrected resend is applied."""
    shop.count("FIX-01", 4, 1)
    msg_id = f"msg_{uuid.uuid4().hex}"

    refused = shop.event(
        "inventory.adjusted", {"sku": "FIX-01", "delta": 1.5, "reason": "found"}, msg_id=msg_id
    )
    fixed = shop.event("inventory.adjusted", {"sku": "FIX-01", "delta": 2, "reason": "found"}, msg_id=msg_id)

    assert (refused[0], refused[1]["field"]) == (400, "data.delta")
    assert (fixed[0], fixed[1]["status"]) == (200, "accepted")
    assert numbers(shop.stock("FIX-01")) == (6, 0, 0, 6)
