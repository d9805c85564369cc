"""The unit of work against the in-memory fakes: a received order or cart change is read, staged
and committed once; a lost race is retried against a fresh read, a repeat is a duplicate, and a
failed commit leaves every fake store as it was."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from shopflow.carts.model import Cart, CartSnapshot
from shopflow.carts.ports import LoadedCart, ReceivedCartChange
from shopflow.carts.reminders import CartTiming
from shopflow.carts.service import record_cart_delivery
from shopflow.kernel.conflicts import MAX_ATTEMPTS, ConcurrentUpdates, VersionConflict
from shopflow.kernel.outbox import outbox_id
from shopflow.kernel.timers import TimerRequest
from shopflow.kernel.unit_of_work import AlreadyCommitted, InMemoryUnitOfWork, StagedTwice
from shopflow.orders.late import late_checks
from shopflow.orders.model import Customer, OrderLine
from shopflow.orders.ports import Loaded, ReceivedChange
from shopflow.orders.service import record_delivery
from shopflow.store.carts import InMemoryCartStore
from shopflow.store.orders import InMemoryOrderStore
from shopflow.store.timers import InMemoryTimers
from shopflow.webhooks import shopify
from tests.support import corpus

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LATE_AFTER = timedelta(hours=48)


def received(key: str, topic: str = "orders/create", **fields: object) -> ReceivedChange:
    change = shopify.normalize(topic, {**corpus("shopify/order.json"), **fields})
    return ReceivedChange((key,), change, f"shopify {topic}")


def record(store: InMemoryOrderStore, delivery: ReceivedChange, slept: list[float] | None = None) -> str:
    return record_delivery(
        delivery,
        store,
        now=NOW,
        timers=[lambda events, order, now: late_checks(events, now, LATE_AFTER)],
        sleep=(slept if slept is not None else []).append,
    ).status


@dataclass
class RacedOrderStore(InMemoryOrderStore):
    """Between this delivery's read and its commit, another delivery of the same order commits."""

    rivals: list[ReceivedChange] | None = None
    racing: bool = False

    def load(self, order_id: str, dedup_keys: Sequence[str]) -> Loaded:
        loaded = super().load(order_id, dedup_keys)
        if self.rivals and not self.racing:
            self.racing = True  # the rival's own read is not raced
            assert record_delivery(self.rivals.pop(0), self, now=NOW).status == "accepted"
            self.racing = False
        return loaded


# --- the in-memory unit of work ------------------------------------------------------------


def test_a_failed_check_applies_nothing_and_runs_no_after_commit_action() -> None:
    timers: dict[str, TimerRequest] = {}
    work = InMemoryUnitOfWork()
    InMemoryTimers(timers).arm(TimerRequest("t1", "late_check", NOW, "{}"), now=NOW, work=work)
    after: list[str] = []
    work.after_commit(lambda: after.append("index"))

    def lost_race() -> None:
        raise VersionConflict()

    work.stage(("ORDER", "o1"), lambda: None, lost_race)

    with pytest.raises(VersionConflict):
        work.commit()
    assert (timers, after, work.log) == ({}, [], [])


def test_one_item_twice_in_one_unit_or_a_second_commit_is_refused() -> None:
    work = InMemoryUnitOfWork()
    timers = InMemoryTimers()
    timers.arm(TimerRequest("t1", "late_check", NOW, "{}"), now=NOW, work=work)
    with pytest.raises(StagedTwice):
        timers.cancel("t1", work=work)
    work.commit()
    with pytest.raises(AlreadyCommitted):
        work.commit()
    assert work.log == [1]


def test_an_outbox_id_names_the_delivery_not_the_order() -> None:
    first = outbox_id(("shopify:event:1",), "OrderPlaced")
    assert outbox_id(("shopify:event:1",), "OrderPlaced") == first  # a retry: the same id
    assert outbox_id(("shopify:event:2",), "OrderPlaced") != first
    assert outbox_id(("shopify:event:1",), "OrderStatusChanged") != first
    assert "450789469" not in first
    assert outbox_id((), "OrderPlaced") != outbox_id((), "OrderPlaced")  # no key: random


# --- record_delivery -----------------------------------------------------------------------


def test_a_new_paid_order_is_one_commit_of_the_order_and_its_timer_then_the_buyer_index() -> None:
    store = InMemoryOrderStore()

    assert record(store, received("wh-1", financial_status="paid")) == "accepted"

    assert store.commits == [2]  # the order (with its line and outbox item) and the late check
    assert [m.event_type for m in store.outbox] == ["OrderPlaced"]
    assert list(store.timers) == ["late#shopify:450789469"]
    assert [o.order_id for o in store.buyers.entries["id:shopify:207119551"]] == ["shopify:450789469"]


def test_a_redelivered_webhook_is_a_duplicate_and_commits_nothing() -> None:
    store = InMemoryOrderStore()
    delivery = received("wh-1")
    assert record(store, delivery) == "accepted"

    assert record(store, delivery) == "duplicate"

    assert len(store.commits) == 1
    assert len(store.outbox) == 1
    assert [entry.event for entry in store.timeline("shopify:450789469")] == ["placed"]


