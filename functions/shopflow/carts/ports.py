"""What the cart capability needs from wherever carts are kept, and what one commit holds.

Pure: no AWS import. `shopflow.store.carts` is the DynamoDB adapter and its in-memory twin.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from shopflow.carts.model import Cart, CartChange
from shopflow.kernel.timeline import TimelineEntry
from shopflow.kernel.timers import TimerRequest
from shopflow.kernel.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class ReceivedCartChange:
    """A change to record into a shopper's cart (checkout) and how to recognise it again."""

    dedup_keys: tuple[str, ...]
    change: CartChange
    via: str


@dataclass(frozen=True)
class StoredCart:
    cart: Cart
    version: int


@dataclass(frozen=True)
class LoadedCart:
    stored: StoredCart | None
    duplicate: bool


@dataclass(frozen=True)
class CartCommit:
    dedup_keys: tuple[str, ...]
    cart: Cart
    expected_version: int | None  # None: the cart must not exist yet
    entry: TimelineEntry
    now: datetime
    dedup_retention: timedelta
    arm: tuple[TimerRequest, ...] = ()  # put (replacing a timer of the same id: re-armed)
    cancel: tuple[str, ...] = ()  # timer ids to delete

    @property
    def new_version(self) -> int:
        return (self.expected_version or 0) + 1


class CartStore(Protocol):
    """The cart repository: loads carts and stages their writes into a unit of work."""

    def load(self, cart_id: str, dedup_keys: tuple[str, ...]) -> LoadedCart: ...

    def unit_of_work(self) -> UnitOfWork:
        """A new unit of work of this repository's kind (other repositories stage into it too)."""
        ...

    def stage(self, commit: CartCommit, work: UnitOfWork) -> None:
        """Stage all of `commit`; `work.commit()` raises `DuplicateDelivery` when a marker exists,
        `VersionConflict` when the cart was created or changed since it was read."""
        ...

    def get(self, cart_id: str) -> StoredCart | None: ...
