"""The WooCommerce adapter against the fake shop over real HTTP on 127.0.0.1: batching within the
100-item limit, per-item errors rejected alone, throttling, a wrong key, a shop that is down."""

from __future__ import annotations

import json
from base64 import b64encode
from collections.abc import Iterator

import pytest

from shopflow.channels.adapters.http_calls import send
from shopflow.channels.adapters.woocommerce import WooCommerceChannel
from shopflow.channels.ports import ChannelConfig, ChannelError, Push, Throttled, Unauthorized, Unavailable
from shopflow.local.fakes.woocommerce import FakeWooCommerce


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def shop() -> Iterator[FakeWooCommerce]:
    with FakeWooCommerce() as fake:
        yield fake


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def channel(
    shop: FakeWooCommerce, sleeps: Sleeps, *, token: str | None = None, url: str | None = None
) -> WooCommerceChannel:
    config = ChannelConfig(name="woo", kind="woocommerce", url=url or shop.url, token=token or shop.token)
    return WooCommerceChannel(config, sleep=sleeps, timeout=2)


def push(listing_id: str, quantity: int, seen_there: int | None = None) -> Push:
    return Push(
        listing_id=listing_id, sku=f"SKU-{listing_id}", quantity=quantity, seen_there=seen_there, version=3
    )


def test_250_simple_products_cost_three_batch_calls_and_all_land(
    shop: FakeWooCommerce, sleeps: Sleeps
) -> None:
    for n in range(1, 251):
        shop.add_product(n, sku=f"SKU-{n}", stock=0)

    results = channel(shop, sleeps).push([push(str(n), n % 7) for n in range(1, 251)])

    assert [(r.listing_id, r.status, r.quantity_there) for r in results] == [
        (str(n), "acknowledged", n % 7) for n in range(1, 251)
    ]
    assert [shop.stock(str(n)) for n in range(1, 251)] == [n % 7 for n in range(1, 251)]
    assert [(r.method, r.path, len(r.body["update"])) for r in shop.requests] == [
        ("POST", "/products/batch", 100),
        ("POST", "/products/batch", 100),
        ("POST", "/products/batch", 50),
    ]
    first = shop.requests[0].body["update"][0]
    assert first == {"id": 1, "manage_stock": True, "stock_quantity": 1}


def test_variations_go_in_one_call_per_parent(shop: FakeWooCommerce, sleeps: Sleeps) -> None:
    shop.add_product(5, stock=1)
    for variation in (11, 12):
        shop.add_variation(10, variation, stock=1)
    shop.add_variation(20, 21, stock=1)

    results = channel(shop, sleeps).push([push("10/11", 4), push("5", 2), push("20/21", 0), push("10/12", 9)])

    assert [(r.listing_id, r.status, r.quantity_there) for r in results] == [
        ("10/11", "acknowledged", 4),
        ("5", "acknowledged", 2),
        ("20/21", "acknowledged", 0),
        ("10/12", "acknowledged", 9),
    ]
    assert sorted(r.path for r in shop.requests) == [
        "/products/10/variations/batch",
        "/products/20/variations/batch",
        "/products/batch",
    ]
    assert (shop.stock("10/11"), shop.stock("10/12"), shop.stock("20/21"), shop.stock("5")) == (4, 9, 0, 2)
    assert shop.item("20/21")["stock_status"] == "outofstock"


def test_one_bad_item_is_rejected_and_the_others_of_its_batch_land(
    shop: FakeWooCommerce, sleeps: Sleeps
) -> None:
    for n in (1, 2, 3):
        shop.add_product(n, stock=5)
    shop.fail_item("2")

    results = channel(shop, sleeps).push([push("1", 1), push("2", 1), push("3", 1), push("404", 1)])

    assert [(r.listing_id, r.status, r.quantity_there) for r in results] == [
        ("1", "acknowledged", 1),
        ("2", "rejected", None),
        ("3", "acknowledged", 1),
        ("404", "rejected", None),
    ]
    assert (
        results[1].error == "woocommerce_rest_cannot_edit: Sorry, you are not allowed to edit this resource."
    )
    assert results[3].error == "woocommerce_rest_product_invalid_id: Invalid ID."
    assert (shop.stock("1"), shop.stock("2"), shop.stock("3")) == (1, 5, 1)
    assert shop.request_count == 1


