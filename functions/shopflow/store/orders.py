"""Where orders are kept: the order repository loads an order with one read and stages its
writes into the change's unit of work (`shopflow.store.unit_of_work`), which commits them.

`DynamoOrderStore` is the real one; `InMemoryOrderStore` is its twin for unit tests and
keeps the same rules (dedup markers, version conditions, all-or-nothing commits).

A new order is one TransactWriteItems of small items (decisions 45, 49): the order (compact
JSON, compressed when it would cross 1 KB, which doubles every write of it) carrying the digests
of the deliveries recorded into it, which are its dedup markers; the timeline line, which is
also the outbox item of the event it announces, naming the messages that event owes; and any
timer (staged by the timer repository). Then the buyer index, once the unit of work committed.
Send-once records are made by notify's claim.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactGetError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model
from pynamodb.transactions import TransactGet

from shopflow.carts.model import CART_SUBJECT_PREFIX
from shopflow.kernel.conflicts import VersionConflict
from shopflow.kernel.outbox import OutboxMessage
from shopflow.kernel.timeline import TimelineEntry
from shopflow.kernel.timers import TimerRequest
from shopflow.kernel.unit_of_work import InMemoryUnitOfWork, UnitOfWork, in_memory
from shopflow.orders.model import Order
from shopflow.orders.ports import (
    Commit,
    Loaded,
    PendingMessage,
    StoredOrder,
    outbox_messages,
    owed_messages,
    pending_messages,
    recorded_before,
)
from shopflow.store.buyers import DynamoBuyerIndex, InMemoryBuyerIndex
from shopflow.store.models import (
    DedupItem,
    OrderItem,
    OutboxItem,
    TimelineItem,
    connection_settings,
)
from shopflow.store.models import iso as iso  # where the other adapters have always found it
from shopflow.store.timers import DynamoTimers, InMemoryTimers
from shopflow.store.unit_of_work import DynamoUnitOfWork, dynamo

OUTBOX_RETENTION = timedelta(days=7)


def message_sort_key(kind: str, channel: str) -> str:
    return f"MESSAGE#{kind}#{channel}"


def timeline_sort_key(entry: TimelineEntry, version: int) -> str:
    return f"TIMELINE#{iso(entry.recorded_at)}#{version:08d}"


def _order_pk(order_id: str) -> str:
    return f"ORDER#{order_id}"


def subject_pk(subject_id: str) -> str:
    """Where a message subject's records and timeline live: an order, a cart (`cart|{id}`), or
    an alert about a channel (`channel|{name}|{event id}`: each alert its own partition), or a
    back-in-stock subscription (`bis|{contact}|{sku}`), or a day's email of the price proposals
    waiting (`prices|{day}`)."""
    # Cold start: only message stores file subjects; the api's first order loads neither.
    from shopflow.back_in_stock.model import SUBJECT_PREFIX as BIS_SUBJECT_PREFIX
    from shopflow.channels.alerts import ALERT_SUBJECT_PREFIX
    from shopflow.pricing.digest import DIGEST_SUBJECT_PREFIX

    if subject_id.startswith(BIS_SUBJECT_PREFIX):
        contact, _, sku = subject_id.removeprefix(BIS_SUBJECT_PREFIX).partition("|")
        return f"BISSUB#{contact}#{sku}"
    if subject_id.startswith(CART_SUBJECT_PREFIX):
        return f"CART#{subject_id.removeprefix(CART_SUBJECT_PREFIX)}"
    if subject_id.startswith(ALERT_SUBJECT_PREFIX):
        channel, _, event_id = subject_id.removeprefix(ALERT_SUBJECT_PREFIX).partition("|")
        return f"CHANNELALERT#{channel}#{event_id}"
    if subject_id.startswith(DIGEST_SUBJECT_PREFIX):
        return f"PRICEDIGEST#{subject_id.removeprefix(DIGEST_SUBJECT_PREFIX)}"
    return _order_pk(subject_id)


def dedup_pk(key: str) -> str:
    return f"DEDUP#{key}"


def dedup_item(key: str, subject_id: str, recorded_at: str, expires_at: int) -> DedupItem:
    """The marker that says a delivery was recorded; written on condition it does not exist."""
    return DedupItem(
        dedup_pk(key),
        "DEDUP",
        item_type="DEDUP",
        order_id=subject_id,
        recorded_at=recorded_at,
        expires_at=expires_at,
    )


def outbox_item(message: OutboxMessage, messages: Sequence[str], now: datetime) -> OutboxItem:
    """An event's own outbox item (when no timeline line announces it)."""
    return OutboxItem(
        f"OUTBOX#{message.outbox_id}",
        "OUTBOX",
        item_type="OUTBOX",
        outbox_id=message.outbox_id,
        event_type=message.event_type,
        payload=message.payload,
        messages=" ".join(messages) or None,
        created_at=iso(now),
        expires_at=int((now + OUTBOX_RETENTION).timestamp()),
    )


