"""The Shopify adapter over real HTTP against the local fake Shopify (local/fakes/shopify.py).

The fake executes each request with graphql-core against Shopify's schema (the part shopflow
uses), so these tests also check that the adapter sends queries Shopify's schema accepts.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shopflow.channels.adapters.shopify import ShopifyChannel
from shopflow.channels.ports import (
    ChannelConfig,
    ChannelError,
    Push,
    Pushed,
    Throttled,
    Unauthorized,
    Unavailable,
)
from shopflow.local.fakes.shopify import DEFAULT_TOKEN, FakeShopify, ManualClock

LOCATION = 1


class Sleeper:
    """The adapter's sleep: records each wait and moves the fake's clock instead of sleeping."""

    def __init__(self, clock: ManualClock | None) -> None:
        self.clock = clock
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.clock is not None:
            self.clock.advance(seconds)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=1000.0)


@pytest.fixture
def shop(clock: ManualClock) -> Iterator[FakeShopify]:
    with FakeShopify(clock=clock, location_id=LOCATION) as fake:
        yield fake


def channel_for(
    shop: FakeShopify, sleep: Sleeper, *, token: str = DEFAULT_TOKEN, version: str = "2026-01"
) -> ShopifyChannel:
    config = ChannelConfig(
        name="shop",
        kind="shopify",
        url=shop.url,
        token=token,
        location_id=str(LOCATION),
        api_version=version,
    )
    return ShopifyChannel(config, sleep=sleep, timeout=5)


@pytest.fixture
def sleeper(clock: ManualClock) -> Sleeper:
    return Sleeper(clock)


@pytest.fixture
def channel(shop: FakeShopify, sleeper: Sleeper) -> ShopifyChannel:
    return channel_for(shop, sleeper)


def push(item: int, quantity: int, seen: int | None, version: int = 1) -> Push:
    return Push(listing_id=str(item), sku=f"SKU-{item}", quantity=quantity, seen_there=seen, version=version)


@pytest.mark.parametrize("version", ["2026-01", "2026-04"])
def test_a_push_sets_available_and_is_acknowledged(shop: FakeShopify, sleeper: Sleeper, version: str) -> None:
    shop.add_item(11, "MUG", available=5)
    channel = channel_for(shop, sleeper, version=version)

    answers = channel.push([push(11, quantity=3, seen=5)])

    assert answers == [Pushed("11", "acknowledged", 3)]
    held = shop.quantities(11)
    assert held is not None and (held["available"], held["on_hand"]) == (3, 3)
    assert shop.mutations == 1


def test_250_quantities_go_in_one_request_and_251_are_refused(
    shop: FakeShopify, channel: ShopifyChannel
) -> None:
    for item in range(1, 252):
        shop.add_item(item, f"SKU-{item}", available=10)

    answers = channel.push([push(item, quantity=item % 7, seen=10) for item in range(1, 251)])

    assert {a.status for a in answers} == {"acknowledged"}
    assert [shop.available(item) for item in range(1, 251)] == [item % 7 for item in range(1, 251)]
    assert shop.requests == 1 and shop.calls[0].rows == 250
    with pytest.raises(ValueError, match="at most 250"):
        channel.push([push(item, quantity=0, seen=10) for item in range(1, 252)])
    assert shop.requests == 1 and shop.available(251) == 10


def test_a_sale_on_shopify_since_shopflow_looked_is_not_overwritten(
    shop: FakeShopify, channel: ShopifyChannel
) -> None:
    shop.add_item(11, "MUG", available=5)
    shop.add_item(12, "CUP", available=2)
    seen = channel.read(["11", "12"])
    shop.sell_before_next_write(11, units=1)

    answers = channel.push([push(11, quantity=3, seen=seen["11"]), push(12, quantity=1, seen=seen["12"])])

    assert answers == [Pushed("11", "stale", 4), Pushed("12", "acknowledged", 1)]
    assert shop.available(11) == 4 and shop.quantities(11)["committed"] == 1  # type: ignore[index]
    assert shop.available(12) == 1
    # The service decides again from what Shopify shows now: same target, same stock version.
    assert channel.push([push(11, quantity=3, seen=4)]) == [Pushed("11", "acknowledged", 3)]
    assert shop.available(11) == 3


def test_an_unknown_seen_quantity_is_read_first_and_a_sale_in_between_is_still_caught(
    shop: FakeShopify, channel: ShopifyChannel
) -> None:
    shop.add_item(11, "MUG", available=5)
    shop.sell_before_next_write(11, units=2)

    answers = channel.push([push(11, quantity=9, seen=None)])

    assert answers == [Pushed("11", "stale", 3)]
    assert shop.available(11) == 3
    # Decided again from 3 (same target and stock version): a new compare value, so a new key.
    assert channel.push([push(11, quantity=9, seen=3)]) == [Pushed("11", "acknowledged", 9)]
    assert shop.available(11) == 9


def test_a_throttled_call_waits_as_the_bucket_says_then_succeeds(
    shop: FakeShopify, channel: ShopifyChannel, sleeper: Sleeper
) -> None:
    shop.add_item(11, "MUG", available=5)
    shop.set_bucket(size=15, restore_rate=5)  # one mutation (10 points) leaves 5
    channel.push([push(11, quantity=4, seen=5)])

    answers = channel.push([push(11, quantity=3, seen=4, version=2)])

    assert answers == [Pushed("11", "acknowledged", 3)]
    assert sleeper.waits == [pytest.approx(1.0)]  # (10 requested - 5 available) / 5 per second
    assert [call.throttled for call in shop.calls] == [False, True, False]


def test_a_wait_that_floating_point_makes_a_hair_short_is_rounded_up_and_waited_once(
    shop: FakeShopify, channel: ShopifyChannel, sleeper: Sleeper
) -> None:
    shop.add_item(11, "MUG", available=5)
    shop.set_bucket(size=15, restore_rate=3)  # 5 points short at 3 a second: 1.666... s
    channel.push([push(11, quantity=4, seen=5)])

    assert channel.push([push(11, quantity=3, seen=4, version=2)]) == [Pushed("11", "acknowledged", 3)]
    assert sleeper.waits == [pytest.approx(1.7)]


@pytest.mark.parametrize("status", [200, 429])
def test_a_bucket_that_does_not_refill_ends_in_throttled_after_a_few_waits(
    status: int, sleeper: Sleeper
) -> None:
    stuck = ManualClock()
    with FakeShopify(clock=stuck, location_id=LOCATION, throttled_status=status) as shop:
        shop.add_item(11, "MUG", available=5)
        shop.set_bucket(size=100, restore_rate=50, available=0)
        sleeper.clock = None  # time does not pass: the bucket stays empty

        with pytest.raises(Throttled) as throttled:
            channel_for(shop, sleeper).push([push(11, quantity=3, seen=5)])

    assert throttled.value.retry_after == pytest.approx(0.2)
    assert len(sleeper.waits) == 3 and shop.requests == 4
    assert shop.available(11) == 5


def test_a_retry_of_the_same_push_is_not_applied_twice(shop: FakeShopify, channel: ShopifyChannel) -> None:
    shop.add_item(11, "MUG", available=5)
    first = channel.push([push(11, quantity=3, seen=5)])
    shop.sell(11, units=2)  # Shopify sells two after the push landed

    again = channel.push([push(11, quantity=3, seen=5)])  # e.g. the answer was lost and the message retried

    assert again == first
    assert shop.available(11) == 1
    assert shop.mutations == 2


def test_a_wrong_token_is_unauthorized_after_exactly_one_request(shop: FakeShopify, sleeper: Sleeper) -> None:
    shop.add_item(11, "MUG", available=5)
    channel = channel_for(shop, sleeper, token="shpat_revoked")

    with pytest.raises(Unauthorized):
        channel.push([push(11, quantity=3, seen=5)])

    assert shop.requests == 1 and sleeper.waits == []
    assert shop.available(11) == 5


def test_a_shop_that_is_down_is_unavailable_until_it_comes_back(
    shop: FakeShopify, channel: ShopifyChannel
) -> None:
    shop.add_item(11, "MUG", available=5)
    shop.go_down()

    with pytest.raises(Unavailable, match=r"unreachable.*no answer"):
        channel.push([push(11, quantity=3, seen=5)])

    shop.come_back()
    assert channel.push([push(11, quantity=3, seen=5)]) == [Pushed("11", "acknowledged", 3)]


def test_a_shop_that_does_not_answer_in_time_is_unavailable(shop: FakeShopify, sleeper: Sleeper) -> None:
    shop.add_item(11, "MUG", available=5)
    config = ChannelConfig(name="shop", kind="shopify", url=shop.url, token=DEFAULT_TOKEN, location_id="1")
    impatient = ShopifyChannel(config, sleep=sleeper, timeout=0.05)
    shop.delay_next(1, seconds=0.5)

    with pytest.raises(Unavailable, match=r"unreachable.*no answer"):
        impatient.push([push(11, quantity=3, seen=5)])

    # Shopify may have applied it after all: the retry carries the same key and lands once.
    assert impatient.push([push(11, quantity=3, seen=5)]) == [Pushed("11", "acknowledged", 3)]
    assert shop.available(11) == 3


@pytest.mark.parametrize("status", [503, 500, 423])
def test_a_5xx_or_a_locked_shop_is_unavailable_and_nothing_changes(
    shop: FakeShopify, channel: ShopifyChannel, status: int
) -> None:
    shop.add_item(11, "MUG", available=5)
    shop.fail_next(1, status=status)

    with pytest.raises(Unavailable, match=str(status)):
        channel.push([push(11, quantity=3, seen=5)])

    assert shop.available(11) == 5 and shop.requests == 1
    assert channel.push([push(11, quantity=3, seen=5)]) == [Pushed("11", "acknowledged", 3)]


def test_unknown_or_unstocked_items_are_rejected_and_the_others_still_land(
    shop: FakeShopify, channel: ShopifyChannel
) -> None:
    shop.add_item(11, "MUG", available=5)
    shop.add_item(12, "CUP", available=2, stocked=False)

    answers = channel.push(
        [push(11, quantity=3, seen=5), push(12, quantity=1, seen=2), push(99, quantity=1, seen=0)]
    )

    assert answers[0] == Pushed("11", "acknowledged", 3)
    assert (answers[1].status, answers[2].status) == ("rejected", "rejected")
    assert answers[1].error is not None and answers[1].error.startswith("ITEM_NOT_STOCKED_AT_LOCATION")
    assert answers[2].error is not None and answers[2].error.startswith("INVALID_INVENTORY_ITEM")
    assert shop.available(11) == 3 and shop.mutations == 2


def test_read_answers_available_at_the_location_and_none_for_what_it_does_not_hold(
    shop: FakeShopify, channel: ShopifyChannel
) -> None:
    shop.add_item(11, "MUG", available=5)
    shop.add_item(12, "CUP", available=2, stocked=False)

    assert channel.read(["11", "12", "99", "not-an-id"]) == {
        "11": 5,
        "12": None,
        "99": None,
        "not-an-id": None,
    }
    assert shop.requests == 1


def test_a_redirect_is_not_followed_and_the_token_goes_nowhere_else(
    shop: FakeShopify, channel: ShopifyChannel, clock: ManualClock
) -> None:
    shop.add_item(11, "MUG", available=5)
    with FakeShopify(clock=clock, location_id=LOCATION) as elsewhere:
        elsewhere.add_item(11, "MUG", available=5)
        shop.moved_to = elsewhere.url

        with pytest.raises(ChannelError, match="answered 301") as refused:
            channel.push([push(11, quantity=3, seen=5)])

        assert not isinstance(refused.value, (Unauthorized, Unavailable, Throttled))
        assert elsewhere.requests == 0 and shop.requests == 1


def test_an_api_version_without_idempotency_is_a_channel_error_not_retried(
    shop: FakeShopify, sleeper: Sleeper
) -> None:
    shop.add_item(11, "MUG", available=5)

    with pytest.raises(ChannelError, match=r"refused the query: .*Unknown directive"):
        channel_for(shop, sleeper, version="2025-10").push([push(11, quantity=3, seen=5)])

    assert shop.requests == 1 and shop.available(11) == 5
