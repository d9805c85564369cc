"""Back-in-stock alerts on moto (issue 17): signed subscriptions, the stock stream's restocks, the
batches the sweep fires, notify's emails; the faults the issue names."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3
import pytest

from app import back_in_stock_watch
from shopflow.back_in_stock.model import contact_id, subject_id_of
from shopflow.store.back_in_stock import DynamoBackInStockStore
from shopflow.store.orders import DynamoOrderStore
from tests.service.conftest import Run, Stack, deliver_notify, drain, run_due, stream_event
from tests.service.test_notify import emails
from tests.service.test_stock_inputs import count, event, order

SKU = "MUG-01"
PAGE = "https://demo-shop.example/mug"


@pytest.fixture
def shop(stack: Stack) -> Stack:
    boto3.client("ses").verify_domain_identity(Domain="demo-shop.example")
    stack.put_setting("notify/email/sender", "orders@demo-shop.example")
    stack.put_setting("shop/name", "Demo Shop")
    stack.put_setting("notify/unsubscribe/secret", "unsubscribe-secret-0123456789", secure=True)
    stack.put_setting("stock/enabled", "true")
    stack.put_setting("back_in_stock/enabled", "true")
    stack.put_setting("back_in_stock/per_unit", "3")
    return stack


def subscribe(stack: Stack, email: str, *, msg_id: str | None = None, sku: str = SKU) -> Any:
    stack.clock.advance(timedelta(seconds=1))  # shoppers ask one after another
    data = {"sku": sku, "email": email, "product_url": PAGE, "locale": "en"}
    answer = event(stack, "back_in_stock.subscribed", data, msg_id=msg_id)
    assert answer.status_code == 200, answer.body
    return answer.json_body


class Watch:
    """back_in_stock_watch as Lambda feeds it: each stream record once, filtered as template.yaml says."""

    def __init__(self, stack: Stack) -> None:
        self.stack, self.seen = stack, set[str]()

    def __call__(self) -> None:
        records = stream_event(self.stack, "BackInStockWatchFunction", "StockStream")["Records"]
        new = [r for r in records if r["dynamodb"]["SequenceNumber"] not in self.seen]
        self.seen.update(r["dynamodb"]["SequenceNumber"] for r in new)
        assert back_in_stock_watch({"Records": new}, None) == {"batchItemFailures": []}


def recipients() -> list[str]:
    return [str(m["To"]) for m in emails()]


def shoppers(n: int) -> list[str]:
    return [f"shopper{i:02d}@example.com" for i in range(1, n + 1)]


def waiting(sku: str = SKU) -> int:
    summary = DynamoBackInStockStore(DynamoOrderStore()).summary(sku)
    return summary.waiting if summary else 0


def timeline(email: str, sku: str = SKU) -> list[str]:
    store = DynamoBackInStockStore(DynamoOrderStore())
    return [e.detail for e in store.timeline(subject_id_of(contact_id(email, None), sku))]


def test_ten_wait_one_unit_comes_back_the_first_three_hear_in_order_the_rest_after_the_next_restock(
    shop: Stack,
) -> None:
    watch = Watch(shop)
    count(shop, SKU, 0, 1)
    for email in shoppers(10):
        subscribe(shop, email)
    assert waiting() == 10

    count(shop, SKU, 1, 2)  # back: atp 0 -> 1
    watch()
    run_due(shop)
    assert recipients() == shoppers(3)
    assert waiting() == 7

    count(shop, SKU, 0, 3)  # sold again before the next batch
    watch()
    shop.clock.advance(timedelta(minutes=31))
    run_due(shop)
    assert recipients() == shoppers(3)  # the next batch found no stock: the run ended

    count(shop, SKU, 3, 4)  # the next restock: 3 units, 9 slots for the 7 left
    watch()
    run_due(shop)
    assert recipients() == shoppers(10)  # each once, in the order they asked
    assert waiting() == 0
    shop.clock.advance(timedelta(hours=2))
    run_due(shop)
    assert recipients() == shoppers(10)


def test_a_restock_sold_out_again_before_its_batch_alerts_nobody_and_the_queue_keeps_its_order(
    shop: Stack,
) -> None:
    watch = Watch(shop)
    count(shop, SKU, 0, 1)
    for email in shoppers(4):
        subscribe(shop, email)
    count(shop, SKU, 2, 2)
    watch()
    count(shop, SKU, 0, 3)  # gone within the batch window, before the sweep fires the batch
    watch()
    run_due(shop)
    assert recipients() == []
    assert waiting() == 4

    count(shop, SKU, 1, 4)
    watch()
    run_due(shop)
    assert recipients() == shoppers(3)


def test_the_same_subscription_three_times_is_one_subscription_and_one_email(shop: Stack) -> None:
    watch = Watch(shop)
    count(shop, SKU, 0, 1)
    answers = [subscribe(shop, "ann@example.com", msg_id="msg_ann_1") for _ in range(3)]
    again = subscribe(shop, "ANN@example.com", msg_id="msg_ann_2")  # asked again, another delivery

    assert [a["status"] for a in answers] == ["accepted", "duplicate", "duplicate"]
    assert again["status"] == "ignored" and "keeps its place" in again["reason"]
    assert waiting() == 1
    count(shop, SKU, 5, 2)
    watch()
    run_due(shop)
    watch()
    run_due(shop)
    assert recipients() == ["ann@example.com"]


def test_a_subscriber_who_ordered_the_sku_meanwhile_is_skipped_with_the_reason(shop: Stack) -> None:
    watch = Watch(shop)
    count(shop, SKU, 1, 1)
    subscribe(shop, "ann@example.com")  # tests/service/test_stock_inputs.order's customer
    subscribe(shop, "bob@example.com")
    shop.clock.advance(timedelta(minutes=5))
    assert order(shop, "1001", "paid", [(SKU, 1)]).status_code == 200  # atp 1 -> 0
    count(shop, SKU, 2, 2)  # back: 2 in the warehouse, 1 of them paid for
    watch()
    run_due(shop)

    assert recipients() == ["bob@example.com"]
    assert any(
        "skipped: bought MUG-01 since subscribing (order erp:1001)" in d for d in timeline("ann@example.com")
    )


def test_the_alert_links_the_product_and_its_one_click_stop_ends_back_in_stock_alerts_only(
    shop: Stack,
) -> None:
    watch = Watch(shop)
    count(shop, SKU, 0, 1)
    subscribe(shop, "ann@example.com")
    subscribe(shop, "ann@example.com", sku="TEE-L")
    count(shop, SKU, 1, 2)
    watch()
    run_due(shop)
    [alert] = emails()
    text = alert.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert alert["Subject"] == "MUG-01 is back in stock \N{EN DASH} Demo Shop"
    assert PAGE in text
    token = alert["List-Unsubscribe"].strip("<>").rpartition("/unsubscribe/")[2]
    one_click = {"Content-Type": "application/x-www-form-urlencoded"}
    answer = shop.client.http.post(
        f"/unsubscribe/{token}", headers=one_click, body="List-Unsubscribe=One-Click"
    )
    assert answer.status_code == 200 and "back-in-stock alerts" in answer.body.decode()

    count(shop, "TEE-L", 2, 1)
    watch()
    run_due(shop)
    assert len(emails()) == 1
    assert any("stopped back in stock messages by email" in d for d in timeline("ann@example.com", "TEE-L"))


def test_an_unsubscribed_shopper_leaves_the_queue_and_bad_subscriptions_store_nothing(shop: Stack) -> None:
    subscribe(shop, "ann@example.com")
    subscribe(shop, "bob@example.com")
    gone = event(shop, "back_in_stock.unsubscribed", {"sku": SKU, "email": "ann@example.com"})
    assert gone.json_body["status"] == "accepted"
    assert waiting() == 1
    before = len(shop.items())
    bad = event(shop, "back_in_stock.subscribed", {"sku": SKU})
    assert bad.status_code == 400
    assert len(shop.items()) == before


def test_the_owner_sees_how_many_wait_for_each_sku(shop: Stack, run: Run) -> None:
    count(shop, SKU, 0, 1)
    for email in shoppers(3):
        subscribe(shop, email)
    subscribe(shop, "ann@example.com", sku="CAP")
    run.capsys.readouterr()  # the intake's logs so far

    assert run("stock", "waiting", "--json") == 0
    rows = json.loads(run.out)
    assert [(r["sku"], r["waiting"]) for r in rows] == [(SKU, 3), ("CAP", 1)]
    assert run("stock", "get", SKU) == 0
    assert "waiting for it: 3 shopper(s)" in run.out
    assert run("stock", "get", SKU, "--json") == 0
    assert json.loads(run.out)["back_in_stock"]["waiting"] == 3
    assert run("stock", "waiting", SKU, "--json") == 0
    assert [(r["status"], r["contact"]) for r in json.loads(run.out)] == [("waiting", "s***@example.com")] * 3


def test_alerts_the_stock_ran_out_before_notify_sent_keep_their_place_for_the_next_restock(
    shop: Stack,
) -> None:
    from app import sweep, timers

    watch = Watch(shop)
    count(shop, SKU, 0, 1)
    for email in shoppers(2):
        subscribe(shop, email)
    count(shop, SKU, 1, 2)
    watch()
    sweep({}, None)
    assert timers({"Records": drain(shop, "TimersQueue")}, None) == {"batchItemFailures": []}  # handed over
    count(shop, SKU, 0, 3)  # sold out before notify reached them
    deliver_notify(shop)

    assert recipients() == []
    assert waiting() == 2
    assert any("back in the queue at its place" in d for d in timeline("shopper01@example.com"))
    count(shop, SKU, 1, 4)
    watch()
    run_due(shop)
    assert recipients() == shoppers(2)