def test_a_lost_race_is_retried_against_a_fresh_read_and_committed_once() -> None:
    store = RacedOrderStore()
    assert record(store, received("wh-create")) == "accepted"
    store.rivals = [
        received("wh-paid", "orders/paid", financial_status="paid", updated_at="2008-01-10T11:05:00-05:00")
    ]
    slept: list[float] = []

    status = record(
        store,
        received(
            "wh-fulfilled",
            "orders/updated",
            financial_status="paid",
            fulfillment_status="fulfilled",
            updated_at="2008-01-10T11:10:00-05:00",
        ),
        slept,
    )

    assert status == "accepted"
    assert len(slept) == 1  # backed off once, then read the rival's version
    stored = store.get("shopify:450789469")
    assert stored is not None and stored.version == 3
    # create, the rival's payment, this delivery: one commit each, nothing of the lost attempt
    assert len(store.commits) == 3
    assert [m.event_type for m in store.outbox] == ["OrderPlaced", "OrderStatusChanged", "OrderStatusChanged"]
    assert len({m.outbox_id for m in store.outbox}) == 3


def test_endless_races_end_in_concurrent_updates_with_nothing_of_this_delivery_written() -> None:
    store = RacedOrderStore()
    assert record(store, received("wh-create")) == "accepted"
    store.rivals = [
        received(
            f"wh-{n}",
            "orders/updated",
            email=f"n{n}@example.com",
            updated_at=f"2008-01-10T11:{n:02d}:00-05:00",
        )
        for n in range(10, 10 + MAX_ATTEMPTS)
    ]

    with pytest.raises(ConcurrentUpdates):
        record(
            store, received("wh-mine", "orders/updated", note="mine", updated_at="2008-01-10T12:00:00-05:00")
        )

    assert len(store.commits) == 1 + MAX_ATTEMPTS  # the create and the rivals only
    stored = store.get("shopify:450789469")
    assert stored is not None and stored.order.customer is not None
    assert stored.order.customer.email == f"n{9 + MAX_ATTEMPTS}@example.com"


# --- record_cart_delivery ------------------------------------------------------------------

CART_TIMING = CartTiming(inactivity=timedelta(minutes=60), offer_after=timedelta(hours=24))


def cart_seen(key: str, activity: datetime) -> ReceivedCartChange:
    cart = Cart(
        cart_id="shopify:c1",
        source="shopify",
        external_id="c1",
        currency="EUR",
        total=Decimal("40.00"),
        lines=(OrderLine(product_id="p1", name="Mug", quantity=1, unit_price=Decimal("40.00")),),
        customer=Customer(email="ann@example.com"),
        started_at=NOW,
        last_activity_at=activity,
    )
    snapshot = CartSnapshot(cart_id=cart.cart_id, source="shopify", external_id="c1", cart=cart)
    return ReceivedCartChange((key,), snapshot, "shopify checkouts/update")


def record_cart(store: InMemoryCartStore, delivery: ReceivedCartChange, slept: list[float]) -> str:
    return record_cart_delivery(
        delivery, store, now=NOW, dedup_retention=timedelta(days=8), timing=CART_TIMING, sleep=slept.append
    ).status


@dataclass
class RacedCartStore(InMemoryCartStore):
    """Between this delivery's read and its commit, `rivals` are recorded (the same one: a retry)."""

    rivals: list[ReceivedCartChange] | None = None
    racing: bool = False

    def load(self, cart_id: str, dedup_keys: Sequence[str]) -> LoadedCart:
        loaded = super().load(cart_id, dedup_keys)
        if self.rivals and not self.racing:
            self.racing = True
            assert record_cart(self, self.rivals.pop(0), []) == "accepted"
            self.racing = False
        return loaded


def test_a_cart_delivery_is_one_commit_of_the_marker_cart_line_and_both_reminders() -> None:
    store = InMemoryCartStore()

    assert record_cart(store, cart_seen("c-1", NOW), []) == "accepted"

    assert store.commits == [3]  # the cart (marker, cart, line) and two reminder timers
    assert len(store.timers) == 2


def test_a_cart_retry_that_lands_between_read_and_commit_is_a_duplicate() -> None:
    delivery = cart_seen("c-1", NOW)
    store = RacedCartStore(rivals=[delivery])
    slept: list[float] = []

    assert record_cart(store, delivery, slept) == "duplicate"

    assert (len(store.commits), slept) == (1, [])


def test_a_cart_race_is_retried_against_a_fresh_read() -> None:
    store = RacedCartStore(rivals=[cart_seen("c-1", NOW)])
    slept: list[float] = []

    assert record_cart(store, cart_seen("c-2", NOW + timedelta(minutes=5)), slept) == "accepted"

    stored = store.get("shopify:c1")
    assert stored is not None and stored.version == 2
    assert stored.cart.last_activity_at == NOW + timedelta(minutes=5)
    assert (len(store.commits), len(slept)) == (2, 1)