def test_a_product_whose_stock_was_not_managed_is_switched_to_managed(
    shop: FakeWooCommerce, sleeps: Sleeps
) -> None:
    shop.add_product(1, manage_stock=False)

    [result] = channel(shop, sleeps).push([push("1", 6)])

    assert (result.status, result.quantity_there) == ("acknowledged", 6)
    assert shop.item("1")["manage_stock"] is True


def test_a_shop_that_keeps_no_stock_rejects_the_push(sleeps: Sleeps) -> None:
    with FakeWooCommerce(shop_manages_stock=False) as shop:
        shop.add_product(1, manage_stock=False)

        [result] = channel(shop, sleeps).push([push("1", 6)])

    assert result.status == "rejected"
    assert "stock management is off" in (result.error or "")


def test_the_last_write_wins_whatever_seen_there_says(shop: FakeWooCommerce, sleeps: Sleeps) -> None:
    """WooCommerce has no compare-and-set: a storefront sale between read and write is overwritten."""
    shop.add_product(1, stock=5)
    shop.sell("1", 2)

    [result] = channel(shop, sleeps).push([push("1", 4, seen_there=5)])

    assert (result.status, result.quantity_there) == ("acknowledged", 4)
    assert shop.stock("1") == 4


def test_throttling_waits_retry_after_then_succeeds(shop: FakeWooCommerce, sleeps: Sleeps) -> None:
    shop.add_product(1, stock=5)
    shop.throttle(2, retry_after="3")

    [result] = channel(shop, sleeps).push([push("1", 2)])

    assert (result.status, shop.stock("1")) == ("acknowledged", 2)
    assert sleeps == [3.0, 3.0]
    assert shop.request_count == 3


def test_throttling_without_retry_after_backs_off(shop: FakeWooCommerce, sleeps: Sleeps) -> None:
    shop.add_product(1, stock=5)
    shop.throttle(1, retry_after=None)

    channel(shop, sleeps).push([push("1", 2)])

    assert sleeps == [1.0]


def test_throttling_that_lasts_raises_throttled_after_a_bounded_number_of_waits(
    shop: FakeWooCommerce, sleeps: Sleeps
) -> None:
    shop.add_product(1, stock=5)
    shop.throttle(10, retry_after="2")

    with pytest.raises(Throttled) as raised:
        channel(shop, sleeps).push([push("1", 2)])

    assert raised.value.retry_after == 2.0
    assert sleeps == [2.0, 2.0]
    assert shop.request_count == 3
    assert shop.stock("1") == 5


def test_a_long_retry_after_is_not_slept_through(shop: FakeWooCommerce, sleeps: Sleeps) -> None:
    shop.add_product(1, stock=5)
    shop.throttle(1, retry_after="600")

    with pytest.raises(Throttled) as raised:
        channel(shop, sleeps).push([push("1", 2)])

    assert (raised.value.retry_after, sleeps, shop.request_count) == (600.0, [], 1)


def test_a_revoked_key_is_unauthorized_after_exactly_one_request(
    shop: FakeWooCommerce, sleeps: Sleeps
) -> None:
    shop.add_product(1, stock=5)
    shop.revoke_key()

    with pytest.raises(Unauthorized, match="woocommerce_rest_cannot_batch"):
        channel(shop, sleeps).push([push("1", 2)])

    assert (shop.request_count, sleeps, shop.stock("1")) == (1, [], 5)


def test_a_wrong_secret_is_unauthorized_after_exactly_one_request(
    shop: FakeWooCommerce, sleeps: Sleeps
) -> None:
    shop.add_product(1, stock=5)

    with pytest.raises(Unauthorized, match="Consumer secret is invalid"):
        channel(shop, sleeps, token=f"{shop.consumer_key}:cs_wrong").read(["1"])

    assert shop.request_count == 1


