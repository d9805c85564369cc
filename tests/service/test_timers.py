"""Timers against moto: the sweep reads only what is due, and a timer acts once."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from typing import Any

import boto3
import botocore.client
import pytest

from app import sweep, timers
from shopflow.clock import FakeClock
from shopflow.kernel.timers import TimerRequest
from shopflow.store.models import SweepWatermarkItem, TimerItem
from shopflow.store.orders import DynamoOrderStore, iso
from shopflow.store.timers import timer_bucket, timer_item
from shopflow.timers.sweep import Sweeper
from tests.service.conftest import Stack, deliver_notify, drain
from tests.support import corpus, dumps, shopify_headers


def place_paid_order(stack: Stack) -> None:
    paid = {**corpus("shopify/order.json"), "financial_status": "paid"}
    body = dumps(paid)
    answer = stack.client.http.post(
        "/webhooks/shopify", headers=shopify_headers(body, "orders/create"), body=body
    )
    assert answer.status_code == 200


def test_a_paid_order_not_shipped_in_time_gets_its_apology_once_even_when_swept_twice(stack: Stack) -> None:
    stack.put_setting("notify/delayed/after_hours", "24")
    place_paid_order(stack)
    assert sweep({}, None) == {"due": 0}  # armed, not due

    stack.clock.advance(timedelta(hours=24))
    assert sweep({}, None) == {"due": 1}
    assert sweep({}, None) == {"due": 1}  # a second sweep before the consumer ran
    records = drain(stack, "TimersQueue")
    assert timers({"Records": records}, None) == {"batchItemFailures": []}

    delayed = [o for o in stack.items_of("OUTBOX") if o["event_type"] == "OrderDelayed"]
    assert len(delayed) == 1
    stored = DynamoOrderStore().get(next(i for i in stack.items_of("ORDER"))["pk"].removeprefix("ORDER#"))
    assert stored is not None
    order = stored.order.model_dump(mode="json")
    assert order["delay_coupon"]["code"].startswith("SORRY-") and order["delay_coupon"]["percent"] == 10
    assert stack.items_of("TIMER") == []  # gone once acted on
    assert sweep({}, None) == {"due": 0}


def test_a_timer_rearmed_meanwhile_is_not_deleted(stack: Stack) -> None:
    now = stack.clock.now()
    fired = TimerRequest(
        "late#shopify:1", "late_check", now, json.dumps({"order_id": "shopify:1", "hours": 1})
    )
    timer_item(fired, now).save()
    sweep({}, None)
    records = drain(stack, "TimersQueue")
    timer_item(
        TimerRequest(fired.timer_id, fired.action, now + timedelta(hours=5), fired.payload), now
    ).save()

    timers({"Records": records}, None)

    assert [t["due_at"] for t in stack.items_of("TIMER")] == [iso(now + timedelta(hours=5))]


def test_an_unknown_action_fails_only_its_own_message(stack: Stack) -> None:
    now = stack.clock.now()
    timer_item(TimerRequest("odd#1", "no_such_action", now, "{}"), now).save()
    timer_item(
        TimerRequest(
            "late#shopify:404", "late_check", now, json.dumps({"order_id": "shopify:404", "hours": 1})
        ),
        now,
    ).save()
    sweep({}, None)
    records = drain(stack, "TimersQueue")

    answer = timers({"Records": records}, None)

    odd = next(r["messageId"] for r in records if "no_such_action" in r["body"])
    assert answer == {"batchItemFailures": [{"itemIdentifier": odd}]}


@pytest.mark.parametrize("waiting", [10, 2000])
def test_the_sweep_reads_what_is_due_not_what_is_waiting(
    stack: Stack, waiting: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = stack.clock.now()
    assert sweep({}, None) == {"due": 0}  # the first sweep sets the watermark
    with TimerItem.batch_write() as batch:
        for n in range(waiting):
            batch.save(
                timer_item(
                    TimerRequest(f"later#{n}", "late_check", now + timedelta(days=1 + n % 30), "{}"), now
                )
            )
        for n in range(25):
            batch.save(
                timer_item(TimerRequest(f"due#{n}", "late_check", now - timedelta(minutes=n), "{}"), now)
            )
    calls: Counter[str] = Counter()
    real = botocore.client.BaseClient._make_api_call

    def counting(self: Any, operation: str, params: Any) -> Any:
        calls[f"{self.meta.service_model.service_name}.{operation}"] += 1
        return real(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counting)
    assert sweep({}, None) == {"due": 25}

    # 16 shards of this hour and the last, the 4 keys of timers armed before hour buckets, the watermark
    assert calls == Counter(
        {
            "dynamodb.Query": 2 * 16 + 4,
            "dynamodb.GetItem": 1,
            "sqs.SendMessageBatch": 3,
        }
    )


class QueryCount:
    """Counts the DynamoDB queries botocore sends (what a sweep costs)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.queries = 0
        real = botocore.client.BaseClient._make_api_call

        def counting(client: Any, operation: str, params: Any) -> Any:
            self.queries += operation == "Query"
            return real(client, operation, params)

        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counting)

    def during(self, run: Any) -> tuple[Any, int]:
        before = self.queries
        answer = run()
        return answer, self.queries - before


