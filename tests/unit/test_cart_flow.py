"""The abandoned-cart flow against the in-memory store: intake arms and moves the reminders,
a closed cart cancels them, and `check_step` decides at fire time whether a step may go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from shopflow.carts.model import Cart, CartConverted, CartDeleted, CartSnapshot, CartStatus
from shopflow.carts.ports import ReceivedCartChange
from shopflow.carts.reminders import CartTiming, check_step, timer_id
from shopflow.carts.service import record_cart_delivery
from shopflow.kernel.messages import NotYet
from shopflow.kernel.skip import Skip
from shopflow.orders.model import Customer, OrderLine, PastOrder
from shopflow.store.carts import InMemoryCartStore

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TIMING = CartTiming(inactivity=timedelta(minutes=60), offer_after=timedelta(hours=24))
CART_ID = "shopify:c1"


def cart(activity: datetime = START, *, total: str = "40.00", lines: int = 1, **changes: object) -> Cart:
    fields: dict[str, object] = {
        "cart_id": CART_ID,
        "source": "shopify",
        "external_id": "c1",
        "currency": "EUR",
        "total": Decimal(total),
        "lines": tuple(
            OrderLine(product_id=f"p{n}", name=f"Mug {n}", quantity=1, unit_price=Decimal(total))
            for n in range(lines)
        ),
        "customer": Customer(email="ann@example.com"),
        "started_at": START,
        "last_activity_at": activity,
    }
    return Cart.model_validate({**fields, **changes})


def seen(activity: datetime, key: str, **changes: object) -> ReceivedCartChange:
    snapshot = CartSnapshot(
        cart_id=CART_ID, source="shopify", external_id="c1", cart=cart(activity, **changes)
    )
    return ReceivedCartChange(dedup_keys=(key,), change=snapshot, via="shopify checkouts/update")


def record(store: InMemoryCartStore, delivery: ReceivedCartChange, now: datetime = START) -> str:
    recorded = record_cart_delivery(
        delivery, store, now=now, dedup_retention=timedelta(days=8), timing=TIMING, sleep=lambda _: None
    )
    return recorded.reason or recorded.status


# --- intake: the reminders follow the cart's activity --------------------------------------


def test_a_new_cart_arms_both_reminders_from_its_last_activity() -> None:
    store = InMemoryCartStore()

    assert record(store, seen(START, "d1")) == "accepted"

    due = {t.timer_id: t.due_at for t in store.timers.values()}
    assert due == {
        timer_id(CART_ID, 1): START + timedelta(minutes=60),
        timer_id(CART_ID, 2): START + timedelta(minutes=60) + timedelta(hours=24),
    }
    assert [e.detail for e in store.timeline(CART_ID)] == ["cart started: 1 item, 40.00 EUR"]


def test_new_activity_moves_the_reminders_and_an_older_snapshot_changes_nothing() -> None:
    store = InMemoryCartStore()
    record(store, seen(START, "d1"))
    later = START + timedelta(minutes=45)

    assert record(store, seen(later, "d2", lines=2)) == "accepted"
    assert record(store, seen(START + timedelta(minutes=5), "d3")) == "stale"

    assert store.timers[timer_id(CART_ID, 1)].due_at == later + timedelta(minutes=60)
    stored = store.get(CART_ID)
    assert stored is not None
    assert (stored.version, len(stored.cart.lines)) == (2, 2)


def test_the_same_delivery_twice_is_a_duplicate_and_writes_nothing() -> None:
    store = InMemoryCartStore()
    record(store, seen(START, "d1"))

    assert record(store, seen(START, "d1")) == "duplicate"

    assert len(store.timeline(CART_ID)) == 1


@pytest.mark.parametrize(
    ("change", "status"),
    [
        (
            CartConverted(
                cart_id=CART_ID, source="shopify", external_id="c1", order_id="shopify:9", occurred_at=START
            ),
            CartStatus.CONVERTED,
        ),
        (
            CartDeleted(cart_id=CART_ID, source="shopify", external_id="c1", occurred_at=START),
            CartStatus.DELETED,
        ),
    ],
    ids=["converted", "deleted"],
)
def test_a_bought_or_deleted_cart_cancels_its_reminders_and_stays_closed(
    change: CartConverted | CartDeleted, status: CartStatus
) -> None:
    store = InMemoryCartStore()
    record(store, seen(START, "d1"))

    assert record(store, ReceivedCartChange(dedup_keys=("d2",), change=change, via="test")) == "accepted"
    # A snapshot that arrives late cannot reopen it.
    assert record(store, seen(START + timedelta(hours=1), "d3")) == f"cart is {status} already"

    assert store.timers == {}
    stored = store.get(CART_ID)
    assert stored is not None and stored.cart.status is status


# --- fire time: check_step ----------------------------------------------------------------


def check(
    subject: Cart,
    step: int = 1,
    *,
    now: datetime = START + timedelta(hours=2),
    purchases: tuple[PastOrder, ...] = (),
    pause: timedelta = timedelta(days=0),
    minimum: str = "0",
) -> NotYet | Skip | None:
    return check_step(
        subject,
        step,  # type: ignore[arg-type]  # 1 or 2, as the timers carry them
        now=now,
        timing=TIMING,
        purchases=purchases,
        pause_after_order=pause,
        offer_min_total=Decimal(minimum),
    )


def test_a_step_goes_once_due_and_waits_while_the_cart_is_active() -> None:
    assert check(cart()) is None
    assert check(cart(), now=START + timedelta(minutes=59)) == NotYet(START + timedelta(minutes=60))
    assert check(cart(), 2) == NotYet(START + timedelta(hours=25))


def test_a_customer_who_bought_since_the_cart_started_hears_nothing() -> None:
    bought = PastOrder("shopify:9", START + timedelta(minutes=30))

    assert check(cart(), purchases=(bought,)) == Skip("purchased (order shopify:9)")


def test_a_recent_order_before_the_cart_pauses_reminders_for_the_configured_days() -> None:
    earlier = PastOrder("shopify:7", START - timedelta(days=2))

    skip = check(cart(), purchases=(earlier,), pause=timedelta(days=14))

    assert skip == Skip("ordered recently (order shopify:7): no reminders for 14 days")
    assert check(cart(), purchases=(earlier,), pause=timedelta(days=1)) is None


def test_closed_empty_or_small_carts_are_skipped_with_the_reason() -> None:
    converted = cart(status=CartStatus.CONVERTED, converted_order_id="shopify:9")
    assert check(converted) == Skip("purchased (order shopify:9)")
    assert check(cart(status=CartStatus.DELETED)) == Skip("cart deleted at the storefront")
    assert check(cart(lines=0)) == Skip("cart is empty")
    late = START + timedelta(hours=26)
    assert check(cart(total="20.00"), 2, now=late, minimum="25.00") == Skip(
        "cart total 20.00 is below the offer's minimum 25.00"
    )
    assert check(cart(total="30.00"), 2, now=late, minimum="25.00") is None
