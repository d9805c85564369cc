"""DynamoDB stream -> Lambda events, as AWS's event source mapping does it.

Reads a table's stream (moto or DynamoDB Local), keeps only records matching the event
source's FilterCriteria from template.yaml, and shapes them as the Lambda event.
"""

from __future__ import annotations

import collections
import copy
import json
import threading
import time
from collections.abc import Mapping
from typing import Any


def matches(pattern: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    """Lambda event filtering for the forms the template uses: nested keys, lists of exact values."""
    for key, expected in pattern.items():
        if key not in record:
            return False
        actual = record[key]
        if isinstance(expected, Mapping):
            if not isinstance(actual, Mapping) or not matches(expected, actual):
                return False
        elif isinstance(expected, list):
            if any(isinstance(option, Mapping) for option in expected):
                raise NotImplementedError(f"filter operator in {expected!r} is not supported locally")
            if actual not in expected:
                return False
        else:
            raise ValueError(f"filter values must be lists, got {expected!r}")
    return True


def filter_patterns(event_properties: Mapping[str, Any]) -> list[dict[str, Any]]:
    filters = event_properties.get("FilterCriteria", {}).get("Filters", [])
    return [json.loads(f["Pattern"]) for f in filters]


class StreamReader:
    """Follows every shard of one stream.

    `start` is where the shards known at the first poll are read from: their beginning
    (TRIM_HORIZON) or only what is written from now on (LATEST). Shards that appear later
    are always read from their beginning, as Lambda does.
    """

    def __init__(self, streams_client: Any, stream_arn: str, *, start: str = "TRIM_HORIZON") -> None:
        self._client = streams_client
        self.stream_arn = stream_arn
        self._iterators: dict[str, str | None] = {}
        self._start = start
        self._shards_listed = float("-inf")

    # Every poll reads the stream itself (a `StreamView` may hand out what another view read).
    read_the_stream = True

    # A table's stream gets a new shard rarely (about every 4 hours, or when a shard ends): a
    # DescribeStream per poll (20 a second even while idle) only kept DynamoDB Local busy, so
    # shards are listed again this often, or at once when a shard ended.
    SHARDS_EVERY_SECONDS = 1.0

    def open(self) -> None:
        """Take the shards' positions now, so the first poll reads from here (not from its own time)."""
        self._refresh_shards()

    def _refresh_shards(self) -> None:
        shards = self._client.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators:
                self._iterators[shard_id] = self._client.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType=self._start
                )["ShardIterator"]
        self._start = "TRIM_HORIZON"

    def poll(self, limit: int = 100) -> list[dict[str, Any]]:
        """New records since the last poll, in order per shard."""
        now = time.monotonic()
        if now - self._shards_listed >= self.SHARDS_EVERY_SECONDS:
            self._refresh_shards()
            self._shards_listed = now
        records: list[dict[str, Any]] = []
        for shard_id, iterator in list(self._iterators.items()):
            if iterator is None:
                continue
            response = self._client.get_records(ShardIterator=iterator, Limit=limit)
            self._iterators[shard_id] = response.get("NextShardIterator")
            if self._iterators[shard_id] is None:
                self._shards_listed = float("-inf")  # it ended: its child shard is listed next poll
            for record in response["Records"]:
                records.append({**record, "eventSourceARN": self.stream_arn})
        return records


class SharedStream:
    """One table's stream read once for every function it triggers (dispatch, the channel
    fan-out, the restock watch): each gets a `view` that hands it every record in order, as its
    own reader would. On AWS each event source mapping reads the shard itself; locally three
    readers four times a second were 15 requests a second to DynamoDB Local (about 3 ms of its CPU
    each) with nothing written. The stream is read when a view has taken all it was given and
    the last read is at least `min_gap` seconds old (or was full): each view still sees a record
    within its own poll interval."""

    # A GetRecords returns at most 1000 records.
    READ_LIMIT = 1000

    def __init__(self, reader: StreamReader, *, min_gap: float = 0.2) -> None:
        self._reader = reader
        self.stream_arn = reader.stream_arn
        self._min_gap = min_gap
        self._lock = threading.Lock()
        self._views: list[StreamView] = []
        self._opened = False
        self._read_at = float("-inf")
        self._read_full = False
        self.reads = 0  # GetRecords passes over the stream's shards

    def view(self) -> StreamView:
        view = StreamView(self)
        with self._lock:
            self._views.append(view)
        return view

    def open(self) -> None:
        with self._lock:
            if not self._opened:
                self._reader.open()
                self._opened = True

    def take(self, view: StreamView, limit: int) -> list[dict[str, Any]]:
        with self._lock:
            reads_before = view.reads_seen
            now = time.monotonic()
            # Otherwise another view read it a moment ago and found no more: nothing new since.
            if not view.waiting and (self._read_full or now - self._read_at >= self._min_gap):
                read = self._reader.poll(limit=self.READ_LIMIT)
                self._read_at, self._read_full = now, len(read) >= self.READ_LIMIT
                self.reads += 1
                for n, other in enumerate(self._views):
                    # Each function gets records of its own (a handler may change its event).
                    other.waiting.extend(read if n == 0 else copy.deepcopy(read))
            taken = [view.waiting.popleft() for _ in range(min(limit, len(view.waiting)))]
            # Read to its end: a read since this view's last poll, and all it found handed out.
            view.read_the_stream = not view.waiting and not self._read_full and self.reads > reads_before
            view.reads_seen = self.reads
            return taken


class StreamView:
    """One function's reader of a `SharedStream` (what `StreamSource` reads, like a StreamReader)."""

    def __init__(self, shared: SharedStream) -> None:
        self._shared = shared
        self.stream_arn = shared.stream_arn
        self.waiting: collections.deque[dict[str, Any]] = collections.deque()
        self.reads_seen = 0  # the stream's reads when this view last polled
        # The last poll read the stream to its end itself (not only what another view had read):
        # the outbox check counts such reads (outbox_check.LiveStream).
        self.read_the_stream = False

    def open(self) -> None:
        self._shared.open()

    def poll(self, limit: int = 100) -> list[dict[str, Any]]:
        return self._shared.take(self, limit)


def lambda_event(records: list[dict[str, Any]], patterns: list[dict[str, Any]]) -> dict[str, Any]:
    """The event the function gets: matching records only (all of them when no filter is set)."""
    kept = [r for r in records if not patterns or any(matches(p, r) for p in patterns)]
    return {"Records": [_jsonable(r) for r in kept]}


def _jsonable(record: dict[str, Any]) -> dict[str, Any]:
    # boto3 returns ApproximateCreationDateTime as a datetime; Lambda sends epoch seconds.
    dynamodb = dict(record.get("dynamodb", {}))
    created = dynamodb.get("ApproximateCreationDateTime")
    if created is not None and hasattr(created, "timestamp"):
        dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
    return {**record, "dynamodb": dynamodb}
