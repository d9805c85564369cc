"""An order first seen past `pending`/`paid` (already shipped, delivered, cancelled) gets the one
message of the status it arrives in, through the real handlers: intake -> dispatch -> notify."""

from __future__ import annotations

import copy
from email.message import EmailMessage
from html import escape
from typing import Any

import boto3
import pytest

from tests.service.conftest import Stack
from tests.service.test_notify import SENDER, emails, run_pipeline, sms, webhook
from tests.service.test_woocommerce_and_events import CANONICAL_ORDER, event, woo
from tests.support import corpus


@pytest.fixture
def shop(stack: Stack) -> Stack:
    boto3.client("ses").verify_domain_identity(Domain="demo-shop.example")
    stack.put_setting("notify/email/sender", SENDER)
    stack.put_setting("shop/name", "Demo Shop")
    return stack


def message_records(stack: Stack) -> list[tuple[str, str]]:
    return sorted((m["sk"], m["status"]) for m in stack.items_of("MESSAGE"))


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())  # type: ignore[attr-defined]


def html_of(message: EmailMessage) -> str:
    body = message.get_body(("html",))
    assert body is not None
    return str(body.get_content())  # type: ignore[attr-defined]


def shopify_order_already_fulfilled() -> dict[str, Any]:
    """Shopify's own order fixture as orders/create sends it when the order was fulfilled at once
    (a POS sale, an order imported or created by an app): fulfilled, its fulfillment succeeded."""
    order = copy.deepcopy(corpus("shopify/order.json"))
    order["fulfillment_status"] = "fulfilled"
    order["financial_status"] = "paid"
    order["fulfillments"][0]["status"] = "success"
    order["phone"] = "+48601234567"
    return order


def test_shopify_order_created_already_fulfilled_gets_the_shipped_message_with_its_tracking(
    shop: Stack,
) -> None:
    order = shopify_order_already_fulfilled()

    assert webhook(shop, "orders/create", order)["order_status"] == "shipped"
    answers = run_pipeline(shop)

    assert all(a == {"batchItemFailures": []} for a in answers)
    assert message_records(shop) == [("MESSAGE#shipped#email", "SENT"), ("MESSAGE#shipped#sms", "SENT")]
    [message] = emails()  # one message that confirms the order and tells where it is
    assert message["Subject"] == "Order #1001 is on its way"
    text = text_of(message)
    assert "has shipped" in text and "tracking number 1Z2345" in text
    assert "let you know when it ships" not in text
    assert "IPod Nano - 8gb - green" in text and "Total: $" in text  # what was ordered
    assert escape(order["fulfillments"][0]["tracking_url"]) in html_of(message)
    [(phone, body)] = sms()
    assert phone == "+48601234567" and "has shipped" in body and "1Z2345" in body


def test_woocommerce_order_created_completed_gets_the_delivered_message_and_nothing_promising(
    shop: Stack,
) -> None:
    order = {**corpus("woocommerce/order.json"), "status": "completed"}

    answer = woo(shop, "order.created", order)
    assert answer.json_body["order_status"] == "delivered"
    run_pipeline(shop)

    assert message_records(shop) == [
        ("MESSAGE#delivered#email", "SENT"),
        ("MESSAGE#delivered#sms", "SKIPPED"),  # SMS is off for "delivered" by default
    ]
    [message] = emails()
    assert message["Subject"] == "Order 727 has been delivered"
    text = text_of(message)
    assert "has been delivered" in text
    assert "let you know" not in text and "ships" not in text
    assert "Woo Single #1" in text and "Total: $29.35" in text
    assert sms() == []


@pytest.mark.parametrize(
    ("status", "kind", "says"),
    [
        ("shipped", "shipped", "zostało wysłane"),
        ("delivered", "delivered", "zostało dostarczone"),
        ("cancelled", "cancelled", "zostało anulowane"),
        ("paid", "confirmation", "damy znać, gdy zostanie wysłane"),
        ("pending", "confirmation", "damy znać, gdy zostanie wysłane"),
    ],
)
def test_canonical_order_created_with_a_status_gets_that_statuss_message(
    shop: Stack, status: str, kind: str, says: str
) -> None:
    data = {
        **CANONICAL_ORDER["data"],  # type: ignore[dict-item]
        "status": status,
        "tracking": [
            {"number": "PL123456789", "url": "https://track.example/PL123456789", "carrier": "InPost"}
        ],
    }

    answer = event(shop, {**CANONICAL_ORDER, "data": data}, msg_id=f"msg_first_{status}")
    assert answer.status_code == 200, answer.body
    run_pipeline(shop)

    assert [sk for sk, _ in message_records(shop)] == [f"MESSAGE#{kind}#email", f"MESSAGE#{kind}#sms"]
    [message] = emails()
    text = text_of(message)
    assert says in text
    if kind == "shipped":
        assert "InPost: numer przesyłki PL123456789" in text and "Kawa ziarnista 1 kg" in text
