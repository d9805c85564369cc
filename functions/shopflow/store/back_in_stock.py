"""Back-in-stock subscriptions in the single table (back_in_stock/ports.py), and an in-memory twin.

- pk `BISSUB#{contact}#{sku}`, sk `SUBSCRIPTION`: the subscription (JSON), found by who and what;
  its timeline and its message's send-once records live under the same pk (its subject id
  `bis|{contact}|{sku}`, `store/orders.subject_pk`).
- pk `BIS#{sku}`, sk `WAIT#{subscribed_at}#{contact}`: its place in the SKU's queue while it
  waits, carrying the subscription, so a batch reads its head with one Query.
- pk `BIS#{sku}`, sk `SUMMARY`: how many wait and were alerted, and the restock run in progress
  (`batch_due_at`), which a condition guards so one restock starts one run.

Every change of a subscription is one TransactWriteItems of its item, its queue entry, the count
and its timeline line, conditioned on the status it was read in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.update import Action

from shopflow.back_in_stock.model import SkuWaiting, Subscription, SubscriptionStatus, subject_id_of
from shopflow.back_in_stock.ports import NotWaiting
from shopflow.kernel.timeline import TimelineEntry
from shopflow.kernel.timers import TimerRequest
from shopflow.store.models import BackInStockItem, TimelineItem, iso
from shopflow.store.orders import DynamoOrderStore, subject_pk
from shopflow.store.timers import DynamoTimers
from shopflow.store.unit_of_work import DynamoUnitOfWork

SUBSCRIPTION, SUMMARY, WAIT = "SUBSCRIPTION", "SUMMARY", "WAIT#"


def _queue_pk(sku: str) -> str:
    return f"BIS#{sku}"


def _wait_sk(subscription: Subscription) -> str:
    return f"{WAIT}{iso(subscription.subscribed_at)}#{subscription.contact}"


def _parse(stamp: str | None) -> datetime | None:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None


def _timeline(subject_id: str, entry: TimelineEntry) -> TimelineItem:
    return TimelineItem(
        subject_pk(subject_id),
        f"TIMELINE#{iso(entry.recorded_at)}#bis-{entry.event}",
        item_type="TIMELINE",
        document=entry.model_dump_json(),
    )


def _conditional_failure(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


class DynamoBackInStockStore:
    def __init__(self, orders: DynamoOrderStore) -> None:
        self._orders = orders  # shares its connection for transactions
        self._timers = DynamoTimers()

    def subscription(self, contact: str, sku: str) -> Subscription | None:
        pk = subject_pk(subject_id_of(contact, sku))
        try:
            item = BackInStockItem.get(pk, SUBSCRIPTION, consistent_read=True)
        except BackInStockItem.DoesNotExist:
            return None
        assert item.document is not None
        return Subscription.model_validate_json(item.document)

    def _subscription_item(self, subscription: Subscription) -> BackInStockItem:
        return BackInStockItem(
            subject_pk(subscription.subject_id),
            SUBSCRIPTION,
            item_type="BIS_SUBSCRIPTION",
            document=subscription.model_dump_json(),
            status=subscription.status.value,
            sku=subscription.sku,
        )

    def _enqueue(self, subscription: Subscription, work: DynamoUnitOfWork, alerted: int = 0) -> None:
        work.put(
            BackInStockItem(
                _queue_pk(subscription.sku),
                _wait_sk(subscription),
                item_type="BIS_WAITING",
                document=subscription.model_dump_json(),
            )
        )
        self._count(subscription.sku, work, waiting=1, alerted=alerted)

    def _count(self, sku: str, work: DynamoUnitOfWork, *, waiting: int, alerted: int = 0) -> None:
        actions: list[Action] = [
            BackInStockItem.item_type.set("BIS_SUMMARY"),
            BackInStockItem.sku.set(sku),
            BackInStockItem.waiting.add(waiting),
        ]
        if alerted:
            actions.append(BackInStockItem.alerted.add(alerted))
        work.update(BackInStockItem(_queue_pk(sku), SUMMARY), actions)

    def subscribe(self, subscription: Subscription, entry: TimelineEntry) -> None:
        work = DynamoUnitOfWork(self._orders.connection)
        work.put(
            self._subscription_item(subscription),
            condition=BackInStockItem.pk.does_not_exist(),
            if_condition_fails=NotWaiting,
        )
        self._enqueue(subscription, work)
        work.put(_timeline(subscription.subject_id, entry))
        work.commit()

    def reopen(self, subscription: Subscription, was: SubscriptionStatus, entry: TimelineEntry) -> None:
        work = DynamoUnitOfWork(self._orders.connection)
        work.put(
            self._subscription_item(subscription),
            condition=BackInStockItem.status == was.value,
            if_condition_fails=NotWaiting,
        )
        self._enqueue(subscription, work)
        work.put(_timeline(subscription.subject_id, entry))
        work.commit()

    def add_event(self, subscription: Subscription, event_id: str) -> None:
        updated = subscription.model_copy(update={"events": (*subscription.events, event_id)[-10:]})
        try:
            self._subscription_item(updated).save(
                condition=BackInStockItem.status == subscription.status.value
            )
        except PutError as exc:
            if _conditional_failure(exc):
                raise NotWaiting() from exc
            raise

    def leave(self, subscription: Subscription, status: SubscriptionStatus, entry: TimelineEntry) -> None:
        work = DynamoUnitOfWork(self._orders.connection)
        left = subscription.model_copy(update={"status": status})
        work.put(
            self._subscription_item(left),
            condition=BackInStockItem.status == SubscriptionStatus.WAITING.value,
            if_condition_fails=NotWaiting,
        )
        work.delete(BackInStockItem(_queue_pk(subscription.sku), _wait_sk(subscription)))
        alerted = 1 if status is SubscriptionStatus.ALERTED else 0
        self._count(subscription.sku, work, waiting=-1, alerted=alerted)
        work.put(_timeline(subscription.subject_id, entry))
        work.commit()

    def requeue(self, subscription: Subscription, entry: TimelineEntry) -> None:
        work = DynamoUnitOfWork(self._orders.connection)
        back = subscription.model_copy(update={"status": SubscriptionStatus.WAITING})
        work.put(
            self._subscription_item(back),
            condition=BackInStockItem.status == SubscriptionStatus.ALERTED.value,
            if_condition_fails=NotWaiting,
        )
        self._enqueue(back, work, alerted=-1)
        work.put(_timeline(subscription.subject_id, entry))
        work.commit()

    def waiting(self, sku: str, limit: int) -> Sequence[Subscription]:
        if limit <= 0:
            return []
        items = BackInStockItem.query(
            _queue_pk(sku), BackInStockItem.sk.startswith(WAIT), consistent_read=True, limit=limit
        )
        return [Subscription.model_validate_json(item.document or "") for item in items]

    def start_run(self, sku: str, timer: TimerRequest, now: datetime, stale_after: datetime) -> bool:
        work = DynamoUnitOfWork(self._orders.connection)
        work.update(
            BackInStockItem(_queue_pk(sku), SUMMARY),
            [
                BackInStockItem.batch_due_at.set(iso(timer.due_at)),
                BackInStockItem.last_restock_at.set(iso(now)),
            ],
            condition=(BackInStockItem.waiting > 0)
            & (
                BackInStockItem.batch_due_at.does_not_exist()
                | (BackInStockItem.batch_due_at < iso(stale_after))
            ),
            if_condition_fails=NotWaiting,
        )
        self._timers.arm(timer, now=now, work=work)
        try:
            work.commit()
        except NotWaiting:
            return False
        return True

    def take_batch(self, sku: str, batch_id: str) -> bool:
        try:
            BackInStockItem(_queue_pk(sku), SUMMARY).update(
                actions=[BackInStockItem.batch_taken.set(batch_id)],
                condition=BackInStockItem.pk.exists()
                & (BackInStockItem.batch_taken.does_not_exist() | (BackInStockItem.batch_taken != batch_id)),
            )
        except UpdateError as exc:
            if _conditional_failure(exc):
                return False
            raise
        return True

    def continue_run(self, sku: str, timer: TimerRequest | None, now: datetime) -> None:
        item = BackInStockItem(_queue_pk(sku), SUMMARY)
        if timer is None:
            try:
                item.update(
                    actions=[BackInStockItem.batch_due_at.remove()],
                    condition=BackInStockItem.pk.exists(),
                )
            except UpdateError as exc:
                if not _conditional_failure(exc):
                    raise
            return
        work = DynamoUnitOfWork(self._orders.connection)
        work.update(item, [BackInStockItem.batch_due_at.set(iso(timer.due_at))])
        self._timers.arm(timer, now=now, work=work)
        work.commit()

    def summary(self, sku: str) -> SkuWaiting | None:
        try:
            item = BackInStockItem.get(_queue_pk(sku), SUMMARY, consistent_read=True)
        except BackInStockItem.DoesNotExist:
            return None
        return _summary(item)

    def every_sku(self) -> Sequence[SkuWaiting]:
        items = BackInStockItem.scan(BackInStockItem.item_type == "BIS_SUMMARY", consistent_read=True)
        return [_summary(item) for item in items]

    def of_sku(self, sku: str) -> list[tuple[Subscription, TimelineEntry | None]]:
        """Every subscription to the SKU, in queue order, with the last line of its timeline: the
        owner's read (a filtered Scan of the table, then one Query each), never a handler's."""
        found = BackInStockItem.scan(
            (BackInStockItem.item_type == "BIS_SUBSCRIPTION") & (BackInStockItem.sku == sku),
            consistent_read=True,
        )
        subscriptions = sorted(
            (Subscription.model_validate_json(item.document or "") for item in found),
            key=lambda s: (s.subscribed_at, s.contact),
        )
        return [(s, next(iter(reversed(self.timeline(s.subject_id))), None)) for s in subscriptions]

    def timeline(self, subject_id: str) -> Sequence[TimelineEntry]:
        items = TimelineItem.query(
            subject_pk(subject_id), TimelineItem.sk.startswith("TIMELINE#"), consistent_read=True
        )
        return [TimelineEntry.model_validate_json(item.document) for item in items]


def _summary(item: BackInStockItem) -> SkuWaiting:
    return SkuWaiting(
        sku=item.sku or item.pk.removeprefix("BIS#"),
        waiting=int(item.waiting or 0),
        alerted=int(item.alerted or 0),
        batch_due_at=_parse(item.batch_due_at),
        last_restock_at=_parse(item.last_restock_at),
    )


@dataclass
class InMemoryBackInStockStore:
    """The same contract in dicts (unit tests)."""

    subscriptions: dict[tuple[str, str], Subscription] = field(default_factory=dict)
    summaries: dict[str, SkuWaiting] = field(default_factory=dict)
    timelines: dict[str, list[TimelineEntry]] = field(default_factory=dict)
    timers: dict[str, TimerRequest] = field(default_factory=dict)
    taken: dict[str, str] = field(default_factory=dict)

    def subscription(self, contact: str, sku: str) -> Subscription | None:
        return self.subscriptions.get((contact, sku))

    def _put(self, subscription: Subscription, entry: TimelineEntry, waiting: int, alerted: int = 0) -> None:
        self.subscriptions[(subscription.contact, subscription.sku)] = subscription
        known = self.summaries.get(subscription.sku) or SkuWaiting(subscription.sku, 0)
        self.summaries[subscription.sku] = SkuWaiting(
            known.sku,
            known.waiting + waiting,
            known.alerted + alerted,
            known.batch_due_at,
            known.last_restock_at,
        )
        self.timelines.setdefault(subscription.subject_id, []).append(entry)

    def subscribe(self, subscription: Subscription, entry: TimelineEntry) -> None:
        if (subscription.contact, subscription.sku) in self.subscriptions:
            raise NotWaiting()
        self._put(subscription, entry, 1)

    def reopen(self, subscription: Subscription, was: SubscriptionStatus, entry: TimelineEntry) -> None:
        current = self.subscriptions.get((subscription.contact, subscription.sku))
        if current is None or current.status is not was:
            raise NotWaiting()
        self._put(subscription, entry, 1)

    def add_event(self, subscription: Subscription, event_id: str) -> None:
        key = (subscription.contact, subscription.sku)
        self.subscriptions[key] = subscription.model_copy(update={"events": (*subscription.events, event_id)})

    def leave(self, subscription: Subscription, status: SubscriptionStatus, entry: TimelineEntry) -> None:
        current = self.subscriptions.get((subscription.contact, subscription.sku))
        if current is None or current.status is not SubscriptionStatus.WAITING:
            raise NotWaiting()
        alerted = 1 if status is SubscriptionStatus.ALERTED else 0
        self._put(current.model_copy(update={"status": status}), entry, -1, alerted)

    def requeue(self, subscription: Subscription, entry: TimelineEntry) -> None:
        current = self.subscriptions.get((subscription.contact, subscription.sku))
        if current is None or current.status is not SubscriptionStatus.ALERTED:
            raise NotWaiting()
        self._put(current.model_copy(update={"status": SubscriptionStatus.WAITING}), entry, 1, -1)

    def waiting(self, sku: str, limit: int) -> Sequence[Subscription]:
        queue = sorted(
            (
                s
                for s in self.subscriptions.values()
                if s.sku == sku and s.status is SubscriptionStatus.WAITING
            ),
            key=lambda s: (s.subscribed_at, s.contact),
        )
        return queue[: max(limit, 0)]

    def start_run(self, sku: str, timer: TimerRequest, now: datetime, stale_after: datetime) -> bool:
        known = self.summaries.get(sku)
        if known is None or known.waiting <= 0:
            return False
        if known.batch_due_at is not None and known.batch_due_at >= stale_after:
            return False
        self.summaries[sku] = SkuWaiting(sku, known.waiting, known.alerted, timer.due_at, now)
        self.timers[timer.timer_id] = timer
        return True

    def take_batch(self, sku: str, batch_id: str) -> bool:
        if sku not in self.summaries or self.taken.get(sku) == batch_id:
            return False
        self.taken[sku] = batch_id
        return True

    def continue_run(self, sku: str, timer: TimerRequest | None, now: datetime) -> None:
        known = self.summaries.get(sku)
        if known is None:
            return
        due = timer.due_at if timer else None
        self.summaries[sku] = SkuWaiting(sku, known.waiting, known.alerted, due, known.last_restock_at)
        if timer is not None:
            self.timers[timer.timer_id] = timer

    def summary(self, sku: str) -> SkuWaiting | None:
        return self.summaries.get(sku)

    def every_sku(self) -> Sequence[SkuWaiting]:
        return list(self.summaries.values())

    def timeline(self, subject_id: str) -> Sequence[TimelineEntry]:
        return list(self.timelines.get(subject_id, []))
