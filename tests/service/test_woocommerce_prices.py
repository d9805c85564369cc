"""WooCommerce prices over real HTTP against the fake shop: regular and sale price per listing, sent
through the batch endpoints (100 a call), and what a shopper pays afterwards."""

from __future__ import annotations

import json
from base64 import b64encode
from collections.abc import Iterator
from decimal import Decimal

import pytest

from shopflow.channels.adapters.http_calls import send
from shopflow.channels.adapters.woocommerce import WooCommerceChannel
from shopflow.channels.ports import (
    ChannelConfig,
    PricePush,
    PricePushed,
    Throttled,
    Unauthorized,
    Unavailable,
)
from shopflow.local.fakes.woocommerce import DEFAULT_PRICE, FakeWooCommerce
from tests.service.test_woocommerce_channel import Sleeps


@pytest.fixture
def shop() -> Iterator[FakeWooCommerce]:
    with FakeWooCommerce() as fake:
        yield fake


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def channel(shop: FakeWooCommerce, sleeps: Sleeps, *, token: str | None = None) -> WooCommerceChannel:
    config = ChannelConfig(name="woo", kind="woocommerce", url=shop.url, token=token or shop.token)
    return WooCommerceChannel(config, sleep=sleeps, timeout=2)


def price(listing_id: str, amount: str, was: str | None = None, sequence: int = 1) -> PricePush:
    return PricePush(
        listing_id=listing_id,
        sku=f"SKU-{listing_id}",
        price=Decimal(amount),
        was=None if was is None else Decimal(was),
        currency="EUR",
        sequence=sequence,
    )


def shows(shop: FakeWooCommerce, listing_id: str) -> tuple[str, str, str]:
    """(regular_price, sale_price, price paid) as the shop shows them."""
    prices = shop.prices(listing_id)
    assert prices is not None
    return prices["regular_price"], prices["sale_price"], prices["price"]


def test_a_price_is_the_regular_price_with_no_sale(shop: FakeWooCommerce, sleeps: Sleeps) -> None:
    shop.add_product(5, sku="MUG", stock=3)
    assert shows(shop, "5") == (DEFAULT_PRICE, "", DEFAULT_PRICE)

    results = channel(shop, sleeps).push_prices([price("5", "19.9")])

    assert results == [PricePushed("5", "acknowledged")]
    assert shows(shop, "5") == ("19.90", "", "19.90")
    assert shop.listing("5") == {
        "stock_quantity": 3,
        "regular_price": "19.90",
        "sale_price": "",
        "price": "19.90",
    }
    assert [(r.method, r.path, r.body) for r in shop.requests] == [
        ("POST", "/products/batch", {"update": [{"id": 5, "regular_price": "19.90", "sale_price": ""}]})
    ]


def test_a_cut_is_a_sale_price_under_the_prior_price_struck_through(
    shop: FakeWooCommerce, sleeps: Sleeps
) -> None:
    shop.add_product(5, sku="MUG")

    results = channel(shop, sleeps).push_prices([price("5", "19.99", was="24.99")])

    assert results == [PricePushed("5", "acknowledged")]
    assert shows(shop, "5") == ("24.99", "19.99", "19.99")
    assert shop.item("5")["on_sale"] is True  # type: ignore[index]


def test_a_price_that_is_no_longer_a_cut_ends_the_sale(shop: FakeWooCommerce, sleeps: Sleeps) -> None:
    shop.add_product(5, sku="MUG")
    adapter = channel(shop, sleeps)
    adapter.push_prices([price("5", "19.99", was="24.99", sequence=1)])

    results = adapter.push_prices([price("5", "22.00", sequence=2)])

    assert results == [PricePushed("5", "acknowledged")]
    assert shows(shop, "5") == ("22.00", "", "22.00")


def test_variations_go_in_one_call_per_parent_and_simple_products_together(
    shop: FakeWooCommerce, sleeps: Sleeps
) -> None:
    shop.add_product(5)
    shop.add_variation(10, 11)
    shop.add_variation(10, 12)

    results = channel(shop, sleeps).push_prices(
        [price("10/11", "9.99"), price("5", "4.00", was="5.00"), price("10/12", "12.99")]
    )

    assert [r.status for r in results] == ["acknowledged"] * 3
    assert [shows(shop, listing) for listing in ("10/11", "10/12", "5")] == [
        ("9.99", "", "9.99"),
        ("12.99", "", "12.99"),
        ("5.00", "4.00", "4.00"),
    ]
    assert [(r.path, len(r.body["update"])) for r in shop.requests] == [
        ("/products/10/variations/batch", 2),
        ("/products/batch", 1),
    ]


