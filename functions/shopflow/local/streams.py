"""DynamoDB stream -> Lambda events, as AWS's event source mapping does it.

Reads a table's stream (moto or DynamoDB Local), keeps only records matching the event
source's FilterCriteria from template.yaml, and shapes them as the Lambda event.
"""

from __future__ import annotations

import json
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
