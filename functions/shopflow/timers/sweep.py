"""sweep (every minute): due timers -> the timers queue, where their consumer acts.

Only timer items carry `timer_shard`, so the `timers` index holds nothing else, and each shard
is queried with `due_at <= now`: the sweep reads what is due, never what is still waiting.
The sweep does not delete: the consumer deletes a timer in the step that acts on it, so a timer
swept twice (two sweeps at once, a slow consumer) still acts once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from shopflow.clock import Clock
from shopflow.observability import logger
from shopflow.store.models import TimerItem
from shopflow.store.orders import TIMER_SHARDS, iso

SQS_BATCH = 10


@dataclass(frozen=True)
class DueTimer:
    timer_id: str
    action: str
    due_at: str
    payload: str

    def body(self) -> str:
        return json.dumps(
            {"timer_id": self.timer_id, "action": self.action, "due_at": self.due_at, "payload": self.payload}
        )


def due_timers(now: str, limit: int) -> Iterator[DueTimer]:
    for shard in range(TIMER_SHARDS):
        for item in TimerItem.timers.query(f"timers#{shard}", TimerItem.due_at <= now, limit=limit):
            yield DueTimer(item.pk.removeprefix("TIMER#"), item.action, item.due_at, item.payload)


class Sweeper:
    def __init__(self, sqs: Callable[[], Any], queue_url: str, clock: Clock, limit: int = 1000) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._clock = clock
        self._limit = limit  # per shard and sweep; the rest goes next minute

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, int]:
        now = iso(self._clock.now())
        due = list(due_timers(now, self._limit))
        for start in range(0, len(due), SQS_BATCH):
            batch = due[start : start + SQS_BATCH]
            answer = self._sqs().send_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(n), "MessageBody": timer.body()} for n, timer in enumerate(batch)],
            )
            if answer.get("Failed"):
                # Not deleted, so the next sweep finds them again.
                logger.warning("timers not queued", extra={"count": len(answer["Failed"])})
        if due:
            logger.info("timers swept", extra={"due": len(due)})
        return {"due": len(due)}
