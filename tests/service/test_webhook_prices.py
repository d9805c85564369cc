"""Prices through an outgoing webhook channel, against the fake receiver over real HTTP: each price is
one signed `price.published` message with exactly the documented data, a retry is the same message."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from shopflow.channels.adapters.webhook import WebhookChannel
from shopflow.channels.ports import (
    ChannelConfig,
    PricePush,
    PricePushed,
    Push,
    Throttled,
    Unauthorized,
    Unavailable,
)
from shopflow.local.fakes.webhook_receiver import FakeWebhookReceiver
from shopflow.webhooks.signatures import verify_standard_webhook
from tests.service.test_webhook_channel import OTHER_SECRET, SECRET, Sleeps


@pytest.fixture
def receiver() -> Iterator[FakeWebhookReceiver]:
    with FakeWebhookReceiver(SECRET) as fake:
        yield fake


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def channel(receiver: FakeWebhookReceiver, sleeps: Sleeps, secret: str = SECRET) -> WebhookChannel:
    return WebhookChannel(
        ChannelConfig(name="erp", kind="webhook", url=receiver.url, token=secret), sleep=sleeps
    )


def price(sku: str, amount: str, was: str | None = None, sequence: int = 1) -> PricePush:
    return PricePush(
        listing_id=sku,
        sku=sku,
        price=Decimal(amount),
        was=None if was is None else Decimal(was),
        currency="PLN",
        sequence=sequence,
    )


def test_each_price_is_one_signed_price_published_message(
    receiver: FakeWebhookReceiver, sleeps: Sleeps
) -> None:
    results = channel(receiver, sleeps).push_prices(
        [price("MUG", "19.9", sequence=4), price("CUP", "5", was="6.5")]
    )

    assert results == [PricePushed("MUG", "acknowledged"), PricePushed("CUP", "acknowledged")]
    assert [(m["type"], m["data"]) for m in receiver.messages()] == [
        (
            "price.published",
            {"sku": "MUG", "channel": "erp", "price": "19.90", "currency": "PLN", "was": None, "sequence": 4},
        ),
        (
            "price.published",
            {
                "sku": "CUP",
                "channel": "erp",
                "price": "5.00",
                "currency": "PLN",
                "was": "6.50",
                "sequence": 1,
            },
        ),
    ]
    delivery = receiver.deliveries[0]
    verify_standard_webhook(
        delivery.body,
        msg_id=delivery.webhook_id,
        timestamp=delivery.timestamp,
        signature=delivery.signature,
        secrets=[SECRET],
        now=datetime.now(UTC),
    )


def test_a_retry_is_the_same_message_and_the_receiver_keeps_the_latest_price(
    receiver: FakeWebhookReceiver, sleeps: Sleeps
) -> None:
    adapter = channel(receiver, sleeps)

    adapter.push_prices([price("MUG", "19.99", was="24.99", sequence=1)])
    adapter.push_prices([price("MUG", "19.99", was="24.99", sequence=1)])  # the queue delivered it again
    adapter.push_prices([price("MUG", "22.00", sequence=2)])  # the cut ended
    adapter.push([Push("MUG", "MUG", quantity=3, seen_there=None, version=1)])  # stock, same version number

    ids = [d.webhook_id for d in receiver.deliveries]
    assert ids[0] == ids[1] and len(set(ids)) == 3
    assert [m["data"]["price"] for m in receiver.messages() if m["type"] == "price.published"] == [
        "19.99",
        "22.00",
    ]
    assert receiver.prices()["MUG"]["price"] == "22.00" and receiver.prices()["MUG"]["was"] is None
    assert receiver.quantities() == {"MUG": 3}


def test_a_cut_above_its_prior_price_is_rejected_without_a_message(
    receiver: FakeWebhookReceiver, sleeps: Sleeps
) -> None:
    results = channel(receiver, sleeps).push_prices([price("MUG", "10.00", was="9.00"), price("CUP", "1.00")])

    assert results == [
        PricePushed(
            "MUG", "rejected", "was 9.00 is not above the price 10.00: only a cut shows a prior price"
        ),
        PricePushed("CUP", "acknowledged"),
    ]
    assert [m["data"]["sku"] for m in receiver.messages()] == ["CUP"]


def test_a_receiver_holding_another_secret_is_unauthorized(
    receiver: FakeWebhookReceiver, sleeps: Sleeps
) -> None:
    with pytest.raises(Unauthorized, match="HTTP 401"):
        channel(receiver, sleeps, secret=OTHER_SECRET).push_prices(
            [price("MUG", "1.00"), price("CUP", "1.00")]
        )

    assert (receiver.request_count, receiver.messages()) == (1, [])


def test_throttling_waits_then_delivers_and_throttling_that_lasts_raises(
    receiver: FakeWebhookReceiver, sleeps: Sleeps
) -> None:
    receiver.throttle(1, retry_after="2")
    assert channel(receiver, sleeps).push_prices([price("MUG", "1.00")]) == [
        PricePushed("MUG", "acknowledged")
    ]
    assert sleeps == [2.0]

    receiver.throttle(5, retry_after="2")
    with pytest.raises(Throttled):
        channel(receiver, sleeps).push_prices([price("CUP", "1.00")])
    assert list(receiver.prices()) == ["MUG"]


def test_a_receiver_down_or_answering_5xx_is_unavailable(
    receiver: FakeWebhookReceiver, sleeps: Sleeps
) -> None:
    receiver.fail_next(1, status=503)
    with pytest.raises(Unavailable, match="HTTP 503"):
        channel(receiver, sleeps).push_prices([price("MUG", "1.00")])
    receiver.go_down()
    try:
        with pytest.raises(Unavailable, match="no answer"):
            channel(receiver, sleeps).push_prices([price("MUG", "1.00")])
    finally:
        receiver.come_back()
    assert receiver.prices() == {}


def test_another_4xx_rejects_that_price_only(receiver: FakeWebhookReceiver, sleeps: Sleeps) -> None:
    receiver.fail_next(1, status=422)

    results = channel(receiver, sleeps).push_prices([price("MUG", "1.00"), price("CUP", "2.00")])

    assert results == [
        PricePushed("MUG", "rejected", f"POST {receiver.url}: HTTP 422"),
        PricePushed("CUP", "acknowledged"),
    ]
    assert list(receiver.prices()) == ["CUP"]
