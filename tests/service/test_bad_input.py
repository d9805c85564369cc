"""Signed bodies that shopflow can judge: each is a 400 naming the field (and nothing is stored),
or, where the platform really sends such a value, accepted with the right stored values.

Every case is signed correctly, so it reaches parsing and normalization.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from shopflow import bootstrap
from tests.service.conftest import Stack, running_stack
from tests.support import corpus, events_headers, shopify_headers, woo_headers


@pytest.fixture(scope="module")
def shared_stack() -> Iterator[Stack]:
    # Provisioning from template.yaml takes seconds; one stack serves every case of this module.
    with pytest.MonkeyPatch.context() as monkeypatch, running_stack(monkeypatch) as running:
        yield running


@pytest.fixture
def stack(shared_stack: Stack) -> Iterator[Stack]:
    """The shared stack, with an empty table at the start of each case."""
    yield shared_stack
    with shared_stack.table.batch_writer() as batch:
        for item in shared_stack.items():
            batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})


class Raw(str):
    """JSON text put into the body as it is (numbers Python would never write, lone surrogates)."""


def body_of(payload: dict[str, Any]) -> bytes:
    raws: dict[str, str] = {}

    def mark(value: Any) -> Any:
        if isinstance(value, Raw):
            key = f"__raw_{len(raws)}__"
            raws[key] = str(value)
            return key
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mark(v) for v in value]
        return value

    text = json.dumps(mark(payload))
    for key, raw in raws.items():
        text = text.replace(json.dumps(key), raw)
    return text.encode()


def with_value(payload: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `payload` with the dotted `path` (list indexes as numbers) set to `value`."""
    payload = json.loads(json.dumps(payload))
    *parents, last = path.split(".")
    node: Any = payload
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return payload


# The unchanged payloads: each is accepted as it is (see test_every_base_payload_is_accepted).
SHOPIFY_PRODUCT = {
    "id": 632910392,
    "title": "IPod Nano",
    "tags": "refill",
    "updated_at": "2026-11-01T10:00:00Z",
}
WOO_PRODUCT = {
    "id": 799,
    "name": "Ship Your Idea",
    "tags": [{"id": 12, "name": "Coffee Capsules", "slug": "coffee-capsules"}],
    "date_modified_gmt": "2026-11-01T10:00:00",
}
CUSTOMER = {"email": "anna@example.pl", "name": "Anna Nowak", "consent": {"email": True, "sms": False}}
LINE = {"sku": "KAWA-1KG", "name": "Kawa ziarnista 1 kg", "quantity": 2, "unit_price": "74.95"}
EVENT_ORDER = {
    "type": "order.created",
    "timestamp": "2026-11-02T08:59:00Z",
    "data": {
        "source": "erp",
        "external_id": "SO-1001",
        "currency": "PLN",
        "total": "149.90",
        "lines": [LINE],
        "customer": CUSTOMER,
        "updated_at": "2026-11-02T08:58:00Z",
    },
}
EVENT_CART = {
    "type": "cart.updated",
    "timestamp": "2026-11-02T08:59:00Z",
    "data": {
        "source": "erp",
        "cart_id": "C-17",
        "currency": "PLN",
        "total": "149.90",
        "lines": [LINE],
        "customer": CUSTOMER,
        "updated_at": "2026-11-02T08:58:00Z",
    },
}
EVENT_PRODUCT = {
    "type": "product.updated",
    "timestamp": "2026-11-02T08:59:00Z",
    "data": {"source": "erp", "product_id": "P-7", "title": "Kawa", "updated_at": "2026-11-02T08:58:00Z"},
}

BASES: dict[str, tuple[str, str, Callable[[], dict[str, Any]]]] = {
    # name: (route, topic, payload)
    "shopify order": ("shopify", "orders/create", lambda: corpus("shopify/order.json")),
    "shopify checkout": ("shopify", "checkouts/create", lambda: corpus("shopify/abandoned_checkout.json")),
    "shopify refund": ("shopify", "refunds/create", lambda: corpus("shopify/refund.json")),
    "shopify fulfillment": ("shopify", "fulfillments/create", lambda: corpus("shopify/fulfillment.json")),
    "shopify product": ("shopify", "products/create", lambda: dict(SHOPIFY_PRODUCT)),
    "woo order": ("woocommerce", "order.created", lambda: corpus("woocommerce/order.json")),
    "woo deleted": ("woocommerce", "order.deleted", lambda: {"id": 727}),
    "woo product": ("woocommerce", "product.updated", lambda: dict(WOO_PRODUCT)),
    "event order": ("events", "order.created", lambda: json.loads(json.dumps(EVENT_ORDER))),
    "event cart": ("events", "cart.updated", lambda: json.loads(json.dumps(EVENT_CART))),
    "event product": ("events", "product.updated", lambda: json.loads(json.dumps(EVENT_PRODUCT))),
}