@pytest.mark.parametrize("token", ["ck_only", ":cs_only", "ck:"])
def test_a_token_that_is_not_key_colon_secret_sends_nothing(
    shop: FakeWooCommerce, sleeps: Sleeps, token: str
) -> None:
    with pytest.raises(Unauthorized, match="consumer_key:consumer_secret"):
        channel(shop, sleeps, token=token).push([push("1", 2)])

    assert shop.request_count == 0


def test_the_key_is_never_sent_over_plain_http_to_another_host(sleeps: Sleeps) -> None:
    config = ChannelConfig(name="woo", kind="woocommerce", url="http://shop.example", token="ck_a:cs_b")

    with pytest.raises(Unauthorized, match="only over https"):
        WooCommerceChannel(config, sleep=sleeps).push([push("1", 2)])


def test_a_shop_that_is_down_is_unavailable(shop: FakeWooCommerce, sleeps: Sleeps) -> None:
    shop.add_product(1, stock=5)

    with shop.down(), pytest.raises(Unavailable, match="no answer"):
        channel(shop, sleeps).push([push("1", 2)])

    [result] = channel(shop, sleeps).push([push("1", 2)])
    assert (result.status, shop.stock("1")) == ("acknowledged", 2)


def test_503_is_unavailable_and_changes_nothing(shop: FakeWooCommerce, sleeps: Sleeps) -> None:
    shop.add_product(1, stock=5)
    shop.fail_next(1, status=503)

    with pytest.raises(Unavailable, match="HTTP 503"):
        channel(shop, sleeps).push([push("1", 2)])

    assert (shop.stock("1"), sleeps) == (5, [])


def test_a_shop_that_does_not_answer_in_time_is_unavailable(shop: FakeWooCommerce, sleeps: Sleeps) -> None:
    shop.add_product(1, stock=5)
    shop.slow(1.0)
    config = ChannelConfig(name="woo", kind="woocommerce", url=shop.url, token=shop.token)

    with pytest.raises(Unavailable):
        WooCommerceChannel(config, sleep=sleeps, timeout=0.2).read(["1"])


def test_a_site_that_is_not_woocommerce_is_a_channel_error(shop: FakeWooCommerce, sleeps: Sleeps) -> None:
    with pytest.raises(ChannelError, match="rest_no_route"):
        channel(shop, sleeps, url=shop.url + "/not-the-shop").push([push("1", 2)])


def test_more_than_100_items_in_one_request_is_refused_whole_by_the_shop(shop: FakeWooCommerce) -> None:
    """The fake holds WooCommerce's limit: 413 and nothing applied (the adapter never sends this)."""
    for n in range(1, 102):
        shop.add_product(n, stock=5)
    body = json.dumps({"update": [{"id": n, "stock_quantity": 1} for n in range(1, 102)]}).encode()
    basic = "Basic " + b64encode(shop.token.encode()).decode()

    answer = send(
        shop.url + "/wp-json/wc/v3/products/batch",
        method="POST",
        headers={"Authorization": basic, "Content-Type": "application/json"},
        body=body,
        timeout=2,
    )

    assert answer.status == 413
    assert json.loads(answer.body)["code"] == "woocommerce_rest_request_entity_too_large"
    assert shop.stock("1") == 5


def test_read_answers_what_the_shop_shows_in_one_request_per_endpoint(
    shop: FakeWooCommerce, sleeps: Sleeps
) -> None:
    shop.add_product(1, stock=3)
    shop.add_product(2, manage_stock=False)
    shop.add_variation(10, 11, stock=7)

    shown = channel(shop, sleeps).read(["1", "2", "10/11", "10/99", "404", "not-an-id"])

    assert shown == {"1": 3, "2": None, "10/11": 7, "10/99": None, "404": None, "not-an-id": None}
    assert sorted((r.path, r.query["include"][0]) for r in shop.requests) == [
        ("/products", "1,2,404"),
        ("/products/10/variations", "11,99"),
    ]
