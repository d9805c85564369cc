"""What stock needs from wherever stock items and reservations are kept. Pure: no AWS import.

`shopflow.store.stock` is the DynamoDB repository (`DynamoStockRepository`) and its in-memory
twin (`InMemoryStockRepository`, staging into the kernel's `InMemoryUnitOfWork`). Both keep
the same contract:

- `stage_hold` stages, into the caller's unit of work and in this order: the reservation
  (only if no reservation of that id exists: a retry of the request fails it, and committing
  raises `DuplicateDelivery`), then per line a conditional update of the SKU (`atp >= quantity`:
  atp -= quantity, reserved += quantity; committing raises `InsufficientStock` when any SKU
  has too little or is unknown, and nothing is written), then the expiry timer.
- `stage_end` stages a HELD reservation's end (released or expired; only if it is still HELD,
  else committing raises `NotHeld`) and per line the numbers given back (atp += quantity,
  reserved -= quantity), and removes its expiry timer when asked.
- `record_refusal` writes, once, that a request was refused and what was short, so its retry is
  answered the same; `DuplicateDelivery` when that request id already has an answer.
- Reads (`reservation`, `items`) are strongly consistent: `items` is ONE batch read.

A reservation's hold and end are the ledger of its movements (decision 59): the reservation
records its lines, when it was held and when and how it ended.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shopflow.kernel.outbox import OutboxMessage
from shopflow.kernel.timers import TimerRequest
from shopflow.kernel.unit_of_work import UnitOfWork
from shopflow.stock.model import (
    Cause,
    LedgerEntry,
    Reservation,
    ReservationStatus,
    ReservedLine,
    Shortage,
    StockChange,
    StockItem,
    StockMovement,
)


class InsufficientStock(Exception):
    """A SKU's `atp >= quantity` condition failed (or the SKU is unknown): nothing was held."""


class UnknownSku(LookupError):
    """The SKU has never been counted (no `inventory.set`, no Shopify level)."""


class NotHeld(Exception):
    """The reservation is no longer HELD (committed, released or expired meanwhile)."""


@dataclass(frozen=True)
class Refusal:
    """A request that held nothing, as it was answered."""

    reservation_id: str
    checkout_token: str
    short: tuple[Shortage, ...]
    refused_at: datetime


@dataclass(frozen=True)
class Guard:
    """What must hold of a SKU's stored numbers for a move to apply; committing raises `fails()`
    when it does not (and nothing of the unit of work is written)."""

    fails: Callable[[], Exception]
    exists: bool = True  # False: the SKU must not exist yet (its first count puts it whole)
    atp_at_least: int | None = None
    atp_is: int | None = None
    committed_at_least: int | None = None
    on_hand_at_least: int | None = None
    as_read: StockItem | None = None  # its on_hand, safety and sequence still as read


@dataclass(frozen=True)
class CheckoutHold:
    """The latest reservation a checkout made (an order names its checkout, not the hold)."""

    checkout_token: str
    reservation_id: str
    lines: tuple[ReservedLine, ...]


class StockRepository(Protocol):
    def unit_of_work(self) -> UnitOfWork:
        """A new unit of work of this repository's kind (other repositories stage into it too)."""
        ...

    def stage_hold(self, reservation: Reservation, timer: TimerRequest, work: UnitOfWork) -> None: ...

    def stage_end(self, ended: Reservation, work: UnitOfWork, *, cancel_timer: str | None) -> None:
        """`ended`: the reservation with its new status (RELEASED or EXPIRED) and `ended_at`."""
        ...

    def record_refusal(self, refusal: Refusal) -> None: ...

    def reservation(self, reservation_id: str) -> Reservation | Refusal | None: ...

    def items(self, skus: Iterable[str]) -> Mapping[str, StockItem]:
        """The SKUs that exist, by SKU (one read)."""
        ...

    def stage_move(
        self, movement: StockMovement, guard: Guard, work: UnitOfWork, *, sequence: int | None = None
    ) -> None:
        """Move one SKU's numbers by `movement` if `guard` holds; `sequence`: the count's, stored."""
        ...

    def stage_entry(
        self, entry: LedgerEntry, work: UnitOfWork, *, once: Callable[[], Exception] | None
    ) -> None:
        """Write `entry` to the ledger; `once`: only if no entry of its cause and action exists
        (committing raises `once()`), which makes the entry its input's dedup marker."""
        ...

    def stage_commit(
        self,
        reservation_id: str,
        lines: tuple[ReservedLine, ...] | None,
        at: datetime,
        work: UnitOfWork,
        *,
        fails: Callable[[], Exception],
    ) -> None:
        """A HELD reservation becomes COMMITTED (its expiry timer removed); `lines`: only if it
        holds exactly these (the order's, assumed without reading). Else committing raises `fails()`."""
        ...

    def stage_event(
        self, message: OutboxMessage, owed: Sequence[str], now: datetime, work: UnitOfWork
    ) -> None:
        """Publish `message` (the owner's oversell report) with the unit of work: its outbox
        item names the messages (`kind#channel`) the event owes."""
        ...

    def ledger_entry(self, cause: Cause, action: str) -> LedgerEntry | None: ...

    def checkout_holds(self, checkout_tokens: Iterable[str]) -> tuple[CheckoutHold, ...]:
        """The holds of these checkouts that exist (one read)."""
        ...

    def stage_item(self, item: StockItem, now: datetime, work: UnitOfWork) -> None:
        """Put a SKU's numbers as they are (a new SKU, tests and the demo); the inputs that set
        on_hand from the ERP or Shopify will stage conditional moves of their own."""
        ...


ENDED = (ReservationStatus.RELEASED, ReservationStatus.EXPIRED)


@dataclass(frozen=True)
class ReceivedStockChange:
    """A verified delivery from the stock master: a count or an adjustment of one SKU.
    `event_id` (the `webhook-id`) makes it once: its ledger entry is keyed by it."""

    event_id: str
    change: StockChange
    via: str


@dataclass(frozen=True)
class ReceivedInventoryLevel:
    """A platform's stock level of one inventory item at one location (Shopify's
    `inventory_levels/update`): obeyed as a count only where that platform is the stock master."""

    event_id: str
    source: str  # "shopify"
    inventory_item_id: str
    location_id: str
    available: int
    updated_at: datetime
    via: str
