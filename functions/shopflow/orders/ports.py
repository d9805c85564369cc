"""What the order capability needs from wherever orders are kept, and what one commit holds.

Pure: no AWS import. `shopflow.store.orders` is the DynamoDB adapter and its in-memory twin.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shopflow.kernel.messages import CHANNELS
from shopflow.kernel.outbox import OutboxMessage, outbox_id
from shopflow.kernel.timeline import TimelineEntry
from shopflow.kernel.timers import TimerRequest
from shopflow.kernel.unit_of_work import UnitOfWork
from shopflow.orders.changes import DomainEvent, OrderChange, OrderPlaced
from shopflow.orders.message_kinds import kinds_for
from shopflow.orders.model import Order


@dataclass(frozen=True)
class ReceivedChange:
    """A change to record into an order and how to recognise it again: a verified webhook
    delivery (webhooks/ makes it) or a timer's finding such as a late-order check."""

    dedup_keys: tuple[str, ...]
    change: OrderChange
    via: str  # "shopify orders/paid": names the sender and topic on the timeline
    # A create topic: try to insert without reading first (one request for a new order).
    expect_new: bool = False


@dataclass(frozen=True)
class StoredOrder:
    order: Order
    version: int
    deliveries: tuple[str, ...] = ()  # digests of the recent deliveries recorded into it, oldest first


@dataclass(frozen=True)
class Loaded:
    stored: StoredOrder | None
    duplicate: bool


@dataclass(frozen=True)
class Commit:
    """Everything one accepted delivery writes, in one transaction."""

    dedup_keys: tuple[str, ...]
    order: Order
    expected_version: int | None  # None: the order must not exist yet
    timeline: TimelineEntry | None  # None: nothing the owner sees changed (a newer watermark)
    events: tuple[DomainEvent, ...]
    now: datetime
    timers: tuple[TimerRequest, ...] = ()
    recorded_deliveries: tuple[str, ...] = ()  # `StoredOrder.deliveries` of the version read

    @property
    def new_version(self) -> int:
        return (self.expected_version or 0) + 1

    @property
    def deliveries(self) -> tuple[str, ...]:
        """The order's delivery digests after this commit: the latest `RECENT_DELIVERIES`."""
        new = tuple(delivery_digest(key) for key in self.dedup_keys)
        return (*self.recorded_deliveries, *new)[-RECENT_DELIVERIES:]

    @property
    def placed_at(self) -> datetime | None:
        """When the order's first details arrive, when it was placed (for the buyer index)."""
        placed = next((event for event in self.events if isinstance(event, OrderPlaced)), None)
        if placed is None:
            return None
        # Unknown placing time: the event's (what notify's backstop sees too, so both write one item).
        return self.order.placed_at or placed.occurred_at


def outbox_messages(commit: Commit) -> tuple[OutboxMessage, ...]:
    # The id names the delivery, not the order (decision 57): the same delivery always yields
    # the same id, and only one commit of it can succeed (the order's version and markers).
    return tuple(
        OutboxMessage(
            outbox_id=outbox_id(commit.dedup_keys, event.type, ordinal=ordinal),
            event_type=event.type,
            payload=event.model_dump_json(),
        )
        for ordinal, event in _numbered_by_type(commit.events)
    )


def _numbered_by_type(events: Sequence[DomainEvent]) -> list[tuple[int, DomainEvent]]:
    seen: dict[str, int] = {}
    numbered = []
    for event in events:
        numbered.append((seen.get(event.type, 0), event))
        seen[event.type] = seen.get(event.type, 0) + 1
    return numbered


@dataclass(frozen=True)
class PendingMessage:
    """A message an event causes (notify's claim makes its send-once record; the outbox names it)."""

    order_id: str
    kind: str
    channel: str
    cause: str  # the outbox_id of the event


def pending_messages(commit: Commit) -> tuple[PendingMessage, ...]:
    # The state machine never re-enters a status, so a (kind, channel) is created once per order.
    return tuple(
        PendingMessage(commit.order.order_id, kind, channel, message.outbox_id)
        for event, message in zip(commit.events, outbox_messages(commit), strict=True)
        for kind in kinds_for(event.type, event.status)
        for channel in CHANNELS
    )


# How many deliveries an order remembers. Older ones fall out; one delivered again after that is
# judged as any update (a body older than the order's watermark is ignored as stale).
RECENT_DELIVERIES = 32


def delivery_digest(key: str) -> str:
    """A delivery key as an order stores it: 72 bits of SHA-256, 12 characters. Only deliveries
    of one order are compared, so a collision is out of reach, and 32 of them fit in the item."""
    return base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()[:9]).decode()


def recorded_before(deliveries: Sequence[str], dedup_keys: Sequence[str]) -> bool:
    return any(delivery_digest(key) in deliveries for key in dedup_keys)


class OrderStore(Protocol):
    """The order repository: loads orders and stages their writes into a unit of work."""

    def load(self, order_id: str, dedup_keys: Sequence[str]) -> Loaded: ...

    def unit_of_work(self) -> UnitOfWork:
        """A new unit of work of this repository's kind (other repositories stage into it too)."""
        ...

    def stage(self, commit: Commit, work: UnitOfWork) -> None:
        """Stage all of `commit` into `work`; `work.commit()` raises `VersionConflict` when the
        order was created or changed since it was read (by this delivery too: reading again tells)."""
        ...

    def get(self, order_id: str) -> StoredOrder | None: ...

    def timeline(self, order_id: str) -> list[TimelineEntry]: ...


def owed_messages(commit: Commit) -> dict[str, tuple[str, ...]]:
    """outbox_id -> the messages (`kind#channel`) its event owes: the outbox item names them, so a
    message never sent stays visible although its send-once record is made by notify's claim."""
    owed: dict[str, tuple[str, ...]] = {}
    for pending in pending_messages(commit):
        owed[pending.cause] = (*owed.get(pending.cause, ()), f"{pending.kind}#{pending.channel}")
    return owed
