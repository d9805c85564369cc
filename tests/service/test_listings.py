"""Listings over the signed routes on moto: `listing.linked` links anything, Shopify and
WooCommerce products list their own SKUs."""

from __future__ import annotations

from typing import Any

from shopflow import bootstrap
from shopflow.channels.capability import channels
from shopflow.channels.listings import Listing, listing_for
from shopflow.channels.model import Channel
from tests.service.conftest import Stack, post_shopify
from tests.support import dumps, events_headers


def linked(stack: Stack, data: dict[str, Any]) -> Any:
    body = dumps({"type": "listing.linked", "timestamp": "2026-11-02T09:00:00Z", "data": data})
    headers = events_headers(body, timestamp=int(stack.clock.now().timestamp()))
    return stack.client.http.post("/webhooks/events", headers=headers, body=body)


def listings_of(sku: str) -> dict[str, Listing | None]:
    runtime = bootstrap.runtime()
    settings = runtime.settings.load()
    found = {}
    for channel in channels(settings):
        assert isinstance(channel, Channel)
        found[channel.name] = listing_for(
            channel, sku, runtime.listings.linked(sku), runtime.catalog.variant_of_sku
        )
    return found


def test_a_sku_is_linked_to_a_channels_listing_by_a_signed_event(stack: Stack) -> None:
    for key, value in (
        ("kind", "webhook"),
        ("url", "https://hub.example.com/in"),
        ("token", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    ):
        stack.put_setting(f"channels/allegro/{key}", value)

    answer = linked(stack, {"channel": "allegro", "sku": "MUG-01", "listing_id": "offer-7"})

    assert answer.status_code == 200
    assert answer.json_body == {
        "status": "accepted",
        "channel": "allegro",
        "sku": "MUG-01",
        "listing_id": "offer-7",
    }
    assert listings_of("MUG-01") == {"allegro": Listing("allegro", "MUG-01", "offer-7", "linked")}


def test_a_shopify_products_variants_list_its_skus_on_a_shopify_channel(stack: Stack) -> None:
    for key, value in (
        ("kind", "shopify"),
        ("url", "https://demo.myshopify.com"),
        ("token", "shpat_x"),
        ("location_id", "905684977"),
    ):
        stack.put_setting(f"channels/main/{key}", value)
    product = {
        "id": 632910392,
        "title": "Mug",
        "tags": "",
        "updated_at": "2026-11-01T10:00:00Z",
        "variants": [{"id": 808950810, "sku": "MUG-01", "inventory_item_id": 39072856}],
    }

    post_shopify(stack, "products/update", product)

    assert listings_of("MUG-01") == {"main": Listing("main", "MUG-01", "39072856", "catalog")}
    assert listings_of("TEE-M") == {"main": None}


def test_a_bad_link_is_400_naming_the_field_and_stores_nothing(stack: Stack) -> None:
    answer = linked(stack, {"channel": "Main Shop", "sku": "MUG-01", "listing_id": "1"})

    assert answer.status_code == 400 and answer.json_body["field"] == "data.channel"
    assert stack.items() == []
