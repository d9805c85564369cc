"""Pricing's inputs through the api on moto (issue 16, item 1): the ERP's cost and bounds, a
competitor's offer, and Shopify's `inventory_items/update` cost, each recorded once, an older or
repeated one changing nothing, and bad input refused with nothing stored."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal as D
from typing import Any

import pytest

from shopflow import bootstrap
from tests.service.conftest import Stack, post_shopify
from tests.support import dumps, events_headers


@pytest.fixture
def shop(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    monkeypatch.setenv("SHOPFLOW_SETTINGS_MAX_AGE", "0")
    for name, value in {
        "pricing/enabled": "true",
        "channels/shop/kind": "shopify",
        "channels/shop/url": "https://demo.myshopify.com",
        "channels/shop/currency": "PLN",
    }.items():
        stack.put_setting(name, value)
    stack.put_setting("channels/shop/token", "shpat_0123456789", secure=True)
    yield stack


def event(stack: Stack, event_type: str, data: dict[str, object]) -> Any:
    body = dumps({"type": event_type, "timestamp": stack.clock.now().isoformat(), "data": data})
    headers = events_headers(body, timestamp=int(stack.clock.now().timestamp()))
    return stack.client.http.post("/webhooks/events", headers=headers, body=body)


def record(sku: str) -> Any:
    return bootstrap.runtime().pricing.get(sku)


def inventory_item(stack: Stack, cost: str | None, sku: str = "MUG-1") -> dict[str, Any]:
    item = {
        "id": 808950810,
        "sku": sku,
        "cost": cost,
        "tracked": True,
        "requires_shipping": True,
        "updated_at": stack.clock.now().isoformat(),
    }
    answer: dict[str, Any] = post_shopify(stack, "inventory_items/update", item)
    return answer


def test_shopify_cost_changes_the_cost_and_keeps_the_erps_bounds(shop: Stack) -> None:
    described = {"sku": "MUG-1", "cost": "10.00", "currency": "PLN", "min_price": "19.00", "group": "mugs"}
    assert event(shop, "product.pricing_updated", described).json_body["status"] == "accepted"
    shop.clock.advance(timedelta(minutes=1))
    assert inventory_item(shop, "12.50")["status"] == "accepted"
    kept = record("MUG-1")
    assert (kept.cost, kept.currency, kept.min_price, kept.group) == (D("12.50"), "PLN", D("19.00"), "mugs")
    again = inventory_item(shop, "12.50")  # the same moment again: a redelivery
    assert again["status"] == "ignored" and record("MUG-1").version == kept.version


def test_shopify_cost_without_a_cost_or_a_shop_currency_is_ignored_with_the_reason(
    shop: Stack,
) -> None:
    assert inventory_item(shop, None)["reason"] == "inventory item has no cost set"
    shop.put_setting("channels/shop/currency", "EUR")
    shop.put_setting("channels/second/kind", "shopify")
    shop.put_setting("channels/second/currency", "PLN")  # two Shopify shops, two currencies
    answer = inventory_item(shop, "12.50")
    assert answer["status"] == "ignored" and "currency" in answer["reason"]
    assert record("MUG-1") is None


def test_a_competitor_offer_is_kept_per_competitor_and_an_older_one_changes_nothing(shop: Stack) -> None:
    now = shop.clock.now()
    seen = {"sku": "MUG-1", "competitor": "rival", "price": "21.00", "currency": "PLN", "in_stock": True}
    assert (
        event(shop, "competitor_price.observed", {**seen, "observed_at": now.isoformat()}).status_code == 200
    )
    older = {**seen, "price": "5.00", "observed_at": (now - timedelta(hours=1)).isoformat()}
    answer = event(shop, "competitor_price.observed", older).json_body
    assert answer["status"] == "ignored"
    assert record("MUG-1").competitors["rival"].price == D("21.00")


@pytest.mark.parametrize(
    ("event_type", "data", "field"),
    [
        ("product.pricing_updated", {"sku": "MUG-1", "cost": 10.5, "currency": "PLN"}, "data.cost"),
        ("product.pricing_updated", {"sku": "MUG-1", "cost": "-1", "currency": "PLN"}, "data.cost"),
        (
            "product.pricing_updated",
            {"sku": "MUG-1", "cost": "10", "currency": "PLN", "min_price": "30", "max_price": "20"},
            "data",
        ),
        (
            "competitor_price.observed",
            {"sku": "MUG-1", "competitor": "r", "price": "1", "currency": "PLN", "in_stock": True},
            "data.observed_at",
        ),
    ],
)
def test_bad_pricing_input_is_refused_and_nothing_is_stored(
    shop: Stack, event_type: str, data: dict[str, object], field: str
) -> None:
    answer = event(shop, event_type, data)
    assert answer.status_code == 400, answer.json_body
    assert answer.json_body["field"].startswith(field)
    assert record("MUG-1") is None


def test_pricing_inputs_are_ignored_while_pricing_is_off(stack: Stack) -> None:
    answer = event(stack, "product.pricing_updated", {"sku": "MUG-1", "cost": "10.00", "currency": "PLN"})
    assert (answer.json_body["status"], answer.json_body["reason"]) == (
        "ignored",
        "pricing is off: set pricing.enabled to true",
    )
    assert record("MUG-1") is None


def test_the_shops_own_prices_come_from_its_product_webhooks(shop: Stack) -> None:
    product = {
        "id": 632910392,
        "title": "Mug",
        "tags": "",
        "updated_at": shop.clock.now().isoformat(),
        "variants": [
            {"id": 808950810, "sku": "MUG-1", "inventory_item_id": 39072856, "price": "24.90"},
            {"id": 808950811, "sku": "MUG-2", "inventory_item_id": 39072857},
        ],
    }
    post_shopify(shop, "products/update", product)
    found = bootstrap.runtime().catalog.variants_of_skus("shopify", ["MUG-1", "MUG-2", "MUG-3"])
    assert {sku: variant.price for sku, variant in found.items()} == {"MUG-1": D("24.90"), "MUG-2": None}
