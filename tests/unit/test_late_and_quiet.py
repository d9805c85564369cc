"""Late orders (a timer armed at payment, an apology once) and SMS quiet hours: pure rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from shopflow.clock import FakeClock
from shopflow.config.settings import Settings
from shopflow.notifications.decide import Defer, Send, decide, quiet_until
from shopflow.notifications.policy import policy_from
from shopflow.orders.changes import OrderPlaced, OrderStatusChanged
from shopflow.orders.late import check_late_order, late_checks
from shopflow.orders.model import OrderStatus, new_code
from shopflow.orders.ports import ReceivedChange
from shopflow.orders.service import record_delivery
from shopflow.store.orders import InMemoryOrderStore
from shopflow.webhooks import shopify
from tests.support import corpus

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
WARSAW = ZoneInfo("Europe/Warsaw")


def placed(store: InMemoryOrderStore, financial_status: str, late_after: timedelta | None) -> str:
    change = shopify.normalize(
        "orders/create", {**corpus("shopify/order.json"), "financial_status": financial_status}
    )
    recorded = record_delivery(
        ReceivedChange(("wh-1",), change, "shopify orders/create"),
        store,
        now=NOW,
        timers=[lambda events, order, now: late_checks(events, now, late_after)],
    )
    return recorded.order_id


def test_a_paid_order_arms_one_late_check_at_the_configured_hours() -> None:
    store = InMemoryOrderStore()
    order_id = placed(store, "paid", timedelta(hours=48))

    (timer,) = store.timers.values()
    assert (timer.timer_id, timer.action, timer.due_at) == (
        f"late#{order_id}",
        "late_check",
        NOW + timedelta(hours=48),
    )
    assert json.loads(timer.payload) == {"order_id": order_id, "hours": 48}


def test_only_the_move_into_awaiting_shipment_arms_it() -> None:
    order = "shopify:1"
    to_paid = OrderStatusChanged(
        order_id=order, status=OrderStatus.PAID, previous_status=OrderStatus.PENDING, occurred_at=NOW
    )
    paid_to_processing = OrderStatusChanged(
        order_id=order, status=OrderStatus.PROCESSING, previous_status=OrderStatus.PAID, occurred_at=NOW
    )
    shipped = OrderStatusChanged(
        order_id=order, status=OrderStatus.SHIPPED, previous_status=OrderStatus.PAID, occurred_at=NOW
    )
    pending = OrderPlaced(order_id=order, status=OrderStatus.PENDING, occurred_at=NOW)

    assert len(late_checks((to_paid,), NOW, timedelta(hours=1))) == 1
    assert late_checks((paid_to_processing,), NOW, timedelta(hours=1)) == ()
    assert late_checks((shipped,), NOW, timedelta(hours=1)) == ()
    assert late_checks((pending,), NOW, timedelta(hours=1)) == ()
    assert late_checks((to_paid,), NOW, None) == ()


def test_a_late_order_gets_one_code_and_one_delayed_event_however_often_the_timer_fires() -> None:
    store = InMemoryOrderStore()
    order_id = placed(store, "paid", timedelta(hours=48))
    settings = Settings({"notify.delayed.coupon_percent": 15, "notify.delayed.coupon_valid_days": 14})
    clock = FakeClock(NOW + timedelta(hours=48))

    first = check_late_order({"order_id": order_id, "hours": 48}, store=store, settings=settings, clock=clock)
    second = check_late_order(
        {"order_id": order_id, "hours": 48}, store=store, settings=settings, clock=clock
    )

    assert (first.status, second.status) == ("accepted", "duplicate")
    stored = store.get(order_id)
    assert stored is not None and stored.order.delay_coupon is not None
    coupon = stored.order.delay_coupon
    assert coupon.percent == 15 and coupon.valid_until == clock.now() + timedelta(days=14)
    assert [m.event_type for m in store.outbox] == ["OrderPlaced", "OrderDelayed"]
    assert [(m.kind, m.channel) for m in store.messages][-2:] == [("delayed", "email"), ("delayed", "sms")]
    assert store.timeline(order_id)[-1].detail.startswith(
        f"not shipped 48 h after payment; discount code {coupon.code} (15%"
    )


def test_a_shipped_or_cancelled_order_is_not_late() -> None:
    store = InMemoryOrderStore()
    order_id = placed(store, "pending", None)  # the corpus order is pending: awaiting payment, not late

    recorded = check_late_order(
        {"order_id": order_id, "hours": 48}, store=store, settings=Settings({}), clock=FakeClock(NOW)
    )

    assert (recorded.status, recorded.reason) == ("ignored", "not late: pending")
    assert [m.event_type for m in store.outbox] == ["OrderPlaced"]


def test_codes_are_unique_and_easy_to_type() -> None:
    codes = {new_code("SORRY") for _ in range(5000)}
    assert len(codes) == 5000
    assert all(c.startswith("SORRY-") and not set(c[6:]) & set("01OIL") for c in codes)


@pytest.mark.parametrize(
    ("utc", "until"),
    [
        ("2026-11-20T20:30:00+00:00", "2026-11-21T07:00:00+00:00"),  # 21:30 in Warsaw -> 08:00 next day
        ("2026-11-20T06:00:00+00:00", "2026-11-20T07:00:00+00:00"),  # 07:00 -> 08:00 the same day
        ("2026-11-20T19:59:00+00:00", None),  # 20:59: still allowed
        ("2026-11-20T07:00:00+00:00", None),  # 08:00 sharp: allowed
        ("2026-03-28T22:00:00+00:00", "2026-03-29T06:00:00+00:00"),  # clocks go forward: 08:00 CEST
    ],
)
def test_quiet_hours_end_at_the_customers_own_morning(utc: str, until: str | None) -> None:
    found = quiet_until(datetime.fromisoformat(utc), WARSAW, time(21), time(8))
    assert found == (datetime.fromisoformat(until) if until else None)


def test_an_sms_in_quiet_hours_is_deferred_and_an_email_is_not() -> None:
    change = shopify.normalize("orders/create", corpus("shopify/order.json"))
    order = change.order.model_copy(  # type: ignore[union-attr]
        update={
            "customer": change.order.customer.model_copy(
                update={"phone": "+48601234567", "timezone": "Europe/Warsaw"}
            )
        }  # type: ignore[union-attr]
    )
    policy = policy_from(
        Settings({"notify.email.sender": "orders@shop.example", "notify.confirmation.sms": True})
    )
    night = datetime(2026, 11, 20, 22, 15, tzinfo=UTC)  # 23:15 in Warsaw

    sms = decide(order, "confirmation", "sms", policy, night, transactional=True)
    email = decide(order, "confirmation", "email", policy, night, transactional=True)

    assert sms == Defer(
        datetime(2026, 11, 21, 7, 0, tzinfo=UTC),
        "quiet hours 21:00-08:00 Europe/Warsaw: deferred to 2026-11-21 08:00",
    )
    assert isinstance(email, Send)
    off = policy_from(Settings({"notify.confirmation.sms": True, "notify.sms.quiet_hours": "off"}))
    assert isinstance(decide(order, "confirmation", "sms", off, night, transactional=True), Send)
