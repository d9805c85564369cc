"""Channel sync end to end on moto, with the fake Shopify and WooCommerce servers over HTTP:
stock changes fan out to push orders on the FIFO queue, and the push function sets each
channel's quantity from the stock as it is now (issue 15, items 2 and 4; decision 67)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from shopflow import bootstrap
from shopflow.local.fakes.shopify import FakeShopify
from shopflow.local.fakes.woocommerce import FakeWooCommerce
from shopflow.sync.push import MAX_RECEIVES
from tests.service.conftest import Run, Stack, drain, stream_event
from tests.support import dumps, events_headers

SHOPIFY_ITEM = 39072856


@pytest.fixture
def shops(stack: Stack) -> Iterator[tuple[FakeShopify, FakeWooCommerce]]:
    with FakeShopify(location_id=905684977) as shopify, FakeWooCommerce() as woo:
        shopify.add_item(SHOPIFY_ITEM, "MUG-01", available=0)
        woo.add_product(799, stock=0)
        stack.put_setting("stock/enabled", "true")
        for name, kind, url, token in (
            ("main", "shopify", shopify.url, shopify.token),
            ("woo", "woocommerce", woo.url, woo.token),
        ):
            stack.put_setting(f"channels/{name}/kind", kind)
            stack.put_setting(f"channels/{name}/url", url)
            stack.put_setting(f"channels/{name}/token", token, secure=True)
        stack.put_setting("channels/main/location_id", "905684977")
        stack.put_setting("channels/woo/stock_pct", "50")
        for channel, listing in (("main", str(SHOPIFY_ITEM)), ("woo", "799")):
            event(stack, "listing.linked", {"channel": channel, "sku": "MUG-01", "listing_id": listing})
        yield shopify, woo


def event(stack: Stack, type_: str, data: dict[str, Any]) -> Any:
    body = dumps({"type": type_, "timestamp": "2026-11-02T09:00:00Z", "data": data})
    answer = stack.client.http.post(
        "/webhooks/events",
        headers=events_headers(body, timestamp=int(stack.clock.now().timestamp())),
        body=body,
    )
    assert answer.status_code == 200, answer.body
    return answer.json_body


def paid_order(stack: Stack, external_id: str, sku: str, quantity: int) -> None:
    at = stack.clock.now().isoformat()
    data = {
        "source": "erp",
        "external_id": external_id,
        "status": "paid",
        "currency": "EUR",
        "total": "1.00",
        "lines": [{"sku": sku, "name": sku, "quantity": quantity, "unit_price": "1.00"}],
        "customer": {"email": "ann@example.com"},
        "updated_at": at,
    }
    assert event(stack, "order.created", data)["status"] == "accepted"


def alerts(stack: Stack) -> list[dict[str, Any]]:
    """The ChannelAlert events published so far (the owner's emails, once notify sends them)."""
    return [json.loads(i["payload"]) for i in stack.items() if i.get("event_type") == "ChannelAlert"]


def fan_out(stack: Stack) -> list[dict[str, Any]]:
    """The stream so far through channel_fanout; the push orders it queued (as Lambda hands them)."""
    from app import channel_fanout

    assert channel_fanout(stream_event(stack, "ChannelFanoutFunction", "StockStream"), None) == {
        "batchItemFailures": []
    }
    return drain(stack, "ChannelPushQueue")


def push(records: list[dict[str, Any]]) -> list[str]:
    from app import channel_push

    answer = channel_push({"Records": records}, None)
    return [failure["itemIdentifier"] for failure in answer["batchItemFailures"]]


def test_a_count_reaches_both_channels_each_showing_its_share(
    stack: Stack, shops: tuple[FakeShopify, FakeWooCommerce]
) -> None:
    shopify, woo = shops
    event(stack, "inventory.set", {"sku": "MUG-01", "on_hand": 9, "sequence": 1})

    orders = fan_out(stack)
    assert sorted(json.loads(r["body"])["channel"] for r in orders) == ["main", "woo"]
    assert push(orders) == []

    assert shopify.available(SHOPIFY_ITEM) == 9
    assert woo.stock("799") == 4  # 50% of 9, rounded down


def test_an_order_moves_both_channels_and_a_burst_costs_one_push(
    stack: Stack, shops: tuple[FakeShopify, FakeWooCommerce]
) -> None:
    shopify, woo = shops
    event(stack, "inventory.set", {"sku": "MUG-01", "on_hand": 10, "sequence": 1})
    assert push(fan_out(stack)) == []
    woo.reset_requests()
    before = shopify.requests

    for n in range(5):  # five sales before the push function runs (sales never trip the breaker)
        paid_order(stack, f"SO-{n}", "MUG-01", 1)
    assert push(fan_out(stack)) == []

    assert shopify.available(SHOPIFY_ITEM) == 5 and woo.stock("799") == 2
    assert shopify.requests - before == 1  # the latest numbers, once
    assert woo.request_count == 1


def test_a_channel_that_is_down_keeps_its_orders_and_catches_up_when_back(
    stack: Stack, shops: tuple[FakeShopify, FakeWooCommerce]
) -> None:
    shopify, woo = shops
    event(stack, "inventory.set", {"sku": "MUG-01", "on_hand": 8, "sequence": 1})
    orders = fan_out(stack)

    woo.go_down()
    kept = push(orders)
    woo.come_back()
    event(stack, "inventory.adjusted", {"sku": "MUG-01", "delta": -2, "reason": "sold in the shop"})
    later = fan_out(stack)

    woo_orders = [r["messageId"] for r in orders if json.loads(r["body"])["channel"] == "woo"]
    assert kept == woo_orders  # only the channel that was down; Shopify took its push
    assert shopify.available(SHOPIFY_ITEM) == 8
    assert push([r for r in orders if r["messageId"] in kept] + later) == []  # SQS hands them back
    assert (shopify.available(SHOPIFY_ITEM), woo.stock("799")) == (6, 3)


def test_a_sale_on_shopify_between_read_and_write_is_never_overwritten_blindly(
    stack: Stack, shops: tuple[FakeShopify, FakeWooCommerce]
) -> None:
    shopify, _ = shops
    event(stack, "inventory.set", {"sku": "MUG-01", "on_hand": 10, "sequence": 1})
    assert push(fan_out(stack)) == []
    shopify.sell_before_next_write(SHOPIFY_ITEM, 1)

    event(stack, "inventory.adjusted", {"sku": "MUG-01", "delta": -3, "reason": "count"})
    assert push(fan_out(stack)) == []

    # Shopify refused the compare-and-set (it showed 9, not 10); shopflow decided again from 9.
    assert shopify.available(SHOPIFY_ITEM) == 7
    states = bootstrap.runtime().channel_sync.states_of_sku("MUG-01")
    assert (states["main"].shown, states["main"].version) == (7, 2)


def test_a_refused_token_pauses_the_channel_without_a_retry_storm(
    stack: Stack, shops: tuple[FakeShopify, FakeWooCommerce]
) -> None:
    _, woo = shops
    woo.revoke_key()
    event(stack, "inventory.set", {"sku": "MUG-01", "on_hand": 6, "sequence": 1})
    woo.reset_requests()

    assert push(fan_out(stack)) == []  # dropped, not retried
    event(stack, "inventory.adjusted", {"sku": "MUG-01", "delta": -1, "reason": "count"})
    assert push(fan_out(stack)) == []

    assert woo.request_count == 1
    assert "Unauthorized" in (bootstrap.runtime().channel_sync.paused("woo") or "")
    [told] = alerts(stack)  # the owner is told once
    assert (told["channel"], told["kind"]) == ("woo", "paused")


def test_a_sku_not_listed_on_a_channel_is_not_pushed_there(
    stack: Stack, shops: tuple[FakeShopify, FakeWooCommerce]
) -> None:
    event(stack, "inventory.set", {"sku": "TEE-M", "on_hand": 3, "sequence": 1})

    orders = [json.loads(r["body"]) for r in fan_out(stack)]

    assert orders == []  # MUG-01 was never counted here, TEE-M is listed nowhere


def test_the_breaker_trips_on_a_snapshot_of_zeroes_and_nothing_reaches_the_channel(
    stack: Stack, shops: tuple[FakeShopify, FakeWooCommerce]
) -> None:
    _, woo = shops
    skus = [f"SKU-{n:02d}" for n in range(25)]
    for n, sku in enumerate(skus):
        woo.add_product(1000 + n, stock=0)
        event(stack, "listing.linked", {"channel": "woo", "sku": sku, "listing_id": str(1000 + n)})
        event(stack, "inventory.set", {"sku": sku, "on_hand": 6, "sequence": 1})
    assert push(fan_out(stack)) == []
    assert [woo.stock(str(1000 + n)) for n in range(25)] == [3] * 25  # 50% of 6
    woo.reset_requests()

    for sku in skus:  # the ERP sends a snapshot of zeroes
        event(stack, "inventory.set", {"sku": sku, "on_hand": 0, "sequence": 2})
    assert push(fan_out(stack)) == []

    assert [woo.stock(str(1000 + n)) for n in range(25)] == [3] * 25
    assert woo.request_count == 0
    why = bootstrap.runtime().channel_sync.paused("woo") or ""
    assert why.startswith("breaker: ")
    [told] = alerts(stack)
    assert (told["channel"], told["kind"]) == ("woo", "breaker") and told["details"]
    assert bootstrap.runtime().channel_sync.paused("main") is None  # the other channel lists none of them


def test_a_few_sales_do_not_trip_the_breaker(
    stack: Stack, shops: tuple[FakeShopify, FakeWooCommerce]
) -> None:
    shopify, _ = shops
    event(stack, "inventory.set", {"sku": "MUG-01", "on_hand": 40, "sequence": 1})
    assert push(fan_out(stack)) == []

    event(stack, "inventory.adjusted", {"sku": "MUG-01", "delta": -5, "reason": "sold"})
    assert push(fan_out(stack)) == []

    assert shopify.available(SHOPIFY_ITEM) == 35
    assert bootstrap.runtime().channel_sync.paused("main") is None


def test_reconciliation_fixes_a_small_drift_and_reports_a_large_one(
    stack: Stack, shops: tuple[FakeShopify, FakeWooCommerce]
) -> None:
    from app import channel_reconcile

    shopify, woo = shops
    woo.add_product(800, stock=0)
    event(stack, "listing.linked", {"channel": "woo", "sku": "TEE-M", "listing_id": "800"})
    event(stack, "inventory.set", {"sku": "MUG-01", "on_hand": 10, "sequence": 1})
    event(stack, "inventory.set", {"sku": "TEE-M", "on_hand": 8, "sequence": 1})
    assert push(fan_out(stack)) == []
    shopify.sell(SHOPIFY_ITEM, 1)  # a sale on Shopify that shopflow has not heard of yet: 9
    woo.sell("800", 1)  # 4 -> 3: small
    woo.sell("799", 5)  # 5 -> 0 (more than 2 off): someone changed it by hand, or a feed is broken

    done = channel_reconcile({"source": "aws.events"}, None)

    assert done == {"main": {"checked": 1, "drifts": 1}, "woo": {"checked": 2, "drifts": 2}}
    assert shopify.available(SHOPIFY_ITEM) == 10 and woo.stock("800") == 4  # fixed
    assert woo.stock("799") == 0  # left for the owner
    [told] = alerts(stack)
    assert (told["channel"], told["kind"]) == ("woo", "drift")
    assert [(d["sku"], d["shown"], d["wanted"]) for d in told["details"]] == [("MUG-01", 0, 5)]


def test_pushes_failing_their_last_try_go_to_the_dead_letter_queue_and_the_owner_is_told(
    stack: Stack, shops: tuple[FakeShopify, FakeWooCommerce]
) -> None:
    _, woo = shops
    event(stack, "inventory.set", {"sku": "MUG-01", "on_hand": 8, "sequence": 1})
    orders = [r for r in fan_out(stack) if json.loads(r["body"])["channel"] == "woo"]
    woo.go_down()

    assert push(orders) == [r["messageId"] for r in orders]  # an early try: kept, nobody told
    assert alerts(stack) == []
    last = [
        {**r, "attributes": {**r["attributes"], "ApproximateReceiveCount": str(MAX_RECEIVES)}} for r in orders
    ]
    assert push(last) == [r["messageId"] for r in orders]

    [told] = alerts(stack)
    assert (told["channel"], told["kind"]) == ("woo", "gave_up")
    assert [d["sku"] for d in told["details"]] == ["MUG-01"]


def test_101_skus_changed_at_once_are_pushed_in_the_channels_batches(
    stack: Stack, shops: tuple[FakeShopify, FakeWooCommerce]
) -> None:
    shopify, woo = shops
    runtime = bootstrap.runtime()
    skus = [f"SKU-{n:03d}" for n in range(101)]  # bench/channels_sync.py does 1,000
    for n, sku in enumerate(skus):  # set-up in process: both channels list every SKU
        shopify.add_item(5000 + n, sku)
        woo.add_product(5000 + n, stock=0)
        runtime.listings.link("main", sku, str(5000 + n), stack.clock.now())
        runtime.listings.link("woo", sku, str(5000 + n), stack.clock.now())
    for sku in skus:
        event(stack, "inventory.set", {"sku": sku, "on_hand": 4, "sequence": 1})
    before = shopify.requests
    woo.reset_requests()

    orders = fan_out(stack)
    assert push(orders) == []

    assert len(orders) == 4  # per channel: 100 + 1 orders a message
    assert {woo.stock(str(5000 + n)) for n in range(101)} == {2}
    assert {shopify.available(5000 + n) for n in range(101)} == {4}
    assert woo.request_count == 2  # 100 a batch call
    assert shopify.requests - before == 2  # a read of what it shows (a first push), then one mutation


def test_a_sku_linked_after_its_count_is_pushed_there_as_its_stock_is_now(
    stack: Stack, shops: tuple[FakeShopify, FakeWooCommerce]
) -> None:
    _, woo = shops
    woo.add_product(801, stock=0)
    event(stack, "inventory.set", {"sku": "CAP", "on_hand": 6, "sequence": 1})
    assert fan_out(stack) == []  # listed nowhere yet

    event(stack, "listing.linked", {"channel": "woo", "sku": "CAP", "listing_id": "801"})
    assert push(fan_out(stack)) == []

    assert woo.stock("801") == 3  # 50% of 6


def test_the_owner_reconciles_a_channel_from_the_command_line(
    stack: Stack, shops: tuple[FakeShopify, FakeWooCommerce], run: Run
) -> None:
    _, woo = shops
    event(stack, "inventory.set", {"sku": "MUG-01", "on_hand": 10, "sequence": 1})
    assert push(fan_out(stack)) == []
    woo.sell("799", 1)  # 5 -> 4

    assert run("channels", "reconcile", "woo", "--json") == 0

    assert json.loads(run.out) == {
        "channel": "woo",
        "checked": 1,
        "in_step": 0,
        "drifts": [
            {"sku": "MUG-01", "listing_id": "799", "shows": 4, "should_show": 5, "fixed": True, "oversold": 0}
        ],
    }
    assert woo.stock("799") == 5
    assert run("channels", "reconcile", "nope") == 1 and "no channel 'nope'" in run.err
    assert run("channels", "status", "woo", "--json") == 0  # the drift found, for the owner
    found = json.loads(run.out)["reconciled"]
    assert (found["checked"], found["in_step"], found["fixed"], found["reported"]) == (1, 0, 1, 0)
    assert run("channels", "list") == 0
    assert "woo: last reconciled" in run.out and "1 drift pushed back, 0 reported to the owner" in run.out