class DynamoOrderStore:
    """The order repository on DynamoDB: loads orders, stages their writes."""

    def __init__(self) -> None:
        self._connection: Connection | None = None
        self.timers = DynamoTimers()

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            self._connection = Connection(**connection_settings())
        return self._connection

    def load(self, order_id: str, dedup_keys: Sequence[str]) -> Loaded:
        # The order carries its deliveries' markers: one strongly consistent GetItem.
        stored = self.get(order_id)
        if stored is None:
            return Loaded(None, False)
        return Loaded(stored, recorded_before(stored.deliveries, dedup_keys))

    def get(self, order_id: str) -> StoredOrder | None:
        try:
            return _stored(OrderItem.get(_order_pk(order_id), "ORDER", consistent_read=True))
        except OrderItem.DoesNotExist:
            return None

    def recent(self, *, limit: int | None = None) -> list[tuple[StoredOrder, str]]:
        """Every order with when shopflow last changed it, newest first.

        A filtered scan: it reads the whole table, so it is for the owner's CLI, never a handler.
        """
        found = [
            (_stored(item), item.updated_at)
            for item in OrderItem.scan(OrderItem.item_type == "ORDER", consistent_read=True)
        ]
        found.sort(key=lambda pair: pair[1], reverse=True)
        return found[:limit] if limit is not None else found

    def timeline(self, order_id: str) -> list[TimelineEntry]:
        items = TimelineItem.query(
            _order_pk(order_id), TimelineItem.sk.startswith("TIMELINE#"), consistent_read=True
        )
        return [TimelineEntry.model_validate_json(item.document) for item in items]

    def unit_of_work(self) -> DynamoUnitOfWork:
        """A unit of work on this repository's connection; other DynamoDB repositories stage into
        it too, and one TransactWriteItems commits them all."""
        return DynamoUnitOfWork(self.connection)

    def stage(self, commit: Commit, work: UnitOfWork) -> None:
        """Stage all of `commit` into `work`. Committing raises `VersionConflict` when the order was
        created or changed since it was read (by this delivery too: reading again tells)."""
        transaction = dynamo(work)
        order = commit.order
        now = iso(commit.now)
        order_item = OrderItem(
            _order_pk(order.order_id),
            "ORDER",
            item_type="ORDER",
            version=commit.new_version,
            status=order.status.value,
            source=order.source,
            updated_at=now,
            deliveries=" ".join(commit.deliveries) or None,
        )
        set_document(order_item, order)
        order_condition: Condition = (
            OrderItem.pk.does_not_exist()
            if commit.expected_version is None
            else OrderItem.version == commit.expected_version
        )
        owed = owed_messages(commit)
        messages = outbox_messages(commit)
        # The timeline line announces the change's event itself (one item, not two); a change
        # with more events (none today) or no line gives the others outbox items of their own.
        announced = messages[0] if messages and commit.timeline is not None else None
        transaction.put(order_item, condition=order_condition, if_condition_fails=VersionConflict)
        if commit.timeline is not None:
            line = TimelineItem(
                _order_pk(order.order_id),
                timeline_sort_key(commit.timeline, commit.new_version),
                item_type="TIMELINE",
                document=commit.timeline.model_dump_json(),
            )
            if announced is not None:
                line.item_type = "OUTBOX"
                line.outbox_id = announced.outbox_id
                line.event_type = announced.event_type
                line.payload = announced.payload
                line.messages = " ".join(owed.get(announced.outbox_id, ())) or None
                line.created_at = now
            transaction.put(line)
        for message in messages:
            if message is not announced:
                transaction.put(outbox_item(message, owed.get(message.outbox_id, ()), commit.now))
        for timer in commit.timers:
            self.timers.arm(timer, now=commit.now, work=work)
        placed_at = commit.placed_at
        if placed_at is not None:
            # Derived data, written right after the commit and before the sender gets its answer,
            # so a reminder checked after the answer sees the order (decision 45 says why notify's
            # backstop alone is not enough). Puts are idempotent; a retried delivery writes them again.
            work.after_commit(lambda: DynamoBuyerIndex().record(order, placed_at))


# An item over 1 KB costs two write units (four in a transaction) and the order is written on
# every change: a document that would take it over is stored compressed (zlib, about a third).
ITEM_UNIT = 1024


