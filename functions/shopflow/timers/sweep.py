"""sweep (every minute): due timers -> the timers queue, where their consumer acts.

The `timers` index holds only timer items, keyed `t#{hour}#{shard}`: the hour a timer is due in,
or the hour it was armed in if it was already due then (`store.timers.timer_shard`). A sweep
reads its watermark, the oldest hour that may still hold timers, and queries every shard of
every hour from there to now with `due_at <= now`, plus the four keys timers armed before hour
buckets carry: normally 2 hours x 16 shards + 4 queries, whatever waits. It reads what is due,
never what is still waiting.

With no watermark yet (the first sweep), or more than a day of hours behind it (the sweep was
away, or a test's clock jumped), one scan of the index keys names the old hours that hold any.
The watermark moves past an hour only once that hour is older than the previous one (a writer
whose clock lags a little still lands at or after it) and every shard of it answered with
less than a full page. A timer still due there (its action keeps failing) is moved to the
current hour, so one old timer never makes every later sweep longer. The watermark is moved by
a conditional put, only forward, so overlapping sweeps never move it back past a timer.

The sweep does not delete: the consumer deletes a timer in the step that acts on it, so a timer
swept twice (two sweeps at once, a slow consumer) still acts once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.exceptions import PutError

from shopflow.clock import Clock
from shopflow.kernel.queue_messages import DueTimer
from shopflow.observability import logger
from shopflow.store.models import SweepWatermarkItem, TimerItem, iso
from shopflow.store.timers import (
    LEGACY_TIMER_KEYS,
    TIMER_BUCKET_FORMAT,
    TIMER_SHARDS,
    timer_bucket,
    timer_shard,
)

SQS_BATCH = 10
HOUR = timedelta(hours=1)
CATCH_UP_HOURS = 24  # a longer gap behind the watermark is found by one scan, not 16 queries an hour
WATERMARK_KEY = ("SWEEP", "WATERMARK")


def _due(item: TimerItem) -> DueTimer:
    return DueTimer(
        timer_id=item.pk.removeprefix("TIMER#"), action=item.action, due_at=item.due_at, payload=item.payload
    )


def hours_from(first: str, last: str) -> Iterator[str]:
    """Every hour bucket from `first` to `last`, both included."""
    moment = datetime.strptime(first, TIMER_BUCKET_FORMAT).replace(tzinfo=UTC)
    while (bucket := timer_bucket(moment)) <= last:
        yield bucket
        moment += HOUR


def read_watermark() -> str | None:
    try:
        return str(SweepWatermarkItem.get(*WATERMARK_KEY, consistent_read=True).bucket)
    except SweepWatermarkItem.DoesNotExist:
        return None


def occupied_keys(before: str) -> set[str]:
    """The index keys of hours before `before` that hold any timer, read from one scan of the
    sparse index (keys only). Only when there is no watermark yet (the first sweep after install
    or upgrade, which may come long after timers were armed) or the sweep was away for more than
    CATCH_UP_HOURS: walking every empty hour would cost more than reading what waits, once."""
    return {
        item.timer_shard
        for item in TimerItem.timers.scan(attributes_to_get=["timer_shard"])
        if item.timer_shard.startswith("t#") and item.timer_shard.split("#")[1] < before
    }


def advance_watermark(bucket: str, now: str) -> None:
    """Set the watermark to `bucket` unless it is there or further already (another sweep)."""
    item = SweepWatermarkItem(*WATERMARK_KEY, item_type="SWEEP", bucket=bucket, updated_at=now)
    try:
        item.save(condition=SweepWatermarkItem.pk.does_not_exist() | (SweepWatermarkItem.bucket < bucket))
    except PutError as exc:
        if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
            raise


def move_to_bucket(item: TimerItem, now: datetime) -> None:
    """Re-key a timer still due in an old hour into the current one, unless it changed or went
    (fired, cancelled or re-armed) since it was read: the condition keeps it from coming back."""
    unchanged = (
        (TimerItem.timer_shard == item.timer_shard)
        & (TimerItem.due_at == item.due_at)
        & (TimerItem.payload == item.payload)
    )
    item.timer_shard = timer_shard(item.pk.removeprefix("TIMER#"), now, now)
    try:
        item.save(condition=unchanged)
    except PutError as exc:
        if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
            raise


class Sweeper:
    def __init__(self, sqs: Callable[[], Any], queue_url: str, clock: Clock, limit: int = 1000) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._clock = clock
        self._limit = limit  # per shard and sweep; the rest goes next minute

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, int]:
        moment = self._clock.now()
        now = iso(moment)
        current = timer_bucket(moment)
        passable_before = timer_bucket(moment - HOUR)  # hours before this one may be passed
        watermark = read_watermark()
        older = list(hours_from(watermark, passable_before))[:-1] if watermark else []
        if watermark is None or len(older) > CATCH_UP_HOURS:
            old_keys = sorted(occupied_keys(before=passable_before))
        else:
            old_keys = [f"t#{bucket}#{shard}" for bucket in older for shard in range(TIMER_SHARDS)]
        due: list[DueTimer] = []
        stale: list[TimerItem] = []  # still due in an hour the watermark passes: moved to this hour
        unfinished: list[str] = []  # old hours with more due than one page: swept again next time
        for key in old_keys:
            items = list(TimerItem.timers.query(key, TimerItem.due_at <= now, limit=self._limit))
            due.extend(map(_due, items))
            if len(items) < self._limit:
                stale.extend(items)
            else:
                unfinished.append(key.split("#")[1])
        for bucket in hours_from(passable_before, current):
            for shard in range(TIMER_SHARDS):
                key = f"t#{bucket}#{shard}"
                due.extend(map(_due, TimerItem.timers.query(key, TimerItem.due_at <= now, limit=self._limit)))
        for key in LEGACY_TIMER_KEYS:
            due.extend(map(_due, TimerItem.timers.query(key, TimerItem.due_at <= now, limit=self._limit)))
        self._queue(due)
        for item in stale:
            move_to_bucket(item, moment)
        next_watermark = min(unfinished, default=passable_before)
        if watermark is None or next_watermark > watermark:
            advance_watermark(next_watermark, now)
        if due:
            logger.info("timers swept", extra={"due": len(due), "moved": len(stale)})
        return {"due": len(due)}

    def _queue(self, due: list[DueTimer]) -> None:
        for start in range(0, len(due), SQS_BATCH):
            batch = due[start : start + SQS_BATCH]
            answer = self._sqs().send_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(n), "MessageBody": timer.model_dump_json()} for n, timer in enumerate(batch)
                ],
            )
            if answer.get("Failed"):
                # Not deleted, so the next sweep finds them again.
                logger.warning("timers not queued", extra={"count": len(answer["Failed"])})
