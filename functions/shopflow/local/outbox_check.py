"""At start, send again the outbox items no consumer completed (decisions 17 and 34).

moto's queues live in memory, so a message in flight when `shopflow local` is killed is lost
with them, although its outbox item is safe in DynamoDB Local. The runtime therefore keeps a
journal of the outbox items each queue's consumer completed, and at start sends through
`dispatch` again every item that one of the queues dispatch routes it to has not completed.

The check runs in the background once the API answers, and reads only recent history: a
watermark (`outbox_check.json`) says before which creation time every item is settled, and the
journal keeps only lines for items after it. Items written after this start travel the live
stream, so the check leaves them alone.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shopflow.target import LOCAL_REGION

OUTBOX_CHECK_FILE = "outbox_check.json"
# How long the check waits for the live stream to read to its end before deciding: past that,
# an item written since this start may be re-sent as well (consumers deduplicate on outbox_id).
CATCH_UP_SECONDS = 30.0

Record = dict[str, Any]


@dataclass
class Journal:
    """Outbox items a queue's consumer completed, appended as they happen (fsynced)."""

    path: Path
    done: set[tuple[str, str]] = field(default_factory=set)  # (queue logical id, outbox id)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def load(self) -> Journal:
        for entry in self._entries():
            self.done.add((entry["queue"], entry["outbox_id"]))
        return self

    def _entries(self) -> list[dict[str, str]]:
        if not self.path.exists():
            return []
        entries = []
        for line in self.path.read_text().splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue  # a line cut short by a kill
        return entries

    def record(self, queue: str, outbox_id: str, state: str) -> None:
        with self._lock:
            self.done.add((queue, outbox_id))
            with self.path.open("a") as journal:
                journal.write(json.dumps({"queue": queue, "outbox_id": outbox_id, "state": state}) + "\n")
                journal.flush()
                os.fsync(journal.fileno())

    def forget(self, outbox_ids: set[str]) -> None:
        """Drop the lines of items below the watermark: no check reads them again."""
        if not outbox_ids:
            return
        with self._lock:
            kept = [entry for entry in self._entries() if entry["outbox_id"] not in outbox_ids]
            scratch = self.path.with_suffix(".tmp")
            with scratch.open("w") as journal:
                journal.writelines(json.dumps(entry) + "\n" for entry in kept)
                journal.flush()
                os.fsync(journal.fileno())
            scratch.replace(self.path)
            self.done = {(queue, outbox_id) for queue, outbox_id in self.done if outbox_id not in outbox_ids}


@dataclass
class LiveStream:
    """What the live stream source has shown since this start: its outbox ids, its empty reads."""

    outbox_ids: set[str] = field(default_factory=set)
    empty_reads: Callable[[], int] = lambda: 0

    def saw(self, records: Iterable[Record]) -> None:
        for record in records:
            outbox_id = record.get("dynamodb", {}).get("NewImage", {}).get("outbox_id", {}).get("S")
            if outbox_id:
                self.outbox_ids.add(outbox_id)


@dataclass
class OutboxCheck:
    """Finds the outbox items no consumer completed and hands them to dispatch, once per start.

    `queues_for(event_type)`: the logical ids of the consumed queues dispatch sends such an
    event to; `started_at`: the instance's clock before the API answered (created_at format).
    """

    dynamodb: Any
    table_name: str
    journal: Journal
    queues_for: Callable[[str], set[str]]
    deliver: Callable[[list[Record]], None]
    live: LiveStream
    state_path: Path
    started_at: str
    report: Callable[[str], None]
    stopping: threading.Event = field(default_factory=threading.Event)
    catch_up_seconds: float = CATCH_UP_SECONDS

    def run(self) -> list[Record]:
        """The check, start to end; the items it re-sent."""
        began = time.monotonic()
        since = self._settled_before()
        scanned, unfinished = self._scan(since)
        if self.stopping.is_set():
            return []  # a scan cut short proves nothing: no watermark, the next start checks again
        if unfinished:
            self._wait_for_live_stream()
            unfinished = [item for item in unfinished if item["outbox_id"]["S"] not in self.live.outbox_ids]
        watermark = min([self.started_at, *(item["created_at"]["S"] for item in unfinished)])
        self._save_watermark(watermark)  # before the journal forgets: a kill between them is harmless
        self.journal.forget({outbox_id for outbox_id, created_at in scanned if created_at < watermark})
        if not unfinished:
            self.report(
                f"outbox check: nothing to re-send, every one of {len(scanned)} outbox item(s) "
                f"since the last check was completed ({time.monotonic() - began:.1f} s)"
            )
            return []
        unfinished.sort(key=lambda item: item["created_at"]["S"])
        self.report(
            f"outbox check: re-sending {len(unfinished)} outbox item(s) no consumer completed "
            "before the last stop"
        )
        self.deliver(stream_records(unfinished))
        self.report(
            f"outbox check: re-sent {len(unfinished)} outbox item(s) through dispatch "
            f"({time.monotonic() - began:.1f} s)"
        )
        return unfinished

    def _scan(self, since: str | None) -> tuple[list[tuple[str, str]], list[Record]]:
        """(outbox id, created_at) of every item since the watermark, and those not completed."""
        condition = "item_type = :outbox"
        values: dict[str, Any] = {":outbox": {"S": "OUTBOX"}}
        if since is not None:
            condition += " AND created_at >= :since"
            values[":since"] = {"S": since}
        scanned: list[tuple[str, str]] = []
        unfinished: list[Record] = []
        for page in self.dynamodb.get_paginator("scan").paginate(
            TableName=self.table_name,
            FilterExpression=condition,
            ExpressionAttributeValues=values,
            ConsistentRead=True,
        ):
            if self.stopping.is_set():
                break
            for item in page["Items"]:
                outbox_id, created_at = item["outbox_id"]["S"], item["created_at"]["S"]
                scanned.append((outbox_id, created_at))
                expected = self.queues_for(item["event_type"]["S"])
                if any((queue, outbox_id) not in self.journal.done for queue in expected):
                    unfinished.append(item)
        return scanned, unfinished

    def _wait_for_live_stream(self) -> None:
        # An item the scan found may have been written since this start: once the live stream
        # has read to its end after the scan, it has seen every such item. The third such read
        # from now began after the scan even when its read was shared (streams.SharedStream).
        seen = self.live.empty_reads()
        deadline = time.monotonic() + self.catch_up_seconds
        while self.live.empty_reads() < seen + 3 and time.monotonic() < deadline:
            if self.stopping.wait(0.05):
                return

    def _settled_before(self) -> str | None:
        try:
            value = json.loads(self.state_path.read_text())["settled_before"]
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None  # no check yet (or a file cut short): read the whole history once
        return str(value)

    def _save_watermark(self, watermark: str) -> None:
        scratch = self.state_path.with_suffix(".tmp")
        scratch.write_text(json.dumps({"settled_before": watermark}))
        scratch.replace(self.state_path)


def stream_records(items: list[Record]) -> list[Record]:
    """Outbox items as the INSERT records the table's stream carried to dispatch."""
    return [
        {
            "eventID": f"resend-{i}",
            "eventName": "INSERT",
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": LOCAL_REGION,
            "dynamodb": {
                "Keys": {"pk": item["pk"], "sk": item["sk"]},
                "NewImage": item,
                "SequenceNumber": f"{i:021d}",
                "SizeBytes": 0,
                "StreamViewType": "NEW_IMAGE",
            },
        }
        for i, item in enumerate(items)
    ]
