"""Where timers are kept: one item per timer, found by the sweep through the sparse `timers` index.

The one place that knows a timer item's shape: repositories of orders, carts and send-once
records arm and cancel timers through `DynamoTimers`, staged into the unit of work of the change
that causes them, so a timer exists exactly when that change was committed.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from shopflow.kernel.timers import TimerRequest
from shopflow.kernel.unit_of_work import UnitOfWork, in_memory
from shopflow.store.models import TimerItem, iso
from shopflow.store.unit_of_work import dynamo

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


class DynamoTimers:
    def arm(self, timer: TimerRequest, *, now: datetime, work: UnitOfWork) -> None:
        """Put the timer (replacing one of the same id: re-armed)."""
        dynamo(work).put(timer_item(timer, now))

    def cancel(self, timer_id: str, *, work: UnitOfWork) -> None:
        dynamo(work).delete(TimerItem(f"TIMER#{timer_id}", "TIMER"))


@dataclass
class InMemoryTimers:
    timers: dict[str, TimerRequest] = field(default_factory=dict)

    def arm(self, timer: TimerRequest, *, now: datetime, work: UnitOfWork) -> None:
        def put() -> None:
            self.timers[timer.timer_id] = timer

        in_memory(work).stage(("TIMER", timer.timer_id), put)

    def cancel(self, timer_id: str, *, work: UnitOfWork) -> None:
        def delete() -> None:
            self.timers.pop(timer_id, None)

        in_memory(work).stage(("TIMER", timer_id), delete)
