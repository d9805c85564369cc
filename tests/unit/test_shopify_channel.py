"""The Shopify adapter's pure parts: global ids, the idempotency key, the wait a THROTTLED answer asks for."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from shopflow.channels.adapters.shopify import (
    PRICE_TARGET_COST_PER_ITEM,
    PRICE_TARGETS,
    PRICE_TARGETS_CHUNK,
    READ_CHUNK,
    READ_COST_PER_ITEM,
    SET_PRICES,
    SET_QUANTITIES,
    ShopifyChannel,
    gid,
    idempotency_key,
    throttle_wait,
)
from shopflow.channels.ports import ChannelConfig, PricePush, Push

LOCATION = "gid://shopify/Location/124656943"


def push(listing: str = "30322695", quantity: int = 4, seen: int | None = 5, version: int = 7) -> Push:
    return Push(listing_id=listing, sku=f"SKU-{listing}", quantity=quantity, seen_there=seen, version=version)


def test_global_ids_are_built_from_numeric_ids_and_a_gid_passes_as_is() -> None:
    assert gid("InventoryItem", "30322695") == "gid://shopify/InventoryItem/30322695"
    assert gid("Location", "124656943") == LOCATION
    assert gid("InventoryItem", "gid://shopify/InventoryItem/1") == "gid://shopify/InventoryItem/1"


@pytest.mark.parametrize("bad", ["", "12a", "-1", "gid://shopify/ProductVariant/1", '1") { x'])
def test_anything_else_is_not_a_shopify_id(bad: str) -> None:
    with pytest.raises(ValueError, match="not a Shopify InventoryItem id"):
        gid("InventoryItem", bad)


def test_a_retry_of_the_same_call_reuses_its_key_whatever_the_order_of_rows() -> None:
    rows = [push("1"), push("2", quantity=0), push("3", seen=None)]
    key = idempotency_key(LOCATION, rows)
    assert uuid.UUID(key).version == 5
    assert idempotency_key(LOCATION, list(reversed(rows))) == key


@pytest.mark.parametrize(
    "changed",
    [
        push(quantity=3),  # a new target
        push(version=8),  # a newer stock version
        push(seen=4),  # decided again after a stale answer
        push(listing="30322696"),
    ],
)
def test_a_different_intent_gets_a_different_key(changed: Push) -> None:
    assert idempotency_key(LOCATION, [changed]) != idempotency_key(LOCATION, [push()])


def test_another_location_or_a_new_attempt_gets_a_different_key() -> None:
    key = idempotency_key(LOCATION, [push()])
    assert idempotency_key("gid://shopify/Location/1", [push()]) != key
    assert idempotency_key(LOCATION, [push()], attempt=1) != key


def test_the_wait_is_the_missing_points_over_the_restore_rate() -> None:
    cost = {
        "requestedQueryCost": 70,
        "actualQueryCost": None,
        "throttleStatus": {"maximumAvailable": 1000, "currentlyAvailable": 66, "restoreRate": 50},
    }
    assert throttle_wait(cost) == pytest.approx(0.08)


def test_no_wait_when_the_bucket_already_holds_the_cost_and_none_without_a_cost() -> None:
    enough = {
        "requestedQueryCost": 10,
        "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1988.0, "restoreRate": 100.0},
    }
    assert throttle_wait(enough) == 0.0
    assert throttle_wait(None) is None
    assert throttle_wait({"requestedQueryCost": 10, "throttleStatus": {"restoreRate": 0}}) is None


def test_a_read_of_a_full_chunk_stays_within_the_single_query_cost_limit() -> None:
    assert READ_CHUNK == 250
    assert READ_CHUNK * READ_COST_PER_ITEM <= 1000


def test_the_mutation_carries_values_only_as_variables() -> None:
    assert "$input: InventorySetQuantitiesInput!" in SET_QUANTITIES
    assert "@idempotent(key: $idempotencyKey)" in SET_QUANTITIES
    assert "gid://" not in SET_QUANTITIES


def test_the_price_queries_carry_values_only_as_variables_and_a_chunk_fits_one_query() -> None:
    assert "$productId: ID!" in SET_PRICES and "$variants: [ProductVariantsBulkInput!]!" in SET_PRICES
    assert "$ids: [ID!]!" in PRICE_TARGETS
    assert "gid://" not in SET_PRICES + PRICE_TARGETS
    assert 1 + PRICE_TARGETS_CHUNK * PRICE_TARGET_COST_PER_ITEM <= 1000  # `shop` + each item's three objects


def test_a_shopify_channel_needs_its_location() -> None:
    config = ChannelConfig(name="shop", kind="shopify", url="https://x.myshopify.com", token="t")
    with pytest.raises(ValueError, match=r"channels\.shop\.location_id"):
        ShopifyChannel(config)


def test_more_than_250_pushes_or_a_listing_twice_is_refused_before_any_request() -> None:
    config = ChannelConfig(name="shop", kind="shopify", url="http://127.0.0.1:9", token="t", location_id="1")
    channel = ShopifyChannel(config)
    assert channel.batch_limit == 250
    with pytest.raises(ValueError, match="at most 250"):
        channel.push([push(str(n)) for n in range(1, 252)])
    with pytest.raises(ValueError, match="one push per listing"):
        channel.push([push("1"), push("1", quantity=2)])


def test_more_than_250_prices_or_a_listing_priced_twice_is_refused_before_any_request() -> None:
    config = ChannelConfig(name="shop", kind="shopify", url="http://127.0.0.1:9", token="t", location_id="1")
    channel = ShopifyChannel(config)

    def price(listing: str, amount: str = "1.00") -> PricePush:
        return PricePush(listing, f"SKU-{listing}", Decimal(amount), None, "EUR", 1)

    assert channel.price_batch_limit == 250
    with pytest.raises(ValueError, match="at most 250"):
        channel.push_prices([price(str(n)) for n in range(1, 252)])
    with pytest.raises(ValueError, match="one price per listing"):
        channel.push_prices([price("1"), price("1", "2.00")])
