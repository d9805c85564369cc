"""What back-in-stock alerts need from wherever subscriptions are kept, and the inputs they take.

Pure: no AWS import. `shopflow.store.back_in_stock` is the DynamoDB adapter and its in-memory twin.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shopflow.back_in_stock.model import SkuWaiting, Subscription, SubscriptionStatus
from shopflow.kernel.timeline import TimelineEntry
from shopflow.kernel.timers import TimerRequest


@dataclass(frozen=True)
class ReceivedSubscription:
    """A verified `back_in_stock.subscribed`."""

    event_id: str  # its webhook-id
    subscription: Subscription
    via: str


@dataclass(frozen=True)
class ReceivedUnsubscription:
    """A verified `back_in_stock.unsubscribed`."""

    event_id: str
    sku: str
    contact: str  # contact_id(email, phone)
    via: str


class NotWaiting(Exception):
    """The subscription moved on meanwhile (alerted, skipped, unsubscribed, or created by a
    concurrent delivery): the write's condition failed and nothing was written."""


class BackInStockStore(Protocol):
    """Subscriptions, each SKU's queue of waiting ones (oldest first) and its count.

    Every change of a subscription is one transaction with its queue entry, the SKU's count and
    a line on its timeline, conditioned on the status it was read in (else `NotWaiting`)."""

    def subscription(self, contact: str, sku: str) -> Subscription | None: ...

    def subscribe(self, subscription: Subscription, entry: TimelineEntry) -> None:
        """A new subscription, at the end of the SKU's queue; `NotWaiting` if it exists already."""
        ...

    def reopen(self, subscription: Subscription, was: SubscriptionStatus, entry: TimelineEntry) -> None:
        """An unsubscribed one subscribing again: waiting, at the end of the queue."""
        ...

    def add_event(self, subscription: Subscription, event_id: str) -> None:
        """Remember another webhook-id that asked for this subscription (its redelivery is one)."""
        ...

    def leave(self, subscription: Subscription, status: SubscriptionStatus, entry: TimelineEntry) -> None:
        """WAITING -> `status` (alerted, skipped, unsubscribed): out of the queue, the count down."""
        ...

    def requeue(self, subscription: Subscription, entry: TimelineEntry) -> None:
        """ALERTED -> WAITING at its old place: its alert never went (the SKU sold out again first)."""
        ...

    def waiting(self, sku: str, limit: int) -> Sequence[Subscription]:
        """The first `limit` waiting subscriptions of the SKU, oldest first (one Query)."""
        ...

    def start_run(self, sku: str, timer: TimerRequest, now: datetime, stale_after: datetime) -> bool:
        """A restock's run of batches begins with `timer` (its first batch), only if someone waits
        and no run is in progress (one whose next batch is due after `stale_after`); False if not."""
        ...

    def take_batch(self, sku: str, batch_id: str) -> bool:
        """The batch `batch_id` (one arming of the SKU's timer) is this one's to run; False when it
        ran already (its timer fired twice: the sweep and the timers queue deliver at least once)."""
        ...

    def continue_run(self, sku: str, timer: TimerRequest | None, now: datetime) -> None:
        """After a batch: the next one at `timer`, or (None) the run has ended."""
        ...

    def summary(self, sku: str) -> SkuWaiting | None: ...

    def every_sku(self) -> Sequence[SkuWaiting]:
        """Every SKU anyone ever waited for (the owner's view)."""
        ...

    def timeline(self, subject_id: str) -> Sequence[TimelineEntry]: ...
