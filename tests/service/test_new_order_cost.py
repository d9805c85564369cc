"""A new order's writes stay few and small (decisions 45, 49): every item under 1 KB, the order
carrying its deliveries' markers, its timeline line carrying the event it announces."""

from __future__ import annotations

import json
from typing import Any

from shopflow.orders.ports import delivery_digest
from shopflow.store.orders import DynamoOrderStore
from tests.service.conftest import Stack
from tests.support import corpus, dumps, shopify_headers

KB = 1024


def item_bytes(item: dict[str, Any]) -> int:
    """DynamoDB's size of a boto3 resource item of strings, numbers and bytes (what these items hold)."""
    size = 0
    for name, value in item.items():
        raw = value.value if hasattr(value, "value") else value
        size += len(name) + (len(raw) if isinstance(raw, bytes) else len(str(raw).encode()))
    return size


def post(stack: Stack, payload: dict[str, Any], **headers: Any) -> dict[str, Any]:
    body = dumps(payload)
    response = stack.client.http.post(
        "/webhooks/shopify", headers=shopify_headers(body, "orders/create", **headers), body=body
    )
    answer: dict[str, Any] = response.json_body
    return answer


def large_order() -> dict[str, Any]:
    order = {**corpus("shopify/order.json"), "financial_status": "paid"}
    line = order["line_items"][0]
    order["line_items"] = [{**line, "id": n, "sku": f"SKU-{n:04d}", "title": f"P{n}"} for n in range(12)]
    return order


def test_a_twelve_line_order_is_stored_in_items_under_one_kilobyte_and_read_back_whole(stack: Stack) -> None:
    assert post(stack, large_order())["status"] == "accepted"

    written = [i for i in stack.items() if i["item_type"] != "BUYER"]
    # The order, its timeline line (the outbox item of OrderPlaced too) and its late-order timer.
    assert sorted((i["item_type"], i["sk"].split("#")[0]) for i in written) == [
        ("ORDER", "ORDER"),
        ("OUTBOX", "TIMELINE"),
        ("TIMER", "TIMER"),
    ]
    assert max(item_bytes(i) for i in written) < KB  # one write unit each, two in the transaction
    stored = DynamoOrderStore().get("shopify:450789469")
    assert stored is not None
    assert [line.sku for line in stored.order.lines] == [f"SKU-{n:04d}" for n in range(12)]


def test_a_shopify_delivery_with_an_event_id_is_marked_on_the_order_and_a_resend_of_the_event_is_a_duplicate(
    stack: Stack,
) -> None:
    order = corpus("shopify/order.json")
    assert post(stack, order, webhook_id="wh-1", event_id="evt-9")["status"] == "accepted"
    # The same event through a second subscription: another webhook id, the same event id.
    assert post(stack, order, webhook_id="wh-2", event_id="evt-9")["status"] == "duplicate"

    assert stack.items_of("DEDUP") == []
    [stored] = stack.items_of("ORDER")
    assert stored["deliveries"] == delivery_digest("shopify:event:orders/create:evt-9")
    [placed] = stack.items_of("OUTBOX")
    assert json.loads(placed["payload"])["type"] == "OrderPlaced"
    assert placed["messages"] == "confirmation#email confirmation#sms"
