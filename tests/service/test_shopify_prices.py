"""Shopify prices over real HTTP against the local fake Shopify: what each variant sells at afterwards.

A listing is an inventory item; the adapter finds its variant and product with one `nodes` query,
then sends one `productVariantsBulkUpdate` per product. The fake gives items, variants and products
different ids (as Shopify does), so sending the wrong id cannot pass.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from shopflow.channels.adapters.shopify import PRICE_TARGETS, PRICE_TARGETS_CHUNK, SET_PRICES, ShopifyChannel
from shopflow.channels.ports import (
    ChannelConfig,
    PricePush,
    PricePushed,
    Throttled,
    Unauthorized,
    Unavailable,
)
from shopflow.local.fakes.shopify import DEFAULT_PRICE, DEFAULT_TOKEN, FakeShopify, ManualClock
from tests.service.test_shopify_channel import Sleeper

PRODUCT = 7001  # a product with several variants (MUG in sizes)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=1000.0)


@pytest.fixture
def shop(clock: ManualClock) -> Iterator[FakeShopify]:
    with FakeShopify(clock=clock, location_id=1, currency="EUR") as fake:
        yield fake


@pytest.fixture
def sleeper(clock: ManualClock) -> Sleeper:
    return Sleeper(clock)


def channel_for(shop: FakeShopify, sleeper: Sleeper, *, token: str = DEFAULT_TOKEN) -> ShopifyChannel:
    config = ChannelConfig(name="shop", kind="shopify", url=shop.url, token=token, location_id="1")
    return ShopifyChannel(config, sleep=sleeper, timeout=5)


@pytest.fixture
def channel(shop: FakeShopify, sleeper: Sleeper) -> ShopifyChannel:
    return channel_for(shop, sleeper)


def price(
    item: int, amount: str, was: str | None = None, currency: str = "EUR", sequence: int = 1
) -> PricePush:
    return PricePush(
        listing_id=str(item),
        sku=f"SKU-{item}",
        price=Decimal(amount),
        was=None if was is None else Decimal(was),
        currency=currency,
        sequence=sequence,
    )


def shows(shop: FakeShopify, item: int) -> tuple[str | None, str | None]:
    prices = shop.prices(item)
    assert prices is not None
    return prices["price"], prices["compare_at_price"]


def test_a_new_listing_sells_at_the_starting_price_and_a_pushed_price_replaces_it(
    shop: FakeShopify, channel: ShopifyChannel
) -> None:
    shop.add_item(11, "MUG", available=5)
    assert shows(shop, 11) == (DEFAULT_PRICE, None)

    answers = channel.push_prices([price(11, "19.9")])

    assert answers == [PricePushed("11", "acknowledged")]
    assert shows(shop, 11) == ("19.90", None)
    assert shop.listing(11) == {"available": 5, "price": "19.90", "compare_at_price": None}
    assert [(call.operation, call.prices) for call in shop.calls] == [("query", 0), ("mutation", 1)]


def test_a_cut_shows_the_prior_price_struck_through(shop: FakeShopify, channel: ShopifyChannel) -> None:
    shop.add_item(11, "MUG", price="24.99")

    answers = channel.push_prices([price(11, "19.99", was="24.99")])

    assert answers == [PricePushed("11", "acknowledged")]
    assert shows(shop, 11) == ("19.99", "24.99")


def test_a_price_that_is_no_longer_a_cut_clears_the_struck_through_price(
    shop: FakeShopify, channel: ShopifyChannel
) -> None:
    shop.add_item(11, "MUG", price="19.99", compare_at_price="24.99")

    channel.push_prices([price(11, "22.00")])

    assert shows(shop, 11) == ("22.00", None)


def test_variants_of_two_products_are_two_mutations_and_each_variant_gets_its_own_price(
    shop: FakeShopify, channel: ShopifyChannel
) -> None:
    shop.add_item(11, "MUG-S", product_id=PRODUCT)
    shop.add_item(12, "MUG-L", product_id=PRODUCT)
    shop.add_item(21, "CUP")

    answers = channel.push_prices([price(11, "9.99"), price(21, "4.50", was="5.00"), price(12, "12.99")])

    assert [a.status for a in answers] == ["acknowledged"] * 3
    assert [shows(shop, item) for item in (11, 12, 21)] == [("9.99", None), ("12.99", None), ("4.50", "5.00")]
    assert shop.price_updates == 2
    assert [call.prices for call in shop.calls if call.operation == "mutation"] == [2, 1]


def test_250_variants_of_one_product_are_one_query_and_one_mutation_and_251_are_refused(
    shop: FakeShopify, channel: ShopifyChannel
) -> None:
    for item in range(1, 252):
        shop.add_item(item, f"SKU-{item}", product_id=PRODUCT)

    answers = channel.push_prices([price(item, f"{item}.99") for item in range(1, 251)])

    assert {a.status for a in answers} == {"acknowledged"}
    assert [shows(shop, item)[0] for item in (1, 250)] == ["1.99", "250.99"]
    assert [(call.operation, call.requested_cost, call.prices) for call in shop.calls] == [
        ("query", 1 + 250 * 3, 0),  # shop + (item, variant, product) per id: within 1000 points
        ("mutation", 10, 250),
    ]
    with pytest.raises(ValueError, match="at most 250"):
        channel.push_prices([price(item, "1.00") for item in range(1, 252)])
    assert shop.requests == 2 and shows(shop, 251) == (DEFAULT_PRICE, None)
    assert PRICE_TARGETS_CHUNK == 250


def test_a_variant_shopify_refuses_is_rejected_and_the_others_land(
    shop: FakeShopify, channel: ShopifyChannel
) -> None:
    shop.add_item(11, "MUG-S", product_id=PRODUCT)
    shop.add_item(12, "MUG-L", product_id=PRODUCT)
    shop.refuse_variant(12, "INVALID_INPUT", "Price is not valid for this variant.")

    answers = channel.push_prices([price(11, "9.99"), price(12, "12.99")])

    assert answers == [
        PricePushed("11", "acknowledged"),
        PricePushed("12", "rejected", "INVALID_INPUT: Price is not valid for this variant."),
    ]
    assert [shows(shop, item) for item in (11, 12)] == [("9.99", None), (DEFAULT_PRICE, None)]


def test_an_unknown_item_another_currency_or_a_cut_above_its_prior_price_is_rejected_alone(
    shop: FakeShopify, channel: ShopifyChannel
) -> None:
    shop.add_item(11, "MUG")
    shop.add_item(12, "CUP")
    shop.add_item(13, "BOWL")

    answers = channel.push_prices(
        [
            price(99, "1.00"),
            price(12, "5.00", currency="PLN"),
            price(13, "5.00", was="4.00"),
            price(11, "8.00"),
        ]
    )

    assert [(a.listing_id, a.status) for a in answers] == [
        ("99", "rejected"),
        ("12", "rejected"),
        ("13", "rejected"),
        ("11", "acknowledged"),
    ]
    assert answers[0].error is not None and answers[0].error.startswith("not found")
    assert answers[1].error == "currency PLN: the shop sells in EUR"
    assert answers[2].error == "was 4.00 is not above the price 5.00: only a cut shows a prior price"
    assert [shows(shop, item)[0] for item in (11, 12, 13)] == ["8.00", DEFAULT_PRICE, DEFAULT_PRICE]


def test_a_wrong_token_is_unauthorized_and_nothing_changes(shop: FakeShopify, sleeper: Sleeper) -> None:
    shop.add_item(11, "MUG")

    with pytest.raises(Unauthorized):
        channel_for(shop, sleeper, token="shpat_revoked").push_prices([price(11, "9.99")])

    assert shop.requests == 1 and shows(shop, 11) == (DEFAULT_PRICE, None)


def test_a_throttled_shop_is_waited_out_then_the_price_lands(
    shop: FakeShopify, channel: ShopifyChannel, sleeper: Sleeper
) -> None:
    shop.add_item(11, "MUG")
    shop.set_bucket(size=20, restore_rate=5, available=4)  # enough for the query (4 points), then none

    answers = channel.push_prices([price(11, "9.99")])

    assert answers == [PricePushed("11", "acknowledged")]
    assert sleeper.waits == [2.0]  # the mutation's 10 points at 5 a second
    assert [call.throttled for call in shop.calls] == [False, True, False]
    assert shows(shop, 11) == ("9.99", None)


def test_a_bucket_that_does_not_refill_ends_in_throttled_and_nothing_changes(shop: FakeShopify) -> None:
    shop.add_item(11, "MUG")
    shop.set_bucket(size=2000, restore_rate=1, available=0)
    stalled = Sleeper(None)  # the fake's clock stands still: the bucket never refills

    with pytest.raises(Throttled):
        channel_for(shop, stalled).push_prices([price(11, "9.99")])

    assert len(stalled.waits) == 3 and shows(shop, 11) == (DEFAULT_PRICE, None)


def test_a_shop_that_is_down_or_answers_503_is_unavailable(
    shop: FakeShopify, channel: ShopifyChannel
) -> None:
    shop.add_item(11, "MUG")
    shop.go_down()
    with pytest.raises(Unavailable):
        channel.push_prices([price(11, "9.99")])
    shop.come_back()
    shop.fail_next(1, status=503)
    with pytest.raises(Unavailable):
        channel.push_prices([price(11, "9.99")])

    assert shows(shop, 11) == (DEFAULT_PRICE, None)
    assert channel.push_prices([price(11, "9.99")]) == [PricePushed("11", "acknowledged")]


# -- the fake answers productVariantsBulkUpdate as Shopify documents it (raw HTTP, no adapter) --------


def post(shop: FakeShopify, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 - the fake on 127.0.0.1
        f"{shop.url}/admin/api/2026-01/graphql.json",
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json", "X-Shopify-Access-Token": DEFAULT_TOKEN},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            answer: dict[str, Any] = json.loads(response.read())
    except urllib.error.HTTPError as error:
        answer = json.loads(error.read())
    return answer


def variant(shop: FakeShopify, item: int) -> str:
    return f"gid://shopify/ProductVariant/{shop.variant_of(item)[0]}"


def test_the_fake_finds_each_items_variant_and_product_and_the_shops_currency(shop: FakeShopify) -> None:
    shop.add_item(11, "MUG-S", product_id=PRODUCT)

    answer = post(
        shop, PRICE_TARGETS, {"ids": ["gid://shopify/InventoryItem/11", "gid://shopify/InventoryItem/9"]}
    )

    assert answer["data"] == {
        "shop": {"currencyCode": "EUR"},
        "nodes": [
            {
                "id": "gid://shopify/InventoryItem/11",
                "variant": {"id": variant(shop, 11), "product": {"id": f"gid://shopify/Product/{PRODUCT}"}},
            },
            None,
        ],
    }


def test_without_partial_updates_one_bad_variant_applies_none(shop: FakeShopify) -> None:
    shop.add_item(11, "MUG-S", product_id=PRODUCT)
    shop.add_item(21, "CUP")
    rows = [{"id": variant(shop, 11), "price": "5.00"}, {"id": variant(shop, 21), "price": "6.00"}]

    answer = post(shop, SET_PRICES, {"productId": f"gid://shopify/Product/{PRODUCT}", "variants": rows})

    errors = answer["data"]["productVariantsBulkUpdate"]["userErrors"]
    assert [(e["code"], e["field"]) for e in errors] == [
        ("MUST_BE_FOR_THIS_PRODUCT", ["variants", "1", "id"])
    ]
    assert shows(shop, 11) == (DEFAULT_PRICE, None)


def test_the_fake_refuses_a_negative_price_an_unknown_product_a_number_and_251_variants(
    shop: FakeShopify,
) -> None:
    shop.add_item(11, "MUG-S", product_id=PRODUCT)
    product = f"gid://shopify/Product/{PRODUCT}"

    negative = post(
        shop, SET_PRICES, {"productId": product, "variants": [{"id": variant(shop, 11), "price": "-1.00"}]}
    )
    unknown = post(shop, SET_PRICES, {"productId": "gid://shopify/Product/1", "variants": []})
    number = post(
        shop, SET_PRICES, {"productId": product, "variants": [{"id": variant(shop, 11), "price": 5}]}
    )
    too_many = post(shop, SET_PRICES, {"productId": product, "variants": [{"id": variant(shop, 11)}] * 251})

    assert negative["data"]["productVariantsBulkUpdate"]["userErrors"][0]["code"] == "NEGATIVE_PRICE_VALUE"
    assert unknown["data"]["productVariantsBulkUpdate"]["userErrors"][0]["code"] == "PRODUCT_DOES_NOT_EXIST"
    assert 'Money must be a decimal string such as "19.99", not 5' in number["errors"][0]["message"]
    assert too_many["errors"][0]["extensions"]["code"] == "MAX_INPUT_SIZE_EXCEEDED"
    assert shows(shop, 11) == (DEFAULT_PRICE, None)
