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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shopflow.kernel.timers import TimerRequest
from shopflow.kernel.unit_of_work import UnitOfWork
from shopflow.stock.model import Reservation, ReservationStatus, Shortage, StockItem


class InsufficientStock(Exception):
    """A SKU's `atp >= quantity` condition failed (or the SKU is unknown): nothing was held."""


class NotHeld(Exception):
    """The reservation is no longer HELD (committed, released or expired meanwhile)."""


@dataclass(frozen=True)
class Refusal:
    """A request that held nothing, as it was answered."""

    reservation_id: str
    checkout_token: str
    short: tuple[Shortage, ...]
    refused_at: datetime


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

    def stage_item(self, item: StockItem, now: datetime, work: UnitOfWork) -> None:
        """Put a SKU's numbers as they are (a new SKU, tests and the demo); the inputs that set
        on_hand from the ERP or Shopify will stage conditional moves of their own."""
        ...


ENDED = (ReservationStatus.RELEASED, ReservationStatus.EXPIRED)
