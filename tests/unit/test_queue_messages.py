"""Queue bodies are typed and routed by their `type` (decision 53): a body of an unknown type or
one that does not match its type's model fails its own record (SQS retries it, then the DLQ),
naming fields, never values; bodies queued before the upgrade still reach their handler."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shopflow.bootstrap import Runtime
from shopflow.capabilities import event_routes
from shopflow.kernel.queue_messages import (
    CartStepDue,
    EventMessage,
    HeldMessage,
    MessageRouter,
    ReplenishmentDue,
    UnroutableMessage,
    legacy_body,
)


def recording_router() -> tuple[MessageRouter, list[Any]]:
    seen: list[Any] = []
    router = MessageRouter()
    router.register("OrderPlaced", EventMessage, seen.append)
    router.register("send_message", HeldMessage, seen.append)
    router.register("cart_reminder", CartStepDue, seen.append)
    router.register("replenishment", ReplenishmentDue, seen.append)
    return router, seen


def test_a_body_reaches_the_handler_of_its_type_as_its_model() -> None:
    router, seen = recording_router()

    router.route(json.dumps({"type": "cart_reminder", "cart_id": "erp:C-1", "step": 2}))
    router.route(
        json.dumps({"type": "OrderPlaced", "outbox_id": "o#v1#OrderPlaced", "event": {"order_id": "o"}})
    )

    assert seen == [
        CartStepDue(cart_id="erp:C-1", step=2),
        EventMessage(type="OrderPlaced", outbox_id="o#v1#OrderPlaced", event={"order_id": "o"}),
    ]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("not json", "not a typed body"),
        (json.dumps({"cart_id": "erp:C-1", "step": 1}), "not a typed body: type: missing"),
        (json.dumps({"type": "coupon_expired", "code": "X"}), "no handler for 'coupon_expired'"),
        (
            json.dumps({"type": "cart_reminder", "cart_id": "erp:C-1", "step": 3}),
            "not a cart_reminder body: step",
        ),
        (
            json.dumps(
                {
                    "type": "send_message",
                    "subject_id": "o",
                    "kind": "k",
                    "channel": "sms",
                    "cause": "c",
                    "phone": "+48601234567",
                }
            ),
            "not a send_message body: phone: extra_forbidden",
        ),
    ],
    ids=["not-json", "no-type", "unknown-type", "bad-field", "unknown-field"],
)
def test_a_body_that_is_not_what_its_type_says_is_refused_by_field_name(body: str, error: str) -> None:
    router, seen = recording_router()

    with pytest.raises(UnroutableMessage) as raised:
        router.route(body)

    assert str(raised.value).startswith(error)
    assert "+48601234567" not in str(raised.value)
    assert seen == []


def test_two_handlers_for_one_type_are_refused_when_registered() -> None:
    router, _ = recording_router()

    with pytest.raises(ValueError, match="two handlers for 'cart_reminder'"):
        router.register("cart_reminder", CartStepDue, print)


@pytest.mark.parametrize(
    ("queued", "typed"),
    [
        ({"cart_id": "erp:C-1", "step": 1}, CartStepDue(cart_id="erp:C-1", step=1)),
        ({"flow": "replenishment", "order_id": "o"}, ReplenishmentDue(order_id="o", flow="replenishment")),
        (
            {
                "order_id": "cart|erp:C-1",
                "kind": "cart_reminder",
                "channel": "sms",
                "cause": "cart#erp:C-1#1",
            },
            HeldMessage(
                subject_id="cart|erp:C-1", kind="cart_reminder", channel="sms", cause="cart#erp:C-1#1"
            ),
        ),
    ],
    ids=["cart-step", "replenishment", "held-sms"],
)
def test_a_body_queued_before_typed_bodies_reaches_the_same_handler(
    queued: dict[str, Any], typed: Any
) -> None:
    router, seen = recording_router()

    router.route(legacy_body(json.dumps({"deferred": queued})))

    assert seen == [typed]


def test_notify_routes_every_body_its_queue_carries() -> None:
    consumer = Runtime(stage="test", table_name="shopflow-test").notifier  # as the notify function builds it

    routed_to_notify = {event for event, concerns in event_routes().items() if "notify" in concerns}
    assert routed_to_notify <= consumer.router.types  # dispatch sends nothing notify cannot route
    assert consumer.router.types == {
        "OrderPlaced",
        "OrderStatusChanged",
        "OrderDelayed",
        "send_message",
        "cart_reminder",
        "replenishment",
        "StockOversold",
        "ChannelAlert",
        "PriceProposalsWaiting",
    }
