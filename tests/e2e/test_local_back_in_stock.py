"""`shopflow local` end to end, through signed events, the local clock and the CLI only: shoppers
wait for sold-out SKUs (`back_in_stock.subscribed`), the ERP's counts bring them back, the stream
finds the restock, the sweep fires its batches, notify's emails land in the outbox (issue 17's
faults). One instance serves the module; each test has SKUs of its own."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from typing import Any

import pytest

from tests.e2e.conftest import start, user_env
from tests.e2e.test_local_reservations import Answer, Storefront

PAGE = "https://demo-shop.example/products/"


class Shoppers(Storefront):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        assert self.instance.cli("config", "set", "back_in_stock.enabled", "true").returncode == 0

    def subscribe(self, sku: str, email: str, **signing: Any) -> Answer:
        return self.event(
            "back_in_stock.subscribed", {"sku": sku, "email": email, "product_url": PAGE + sku}, **signing
        )

    def waiting(self, sku: str) -> dict[str, Any]:
        """`shopflow stock waiting --json`'s row of the SKU."""
        shown = self.instance.cli("stock", "waiting", "--json")
        assert shown.returncode == 0, shown.stderr
        rows: list[dict[str, Any]] = json.loads(shown.stdout)
        return next((row for row in rows if row["sku"] == sku), {"waiting": 0, "next_batch_at": None})

    def subscriptions(self, sku: str) -> list[dict[str, Any]]:
        shown = self.instance.cli("stock", "waiting", sku, "--json")
        assert shown.returncode == 0, shown.stderr
        rows: list[dict[str, Any]] = json.loads(shown.stdout)
        return rows

    def advance(self, span: str) -> None:
        moved = self.instance.cli_plain("local", "advance", span)
        assert moved.returncode == 0, moved.stderr

    def alerted(self, sku: str) -> list[str]:
        """Who got the SKU's alert so far (the outbox's emails), in the order they were written."""
        found = []
        for path in sorted(
            (self.instance.data_dir / "outbox").glob("*.eml"), key=lambda p: p.stat().st_mtime_ns
        ):
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            if str(message["Subject"]).startswith(f"{sku} is back in stock"):
                found.append(str(message["To"]))
        return found


def until(check: Callable[[], Any], timeout: float = 90.0) -> Any:
    """`check()` once it is truthy: the stream, the sweep and notify run in the background."""
    deadline = time.monotonic() + timeout
    while not (found := check()) and time.monotonic() < deadline:
        time.sleep(0.3)
    return found


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shoppers]:
    instance = start(tmp_path_factory.mktemp("back_in_stock") / "data", env=user_env())
    try:
        yield Shoppers(instance)
    finally:
        instance.stop()


def restock(shop: Shoppers, sku: str, on_hand: int, sequence: int) -> None:
    """The ERP's count brings the SKU back; once the watcher started its run, the clock moves on
    a minute so the sweep fires the first batch."""
    assert shop.count(sku, on_hand, sequence)[1]["status"] == "accepted"
    assert until(lambda: shop.waiting(sku)["next_batch_at"]), "the restock started no run"
    shop.advance("1m")


def emails(n: int) -> list[str]:
    return [f"shopper{i:02d}@example.com" for i in range(1, n + 1)]


def test_ten_wait_one_unit_back_the_first_three_hear_the_rest_after_the_next_restock_each_once(
    shop: Shoppers,
) -> None:
    sku = "BIS-10"
    shop.count(sku, 0, 1)
    for email in emails(10):
        answers = [
            shop.subscribe(sku, email, msg_id=f"msg_bis10_{email[:9]}")
            for _ in range(3 if email == emails(1)[0] else 1)
        ]
        assert answers[0][1]["status"] == "accepted"
        assert all(answer[1]["status"] == "duplicate" for answer in answers[1:])  # delivered three times: one
    assert shop.waiting(sku)["waiting"] == 10

    restock(shop, sku, 1, 2)
    assert sorted(until(lambda: len(shop.alerted(sku)) >= 3 and shop.alerted(sku))) == emails(3)

    shop.count(sku, 0, 3)  # sold out again before the next batch: the run stops
    shop.advance("31m")
    assert until(lambda: shop.waiting(sku)["next_batch_at"] is None)
    assert sorted(shop.alerted(sku)) == emails(3)
    assert shop.waiting(sku)["waiting"] == 7

    restock(shop, sku, 3, 4)  # 3 units x 3: room for the 7 left
    alerted = until(lambda: len(shop.alerted(sku)) >= 10 and shop.alerted(sku))
    assert sorted(alerted[3:]) == emails(10)[3:] and len(alerted) == 10  # nobody twice
    assert shop.waiting(sku)["waiting"] == 0


def test_a_subscriber_who_ordered_the_sku_meanwhile_is_skipped_with_the_reason(shop: Shoppers) -> None:
    sku = "BIS-20"
    shop.count(sku, 0, 1)
    shop.subscribe(sku, "ann@example.com")  # the Storefront's orders are ann's
    shop.subscribe(sku, "bob@example.com")
    # Ann found one on a marketplace meanwhile: a paid order is never refused (atp -1).
    assert shop.order("bis-20", [(sku, 1)])[1]["status"] == "accepted"

    restock(shop, sku, 2, 2)

    assert until(lambda: shop.alerted(sku)) == ["bob@example.com"]
    ann, bob = shop.subscriptions(sku)
    assert (ann["status"], ann["last"]) == (
        "skipped",
        f"skipped: bought {sku} since subscribing (order erp:bis-20)",
    )
    assert bob["status"] == "alerted"


def test_a_restock_sold_out_within_its_batch_window_alerts_nobody(shop: Shoppers) -> None:
    sku = "BIS-30"
    shop.count(sku, 0, 1)
    for email in emails(4):
        shop.subscribe(sku, email)
    assert shop.count(sku, 2, 2)[1]["status"] == "accepted"
    assert until(lambda: shop.waiting(sku)["next_batch_at"])
    assert shop.count(sku, 0, 3)[1]["status"] == "accepted"  # gone before the batch fires

    shop.advance("1m")

    # Once seen to time out in CI under load (not reproduced alone): the runtime's lines say why.
    assert until(lambda: shop.waiting(sku)["next_batch_at"] is None), "\n".join(shop.instance.lines[-80:])
    assert shop.alerted(sku) == []
    assert shop.waiting(sku)["waiting"] == 4
