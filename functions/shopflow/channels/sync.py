"""Keeping every channel in step with stock (issue 15, item 2). Pure: ports only.

Two steps, so that pushes to one (channel, SKU) are serialised and coalesced (decision 67):

1. `plan_pushes`, when a SKU's stock changed (the table's stream): for each enabled channel that
   lists the SKU and whose acknowledged quantity differs from what it should show now, a
   `PushOrder` (channel, SKU, the stock version). The handler queues them on a FIFO queue, up
   to `ORDERS_PER_MESSAGE` of one channel a message, the channel being the message group: a
   channel's orders run one batch at a time, in order (so a SKU's too), and one push call takes
   a hundred SKUs.
2. `push_orders`, for a batch of one channel's orders: reads the SKUs' stock NOW (the latest
   version, not the one the order named: a burst of ten changes pushes once), skips what the
   channel already shows, and sends the rest in the adapter's batches. Each answer is recorded:
   acknowledged (what the channel shows, at which version), stale (Shopify's compare-and-set:
   the channel's quantity changed since shopflow saw it; it is pushed again once with the
   re-read value), rejected (a per-item error; the owner sees it). A recorded state never goes
   back to an older version.

A whole-call failure (the channel is down, throttled, the token refused) raises; the handler
leaves the channel's orders on the queue (retried with back-off, then the DLQ) or pauses it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shopflow.channels.breaker import Cuts, cut_of
from shopflow.channels.listings import Listing
from shopflow.channels.model import Channel, published_quantity
from shopflow.channels.ports import ChannelAdapter, Push, Pushed
from shopflow.stock.model import StockItem


@dataclass(frozen=True)
class SyncState:
    """What shopflow knows of one SKU on one channel."""

    channel: str
    sku: str
    shown: int | None  # what the channel last acknowledged (or showed when read); None: unknown
    version: int  # the stock version `shown` answers
    listing_id: str | None = None
    error: str | None = None  # the channel's reason when it last rejected the SKU
    at: datetime | None = None


@dataclass(frozen=True)
class PushOrder:
    """Bring `sku` on `channel` up to date with (at least) stock version `version`."""

    channel: str
    sku: str
    version: int

    @property
    def dedup_id(self) -> str:
        return f"{self.channel}#{self.sku}#{self.version}"


# Orders in one queue message: a push call then takes up to the adapter's batch of them
# (WooCommerce 100, Shopify 250); the push function gets up to 10 messages at once.
ORDERS_PER_MESSAGE = 100


class SyncStore(Protocol):
    def states(self, skus: Iterable[str], channel: str) -> Mapping[str, SyncState]:
        """The SKUs' states on `channel` that exist, by SKU."""
        ...

    def record(self, state: SyncState) -> bool:
        """Store `state` unless a state of a later version is stored; True when written."""
        ...


ListingOf = Callable[[Channel, str], Listing | None]


def plan_pushes(
    item: StockItem,
    channels: Sequence[Channel],
    listing_of: ListingOf,
    states: Mapping[str, SyncState],
) -> tuple[PushOrder, ...]:
    """The channels that should hear of `item`'s new numbers (`states`: by channel name)."""
    assert item.atp is not None
    orders = []
    for channel in channels:
        if not channel.enabled or listing_of(channel, item.sku) is None:
            continue
        state = states.get(channel.name)
        if state is not None and state.version >= item.version:
            continue  # already answered at this version or later
        if state is not None and state.shown == published_quantity(item.atp, channel.rules):
            continue  # the channel shows it already
        orders.append(PushOrder(channel.name, item.sku, item.version))
    return tuple(orders)