def test_250_prices_are_three_batch_calls_of_at_most_100(shop: FakeWooCommerce, sleeps: Sleeps) -> None:
    for n in range(1, 251):
        shop.add_product(n)

    results = channel(shop, sleeps).push_prices([price(str(n), f"{n}.50") for n in range(1, 251)])

    assert {r.status for r in results} == {"acknowledged"}
    assert [shows(shop, str(n))[2] for n in (1, 100, 101, 250)] == ["1.50", "100.50", "101.50", "250.50"]
    assert [len(r.body["update"]) for r in shop.requests] == [100, 100, 50]
    assert channel(shop, sleeps).price_batch_limit == 100


def test_an_item_the_shop_refuses_is_rejected_and_the_others_land(
    shop: FakeWooCommerce, sleeps: Sleeps
) -> None:
    for n in (5, 6, 7):
        shop.add_product(n)
    shop.fail_item("6")  # the `bad-item` fault of `shopflow local`

    results = channel(shop, sleeps).push_prices([price("5", "1.00"), price("6", "2.00"), price("7", "3.00")])

    assert results == [
        PricePushed("5", "acknowledged"),
        PricePushed(
            "6", "rejected", "woocommerce_rest_cannot_edit: Sorry, you are not allowed to edit this resource."
        ),
        PricePushed("7", "acknowledged"),
    ]
    assert [shows(shop, n)[2] for n in ("5", "6", "7")] == ["1.00", DEFAULT_PRICE, "3.00"]
    assert shop.request_count == 1


def test_an_unknown_product_or_a_cut_above_its_prior_price_is_rejected_alone(
    shop: FakeWooCommerce, sleeps: Sleeps
) -> None:
    shop.add_product(5)

    results = channel(shop, sleeps).push_prices(
        [price("404", "1.00"), price("5", "3.00", was="2.00"), price("x", "1.00")]
    )

    assert results == [
        PricePushed("404", "rejected", "woocommerce_rest_product_invalid_id: Invalid ID."),
        PricePushed("5", "rejected", "was 2.00 is not above the price 3.00: only a cut shows a prior price"),
        PricePushed(
            "x", "rejected", "invalid listing id: expected {product_id} or {product_id}/{variation_id}"
        ),
    ]
    assert shows(shop, "5") == (DEFAULT_PRICE, "", DEFAULT_PRICE)


def test_a_revoked_key_is_unauthorized_and_nothing_changes(shop: FakeWooCommerce, sleeps: Sleeps) -> None:
    shop.add_product(5)
    shop.revoke_key()

    with pytest.raises(Unauthorized, match="woocommerce_rest_cannot_batch"):
        channel(shop, sleeps).push_prices([price("5", "1.00")])

    assert shop.request_count == 1 and shows(shop, "5")[2] == DEFAULT_PRICE


def test_a_429_is_waited_out_then_the_prices_land(shop: FakeWooCommerce, sleeps: Sleeps) -> None:
    shop.add_product(5)
    shop.throttle(1, retry_after="1")

    results = channel(shop, sleeps).push_prices([price("5", "1.00")])

    assert results == [PricePushed("5", "acknowledged")]
    assert sleeps == [1.0] and [r.status for r in shop.requests] == [429, 200]
    assert shows(shop, "5")[2] == "1.00"


def test_a_shop_that_keeps_throttling_ends_in_throttled(shop: FakeWooCommerce, sleeps: Sleeps) -> None:
    shop.add_product(5)
    shop.throttle(10)

    with pytest.raises(Throttled):
        channel(shop, sleeps).push_prices([price("5", "1.00")])

    assert shows(shop, "5")[2] == DEFAULT_PRICE


def test_a_shop_that_is_down_or_answers_503_is_unavailable(shop: FakeWooCommerce, sleeps: Sleeps) -> None:
    shop.add_product(5)
    with shop.down(), pytest.raises(Unavailable):
        channel(shop, sleeps).push_prices([price("5", "1.00")])
    shop.fail_next(1, 503)
    with pytest.raises(Unavailable):
        channel(shop, sleeps).push_prices([price("5", "1.00")])

    assert shows(shop, "5")[2] == DEFAULT_PRICE


def test_the_fake_refuses_a_price_that_is_not_a_string_for_that_item_only(shop: FakeWooCommerce) -> None:
    shop.add_product(5)
    shop.add_product(6)
    key, _, secret = shop.token.partition(":")
    body = {"update": [{"id": 5, "regular_price": 19.99}, {"id": 6, "regular_price": "7.00"}]}

    answer = send(
        f"{shop.url}/wp-json/wc/v3/products/batch",
        method="POST",
        headers={
            "Authorization": "Basic " + b64encode(f"{key}:{secret}".encode()).decode(),
            "Content-Type": "application/json",
        },
        body=json.dumps(body).encode(),
        timeout=2,
    )

    refused, taken = json.loads(answer.body)["update"]
    assert answer.status == 200
    assert refused["error"] == {
        "code": "rest_invalid_param",
        "message": "Invalid parameter(s): regular_price",
        "data": {"status": 400},
    }
    assert taken["price"] == "7.00" and shows(shop, "5")[2] == DEFAULT_PRICE
