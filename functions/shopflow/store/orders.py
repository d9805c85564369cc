"""Where orders are kept: one read and one transaction per delivery.

`DynamoOrderStore` is the real one; `InMemoryOrderStore` is its twin for unit tests and
keeps the same rules (dedup markers, version conditions, all-or-nothing commits).

A new order is one TransactWriteItems of small items (decisions 45, 49): the order (compact
JSON, compressed when it would cross 1 KB, which doubles every write of it) carrying the digests
of the deliveries recorded into it, which are its dedup markers; the timeline line, which is
also the outbox item of the event it announces, naming the messages that event owes; and any
timer. Then the buyer index. Send-once records are made by notify's claim.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactGetError, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model
from pynamodb.transactions import TransactGet, TransactWrite

from shopflow.carts.model import CART_SUBJECT_PREFIX
from shopflow.kernel.conflicts import DuplicateDelivery, VersionConflict
from shopflow.kernel.timeline import TimelineEntry
from shopflow.kernel.timers import TimerRequest
from shopflow.orders.model import Order
from shopflow.orders.ports import (
    Commit,
    Loaded,
    OutboxMessage,
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
    TimerItem,
    connection_settings,
)

OUTBOX_RETENTION = timedelta(days=7)


def message_sort_key(kind: str, channel: str) -> str:
    return f"MESSAGE#{kind}#{channel}"


def timeline_sort_key(entry: TimelineEntry, version: int) -> str:
    return f"TIMELINE#{iso(entry.recorded_at)}#{version:08d}"


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _order_pk(order_id: str) -> str:
    return f"ORDER#{order_id}"


def subject_pk(subject_id: str) -> str:
    """Where a message subject's records and timeline live: an order, or a cart (`cart|{id}`)."""
    if subject_id.startswith(CART_SUBJECT_PREFIX):
        return f"CART#{subject_id.removeprefix(CART_SUBJECT_PREFIX)}"
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


class DynamoOrderStore:
    def __init__(self) -> None:
        self._connection: Connection | None = None

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

    def commit(self, commit: Commit) -> None:
        order = commit.order
        now = iso(commit.now)
        outbox_expiry = int((commit.now + OUTBOX_RETENTION).timestamp())
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
        try:
            with TransactWrite(connection=self.connection) as write:
                write.save(order_item, condition=order_condition)
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
                    write.save(line)
                for message in messages:
                    if message is announced:
                        continue
                    write.save(
                        OutboxItem(
                            f"OUTBOX#{message.outbox_id}",
                            "OUTBOX",
                            item_type="OUTBOX",
                            outbox_id=message.outbox_id,
                            event_type=message.event_type,
                            payload=message.payload,
                            messages=" ".join(owed.get(message.outbox_id, ())) or None,
                            created_at=now,
                            expires_at=outbox_expiry,
                        )
                    )
                for timer in commit.timers:
                    write.save(timer_item(timer, commit.now))
        except TransactWriteError as exc:
            # The order's condition failed: created or changed since it was read, possibly by this
            # very delivery; the service reads again and finds which.
            raise commit_failure(exc, 0) from exc
        if commit.placed_at is not None:
            # Derived data, written right after the commit and before the sender gets its answer,
            # so a reminder checked after the answer sees the order (decision 45 says why notify's
            # backstop alone is not enough). Puts are idempotent; a retried delivery writes them again.
            DynamoBuyerIndex().record(order, commit.placed_at)


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


# The `timers` index key: `t#{hour}#{shard}`. Writes spread over one key per hour and shard, so
# the ceiling grows with how far ahead timers are due; removals (a timer fired or cancelled)
# land in the hour it is due, so 16 shards bound that hour at 16 partitions' writes. The sweep
# queries each shard of the hours from its watermark to now: 16 queries an hour bucket.
TIMER_SHARDS = 16
LEGACY_TIMER_KEYS = tuple(f"timers#{shard}" for shard in range(4))  # armed before hour buckets
TIMER_BUCKET_FORMAT = "%Y-%m-%dT%H"


def timer_bucket(moment: datetime) -> str:
    """The hour (UTC) a moment falls in, as the index names it: `2026-11-28T17`."""
    return moment.astimezone(UTC).strftime(TIMER_BUCKET_FORMAT)


def timer_shard(timer_id: str, due_at: datetime, armed_at: datetime) -> str:
    """The index key of a timer: the hour it is due in, or the hour it is armed in if it is
    already due then, so a sweep that has passed its due hour still finds it."""
    bucket = timer_bucket(max(due_at, armed_at))
    return f"t#{bucket}#{zlib.crc32(timer_id.encode()) % TIMER_SHARDS}"


def timer_item(timer: TimerRequest, armed_at: datetime) -> TimerItem:
    return TimerItem(
        f"TIMER#{timer.timer_id}",
        "TIMER",
        item_type="TIMER",
        timer_shard=timer_shard(timer.timer_id, timer.due_at, armed_at),
        due_at=iso(timer.due_at),
        action=timer.action,
        payload=timer.payload,
    )


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


def commit_failure(exc: TransactWriteError, dedup_count: int) -> Exception:
    """What a cancelled intake transaction (its first `dedup_count` items the markers) means."""
    codes = [reason.code if reason else None for reason in exc.cancellation_reasons]
    if "ConditionalCheckFailed" in codes[:dedup_count]:
        return DuplicateDelivery()
    if exc.cause_response_code == "TransactionCanceledException" and "ConditionalCheckFailed" in codes:
        return VersionConflict()
    if is_conflict(exc.cause_response_code, exc.cancellation_reasons):
        return VersionConflict()
    return exc


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
    """The same contract in a dict: for unit tests of the service layer."""

    orders: dict[str, StoredOrder] = field(default_factory=dict)
    timelines: dict[str, list[TimelineEntry]] = field(default_factory=dict)
    outbox: list[OutboxMessage] = field(default_factory=list)
    messages: list[PendingMessage] = field(default_factory=list)  # owed by the outbox's events
    timers: dict[str, TimerRequest] = field(default_factory=dict)
    buyers: InMemoryBuyerIndex = field(default_factory=InMemoryBuyerIndex)
    requests: int = 0

    def load(self, order_id: str, dedup_keys: Sequence[str]) -> Loaded:
        self.requests += 1
        stored = self.orders.get(order_id)
        return Loaded(stored, stored is not None and recorded_before(stored.deliveries, dedup_keys))

    def get(self, order_id: str) -> StoredOrder | None:
        return self.orders.get(order_id)

    def timeline(self, order_id: str) -> list[TimelineEntry]:
        return list(self.timelines.get(order_id, []))

    def commit(self, commit: Commit) -> None:
        self.requests += 1
        current = self.orders.get(commit.order.order_id)
        if (current.version if current else None) != commit.expected_version:
            raise VersionConflict()
        self.orders[commit.order.order_id] = StoredOrder(commit.order, commit.new_version, commit.deliveries)
        if commit.timeline is not None:
            self.timelines.setdefault(commit.order.order_id, []).append(commit.timeline)
        self.outbox.extend(outbox_messages(commit))
        self.messages.extend(pending_messages(commit))
        self.timers.update({timer.timer_id: timer for timer in commit.timers})
        if commit.placed_at is not None:
            self.buyers.record(commit.order, commit.placed_at)
