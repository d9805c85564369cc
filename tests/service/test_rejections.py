"""Every 4xx: a clear answer and nothing written."""

from __future__ import annotations

import base64
import json

import pytest

from tests.service.conftest import Stack
from tests.support import corpus, dumps, events_headers, shopify_headers, woo_headers

ORDER = dumps(corpus("shopify/order.json"))


def flip_bit(signature: str) -> str:
    raw = bytearray(base64.b64decode(signature))
    raw[-1] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def shopify(stack: Stack, headers: dict[str, str], body: bytes = ORDER):
    return stack.client.http.post("/webhooks/shopify", headers=headers, body=body)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(
            lambda h: h.update({"X-Shopify-Hmac-Sha256": flip_bit(h["X-Shopify-Hmac-Sha256"])}), id="bit-flip"
        ),
        pytest.param(lambda h: h.pop("X-Shopify-Hmac-Sha256"), id="missing-signature"),
        pytest.param(
            lambda h: h.update(
                {
                    "X-Shopify-Hmac-Sha256": shopify_headers(
                        ORDER, "orders/create", secret="an-attackers-secret-99"
                    )["X-Shopify-Hmac-Sha256"]
                }
            ),
            id="wrong-secret",
        ),
        pytest.param(
            lambda h: h.update({"X-Shopify-Shop-Domain": "other-shop.myshopify.com"}), id="unknown-shop"
        ),
        pytest.param(lambda h: h.pop("X-Shopify-Shop-Domain"), id="missing-shop"),
    ],
)
def test_unverifiable_shopify_delivery_is_401(stack: Stack, tamper) -> None:
    headers = shopify_headers(ORDER, "orders/create")
    tamper(headers)

    response = shopify(stack, headers)

    assert response.status_code == 401
    assert response.json_body["error"] == "unauthorized"
    assert stack.items() == []


def test_missing_topic_header_is_400_naming_it(stack: Stack) -> None:
    headers = shopify_headers(ORDER, "orders/create")
    del headers["X-Shopify-Topic"]

    response = shopify(stack, headers)

    assert response.status_code == 400
    assert response.json_body["field"] == "header X-Shopify-Topic"
    assert stack.items() == []


def test_malformed_json_is_400(stack: Stack) -> None:
    body = ORDER[:-10]
    response = shopify(stack, shopify_headers(body, "orders/create"), body)

    assert response.status_code == 400
    assert response.json_body["field"] == "body"
    assert stack.items() == []


def test_invalid_field_is_400_naming_the_field(stack: Stack) -> None:
    payload = corpus("shopify/order.json")
    payload["line_items"][1]["quantity"] = "two"
    body = dumps(payload)

    response = shopify(stack, shopify_headers(body, "orders/create"), body)

    assert response.status_code == 400
    assert response.json_body["field"] == "line_items.1.quantity"
    assert stack.items() == []


def test_body_over_one_mebibyte_is_413(stack: Stack) -> None:
    payload = corpus("shopify/order.json")
    payload["note"] = "x" * (2 * 1024 * 1024)
    body = dumps(payload)

    response = shopify(stack, shopify_headers(body, "orders/create"), body)

    assert response.status_code == 413
    assert stack.items() == []


def test_wrong_content_type_is_415(stack: Stack) -> None:
    headers = shopify_headers(ORDER, "orders/create")
    headers["Content-Type"] = "text/plain"

    response = shopify(stack, headers)

    assert response.status_code == 415
    assert stack.items() == []


def test_woocommerce_bad_signature_is_401(stack: Stack) -> None:
    body = dumps(corpus("woocommerce/order.json"))
    headers = woo_headers(body, "order.created")
    headers["X-WC-Webhook-Signature"] = flip_bit(headers["X-WC-Webhook-Signature"])

    response = stack.client.http.post("/webhooks/woocommerce", headers=headers, body=body)

    assert response.status_code == 401
    assert stack.items() == []


def test_events_with_an_old_timestamp_is_401(stack: Stack) -> None:
    body = json.dumps({"type": "order.created", "timestamp": "2026-11-02T08:00:00Z", "data": {}}).encode()
    headers = events_headers(body, timestamp=int(stack.clock.now().timestamp()) - 600)

    response = stack.client.http.post("/webhooks/events", headers=headers, body=body)

    assert response.status_code == 401
    assert "tolerance" in response.json_body["message"]
    assert stack.items() == []