def watermark() -> str:
    return str(SweepWatermarkItem.get("SWEEP", "WATERMARK").bucket)


def test_timers_due_over_a_day_spread_over_hundreds_of_index_keys(stack: Stack) -> None:
    """Every timer armed or removed writes its index key: 4 keys capped the shop at 4 partitions."""
    now = stack.clock.now()
    keys = Counter(
        timer_item(
            TimerRequest(f"t#{n}", "late_check", now + timedelta(seconds=36 * n), "{}"), now
        ).timer_shard
        for n in range(2400)  # one every 36 s over the next 24 h
    )
    assert len(keys) >= 24 * 16
    assert max(keys.values()) / 2400 <= 0.01


def test_a_timer_due_days_ahead_is_not_swept_early_and_fires_when_due_at_the_same_cost(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = stack.clock.now()
    due = now + timedelta(days=1, minutes=50)
    timer_item(
        TimerRequest("late#shopify:7", "late_check", due, json.dumps({"order_id": "shopify:7", "hours": 1})),
        now,
    ).save()
    count = QueryCount(monkeypatch)
    sweep({}, None)
    costs = set()
    while stack.clock.now() + timedelta(minutes=30) < due:
        stack.clock.advance(timedelta(minutes=30))
        answer, queries = count.during(lambda: sweep({}, None))
        assert answer == {"due": 0}
        costs.add(queries)
        assert watermark() == timer_bucket(stack.clock.now() - timedelta(hours=1))
    # 16 shards of this hour and the last, the 4 legacy keys; a new hour's first sweep passes one more
    assert costs == {2 * 16 + 4, 3 * 16 + 4}

    stack.clock.set(due)
    assert sweep({}, None) == {"due": 1}
    assert timers({"Records": drain(stack, "TimersQueue")}, None) == {"batchItemFailures": []}
    assert stack.items_of("TIMER") == []


def test_an_overdue_timer_armed_after_the_sweep_passed_its_hour_fires(stack: Stack) -> None:
    armed = stack.clock.now()
    sweep({}, None)
    stack.clock.advance(timedelta(hours=3))
    sweep({}, None)
    assert watermark() > timer_bucket(armed)  # the sweep no longer queries the hour it was due

    # e.g. an SMS deferred to a time already past, armed now
    timer_item(TimerRequest("late#shopify:8", "late_check", armed, "{}"), stack.clock.now()).save()
    assert sweep({}, None) == {"due": 1}


def test_a_timer_armed_before_hour_buckets_still_fires(stack: Stack) -> None:
    now = stack.clock.now()
    legacy = TimerItem(
        "TIMER#late#shopify:9",
        "TIMER",
        item_type="TIMER",
        timer_shard="timers#2",
        due_at=iso(now - timedelta(minutes=5)),
        action="late_check",
        payload=json.dumps({"order_id": "shopify:9", "hours": 1}),
    )
    legacy.save()

    assert sweep({}, None) == {"due": 1}
    assert timers({"Records": drain(stack, "TimersQueue")}, None) == {"batchItemFailures": []}
    assert stack.items_of("TIMER") == []


def test_a_timer_whose_action_keeps_failing_does_not_make_later_sweeps_longer(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = stack.clock.now()
    timer_item(TimerRequest("odd#2", "no_such_action", now, "{}"), now).save()
    count = QueryCount(monkeypatch)
    for _ in range(6):
        stack.clock.advance(timedelta(hours=1))
        answer, queries = count.during(lambda: sweep({}, None))
        assert answer == {"due": 1}  # still retried every sweep
        assert queries <= 3 * 16 + 4
        drain(stack, "TimersQueue")
    (stuck,) = stack.items_of("TIMER")
    assert stuck["timer_shard"].startswith(
        f"t#{timer_bucket(stack.clock.now() - timedelta(hours=1))}"
    ) or stuck["timer_shard"].startswith(f"t#{timer_bucket(stack.clock.now())}")
    assert watermark() == timer_bucket(stack.clock.now() - timedelta(hours=1))


def test_a_sweep_with_a_lagging_clock_never_moves_the_watermark_back(stack: Stack) -> None:
    start = stack.clock.now()
    stack.clock.advance(timedelta(hours=5))
    sweep({}, None)
    ahead = watermark()
    Sweeper(lambda: boto3.client("sqs"), "unused", FakeClock(start)).handle({}, None)
    assert watermark() == ahead


def test_the_first_sweep_long_after_timers_were_armed_finds_them(stack: Stack) -> None:
    """No watermark yet (first sweep after install or upgrade): one scan of the keys finds old hours."""
    now = stack.clock.now()
    for n in range(3):
        timer_item(
            TimerRequest(f"late#shopify:1{n}", "late_check", now + timedelta(days=n), "{}"), now
        ).save()
    stack.clock.advance(timedelta(days=5))
    assert sweep({}, None) == {"due": 3}


def delivered_order(stack: Stack, **changes: Any) -> dict[str, Any]:
    order = {
        **corpus("shopify/order.json"),
        "financial_status": "paid",
        "buyer_accepts_marketing": True,
        **changes,
    }
    order["customer"] = {**order["customer"], "accepts_marketing": True}
    for topic, payload in (
        ("orders/create", order),
        (
            "fulfillments/create",
            {**corpus("shopify/fulfillment.json"), "order_id": order["id"], "shipment_status": "delivered"},
        ),
    ):
        body = dumps(payload)
        answer = stack.client.http.post("/webhooks/shopify", headers=shopify_headers(body, topic), body=body)
        assert answer.status_code == 200, answer.body
    return order


def review_setup(stack: Stack) -> None:
    boto3.client("ses").verify_domain_identity(Domain="demo-shop.example")
    stack.put_setting("notify/email/sender", "orders@demo-shop.example")
    stack.put_setting("notify/unsubscribe/secret", "unsubscribe-secret-0123456789", secure=True)
    stack.put_setting("notify/review/url_template", "https://demo-shop.example/products/{product_id}#reviews")


def test_a_delivered_order_is_asked_for_a_review_a_week_later_with_one_click_unsubscribe(
    stack: Stack,
) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    review_setup(stack)
    delivered_order(stack)
    sent = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    before = len(sent)

    stack.clock.advance(timedelta(days=7) - timedelta(minutes=1))
    assert sweep({}, None) == {"due": 1}  # only the late-order check, which finds it delivered
    assert timers({"Records": drain(stack, "TimersQueue")}, None) == {"batchItemFailures": []}
    assert sweep({}, None) == {"due": 0}
    stack.clock.advance(timedelta(minutes=2))
    assert sweep({}, None) == {"due": 1}
    assert timers({"Records": drain(stack, "TimersQueue")}, None) == {"batchItemFailures": []}
    deliver_notify(stack)

    (review,) = sent[before:]
    assert (
        "#reviews" in review.raw_data
        and "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in review.raw_data
    )
    records = {i["sk"]: i for i in stack.items_of("MESSAGE")}
    assert records["MESSAGE#review#email"]["status"] == "SENT"
    assert records["MESSAGE#review#sms"]["status"] == "SKIPPED"  # no SMS consent in the order


def test_no_review_request_for_an_order_refunded_after_delivery(stack: Stack) -> None:
    review_setup(stack)
    order = delivered_order(stack)
    refund = {**corpus("shopify/refund.json"), "order_id": order["id"]}
    refund["transactions"] = [{**t, "amount": order["total_price"]} for t in refund["transactions"]]
    body = dumps(refund)
    answer = stack.client.http.post(
        "/webhooks/shopify", headers=shopify_headers(body, "refunds/create"), body=body
    )
    assert json.loads(answer.body)["order_status"] == "refunded"

    stack.clock.advance(timedelta(days=8))
    sweep({}, None)
    timers({"Records": drain(stack, "TimersQueue")}, None)
    deliver_notify(stack)

    records = {i["sk"]: i for i in stack.items_of("MESSAGE")}
    assert records["MESSAGE#review#email"]["status"] == "SKIPPED"
    assert records["MESSAGE#review#email"]["reason"] == "order is refunded now"


def test_the_frequency_cap_holds_across_orders_in_dynamodb(stack: Stack) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    review_setup(stack)
    delivered_order(stack)
    delivered_order(stack, id=450789470, name="#1002")  # same customer, a second order
    sent = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    before = len(sent)

    stack.clock.advance(timedelta(days=7, minutes=1))
    sweep({}, None)
    timers({"Records": drain(stack, "TimersQueue")}, None)
    deliver_notify(stack)

    reviews = {i["pk"]: i for i in stack.items_of("MESSAGE") if i["sk"] == "MESSAGE#review#email"}
    assert sorted(r["status"] for r in reviews.values()) == ["SENT", "SKIPPED"]
    assert len(sent) - before == 1
    assert len(stack.items_of("MARKETING")) == 1
