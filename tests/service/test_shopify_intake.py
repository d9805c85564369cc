"""POST /webhooks/shopify end to end against moto: what the owner's store ends up holding."""

from __future__ import annotations

import json
from decimal import Decimal

from shopflow.store.orders import DynamoOrderStore
from tests.service.conftest import Stack
from tests.support import SHOPIFY_PREVIOUS_SECRET, corpus, dumps, shopify_headers


def post(stack: Stack, topic: str, payload: dict, **kwargs):
    body = dumps(payload)
    return stack.client.http.post(
        "/webhooks/shopify", headers=shopify_headers(body, topic, **kwargs), body=body
    )


def order_document(stack: Stack, order_id: str) -> dict:
    # Read through the store: a large order's document is stored compressed (decision 45).
    stored = DynamoOrderStore().get(order_id)
    assert stored is not None
    return stored.order.model_dump(mode="json")


def test_new_order_is_recorded_with_timeline_and_outbox(stack: Stack) -> None:
    response = post(stack, "orders/create", corpus("shopify/order.json"))

    assert response.status_code == 200
    assert response.json_body == {
        "status": "accepted",
        "order_id": "shopify:450789469",
        "order_status": "pending",
        "changes": ["placed"],
    }
    order = order_document(stack, "shopify:450789469")
    assert order["number"] == "#1001"
    assert Decimal(order["total"]) == Decimal("409.94")
    assert [line["sku"] for line in order["lines"]] == ["IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK"]
    [entry] = stack.timeline_lines()
    assert json.loads(entry["document"])["event"] == "placed"
    [outbox] = stack.items_of("OUTBOX")
    assert outbox["event_type"] == "OrderPlaced"
    assert outbox == entry  # the line announces the event (decision 49)
    [stored] = stack.items_of("ORDER")
    assert len(stored["deliveries"].split()) == 1  # the delivery's dedup marker


def test_redelivery_is_a_duplicate_and_writes_nothing(stack: Stack) -> None:
    payload = corpus("shopify/order.json")
    first = post(stack, "orders/create", payload, webhook_id="wh-1")
    before = stack.items()
    again = post(stack, "orders/create", payload, webhook_id="wh-1")

    assert first.json_body["status"] == "accepted"
    assert again.json_body == {"status": "duplicate", "order_id": "shopify:450789469"}
    assert stack.items() == before


def test_same_event_id_under_a_new_webhook_id_is_a_duplicate(stack: Stack) -> None:
    payload = corpus("shopify/order.json")
    post(stack, "orders/create", payload, event_id="evt-9")
    before = stack.items()

    again = post(stack, "orders/create", payload, event_id="evt-9")

    assert again.json_body["status"] == "duplicate"
    assert stack.items() == before


def test_previous_secret_is_accepted_after_rotation(stack: Stack) -> None:
    response = post(stack, "orders/create", corpus("shopify/order.json"), secret=SHOPIFY_PREVIOUS_SECRET)

    assert response.json_body["status"] == "accepted"


def test_paid_update_moves_the_order_and_announces_it(stack: Stack) -> None:
    order = corpus("shopify/order.json")
    post(stack, "orders/create", order)
    paid = {**order, "financial_status": "paid", "updated_at": "2008-01-10T11:05:00-05:00"}

    response = post(stack, "orders/paid", paid)

    assert response.json_body == {
        "status": "accepted",
        "order_id": "shopify:450789469",
        "order_status": "paid",
        "changes": ["status"],
    }
    assert [json.loads(i["document"])["event"] for i in stack.timeline_lines()] == [
        "placed",
        "status_changed",
    ]
    assert sorted(i["event_type"] for i in stack.items_of("OUTBOX")) == ["OrderPlaced", "OrderStatusChanged"]
    [stored] = stack.items_of("ORDER")
    assert (stored["status"], int(stored["version"])) == ("paid", 2)


def test_updated_before_create_gives_the_right_order(stack: Stack) -> None:
    order = corpus("shopify/order.json")
    paid = {**order, "financial_status": "paid", "updated_at": "2008-01-10T11:05:00-05:00"}

    early = post(stack, "orders/updated", paid)
    late_create = post(stack, "orders/create", order)

    assert early.json_body["status"] == "accepted"
    assert late_create.json_body == {
        "status": "ignored",
        "order_id": "shopify:450789469",
        "order_status": "paid",
        "reason": "stale",
    }
    assert order_document(stack, "shopify:450789469")["status"] == "paid"
    assert len(stack.timeline_lines()) == 1


def test_stale_update_after_a_newer_one_changes_nothing(stack: Stack) -> None:
    order = corpus("shopify/order.json")
    post(stack, "orders/create", order)
    post(
        stack,
        "orders/updated",
        {**order, "financial_status": "paid", "updated_at": "2008-01-10T12:00:00-05:00"},
    )
    before = stack.items()

    stale = post(
        stack,
        "orders/updated",
        {**order, "cancelled_at": "2008-01-10T11:30:00-05:00", "updated_at": "2008-01-10T11:30:00-05:00"},
    )

    assert stale.json_body["reason"] == "stale"
    assert stack.items() == before


def test_fulfillment_and_delivery_and_refund(stack: Stack) -> None:
    order = {**corpus("shopify/order.json"), "financial_status": "paid"}
    post(stack, "orders/create", order)
    shipped = {
        **corpus("shopify/fulfillment.json"),
        "status": "success",
        "updated_at": "2013-11-02T10:00:00-04:00",
    }
    delivered = {**shipped, "shipment_status": "delivered", "updated_at": "2013-11-04T10:00:00-04:00"}

    assert post(stack, "fulfillments/create", shipped).json_body["order_status"] == "shipped"
    assert post(stack, "fulfillments/update", delivered).json_body["order_status"] == "delivered"
    refund = post(stack, "refunds/create", corpus("shopify/refund.json"))

    assert refund.json_body["changes"] == ["refunded_total"]  # 209.00 of 409.94: partial
    document = order_document(stack, "shopify:450789469")
    assert document["status"] == "delivered"
    assert document["tracking"] == [
        {"number": "1Z2345", "url": "http://www.google.com/search?q=1Z2345", "carrier": "null-company"}
    ]
    assert Decimal(document["refunded_total"]) == Decimal("209.00")


def test_multicurrency_corpus_order(stack: Stack) -> None:
    response = post(stack, "orders/create", corpus("shopify/orders_create_multicurrency.json"))

    assert response.json_body["order_id"] == "shopify:2998548365461"
    document = order_document(stack, "shopify:2998548365461")
    assert (document["currency"], document["total"]) == ("USD", "45.85")


def test_unhandled_topic_is_ignored_and_nothing_is_stored(stack: Stack) -> None:
    response = post(stack, "customers/update", {"id": 207119551, "email": "bob.norman@example.com"})

    assert response.status_code == 200
    assert response.json_body == {"status": "ignored", "reason": "topic customers/update is not handled"}
    assert stack.items() == []
