"""WooCommerce and the signed generic format, end to end against moto."""

from __future__ import annotations

import json

from tests.service.conftest import Stack
from tests.support import corpus, dumps, events_headers, woo_headers


def woo(stack: Stack, topic: str, payload: dict):
    body = dumps(payload)
    return stack.client.http.post("/webhooks/woocommerce", headers=woo_headers(body, topic), body=body)


def event(stack: Stack, payload: dict, **kwargs):
    body = dumps(payload)
    headers = events_headers(body, timestamp=int(stack.clock.now().timestamp()), **kwargs)
    return stack.client.http.post("/webhooks/events", headers=headers, body=body)


def test_woocommerce_creation_ping_is_answered_and_stores_nothing(stack: Stack) -> None:
    response = stack.client.http.post(
        "/webhooks/woocommerce",
        body=b"webhook_id=7",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 200
    assert response.json_body == {"status": "ignored", "reason": "webhook creation ping"}
    assert stack.items() == []


def test_woocommerce_form_body_that_is_not_a_ping_needs_a_signature(stack: Stack) -> None:
    response = stack.client.http.post(
        "/webhooks/woocommerce",
        body=b"webhook_id=7&status=completed",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 401
    assert stack.items() == []


def test_woocommerce_order_resend_is_a_duplicate(stack: Stack) -> None:
    order = corpus("woocommerce/order.json")

    first = woo(stack, "order.created", order)
    before = stack.items()
    resent = woo(stack, "order.created", order)  # new delivery id, same order and date_modified_gmt

    assert first.json_body == {
        "status": "accepted",
        "order_id": "woocommerce:727",
        "order_status": "paid",
        "changes": ["placed"],
    }
    assert resent.json_body["status"] == "duplicate"
    assert stack.items() == before


def test_woocommerce_completed_then_deleted(stack: Stack) -> None:
    order = corpus("woocommerce/order.json")
    woo(stack, "order.created", order)
    completed = {**order, "status": "completed", "date_modified_gmt": "2017-03-25T10:00:00"}

    assert woo(stack, "order.updated", completed).json_body["order_status"] == "delivered"
    deleted = woo(stack, "order.deleted", {"id": 727})

    # delivered orders cannot be cancelled: the deletion is recorded, the status stays
    assert deleted.json_body == {
        "status": "ignored",
        "order_id": "woocommerce:727",
        "order_status": "delivered",
        "reason": "no change",
    }


def test_woocommerce_pending_order_deleted_is_cancelled(stack: Stack) -> None:
    woo(stack, "order.created", {**corpus("woocommerce/order.json"), "status": "pending"})

    response = woo(stack, "order.deleted", {"id": 727})

    assert response.json_body["order_status"] == "cancelled"
    entries = [json.loads(i["document"]) for i in stack.timeline_lines()]
    assert any(e["detail"] == "status pending -> cancelled; deleted in WooCommerce" for e in entries)


CANONICAL_ORDER = {
    "type": "order.created",
    "timestamp": "2026-11-02T08:59:00Z",
    "data": {
        "source": "erp",
        "external_id": "SO-1001",
        "number": "SO-1001",
        "status": "paid",
        "currency": "PLN",
        "total": "149.90",
        "lines": [{"sku": "KAWA-1KG", "name": "Kawa ziarnista 1 kg", "quantity": 2, "unit_price": "74.95"}],
        "customer": {
            "email": "anna@example.pl",
            "name": "Anna Nowak",
            "locale": "pl",
            "timezone": "Europe/Warsaw",
            "consent": {"email": True, "sms": False},
        },
        "updated_at": "2026-11-02T08:58:00Z",
    },
}


def test_canonical_order_and_status_change(stack: Stack) -> None:
    created = event(stack, CANONICAL_ORDER)
    shipped = event(
        stack,
        {
            "type": "order.status_changed",
            "timestamp": "2026-11-02T09:00:00Z",
            "data": {
                "source": "erp",
                "external_id": "SO-1001",
                "status": "shipped",
                "updated_at": "2026-11-02T09:00:00Z",
                "tracking": [{"number": "PX123", "carrier": "InPost", "url": "https://inpost.example/PX123"}],
            },
        },
    )

    assert created.json_body == {
        "status": "accepted",
        "order_id": "erp:SO-1001",
        "order_status": "paid",
        "changes": ["placed"],
    }
    assert shipped.json_body == {
        "status": "accepted",
        "order_id": "erp:SO-1001",
        "order_status": "shipped",
        "changes": ["status", "tracking"],
    }
    [order] = stack.items_of("ORDER")
    document = json.loads(order["document"])
    assert document["customer"]["locale"] == "pl" and document["customer"]["consent"]["email"] is True


def test_canonical_event_with_a_bad_field_is_400_naming_it(stack: Stack) -> None:
    bad = json.loads(json.dumps(CANONICAL_ORDER))
    bad["data"]["lines"][0]["quantity"] = -1

    response = event(stack, bad)

    assert response.status_code == 400
    assert response.json_body["field"] == "data.lines.0.quantity"
    assert stack.items() == []


def test_canonical_event_redelivered_with_the_same_id_is_a_duplicate(stack: Stack) -> None:
    event(stack, CANONICAL_ORDER, msg_id="msg_42")
    before = stack.items()

    assert event(stack, CANONICAL_ORDER, msg_id="msg_42").json_body["status"] == "duplicate"
    assert stack.items() == before


def test_canonical_event_of_an_unhandled_type_is_ignored(stack: Stack) -> None:
    response = event(
        stack, {"type": "stock.changed", "timestamp": "2026-11-02T09:00:00Z", "data": {"cart": "c1"}}
    )

    assert response.json_body == {"status": "ignored", "reason": "event type stock.changed is not handled"}
    assert stack.items() == []
