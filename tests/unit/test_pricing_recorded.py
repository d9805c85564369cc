"""What pricing records for its what-if, on the in-memory twins: an input's log line is kept with
the record that took it in, and an order's units count once, when it is first seen sold, however
often it is delivered (pricing/recorded.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

from shopflow.orders.ports import ReceivedChange
from shopflow.orders.service import record_delivery
from shopflow.pricing.model import CompetitorObservation
from shopflow.pricing.ports import ReceivedCompetitorPrice
from shopflow.pricing.recorded import LoggedObservation, OrderSalesWrites
from shopflow.pricing.service import record_observation
from shopflow.pricing.state import shard_of
from shopflow.store.orders import InMemoryOrderStore
from shopflow.store.pricing import InMemoryPricingStore
from shopflow.webhooks.events import EVENT_MODELS, to_change

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_an_observation_is_logged_once_and_one_the_record_ignores_not_at_all() -> None:
    store = InMemoryPricingStore()
    seen = CompetitorObservation("rival", D("19.99"), "EUR", True, NOW)
    older = CompetitorObservation("rival", D("18.99"), "EUR", True, NOW - timedelta(hours=1))

    for event_id, offer in (("e1", seen), ("e1", seen), ("e2", older)):
        record_observation(ReceivedCompetitorPrice(event_id, "MUG-1", offer, "test"), store)

    assert store.logged(shard_of("MUG-1"), NOW.date()) == [LoggedObservation("MUG-1", seen)]


class Orders:
    def __init__(self) -> None:
        self.orders = InMemoryOrderStore()
        self.pricing = InMemoryPricingStore()
        self.deliveries = 0

    def deliver(
        self, external_id: str, status: str, lines: tuple[tuple[str, int], ...] = (), placed: str = ""
    ) -> str:
        self.deliveries += 1
        at = (NOW + timedelta(minutes=self.deliveries)).isoformat()
        data: dict[str, object] = {
            "source": "shop",
            "external_id": external_id,
            "status": status,
            "updated_at": at,
        }
        if lines:
            data |= {
                "currency": "EUR",
                "total": "1.00",
                "placed_at": placed or NOW.isoformat(),
                "lines": [{"sku": s, "name": s, "quantity": q, "unit_price": "2.50"} for s, q in lines],
                "customer": {"email": "ann@example.com"},
            }
        type_ = "order.created" if lines else "order.status_changed"
        body = EVENT_MODELS[type_].model_validate({"type": type_, "timestamp": at, "data": data})
        delivery = ReceivedChange((f"events:{self.deliveries}",), to_change(body), via=f"erp {type_}")
        writes = (OrderSalesWrites(self.pricing),)
        return record_delivery(delivery, self.orders, now=NOW, writes=writes, sleep=lambda _: None).status

    def units(self, sku: str, day: date | None = None) -> tuple[int, D] | None:
        found = {s.sku: (s.units, s.revenue) for s in self.pricing.sales(shard_of(sku), day or NOW.date())}
        return found.get(sku)


def test_an_order_counts_once_when_it_is_first_sold_however_often_it_is_delivered() -> None:
    shop = Orders()

    shop.deliver("1", "pending", (("MUG-1", 2), ("MUG-1", 1)))
    assert shop.units("MUG-1") is None  # not sold yet
    assert shop.deliver("1", "paid") == "accepted"
    assert shop.deliver("1", "paid") in ("ignored", "duplicate")  # redelivered
    shop.deliver("1", "shipped")
    shop.deliver("2", "paid", (("MUG-1", 1),))

    assert shop.units("MUG-1") == (4, D("10.00"))


def test_an_order_placed_late_in_the_evening_east_of_utc_counts_on_its_utc_day() -> None:
    shop = Orders()

    shop.deliver("1", "paid", (("MUG-1", 1),), placed="2026-11-29T00:30:00+02:00")

    assert shop.units("MUG-1", date(2026, 11, 28)) == (1, D("2.50"))
