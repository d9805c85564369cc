"""The WooCommerce adapter's plan before any request: listing ids, which batch call carries which
push (simple products together, variations per parent, 100 a call), and Retry-After's two forms."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shopflow.channels.adapters.http_calls import retry_after_seconds
from shopflow.channels.adapters.woocommerce import BATCH_LIMIT, WooListing, parse_listing_id, plan_batches
from shopflow.channels.ports import Push


def push(listing_id: str, quantity: int = 1) -> Push:
    return Push(listing_id=listing_id, sku=f"SKU-{listing_id}", quantity=quantity, seen_there=None, version=1)


@pytest.mark.parametrize(
    ("listing_id", "listing"),
    [
        ("794", WooListing(794)),
        ("794/799", WooListing(794, 799)),
        ("1", WooListing(1)),
    ],
)
def test_listing_ids_name_a_product_or_one_of_its_variations(listing_id: str, listing: WooListing) -> None:
    assert parse_listing_id(listing_id) == listing
    assert str(listing) == listing_id


@pytest.mark.parametrize(
    "listing_id",
    [
        "",
        "0",
        "012",
        "-5",
        "+5",
        " 5",
        "5 ",
        "5/",
        "/5",
        "5/6/7",
        "abc",
        "5/x",
        "1_000",
        "٣",
        "5/0",
        "gid://shopify/1",
    ],
)
def test_anything_else_is_not_a_woocommerce_listing(listing_id: str) -> None:
    assert parse_listing_id(listing_id) is None


def test_250_simple_products_are_three_calls_of_at_most_100() -> None:
    pushes = [push(str(n)) for n in range(1, 251)]

    calls, refused = plan_batches(pushes)

    assert refused == {}
    assert [c.path for c in calls] == ["/products/batch"] * 3
    assert [len(c.items) for c in calls] == [100, 100, 50]
    assert [item_id for c in calls for _, item_id in c.items] == list(range(1, 251))


def test_variations_go_to_their_parents_batch_and_simple_products_to_the_products_batch() -> None:
    pushes = [push("10/11"), push("5"), push("20/21"), push("10/12"), push("6")]

    calls, _ = plan_batches(pushes)

    assert [(c.path, c.items) for c in calls] == [
        ("/products/10/variations/batch", ((0, 11), (3, 12))),
        ("/products/batch", ((1, 5), (4, 6))),
        ("/products/20/variations/batch", ((2, 21),)),
    ]


def test_one_parent_with_more_variations_than_the_limit_takes_several_calls() -> None:
    pushes = [push(f"7/{n}") for n in range(1, BATCH_LIMIT + 2)]

    calls, _ = plan_batches(pushes)

    assert [(c.path, len(c.items)) for c in calls] == [
        ("/products/7/variations/batch", 100),
        ("/products/7/variations/batch", 1),
    ]


def test_a_listing_id_that_is_not_woocommerces_is_refused_alone() -> None:
    calls, refused = plan_batches([push("5"), push("shopify-123"), push("6")])

    assert [item_id for c in calls for _, item_id in c.items] == [5, 6]
    assert list(refused) == [1]
    assert "invalid listing id" in refused[1]


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0),
        ("0", 0.0),
        ("Sun, 29 Nov 2026 12:00:30 GMT", 30.0),
        ("Sun, 29 Nov 2026 11:00:00 GMT", 0.0),  # in the past: no wait
        (None, None),
        ("soon", None),
        ("-3", None),
        ("1.5", None),  # delta-seconds is digits only
    ],
)
def test_retry_after_in_seconds_or_as_a_date(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header, now=datetime(2026, 11, 29, 12, 0, tzinfo=UTC)) == seconds
