"""`shopflow local`'s fake Shopify and WooCommerce shops: the channels a fresh data dir sells on,
and what the shops list and show across a restart."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from shopflow.channels.adapters.shopify import ShopifyChannel
from shopflow.channels.adapters.woocommerce import WooCommerceChannel
from shopflow.channels.ports import ChannelConfig, PricePush
from shopflow.config.settings import ssm_path
from shopflow.local.fake_channels import FakeChannels, FakeChannelsError
from shopflow.local.fakes.woocommerce import DEFAULT_KEY, DEFAULT_SECRET
from shopflow.local.runtime import LocalOptions, LocalRuntime
from shopflow.target import LOCAL_REGION

ROOT = ssm_path("local")


@pytest.fixture
def shops(tmp_path: Path) -> Iterator[FakeChannels]:
    running = FakeChannels(tmp_path, report=lambda line: None).start()
    yield running
    running.stop()


@pytest.fixture
def ssm() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("ssm", region_name=LOCAL_REGION)


def stored(ssm: Any) -> dict[str, str]:
    pages = ssm.get_paginator("get_parameters_by_path").paginate(
        Path=ROOT, Recursive=True, WithDecryption=True
    )
    return {p["Name"].removeprefix(ROOT + "/"): p["Value"] for page in pages for p in page["Parameters"]}


def point(runtime_dir: Path, shops: FakeChannels, ssm: Any) -> list[str]:
    said: list[str] = []
    runtime = LocalRuntime(LocalOptions(data_dir=runtime_dir), report=said.append)
    runtime.fake_channels = shops
    runtime._point_channels_at_fakes(ssm, ROOT, {f"{ROOT}/{name}": v for name, v in stored(ssm).items()})
    return said


def test_a_listed_sku_shows_on_both_shops_and_both_come_back_after_a_restart(tmp_path: Path) -> None:
    shops = FakeChannels(tmp_path, report=lambda line: None).start()
    listings = shops.add("MUG-01", quantity=5)
    assert listings == {"shop": "44000001", "woo": "101"}
    assert shops.add("MUG-01") == listings  # listed once
    assert shops.shopify is not None and shops.woocommerce is not None
    shops.shopify.sell(44000001, 2)  # sales on each shop
    shops.woocommerce.sell("101", 1)
    urls = shops.urls
    shops.stop()

    again = FakeChannels(tmp_path, report=lambda line: None).start()
    try:
        assert again.urls == urls  # where the channel settings point
        assert [(r.channel, r.sku, r.listing_id, r.quantity) for r in again.shown()] == [
            ("shop", "MUG-01", "44000001", 3),
            ("woo", "MUG-01", "101", 4),
        ]
        assert again.add("CUP-02") == {"shop": "44000002", "woo": "102"}
    finally:
        again.stop()


def test_a_shop_taken_down_refuses_connections_until_it_is_back(shops: FakeChannels) -> None:
    import urllib.error
    import urllib.request

    shops.set_down("woo", True)
    assert shops.down() == {"woo"}
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(shops.urls["woo"] + "/wp-json/wc/v3/products", timeout=5)  # noqa: S310
    shops.set_down("woo", False)
    with pytest.raises(urllib.error.HTTPError) as refused:  # listening again: no key, 401
        urllib.request.urlopen(shops.urls["woo"] + "/wp-json/wc/v3/products", timeout=5)  # noqa: S310
    assert refused.value.code == 401
    with pytest.raises(FakeChannelsError, match="no fake channel 'amazon'"):
        shops.set_down("amazon", True)
    with pytest.raises(FakeChannelsError, match="1 to 100"):
        shops.add("  ")


def test_a_fresh_data_dir_sells_on_the_fake_shops(tmp_path: Path, shops: FakeChannels, ssm: Any) -> None:
    said = point(tmp_path, shops, ssm)

    assert stored(ssm) == {
        "channels/shop/kind": "shopify",
        "channels/shop/url": shops.urls["shop"],
        "channels/shop/token": "shpat_fake_local_token",
        "channels/shop/location_id": "75000001",
        "channels/woo/kind": "woocommerce",
        "channels/woo/url": shops.urls["woo"],
        "channels/woo/token": f"{DEFAULT_KEY}:{DEFAULT_SECRET}",
    }
    token = ssm.get_parameter(Name=f"{ROOT}/channels/woo/token")["Parameter"]
    assert token["Type"] == "SecureString"
    assert any("sales channels of this instance: shop" in line for line in said)


def test_the_owners_channels_are_left_alone(tmp_path: Path, shops: FakeChannels, ssm: Any) -> None:
    ssm.put_parameter(Name=f"{ROOT}/channels/main-shop/kind", Value="shopify", Type="String")

    assert point(tmp_path, shops, ssm) == []
    assert stored(ssm) == {"channels/main-shop/kind": "shopify"}


def test_a_shop_that_could_not_get_its_port_back_is_followed(
    tmp_path: Path, shops: FakeChannels, ssm: Any
) -> None:
    point(tmp_path, shops, ssm)
    shops.previous_urls = {"shop": "http://127.0.0.1:1", "woo": shops.urls["woo"]}
    ssm.put_parameter(
        Name=f"{ROOT}/channels/shop/url", Value="http://127.0.0.1:1", Type="String", Overwrite=True
    )

    said = point(tmp_path, shops, ssm)

    assert stored(ssm)["channels/shop/url"] == shops.urls["shop"]
    assert said == [
        f"fake channel shop moved from http://127.0.0.1:1 to {shops.urls['shop']}; channels.shop.url follows"
    ]


def woo_products(shops: FakeChannels, token: str) -> int:
    """The status the fake WooCommerce answers a product listing with `token` (key:secret)."""
    import base64
    import urllib.error
    import urllib.request

    request = urllib.request.Request(  # noqa: S310 - the local fake
        shops.urls["woo"] + "/wp-json/wc/v3/products",
        headers={"Authorization": "Basic " + base64.b64encode(token.encode()).decode()},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - the local fake
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_a_revoked_token_is_refused_and_the_new_one_is_kept_across_a_restart(tmp_path: Path) -> None:
    shops = FakeChannels(tmp_path, report=lambda line: None).start()
    issued = f"{DEFAULT_KEY}:{DEFAULT_SECRET}"
    assert woo_products(shops, issued) == 200
    new = shops.fault("woo", "revoke-token")["token"]
    assert new != issued
    assert (woo_products(shops, issued), woo_products(shops, new)) == (401, 200)
    old_shop_token = shops.settings()["channels.shop.token"]
    new_shop_token = shops.fault("shop", "revoke-token")["token"]
    assert shops.shopify is not None and shops.shopify.token == new_shop_token != old_shop_token
    shops.stop()

    again = FakeChannels(tmp_path, report=lambda line: None).start()
    try:
        assert (woo_products(again, issued), woo_products(again, new)) == (401, 200)
        assert again.shopify is not None and again.shopify.token == new_shop_token
    finally:
        again.stop()


def test_faults_name_what_they_need_and_nothing_else_changes(shops: FakeChannels) -> None:
    shops.add("MUG-01", quantity=5)
    for channel, fault, sku, refused in (
        ("amazon", "down", None, "no fake channel 'amazon'"),
        ("woo", "explode", None, "no fault 'explode'"),
        ("woo", "bad-item", None, "needs --sku"),
        ("woo", "bad-item", "NOT-LISTED", "needs --sku"),
        ("woo", "stale", "MUG-01", "not something a woocommerce shop does"),
        ("shop", "bad-item", "MUG-01", "not something a shopify shop does"),
    ):
        with pytest.raises(FakeChannelsError, match=refused):
            shops.fault(channel, fault, sku=sku)
    with pytest.raises(FakeChannelsError, match="1 to 10000"):
        shops.fault("woo", "unavailable", times=0)
    assert [r.quantity for r in shops.shown()] == [5, 5]
    assert shops.down() == set()


def test_a_sale_on_a_shop_shows_there_and_traffic_counts_nothing_for_it(shops: FakeChannels) -> None:
    shops.add("MUG-01", quantity=5)
    said = shops.fault("shop", "sell", sku="MUG-01", times=2)["fault"]
    assert said.startswith("shop 2 units of MUG-01 sell on the shop")
    shops.fault("woo", "sell", sku="MUG-01")
    assert [r.quantity for r in shops.shown()] == [3, 4]
    assert shops.traffic() == {
        "shop": {
            "requests": 0,
            "throttled": 0,
            "writes": 0,
            "items": 0,
            "largest": 0,
            "price_writes": 0,
            "prices": 0,
        },
        "woo": {
            "requests": 0,
            "throttled": 0,
            "writes": 0,
            "items": 0,
            "largest": 0,
            "price_writes": 0,
            "prices": 0,
        },
    }
    shops.fault("woo", "unavailable", times=2)
    issued = f"{DEFAULT_KEY}:{DEFAULT_SECRET}"
    assert [woo_products(shops, issued) for _ in range(3)] == [503, 503, 200]
    assert shops.traffic()["woo"] == {
        "requests": 3,
        "throttled": 0,
        "writes": 0,
        "items": 0,
        "largest": 0,
        "price_writes": 0,
        "prices": 0,
    }


def test_a_listed_sku_sells_at_49_99_and_a_pushed_price_shows_is_counted_and_survives_a_restart(
    tmp_path: Path,
) -> None:
    shops = FakeChannels(tmp_path, report=lambda line: None).start()
    shops.add("MUG-01", quantity=5)
    assert [r.as_json() for r in shops.shown()] == [
        {"channel": "shop", "kind": "shopify", "sku": "MUG-01", "listing_id": "44000001", "quantity": 5,
         "price": "49.99", "compare_at_price": None},
        {"channel": "woo", "kind": "woocommerce", "sku": "MUG-01", "listing_id": "101", "quantity": 5,
         "regular_price": "49.99", "sale_price": "", "price": "49.99"},
    ]  # fmt: skip
    settings = shops.settings()
    shopify = ShopifyChannel(
        ChannelConfig(
            "shop", "shopify", settings["channels.shop.url"], settings["channels.shop.token"], "75000001"
        )
    )
    woo = WooCommerceChannel(
        ChannelConfig("woo", "woocommerce", settings["channels.woo.url"], settings["channels.woo.token"])
    )
    cut = {"price": Decimal("39.99"), "was": Decimal("49.99"), "currency": "USD", "sequence": 1}
    assert shopify.push_prices([PricePush("44000001", "MUG-01", **cut)])[0].status == "acknowledged"
    assert woo.push_prices([PricePush("101", "MUG-01", **cut)])[0].status == "acknowledged"
    traffic = shops.traffic()
    assert [
        (traffic[c]["price_writes"], traffic[c]["prices"], traffic[c]["writes"]) for c in ("shop", "woo")
    ] == [
        (1, 1, 0),
        (1, 1, 0),
    ]
    shops.stop()

    again = FakeChannels(tmp_path, report=lambda line: None).start()
    try:
        assert [r.prices for r in again.shown()] == [
            {"price": "39.99", "compare_at_price": "49.99"},
            {"regular_price": "49.99", "sale_price": "39.99", "price": "39.99"},
        ]
    finally:
        again.stop()