def post(stack: Stack, base: str, payload: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    route, topic, _ = BASES[base]
    body = body_of(payload)
    if route == "shopify":
        signed = shopify_headers(body, topic, webhook_id=(headers or {}).get("X-Shopify-Webhook-Id"))
    elif route == "woocommerce":
        signed = woo_headers(body, topic)
    else:
        signed = events_headers(body, msg_id=(headers or {}).get("webhook-id"))  # signed now, real time
    return stack.client.http.post(f"/webhooks/{route}", headers=signed, body=body)


DEEP = Raw("[" * 10_000 + "]" * 10_000)
DIGITS_5000 = Raw("9" * 5_000)
NAME_900K = "n" * 900_000
ID_3000 = "7" * 3_000
SURROGATE = Raw('"\\ud800 Nano"')

# (base, dotted path, value, the field a 400 names)
REFUSED = [
    # JSON the parser itself cannot take
    ("shopify order", "note_attributes", DEEP, "body"),
    ("woo order", "meta_data", DEEP, "body"),
    ("event order", "data.lines", DEEP, "body"),
    # ids: a string or a positive integer as the platform sends it, bounded
    ("shopify order", "id", DIGITS_5000, "id"),
    ("shopify order", "id", ID_3000, "id"),
    ("shopify order", "id", [], "id"),
    ("shopify order", "id", True, "id"),
    ("shopify order", "id", Raw("0.0"), "id"),
    ("shopify order", "id", Raw("-6.1e16"), "id"),
    ("shopify order", "id", Raw("2.7e16"), "id"),
    ("shopify order", "id", 0, "id"),
    ("shopify order", "line_items.0.product_id", DIGITS_5000, "line_items.0.product_id"),
    ("shopify checkout", "id", ID_3000, "id"),
    ("shopify checkout", "id", True, "id"),
    ("shopify refund", "order_id", [], "order_id"),
    ("shopify refund", "id", DIGITS_5000, "id"),
    ("shopify fulfillment", "order_id", Raw("2.7e16"), "order_id"),
    ("shopify product", "id", Raw("-6.1e16"), "id"),
    ("woo order", "id", DIGITS_5000, "id"),
    ("woo order", "id", Raw("0.0"), "id"),
    ("woo order", "id", True, "id"),
    ("woo order", "id", [], "id"),
    ("woo order", "id", Raw("-6.1e16"), "id"),
    ("woo order", "id", Raw("2.7e16"), "id"),
    ("woo order", "id", ID_3000, "id"),
    ("woo deleted", "id", True, "id"),
    ("woo product", "id", Raw("0.0"), "id"),
    ("event order", "data.external_id", "x" * 3_000, "data.external_id"),
    ("event order", "data.total", DIGITS_5000, "data.total"),
    # money: bounded digits, at most 4 decimals, never negative
    ("shopify order", "total_price", "9" * 400, "total_price"),
    ("shopify order", "total_price", "12345678901234567890", "total_price"),
    ("shopify order", "total_price", "10.12345", "total_price"),
    ("shopify order", "total_price", "-409.94", "total_price"),
    ("shopify order", "subtotal_price", "-1", "subtotal_price"),
    ("shopify order", "line_items.0.price", "-199.00", "line_items.0.price"),
    ("shopify order", "line_items.0.price", Raw("1e-7"), "line_items.0.price"),
    ("shopify checkout", "total_price", "-409.94", "total_price"),
    ("shopify checkout", "total_price", "12345678901234567890", "total_price"),
    ("shopify checkout", "line_items.0.price", "-199.00", "line_items.0.price"),
    ("shopify refund", "transactions.0.amount", "-209.00", "transactions.0.amount"),
    ("shopify refund", "transactions.0.amount", "9" * 400, "transactions.0.amount"),
    ("shopify refund", "transactions.0.amount", "209.00001", "transactions.0.amount"),
    ("woo order", "total", "9" * 400, "total"),
    ("woo order", "total", "12345678901234567890", "total"),
    ("woo order", "total", "29.35001", "total"),
    ("woo order", "total", "-29.35", "total"),
    ("woo order", "line_items.0.price", -3, "line_items.0.price"),
    ("woo order", "line_items.0.price", Raw("1e400"), "line_items.0.price"),
    ("woo order", "line_items.0.total", "-6.00", "line_items.0.total"),
    ("woo order", "line_items.0.subtotal", "-6.00", "line_items.0.subtotal"),
    ("event order", "data.total", "-149.90", "data.total"),
    ("event order", "data.total", "12345678901234567890", "data.total"),
    ("event order", "data.total", "149.90001", "data.total"),
    ("event order", "data.lines.0.unit_price", "1e-7", "data.lines.0.unit_price"),
    ("event order", "data.lines.0.unit_price", "-74.95", "data.lines.0.unit_price"),
    ("event cart", "data.total", "-1", "data.total"),
    # money in a canonical event is a decimal string, never a JSON number (docs/events.md)
    ("event order", "data.total", Raw("149.9"), "data.total"),
    ("event order", "data.lines.0.unit_price", Raw("74.95"), "data.lines.0.unit_price"),
    ("event order", "data.lines.0.unit_price", 75, "data.lines.0.unit_price"),
    ("event cart", "data.total", Raw("149.9"), "data.total"),
    # quantities: a whole number of items, bounded; never a float or a boolean
    ("shopify order", "line_items.0.quantity", -1, "line_items.0.quantity"),
    ("shopify order", "line_items.0.quantity", Raw("1e20"), "line_items.0.quantity"),
    ("shopify order", "line_items.0.quantity", True, "line_items.0.quantity"),
    ("shopify order", "line_items.0.quantity", 10**20, "line_items.0.quantity"),
    ("shopify checkout", "line_items.0.quantity", Raw("1e20"), "line_items.0.quantity"),
    ("shopify checkout", "line_items.0.quantity", True, "line_items.0.quantity"),
    ("woo order", "line_items.0.quantity", -2, "line_items.0.quantity"),
    ("woo order", "line_items.0.quantity", True, "line_items.0.quantity"),
    ("woo order", "line_items.0.quantity", Raw("1e20"), "line_items.0.quantity"),
    ("event order", "data.lines.0.quantity", True, "data.lines.0.quantity"),
    ("event order", "data.lines.0.quantity", Raw("1e20"), "data.lines.0.quantity"),
    ("event order", "data.lines.0.quantity", -1, "data.lines.0.quantity"),
    # currency: an ISO 4217 code
    ("shopify order", "currency", "US", "currency"),
    ("shopify order", "currency", "EURO", "currency"),
    ("shopify order", "currency", "", "currency"),
    ("shopify checkout", "currency", "EURO", "currency"),
    ("woo order", "currency", "US", "currency"),
    ("woo order", "currency", "EURO", "currency"),
    ("woo order", "currency", "", "currency"),
    ("event order", "data.currency", "EURO", "data.currency"),
    ("event cart", "data.currency", "", "data.currency"),
    # names: bounded length, valid text
    ("shopify order", "line_items.0.name", NAME_900K, "line_items.0.name"),
    ("shopify order", "line_items.0.name", SURROGATE, "line_items.0.name"),
    ("shopify order", "customer.first_name", SURROGATE, "customer.first_name"),
    ("shopify order", "customer.first_name", NAME_900K, "customer.first_name"),
    ("shopify order", "email", "a" * 900_000, "email"),
    ("shopify checkout", "line_items.0.title", NAME_900K, "line_items.0.title"),
    ("shopify checkout", "line_items.0.title", SURROGATE, "line_items.0.title"),
    ("shopify product", "title", NAME_900K, "title"),
    ("shopify product", "title", SURROGATE, "title"),
    ("woo order", "line_items.0.name", NAME_900K, "line_items.0.name"),
    ("woo order", "line_items.0.name", SURROGATE, "line_items.0.name"),
    ("woo order", "billing.first_name", SURROGATE, "billing.first_name"),
    ("woo product", "name", NAME_900K, "name"),
    ("woo product", "tags.0.name", SURROGATE, "tags.0.name"),
    ("event order", "data.lines.0.name", NAME_900K, "data.lines.0.name"),
    ("event order", "data.customer.name", SURROGATE, "data.customer.name"),
    ("event order", "data.customer.name", NAME_900K, "data.customer.name"),
    ("event cart", "data.lines.0.name", SURROGATE, "data.lines.0.name"),
    ("event product", "data.title", SURROGATE, "data.title"),
    # times: a year no order has (and that cannot even be converted to UTC)
    ("shopify order", "updated_at", "0001-01-01T00:00:00+05:00", "updated_at"),
    ("shopify refund", "created_at", "9999-12-31T23:59:59-05:00", "created_at"),
    ("woo order", "date_modified_gmt", "9999-12-31T23:59:59", "date_modified_gmt"),
    ("event order", "data.updated_at", "0001-01-01T00:00:00+05:00", "data.updated_at"),
]


@pytest.mark.parametrize(
    ("base", "path", "value", "field"),
    [
        pytest.param(
            *case, id=f"{case[0]} {case[1]}={str(case[2])[:24]}{'...' if len(str(case[2])) > 24 else ''}"
        )
        for case in REFUSED
    ],
)
def test_bad_value_is_400_naming_the_field_and_nothing_is_stored(
    stack: Stack, base: str, path: str, value: Any, field: str
) -> None:
    payload = with_value(BASES[base][2](), path, value)

    response = post(stack, base, payload)

    assert response.status_code == 400, response.body[:300]
    assert response.json_body["error"] == "invalid_payload"
    assert response.json_body["field"] == field
    assert stack.items() == []


@pytest.mark.parametrize(
    ("base", "header"),
    [
        ("shopify order", "X-Shopify-Webhook-Id"),
        ("shopify checkout", "X-Shopify-Webhook-Id"),
        ("event order", "webhook-id"),
        ("event cart", "webhook-id"),
    ],
)
def test_a_3000_character_delivery_id_is_400_naming_the_header(stack: Stack, base: str, header: str) -> None:
    response = post(stack, base, BASES[base][2](), headers={header: "w" * 3_000})

    assert response.status_code == 400, response.body[:300]
    assert response.json_body["field"] == f"header {header}"
    assert stack.items() == []


@pytest.mark.parametrize("base", sorted(BASES))
def test_every_base_payload_is_accepted(stack: Stack, base: str) -> None:
    response = post(stack, base, BASES[base][2]())

    assert response.status_code == 200, response.body[:300]


def stored_order(order_id: str) -> dict[str, Any]:
    found = bootstrap.runtime().orders.get(order_id)
    assert found is not None
    document: dict[str, Any] = found.order.model_dump(mode="json")
    return document


def test_woocommerce_float_unit_price_is_accepted_with_the_line_total_exact(stack: Stack) -> None:
    # 3 items for 10.00: WooCommerce sends price = total / quantity as a float.
    payload = corpus("woocommerce/order.json")
    line = payload["line_items"][0]
    line.update({"quantity": 3, "subtotal": "10.00", "total": "10.00", "price": Raw("3.3333333333333335")})

    response = post(stack, "woo order", payload)

    assert response.status_code == 200, response.body
    order = stored_order("woocommerce:727")
    assert order["total"] == "29.35"
    first = order["lines"][0]
    assert (first["quantity"], Decimal(first["unit_price"])) == (3, Decimal("3.3333"))
    assert Decimal(first["line_total"]) == Decimal("10.00")


def test_woocommerce_tiny_float_unit_price_is_accepted_as_zero(stack: Stack) -> None:
    payload = with_value(corpus("woocommerce/order.json"), "line_items.0.price", Raw("1e-7"))

    response = post(stack, "woo order", payload)

    assert response.status_code == 200, response.body
    first = stored_order("woocommerce:727")["lines"][0]
    assert Decimal(first["unit_price"]) == 0
    assert Decimal(first["line_total"]) == Decimal("6.00")


@pytest.mark.parametrize(
    ("base", "path", "value", "stored_id"),
    [
        ("shopify order", "id", "450789469", "shopify:450789469"),
        ("shopify order", "id", 9_223_372_036_854_775_807, "shopify:9223372036854775807"),
        ("event order", "data.external_id", "SO-1001/2", "erp:SO-1001/2"),
    ],
)
def test_ids_as_platforms_send_them_are_accepted(
    stack: Stack, base: str, path: str, value: Any, stored_id: str
) -> None:
    response = post(stack, base, with_value(BASES[base][2](), path, value))

    assert response.status_code == 200, response.body
    assert response.json_body["order_id"] == stored_id
    assert stored_order(stored_id)["order_id"] == stored_id


def test_html_entities_in_woocommerce_names_are_decoded(stack: Stack) -> None:
    response = post(stack, "woo order", corpus("woocommerce/order.json"))

    assert response.status_code == 200
    names = [line["name"] for line in stored_order("woocommerce:727")["lines"]]
    assert names == ["Woo Single #1", "Ship Your Idea \u2013 Color: Black, Size: M Test"]


def test_html_entities_in_shopify_names_are_decoded(stack: Stack) -> None:
    payload = with_value(
        corpus("shopify/order.json"), "line_items.0.name", "Salt &amp; Pepper &ndash; 2 pack"
    )

    response = post(stack, "shopify order", payload)

    assert response.status_code == 200
    assert stored_order("shopify:450789469")["lines"][0]["name"] == "Salt & Pepper \u2013 2 pack"
