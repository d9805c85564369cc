"""What an order does to stock (stock/orders.py), on the in-memory twins: the step a status
change means, the fast path that reads nothing, and the careful path after a guard failed
(an expired hold, atp short: oversold, never refused)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shopflow.orders.ports import ReceivedChange
from shopflow.orders.service import record_delivery
from shopflow.stock.model import (
    Cause,
    InventorySet,
    ReservationRequest,
    ReservationStatus,
    StockItem,
    order_step,
    oversold_units,
    set_movement,
)
from shopflow.stock.orders import OrderStockWrites
from shopflow.stock.oversell import STOCK_OVERSOLD
from shopflow.stock.service import Held, reserve
from shopflow.store.orders import InMemoryOrderStore
from shopflow.store.stock import InMemoryStockRepository
from shopflow.webhooks.events import EVENT_MODELS, to_change

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("before", "after", "step"),
    [
        (None, "pending", None),
        (None, "paid", "commit"),
        ("pending", "processing", "commit"),
        ("paid", "processing", None),
        ("paid", "shipped", "ship"),
        (None, "delivered", "ship"),
        ("paid", "cancelled", "release"),
        ("processing", "refunded", "release"),
        ("pending", "cancelled", None),
        ("shipped", "refunded", None),
        ("delivered", "returned", None),
        ("cancelled", "refunded", None),
    ],
)
def test_what_a_status_change_does_to_stock(before: str | None, after: str, step: str | None) -> None:
    assert order_step(before, after) == step


def test_a_count_moves_atp_by_what_on_hand_and_the_safety_buffer_moved() -> None:
    item = StockItem("MUG-01", on_hand=10, reserved=3, safety=1)
    moved = set_movement(item, InventorySet("MUG-01", 6, 2), 2, Cause("event", "e1"), NOW).applied_to(item)

    assert (moved.on_hand, moved.safety, moved.reserved, moved.atp) == (6, 2, 3, 1)


def test_shopifys_available_adds_back_the_committed_units() -> None:
    item = StockItem("MUG-01", on_hand=6, committed=2)
    level = InventorySet("MUG-01", 4, 1, counts="available")

    assert set_movement(item, level, 0, Cause("event", "e1"), NOW).applied_to(item).on_hand == 6


@pytest.mark.parametrize(
    ("atp", "needed", "oversold"), [(5, 3, 0), (1, 3, 2), (0, 3, 3), (-2, 3, 3), (2, 0, 0)]
)
def test_oversold_units_are_those_beyond_what_was_there(atp: int, needed: int, oversold: int) -> None:
    assert oversold_units(atp, needed) == oversold


class Shop:
    def __init__(self, **on_hand: int) -> None:
        self.stock = InMemoryStockRepository()
        self.orders = InMemoryOrderStore()
        work = self.stock.unit_of_work()
        for sku, count in on_hand.items():
            self.stock.stage_item(StockItem(sku.replace("_", "-"), on_hand=count), NOW, work)
        work.commit()
        self.deliveries = 0

    def hold(self, token: str, sku: str, quantity: int) -> str:
        request = ReservationRequest.model_validate(
            {"checkout_token": token, "lines": [{"sku": sku, "quantity": quantity}], "request_id": token}
        )
        held = reserve(request, self.stock, now=NOW, hold=timedelta(minutes=15))
        assert isinstance(held, Held)
        return held.reservation.reservation_id

    def order(
        self, external_id: str, status: str, lines: tuple[tuple[str, int], ...] = (), **extra: str
    ) -> None:
        self.deliveries += 1
        at = (NOW + timedelta(minutes=self.deliveries)).isoformat()
        data: dict[str, object] = {
            "source": "erp",
            "external_id": external_id,
            "status": status,
            "updated_at": at,
        }
        if lines:
            data |= {
                "currency": "EUR",
                "total": "1.00",
                "lines": [{"sku": s, "name": s, "quantity": q, "unit_price": "1.00"} for s, q in lines],
                "customer": {"email": "ann@example.com"},
                **extra,
            }
        type_ = "order.created" if lines else "order.status_changed"
        body = EVENT_MODELS[type_].model_validate({"type": type_, "timestamp": at, "data": data})
        delivery = ReceivedChange((f"events:{self.deliveries}",), to_change(body), via=f"erp {type_}")
        record_delivery(
            delivery, self.orders, now=NOW, writes=(OrderStockWrites(self.stock),), sleep=lambda _: None
        )

    def numbers(self, sku: str) -> tuple[int, int, int, int, int]:
        item = self.stock.stock[sku]
        return (item.on_hand, item.reserved, item.committed, item.atp or 0, item.oversold)


def test_a_paid_order_commits_its_checkouts_hold_with_its_own_commit_reading_only_the_pointer() -> None:
    shop = Shop(MUG_01=10)
    reservation_id = shop.hold("chk-1", "MUG-01", 2)
    reads, commits = shop.stock.reads, len(shop.orders.commits)

    shop.order("1", "paid", (("MUG-01", 2),), checkout_token="chk-1")

    assert shop.numbers("MUG-01") == (10, 0, 2, 8, 0)
    found = shop.stock.reservations[reservation_id]
    assert getattr(found, "status", None) is ReservationStatus.COMMITTED
    assert shop.stock.reads == reads + 1  # the checkout's pointer, nothing else
    assert len(shop.orders.commits) == commits + 1  # one unit of work: the order and its stock
    assert all("expiry" not in timer for timer in shop.stock.timers)


def test_a_hold_of_more_than_the_order_gives_the_rest_back() -> None:
    shop = Shop(MUG_01=10)
    reservation_id = shop.hold("chk-1", "MUG-01", 3)

    shop.order("1", "paid", (("MUG-01", 1),), reservation_id=reservation_id)

    assert shop.numbers("MUG-01") == (10, 0, 1, 9, 0)


def test_a_direct_order_reads_nothing_for_stock() -> None:
    shop = Shop(MUG_01=10)

    shop.order("1", "paid", (("MUG-01", 4),))

    assert shop.numbers("MUG-01") == (10, 0, 4, 6, 0) and shop.stock.reads == 0


def test_an_order_short_of_atp_is_taken_oversold_and_reported_once() -> None:
    shop = Shop(MUG_01=1)

    shop.order("1", "paid", (("MUG-01", 3),))
    shop.order("1", "processing")  # still paid: nothing moves again

    assert shop.numbers("MUG-01") == (1, 0, 3, -2, 2)
    assert [m.event_type for m in shop.stock.outbox.messages] == [STOCK_OVERSOLD]
    entry = shop.stock.ledger[("order", "erp:1", "commit")]
    assert [(m.sku, m.committed, m.atp, m.oversold) for m in entry.movements] == [("MUG-01", 3, -3, 2)]


def test_shipping_and_cancelling_move_what_the_commit_took() -> None:
    shop = Shop(MUG_01=10, CAP=5)
    shop.order("1", "paid", (("MUG-01", 2), ("CAP", 1)))
    shop.order("2", "paid", (("MUG-01", 3),))

    shop.order("1", "shipped")
    shop.order("2", "cancelled")

    assert shop.numbers("MUG-01") == (8, 0, 0, 8, 0) and shop.numbers("CAP") == (4, 0, 0, 4, 0)
    assert set(shop.stock.ledger) == {
        ("order", "erp:1", "commit"),
        ("order", "erp:1", "ship"),
        ("order", "erp:2", "commit"),
        ("order", "erp:2", "release"),
    }


def test_a_shipment_of_an_order_whose_commit_skipped_an_untracked_sku_moves_only_the_tracked() -> None:
    shop = Shop(MUG_01=10)
    shop.order("1", "paid", (("MUG-01", 1), ("GIFT", 1)))
    shop.stock.stock["GIFT"] = StockItem("GIFT", on_hand=5)  # counted after the payment

    shop.order("1", "shipped")

    assert shop.numbers("MUG-01") == (9, 0, 0, 9, 0)
    assert shop.numbers("GIFT") == (5, 0, 0, 5, 0)  # its units were never committed: none leave
