"""POST /webhooks/shopify end to end against moto: what the owner's store ends up holding."""

from __future__ import annotations

import json
from decimal import Decimal

from tests.service.conftest import Stack
from tests.support import SHOPIFY_PREVIOUS_SECRET, corpus, dumps, shopify_headers


def post(stack: Stack, topic: str, payload: dict, **kwargs):
    body = dumps(payload)
    return stack.client.http.post("/webhooks/shopify", headers=shopify_headers(body, topic, **kwargs), body=body)


def order_document(stack: Stack, order_id: str) -> dict:
    [item] = [i for i in stack.items_of("ORDER") if i["pk"] == f"ORDER#{order_id}"]
    return json.loads(item["document"])


def test_new_order_is_recorded_with_timeline_and_outbox(stack: Stack) -> None:
    response = post(stack, "orders/create", corpus("shopify/order.json"))

    assert response.status_code == 200
    assert response.json_body == {"status": "accepted", "order_id": "shopify:450789469",
                                  "order_status": "pending", "changes": ["placed"]}
    order = order_document(stack, "shopify:450789469")
    assert order["number"] == "#1001"
    assert Decimal(order["total"]) == Decimal("409.94")
    assert [line["sku"] for line in order["lines"]] == ["IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK"]
    [entry] = stack.items_of("TIMELINE")
    assert json.loads(entry["document"])["event"] == "placed"
    [outbox] = stack.items_of("OUTBOX")
    assert outbox["event_type"] == "OrderPlaced"
    assert len(stack.items_of("DEDUP")) == 1


def test_redelivery_is_a_duplicate_and_writes_nothing(stack: Stack) -> None:
    payload = corpus("shopify/order.json")
    first = post(stack, "orders/create", payload, webhook_id="wh-1")
    before = stack.items()
    again = post(stack, "orders/create", payload, webhook_id="wh-1")

    assert first.json_body["status"] == "accepted"
    assert again.json_body == {"status": "duplicate", "order_id": "shopify:450789469"}
    assert stack.items() == before
