"""The outgoing webhook channel against a fake receiver over real HTTP on 127.0.0.1: each push is
one Standard Webhooks message the receiver verifies with the channel's secret, a retry is the
same message, and a receiver's refusals end as the port says."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from shopflow.channels.adapters.webhook import WebhookChannel
from shopflow.channels.ports import ChannelConfig, Push, Throttled, Unauthorized, Unavailable
from shopflow.local.fakes.webhook_receiver import FakeWebhookReceiver
from shopflow.webhooks.signatures import verify_standard_webhook

SECRET = "whsec_" + base64.b64encode(b"stock-feed-secret-32-bytes-long!").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"another-secret-of-32-bytes-long!").decode()


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


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


def push(sku: str, quantity: int, version: int) -> Push:
    return Push(listing_id=sku, sku=sku, quantity=quantity, seen_there=None, version=version)


def test_each_push_is_one_signed_stock_published_message(
    receiver: FakeWebhookReceiver, sleeps: Sleeps
) -> None:
    results = channel(receiver, sleeps).push([push("MUG", 4, 7), push("CUP", 0, 2)])

    assert [(r.listing_id, r.status, r.quantity_there) for r in results] == [
        ("MUG", "acknowledged", 4),
        ("CUP", "acknowledged", 0),
    ]
    assert [d.verified for d in receiver.deliveries] == [True, True]
    assert [(m["type"], m["data"]) for m in receiver.messages()] == [
        ("stock.published", {"sku": "MUG", "quantity": 4, "channel": "erp", "sequence": 7}),
        ("stock.published", {"sku": "CUP", "quantity": 0, "channel": "erp", "sequence": 2}),
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


def test_a_retry_is_the_same_message_and_a_new_quantity_a_new_one(
    receiver: FakeWebhookReceiver, sleeps: Sleeps
) -> None:
    adapter = channel(receiver, sleeps)

    adapter.push([push("MUG", 4, 7)])
    adapter.push([push("MUG", 4, 7)])  # the queue delivered the push again
    adapter.push([push("MUG", 3, 7)])  # the owner lowered stock_pct: same stock version, new quantity
    adapter.push([push("MUG", 2, 8)])

    ids = [d.webhook_id for d in receiver.deliveries]
    assert ids[0] == ids[1]
    assert len(set(ids)) == 3
    assert [m["data"]["quantity"] for m in receiver.messages()] == [4, 3, 2]
    assert receiver.quantities() == {"MUG": 2}


def test_a_receiver_holding_another_secret_is_unauthorized_after_one_request(
    receiver: FakeWebhookReceiver, sleeps: Sleeps
) -> None:
    with pytest.raises(Unauthorized, match="HTTP 401"):
        channel(receiver, sleeps, secret=OTHER_SECRET).push([push("MUG", 4, 7), push("CUP", 1, 1)])

    assert (receiver.request_count, receiver.messages(), sleeps) == (1, [], [])


def test_a_secret_that_is_not_whsec_base64_sends_nothing(
    receiver: FakeWebhookReceiver, sleeps: Sleeps
) -> None:
    with pytest.raises(Unauthorized, match="secret"):
        channel(receiver, sleeps, secret="whsec_not base64!").push([push("MUG", 4, 7)])

    assert receiver.request_count == 0


def test_throttling_waits_then_delivers_the_same_message(
    receiver: FakeWebhookReceiver, sleeps: Sleeps
) -> None:
    receiver.throttle(1, retry_after="2")

    [result] = channel(receiver, sleeps).push([push("MUG", 4, 7)])

    assert result.status == "acknowledged"
    assert sleeps == [2.0]
    first, second = receiver.deliveries
    assert (first.status, second.status) == (429, 204)
    assert first.webhook_id == second.webhook_id


def test_throttling_that_lasts_raises_throttled(receiver: FakeWebhookReceiver, sleeps: Sleeps) -> None:
    receiver.throttle(5, retry_after="2")

    with pytest.raises(Throttled):
        channel(receiver, sleeps).push([push("MUG", 4, 7)])

    assert receiver.request_count == 3


def test_a_5xx_stops_the_call_as_unavailable(receiver: FakeWebhookReceiver, sleeps: Sleeps) -> None:
    adapter = channel(receiver, sleeps)
    receiver.fail_next(1, status=502)

    with pytest.raises(Unavailable, match="HTTP 502"):
        adapter.push([push("MUG", 4, 7), push("CUP", 1, 1)])

    assert receiver.request_count == 1  # CUP was not sent after the failure
    adapter.push([push("MUG", 4, 7), push("CUP", 1, 1)])
    assert receiver.quantities() == {"MUG": 4, "CUP": 1}


def test_a_receiver_that_is_down_is_unavailable(receiver: FakeWebhookReceiver, sleeps: Sleeps) -> None:
    receiver.go_down()
    try:
        with pytest.raises(Unavailable, match="no answer"):
            channel(receiver, sleeps).push([push("MUG", 4, 7)])
    finally:
        receiver.come_back()


def test_another_4xx_rejects_that_message_only(receiver: FakeWebhookReceiver, sleeps: Sleeps) -> None:
    receiver.fail_next(1, status=422)

    results = channel(receiver, sleeps).push([push("MUG", 4, 7), push("CUP", 1, 1)])

    assert [(r.status, r.error) for r in results] == [
        ("rejected", f"POST {receiver.url}: HTTP 422"),
        ("acknowledged", None),
    ]


def test_a_webhook_cannot_be_read_back(receiver: FakeWebhookReceiver, sleeps: Sleeps) -> None:
    assert channel(receiver, sleeps).read(["MUG"]) == {}
    assert receiver.request_count == 0