def set_document(item: OrderItem, order: Order) -> None:
    """The order as compact JSON (defaults left out: the model fills them in when read back)."""
    document = order.model_dump_json(exclude_defaults=True).encode()
    others = (
        item.pk,
        item.sk,
        item.item_type,
        item.status,
        item.source,
        item.updated_at,
        item.deliveries or "",
    )
    names = ("pk", "sk", "item_type", "status", "source", "updated_at", "deliveries", "version", "document")
    size = sum(len(str(value).encode()) for value in others) + sum(map(len, names)) + 8 + len(document)
    if size <= ITEM_UNIT:
        item.document = document.decode()
    else:
        item.document_z = zlib.compress(document, 9)


def order_document(item: OrderItem) -> str:
    if item.document_z is not None:
        return zlib.decompress(item.document_z).decode()
    return str(item.document)


M = TypeVar("M", bound=Model)


def load_with_markers(
    connection: Connection, model: type[M], pk: str, sk: str, dedup_keys: Sequence[str]
) -> tuple[M | None, bool]:
    """One TransactGetItems reads the item and every dedup marker: a duplicate costs one request.
    Returns (the item or None, whether a marker exists)."""
    try:
        with TransactGet(connection=connection) as get:
            future = get.get(model, pk, sk)
            markers = [get.get(DedupItem, dedup_pk(key), "DEDUP") for key in dedup_keys]
    except TransactGetError as exc:
        # DynamoDB cancels a read that meets a write in flight on the same items: a lost race.
        if is_conflict(exc.cause_response_code, exc.cancellation_reasons):
            raise VersionConflict() from exc
        raise
    duplicate = any(dedup_exists(f) for f in markers)
    try:
        return future.get(), duplicate
    except model.DoesNotExist:
        return None, duplicate


def is_conflict(response_code: str | None, reasons: Sequence[object]) -> bool:
    codes = [getattr(reason, "code", None) for reason in reasons]
    return response_code == "TransactionConflictException" or (
        response_code == "TransactionCanceledException" and "TransactionConflict" in codes
    )


def dedup_exists(future: object) -> bool:
    try:
        future.get()  # type: ignore[attr-defined]
    except DedupItem.DoesNotExist:
        return False
    return True


def _stored(item: OrderItem) -> StoredOrder:
    deliveries = tuple((item.deliveries or "").split())
    return StoredOrder(Order.model_validate_json(order_document(item)), int(item.version), deliveries)


@dataclass
class InMemoryOrderStore:
    """The same contract in a dict: for unit tests of the service layer. `commits` holds the
    writes of each committed unit of work, `requests` counts loads and commits."""

    orders: dict[str, StoredOrder] = field(default_factory=dict)
    timelines: dict[str, list[TimelineEntry]] = field(default_factory=dict)
    outbox: list[OutboxMessage] = field(default_factory=list)
    messages: list[PendingMessage] = field(default_factory=list)  # owed by the outbox's events
    timers: dict[str, TimerRequest] = field(default_factory=dict)
    buyers: InMemoryBuyerIndex = field(default_factory=InMemoryBuyerIndex)
    commits: list[int] = field(default_factory=list)
    loads: int = 0

    @property
    def requests(self) -> int:
        return self.loads + len(self.commits)

    def load(self, order_id: str, dedup_keys: Sequence[str]) -> Loaded:
        self.loads += 1
        stored = self.orders.get(order_id)
        return Loaded(stored, stored is not None and recorded_before(stored.deliveries, dedup_keys))

    def get(self, order_id: str) -> StoredOrder | None:
        return self.orders.get(order_id)

    def timeline(self, order_id: str) -> list[TimelineEntry]:
        return list(self.timelines.get(order_id, []))

    def unit_of_work(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(log=self.commits)

    def stage(self, commit: Commit, work: UnitOfWork) -> None:
        unit = in_memory(work)
        order_id = commit.order.order_id

        def check() -> None:
            current = self.orders.get(order_id)
            if (current.version if current else None) != commit.expected_version:
                raise VersionConflict()

        def apply() -> None:
            self.orders[order_id] = StoredOrder(commit.order, commit.new_version, commit.deliveries)
            if commit.timeline is not None:
                self.timelines.setdefault(order_id, []).append(commit.timeline)
            self.outbox.extend(outbox_messages(commit))
            self.messages.extend(pending_messages(commit))

        unit.stage(("ORDER", order_id), apply, check)
        timers = InMemoryTimers(self.timers)
        for timer in commit.timers:
            timers.arm(timer, now=commit.now, work=work)
        placed_at = commit.placed_at
        if placed_at is not None:
            unit.after_commit(lambda: self.buyers.record(commit.order, placed_at))
