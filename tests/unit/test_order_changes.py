"""Deliveries arrive late, twice and out of order: the order still ends right."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from shopflow.orders.changes import (
    OrderPlaced,
    OrderSnapshot,
    OrderStatusChanged,
    RefundIssued,
    ShipmentUpdate,
    StatusUpdate,
    apply_change,
)
from shopflow.orders.model import TRANSITIONS, Order, OrderStatus, Tracking
from shopflow.orders.ports import ReceivedChange
from shopflow.orders.service import record_delivery
from shopflow.store.orders import InMemoryOrderStore
from shopflow.webhooks import shopify
from tests.support import corpus

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def snapshot(status: str, at: datetime, **fields: object) -> OrderSnapshot:
    payload = {
        **corpus("shopify/orders_create_multicurrency.json"),
        "financial_status": status,
        "updated_at": at.isoformat(),
        **fields,
    }
    change = shopify.normalize("orders/updated", payload)
    assert isinstance(change, OrderSnapshot)
    return change


def shipment(status: OrderStatus | None, at: datetime, number: str = "1Z999") -> ShipmentUpdate:
    return ShipmentUpdate(
        order_id="shopify:2998548365461",
        source="shopify",
        external_id="2998548365461",
        tracking=(Tracking(number=number, url=f"https://track.example/{number}"),),
        status=status,
        occurred_at=at,
    )


def test_a_new_order_is_placed_once_with_its_status() -> None:
    outcome = apply_change(None, snapshot("paid", T0), via="shopify orders/create", now=NOW)

    assert outcome.order is not None and outcome.order.status is OrderStatus.PAID
    assert outcome.events == (
        OrderPlaced(order_id="shopify:2998548365461", status=OrderStatus.PAID, occurred_at=T0),
    )
    assert outcome.timeline is not None and outcome.timeline.event == "placed"
    assert outcome.timeline.recorded_at == NOW


def test_a_newer_update_changes_status_and_announces_it() -> None:
    placed = apply_change(None, snapshot("pending", T0), via="v", now=NOW).order

    outcome = apply_change(
        placed, snapshot("paid", T0 + timedelta(minutes=5)), via="shopify orders/paid", now=NOW
    )

    assert outcome.order is not None and outcome.order.status is OrderStatus.PAID
    assert outcome.events == (
        OrderStatusChanged(
            order_id="shopify:2998548365461",
            status=OrderStatus.PAID,
            previous_status=OrderStatus.PENDING,
            occurred_at=T0 + timedelta(minutes=5),
        ),
    )
    assert outcome.timeline is not None
    assert outcome.timeline.detail == "status pending -> paid"
    assert outcome.timeline.source == "shopify orders/paid"


def test_a_stale_update_never_moves_an_order_back() -> None:
    paid = apply_change(None, snapshot("paid", T0 + timedelta(hours=1)), via="v", now=NOW).order

    outcome = apply_change(paid, snapshot("pending", T0), via="v", now=NOW)

    assert outcome.ignored_because == "stale"
    assert outcome.order == paid and outcome.events == () and outcome.timeline is None


def test_update_before_create_gives_the_right_order() -> None:
    update = snapshot("paid", T0 + timedelta(minutes=2))
    create = snapshot("pending", T0)

    first = apply_change(None, update, via="shopify orders/updated", now=NOW)
    second = apply_change(first.order, create, via="shopify orders/create", now=NOW)

    assert first.order is not None and first.order.status is OrderStatus.PAID
    assert second.ignored_because == "stale"
    assert [e.type for e in first.events] == ["OrderPlaced"]


def test_same_content_again_is_no_change() -> None:
    placed = apply_change(None, snapshot("paid", T0), via="v", now=NOW).order

    outcome = apply_change(placed, snapshot("paid", T0), via="shopify orders/paid", now=NOW)

    assert outcome.ignored_because == "no change"


def test_delivered_is_not_undone_by_a_late_shipped() -> None:
    order = apply_change(None, snapshot("paid", T0), via="v", now=NOW).order
    delivered = apply_change(
        order, shipment(OrderStatus.DELIVERED, T0 + timedelta(days=2)), via="v", now=NOW
    ).order

    late = apply_change(
        delivered, shipment(OrderStatus.SHIPPED, T0 + timedelta(days=1), number="1Z999"), via="v", now=NOW
    )

    assert delivered is not None and delivered.status is OrderStatus.DELIVERED
    assert late.ignored_because == "no change"


def test_shipment_adds_tracking_and_ships() -> None:
    order = apply_change(None, snapshot("paid", T0), via="v", now=NOW).order

    outcome = apply_change(order, shipment(OrderStatus.SHIPPED, T0 + timedelta(days=1)), via="v", now=NOW)

    assert outcome.order is not None
    assert outcome.order.status is OrderStatus.SHIPPED
    assert [t.number for t in outcome.order.tracking] == ["1Z999"]
    assert outcome.timeline is not None and outcome.timeline.changes == ("status", "tracking")
    assert outcome.timeline.detail == "status paid -> shipped; tracking 1Z999 added"


def test_fulfillment_before_its_order_is_held_then_announced_with_the_order() -> None:
    stub = apply_change(None, shipment(OrderStatus.SHIPPED, T0 + timedelta(days=1)), via="v", now=NOW)

    assert stub.order is not None and not stub.order.details_received
    assert stub.order.status is OrderStatus.SHIPPED
    assert stub.events == ()  # nobody to tell yet: no email, no phone

    arrived = apply_change(stub.order, snapshot("paid", T0), via="shopify orders/create", now=NOW)

    assert arrived.order is not None and arrived.order.details_received
    assert arrived.order.status is OrderStatus.SHIPPED  # the body's "paid" is behind
    assert [t.number for t in arrived.order.tracking] == ["1Z999"]
    assert arrived.events == (
        OrderPlaced(order_id="shopify:2998548365461", status=OrderStatus.SHIPPED, occurred_at=T0),
    )


def test_full_refund_makes_the_order_refunded_and_is_counted_once() -> None:
    order = apply_change(None, snapshot("paid", T0), via="v", now=NOW).order
    assert order is not None
    refund = RefundIssued(
        order_id=order.order_id,
        source="shopify",
        external_id=order.external_id,
        refund_id="r1",
        amount=order.total,
        occurred_at=T0 + timedelta(days=3),
    )

    refunded = apply_change(order, refund, via="shopify refunds/create", now=NOW)
    again = apply_change(refunded.order, refund, via="shopify refunds/create", now=NOW)

    assert refunded.order is not None and refunded.order.status is OrderStatus.REFUNDED
    assert refunded.order.refunded_total == order.total
    assert again.ignored_because == "no change"


def test_partial_refund_is_recorded_without_changing_status() -> None:
    order = apply_change(None, snapshot("paid", T0), via="v", now=NOW).order
    assert order is not None
    refund = RefundIssued(
        order_id=order.order_id,
        source="shopify",
        external_id=order.external_id,
        refund_id="r1",
        amount=Decimal("10.00"),
        occurred_at=T0,
    )

    outcome = apply_change(order, refund, via="v", now=NOW)

    assert outcome.order is not None and outcome.order.status is OrderStatus.PAID
    assert outcome.timeline is not None and outcome.timeline.detail == "refund 10.00 USD"
    assert outcome.events == ()


def test_status_update_older_than_the_order_body_is_stale() -> None:
    order = apply_change(None, snapshot("paid", T0), via="v", now=NOW).order
    assert order is not None
    old = StatusUpdate(
        order_id=order.order_id,
        source="shopify",
        external_id=order.external_id,
        status=OrderStatus.CANCELLED,
        occurred_at=T0 - timedelta(hours=1),
        updated_at=T0 - timedelta(hours=1),
    )

    assert apply_change(order, old, via="v", now=NOW).ignored_because == "stale"


@pytest.mark.parametrize("terminal", [OrderStatus.REFUNDED])
def test_terminal_statuses_have_no_way_out(terminal: OrderStatus) -> None:
    assert TRANSITIONS[terminal] == frozenset()


def test_no_status_can_reach_pending_again() -> None:
    assert all(OrderStatus.PENDING not in targets for targets in TRANSITIONS.values())


def test_every_status_is_in_the_state_machine() -> None:
    assert set(TRANSITIONS) == set(OrderStatus)


def test_order_money_is_decimal_never_float() -> None:
    order = apply_change(None, snapshot("paid", T0), via="v", now=NOW).order
    assert isinstance(order, Order)
    assert isinstance(order.total, Decimal)
    assert '"total":"45.85"' in order.model_dump_json()


def test_an_older_body_after_a_newer_unchanged_one_is_stale() -> None:
    # T1 email a, T2 email b, T3 back to a; arriving T1, T3, T2: the order must end with a.
    store = InMemoryOrderStore()

    def deliver(change: OrderSnapshot, key: str) -> str:
        delivery = ReceivedChange(dedup_keys=(key,), change=change, via="shopify orders/updated")
        return record_delivery(delivery, store, now=NOW).status

    first = snapshot("paid", T0, email="a@example.com")
    newest_same = snapshot("paid", T0 + timedelta(minutes=2), email="a@example.com")
    middle = snapshot("paid", T0 + timedelta(minutes=1), email="b@example.com")

    assert [deliver(first, "1"), deliver(newest_same, "3"), deliver(middle, "2")] == [
        "accepted",
        "ignored",
        "ignored",
    ]
    stored = store.get(first.order_id)
    assert stored is not None and stored.order.customer is not None
    assert stored.order.customer.email == "a@example.com"
    assert stored.order.source_updated_at == T0 + timedelta(minutes=2)
    assert [entry.event for entry in store.timeline(first.order_id)] == ["placed"]
