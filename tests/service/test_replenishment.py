"""Replenishment reminders against moto: product tags from the storefront, a delivered order,
the real api, sweep, timers and notify handlers, with the clock moved by hand."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3
import pytest

from shopflow.store.orders import iso
from tests.service.conftest import Stack, plain_text, post_shopify, run_due, sent_emails
from tests.support import corpus, dumps, events_headers, woo_headers

ORDER_ID = "shopify:450789469"
PRODUCT_PAGE = "https://demo-shop.example/products/{sku}"


@pytest.fixture
def shop(stack: Stack) -> Stack:
    boto3.client("ses").verify_domain_identity(Domain="demo-shop.example")
    stack.put_setting("notify/email/sender", "orders@demo-shop.example")
    stack.put_setting("notify/unsubscribe/secret", "unsubscribe-secret-0123456789", secure=True)
    # The corpus order: three iPod Nano variants of product 632910392, one of each.
    stack.put_setting("notify/replenishment/periods", "tag:ipod-batteries=20, sku:IPOD2008RED=40")
    stack.put_setting("notify/replenishment/lead_days", "5")
    stack.put_setting("notify/replenishment/url_template", PRODUCT_PAGE)
    post_shopify(
        stack,
        "products/update",
        {
            "id": 632910392,
            "title": "IPod Nano - 8GB",
            "tags": "Electronics, iPod-Batteries ",
            "updated_at": iso(stack.clock.now()),
        },
    )
    return stack


def order_body(stack: Stack, **changes: Any) -> dict[str, Any]:
    order = {**corpus("shopify/order.json"), "financial_status": "paid", "buyer_accepts_marketing": True}
    order["customer"] = {**order["customer"], "accepts_marketing": True}
    return {**order, **changes}


def deliver(stack: Stack, order: dict[str, Any]) -> None:
    post_shopify(stack, "orders/create", order)
    fulfillment = {
        **corpus("shopify/fulfillment.json"),
        "order_id": order["id"],
        "shipment_status": "delivered",
    }
    answer = post_shopify(stack, "fulfillments/create", fulfillment)
    assert answer["order_status"] == "delivered"


def replenishment_records(stack: Stack, order_id: str = ORDER_ID) -> dict[str, tuple[str, str | None]]:
    return {
        item["sk"].removeprefix("MESSAGE#replenishment#"): (item["status"], item.get("reason"))
        for item in stack.items_of("MESSAGE")
        if item["pk"] == f"ORDER#{order_id}" and item["sk"].startswith("MESSAGE#replenishment#")
    }


def test_a_delivered_consumable_is_reminded_lead_days_before_it_runs_out_once(shop: Stack) -> None:
    delivered_at = shop.clock.now()
    deliver(shop, order_body(shop))
    (timer,) = [t for t in shop.items_of("TIMER") if t["pk"] == f"TIMER#replenish#{ORDER_ID}"]
    # The shortest supply: a tagged variant, 1 x 20 days, minus 5 days of lead time.
    assert timer["due_at"] == iso(delivered_at + timedelta(days=15))
    before = len(sent_emails())

    shop.clock.advance(timedelta(days=15) - timedelta(minutes=1))
    run_due(shop)  # the late-order check, long due, finds the order delivered
    assert len(sent_emails()) == before
    shop.clock.advance(timedelta(minutes=2))
    assert run_due(shop) == 1
    assert run_due(shop) == 0  # acted on: gone

    (reminder,) = sent_emails()[before:]
    text = plain_text(reminder)
    assert "#1001" in text
    for sku in ("IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK"):
        assert PRODUCT_PAGE.format(sku=sku) in text
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in reminder.raw_data
    assert replenishment_records(shop) == {
        "email": ("SENT", None),
        "sms": ("SKIPPED", "sms disabled for replenishment"),
    }


def test_a_reorder_of_every_product_cancels_the_reminder(shop: Stack) -> None:
    deliver(shop, order_body(shop))
    shop.clock.advance(timedelta(days=9))
    # Bob orders the same three again (a new order, written with a different email case).
    again = order_body(
        shop, id=450789470, name="#1002", email="Bob.Norman@Hostmail.com", created_at=iso(shop.clock.now())
    )
    post_shopify(shop, "orders/create", again)
    before = len(sent_emails())

    shop.clock.advance(timedelta(days=6, minutes=1))
    run_due(shop)

    assert len(sent_emails()) == before
    assert replenishment_records(shop)["email"] == ("SKIPPED", "ordered again (order shopify:450789470)")


def test_a_partial_reorder_leaves_the_other_products_in_the_reminder(shop: Stack) -> None:
    first = order_body(shop)
    # The red one as a product of its own (a re-order of any variant of a product counts for it).
    first["line_items"] = [
        {**line, "product_id": 632910393} if line["sku"] == "IPOD2008RED" else line
        for line in first["line_items"]
    ]
    deliver(shop, first)
    shop.clock.advance(timedelta(days=5))
    green = [line for line in first["line_items"] if line["sku"] == "IPOD2008GREEN"]
    post_shopify(
        shop,
        "orders/create",
        order_body(shop, id=450789471, name="#1003", line_items=green, created_at=iso(shop.clock.now())),
    )
    before = len(sent_emails())

    shop.clock.advance(timedelta(days=10, minutes=1))
    run_due(shop)

    (reminder,) = sent_emails()[before:]
    text = plain_text(reminder)
    assert PRODUCT_PAGE.format(sku="IPOD2008RED") in text
    assert PRODUCT_PAGE.format(sku="IPOD2008GREEN") not in text
    assert PRODUCT_PAGE.format(sku="IPOD2008BLACK") not in text  # same product as the green one


def test_no_reminder_for_an_order_refunded_after_delivery(shop: Stack) -> None:
    order = order_body(shop)
    deliver(shop, order)
    refund = {**corpus("shopify/refund.json"), "order_id": order["id"]}
    refund["transactions"] = [{**t, "amount": order["total_price"]} for t in refund["transactions"]]
    assert post_shopify(shop, "refunds/create", refund)["order_status"] == "refunded"

    shop.clock.advance(timedelta(days=16))
    run_due(shop)

    assert replenishment_records(shop)["email"] == ("SKIPPED", "order is refunded now")


def test_without_a_matching_rule_no_timer_is_armed(stack: Stack) -> None:
    stack.put_setting("notify/replenishment/periods", "tag:cat-food=30, sku:IPOD2008RED=4")
    stack.put_setting("notify/replenishment/lead_days", "5")  # the red one lasts less than that
    deliver(stack, order_body(stack))

    assert [t["pk"] for t in stack.items_of("TIMER") if "replenish" in t["pk"]] == []


def test_product_tags_come_from_every_sender_and_the_newest_wins(shop: Stack) -> None:
    now = shop.clock.now()
    older = {
        "id": 632910392,
        "title": "IPod Nano",
        "tags": "old-tag",
        "updated_at": iso(now - timedelta(hours=1)),
    }
    assert post_shopify(shop, "products/update", older) == {
        "status": "ignored",
        "product_id": "shopify:632910392",
        "tags": ["old-tag"],
        "reason": "not newer than the stored product",
    }
    woo_product = {
        "id": 799,
        "name": "Ship Your Idea",
        "tags": [{"id": 12, "name": "Coffee Capsules", "slug": "coffee-capsules"}],
        "date_modified_gmt": "2026-11-01T10:00:00",
    }
    body = dumps(woo_product)
    answer = shop.client.http.post(
        "/webhooks/woocommerce", headers=woo_headers(body, "product.updated"), body=body
    )
    assert answer.json_body["tags"] == ["coffee capsules", "coffee-capsules"]
    event = {
        "type": "product.updated",
        "timestamp": iso(now),
        "data": {"source": "erp", "product_id": "P-7", "tags": ["Cat Food"], "updated_at": iso(now)},
    }
    body = dumps(event)
    headers = events_headers(body, timestamp=int(now.timestamp()))
    answer = shop.client.http.post("/webhooks/events", headers=headers, body=body)
    assert answer.json_body == {"status": "accepted", "product_id": "erp:P-7", "tags": ["cat food"]}

    tags = {
        json.loads(p["document"])["product_id"]: json.loads(p["document"])["tags"]
        for p in shop.items_of("PRODUCT")
    }
    assert tags == {
        "632910392": ["electronics", "ipod-batteries"],
        "799": ["coffee capsules", "coffee-capsules"],
        "P-7": ["cat food"],
    }


def test_a_bad_product_event_is_refused_and_nothing_is_stored(stack: Stack) -> None:
    now = stack.clock.now()
    event = {
        "type": "product.updated",
        "timestamp": iso(now),
        "data": {"source": "erp", "product_id": "P-7", "tags": "cat food", "updated_at": iso(now)},
    }
    body = dumps(event)
    answer = stack.client.http.post(
        "/webhooks/events", headers=events_headers(body, timestamp=int(now.timestamp())), body=body
    )

    assert answer.status_code == 400 and answer.json_body["field"] == "data.tags"
    assert stack.items_of("PRODUCT") == []