def planned_cuts(
    item: StockItem, orders: Sequence[PushOrder], channels: Sequence[Channel], states: Mapping[str, SyncState]
) -> dict[str, Cuts]:
    """What `orders` would take away from each channel (the breaker adds it up)."""
    assert item.atp is not None
    by_name = {channel.name: channel for channel in channels}
    cuts: dict[str, Cuts] = {}
    for order in orders:
        state = states.get(order.channel)
        wanted = published_quantity(item.atp, by_name[order.channel].rules)
        cuts[order.channel] = cuts.get(order.channel, Cuts()) + cut_of(state.shown if state else None, wanted)
    return cuts


@dataclass(frozen=True)
class PushReport:
    pushed: tuple[Pushed, ...]
    skipped: tuple[str, ...]  # SKUs the channel already showed right, or no longer listed
    listed_change: int = 0  # SKUs the channel shows above 0, more (or fewer) than before
    shown_change: int = 0  # units it shows in all, more (or fewer)


def push_orders(
    channel: Channel,
    orders: Sequence[PushOrder],
    *,
    adapter: ChannelAdapter,
    stock: Mapping[str, StockItem],
    listing_of: ListingOf,
    store: SyncStore,
    now: datetime,
) -> PushReport:
    """Push the latest numbers of the orders' SKUs to `channel`; raises the adapter's
    whole-call errors (nothing recorded for the pushes of that call)."""
    skus = list(dict.fromkeys(order.sku for order in orders))
    states = store.states(skus, channel.name)
    pushes: list[Push] = []
    skipped: list[str] = []
    for sku in skus:
        item = stock.get(sku)
        listing = listing_of(channel, sku)
        if item is None or item.atp is None or listing is None:
            skipped.append(sku)
            continue
        wanted = published_quantity(item.atp, channel.rules)
        state = states.get(sku)
        if state is not None and state.shown == wanted and state.version >= item.version:
            skipped.append(sku)
            continue
        seen = state.shown if state is not None and state.listing_id == listing.listing_id else None
        pushes.append(Push(listing.listing_id, sku, wanted, seen, item.version))
    # Sorted by listing: a WooCommerce parent's variations share calls.
    pushes.sort(key=lambda push: push.listing_id)
    results: list[Pushed] = []
    for start in range(0, len(pushes), adapter.batch_limit):
        batch = pushes[start : start + adapter.batch_limit]
        answers = adapter.push(batch)
        stale = _record(channel.name, batch, answers, store, now)
        if stale:  # decide again with what the channel showed: once
            again = adapter.push(stale)
            _record(channel.name, stale, again, store, now)
            answers = [a for a in answers if a.status != "stale"] + list(again)
        results.extend(answers)
    # What the channel shows in all moved by what was acknowledged (the breaker's base).
    before = {sku: (state.shown or 0) for sku, state in states.items()}
    sku_of = {push.listing_id: push.sku for push in pushes}
    listed = shown = 0
    for answer in results:
        if answer.status != "acknowledged":
            continue
        old, new = before.get(sku_of[answer.listing_id], 0), answer.quantity_there or 0
        listed += (new > 0) - (old > 0)
        shown += new - old
    return PushReport(tuple(results), tuple(skipped), listed, shown)


def _record(
    channel: str, pushes: Sequence[Push], answers: Sequence[Pushed], store: SyncStore, now: datetime
) -> list[Push]:
    """Record each answer; the pushes answered stale, rebuilt on what the channel showed."""
    by_listing = {answer.listing_id: answer for answer in answers}
    stale = []
    for push in pushes:
        answer = by_listing.get(push.listing_id)
        if answer is None:
            continue
        if answer.status == "acknowledged":
            shown = answer.quantity_there if answer.quantity_there is not None else push.quantity
            store.record(SyncState(channel, push.sku, shown, push.version, push.listing_id, None, now))
        elif answer.status == "stale":
            stale.append(Push(push.listing_id, push.sku, push.quantity, answer.quantity_there, push.version))
        else:
            store.record(
                SyncState(
                    channel, push.sku, None, push.version, push.listing_id, answer.error or "rejected", now
                )
            )
    return stale
