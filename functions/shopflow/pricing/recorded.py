"""What pricing records so that `shopflow prices simulate` can replay the past (issue 16, item 9).

- The input log: every accepted `competitor_price.observed` and `product.pricing_updated`, kept
  ~40 days, written with the SKU's record (so it holds exactly what the record took in).
- Sales per SKU and day, from orders: the units and revenue of each order's lines, added by the
  order's own commit when the order is first seen sold, per order source (the channel it came from).

Pure: no AWS import; the store (`store/pricing.py`) keeps them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from shopflow.pricing.model import CompetitorObservation, amount_of, text
from shopflow.pricing.state import SkuPrices

if TYPE_CHECKING:
    from shopflow.kernel.unit_of_work import UnitOfWork
    from shopflow.orders.model import Order
    from shopflow.pricing.reprice import Repriced

LOG_RETENTION = timedelta(days=40)  # a 30-day replay plus the day before it (offers stay fresh 24 h)
MAX_REPLAY_DAYS = 30
# Statuses in which an order's units are sold (a pending order may never be paid).
SOLD = frozenset({"paid", "processing", "shipped", "delivered"})


@dataclass(frozen=True, slots=True)
class Described:
    """A SKU's cost and bounds as the record held them (before or after a `product.pricing_updated`)."""

    currency: str | None
    cost: Decimal | None
    min_price: Decimal | None
    max_price: Decimal | None
    group: str

    @classmethod
    def of(cls, state: SkuPrices) -> Described:
        return cls(state.currency, state.cost, state.min_price, state.max_price, state.group)

    def as_dict(self) -> dict[str, str | None]:
        return {
            "currency": self.currency,
            "cost": text(self.cost),
            "min_price": text(self.min_price),
            "max_price": text(self.max_price),
            "group": self.group,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Described:
        return cls(
            data.get("currency"),
            amount_of(data.get("cost")),
            amount_of(data.get("min_price")),
            amount_of(data.get("max_price")),
            str(data.get("group") or "default"),
        )


@dataclass(frozen=True, slots=True)
class LoggedObservation:
    sku: str
    observation: CompetitorObservation

    @property
    def at(self) -> datetime:
        return self.observation.observed_at


@dataclass(frozen=True, slots=True)
class LoggedInputs:
    """A cost and bounds change, with what the record held before it (a replay that starts after
    an older change, whose log line has expired, still knows the cost at its start)."""

    sku: str
    at: datetime
    before: Described
    after: Described


Logged = LoggedObservation | LoggedInputs


def log_document(entry: Logged) -> dict[str, Any]:
    if isinstance(entry, LoggedObservation):
        return {"kind": "observation", "sku": entry.sku, **entry.observation.as_data()}
    return {
        "kind": "inputs",
        "sku": entry.sku,
        "at": entry.at.isoformat(),
        "before": entry.before.as_dict(),
        "after": entry.after.as_dict(),
    }


def logged_from(data: Mapping[str, Any]) -> Logged:
    if data["kind"] == "observation":
        return LoggedObservation(str(data["sku"]), CompetitorObservation.from_data(data))
    return LoggedInputs(
        str(data["sku"]),
        datetime.fromisoformat(str(data["at"])),
        Described.from_dict(data["before"]),
        Described.from_dict(data["after"]),
    )


@dataclass(frozen=True, slots=True)
class DailySales:
    """A SKU's units sold on one day through one source (an order's `source`), and their revenue
    in the orders' currency."""

    sku: str
    day: date
    source: str
    units: int
    revenue: Decimal
    currency: str


def sales_of(before: Order | None, after: Order, now: datetime) -> tuple[DailySales, ...]:
    """The order's units per SKU when this commit first sees it sold (new and paid, or pending
    until now), on the day it was placed; nothing otherwise (a later change, a redelivery)."""
    if after.status.value not in SOLD or (before is not None and before.status.value in SOLD):
        return ()
    day = (after.placed_at or now).astimezone(UTC).date()  # the days a replay reads are UTC's
    units: dict[str, int] = {}
    revenue: dict[str, Decimal] = {}
    for line in after.lines:
        if line.sku and line.quantity:
            units[line.sku] = units.get(line.sku, 0) + line.quantity
            revenue[line.sku] = revenue.get(line.sku, Decimal(0)) + line.total
    return tuple(
        DailySales(sku, day, after.source, units[sku], revenue[sku], after.currency) for sku in units
    )


class RecordingStore(Protocol):
    """The pricing store with the input log: a record saved with its log lines, all or nothing."""

    def get(self, sku: str) -> SkuPrices | None: ...

    def save(self, repriced: Repriced, logged: Sequence[Logged] = ()) -> None: ...


class SalesLog(Protocol):
    def stage_sales(self, sales: DailySales, work: UnitOfWork) -> None:
        """ADD the units and revenue to the SKU's day, in the order's unit of work."""
        ...


class ReplayReads(Protocol):
    """What a replay reads: every record, and the window's log and sales (by shard and day)."""

    def pages(self, shard: int) -> Any: ...

    def logged(self, shard: int, day: date) -> Sequence[Logged]: ...

    def sales(self, shard: int, day: date) -> Sequence[DailySales]: ...


class OrderSalesWrites:
    """The order writes hook (kernel.capability.OrderWrites): stages one ADD per distinct SKU of an
    order first seen sold. A retried attempt stages into a new unit of work (the failed one wrote
    nothing) and a redelivery finds the order already sold, so a sale counts once."""

    def __init__(self, store: SalesLog) -> None:
        self._store = store

    def __call__(
        self, before: Order | None, after: Order, events: tuple[Any, ...], now: datetime, work: UnitOfWork
    ) -> None:
        for sales in sales_of(before, after, now):
            self._store.stage_sales(sales, work)
