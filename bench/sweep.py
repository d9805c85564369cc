"""Sweep cost: DynamoDB requests and time for one sweep with 100 due timers, whatever waits;
and how the `timers` index spreads its writes over partition keys.

    python bench/sweep.py [--waiting 10 10000 100000] [--due 100] [--spread-only]

The sweep runs on AWS's DynamoDB Local (in memory), with a table built from template.yaml, after
a first sweep has set its watermark (what every sweep but the first after install sees). Requests
are counted at botocore's API-call boundary; the timers queue is a stand-in that counts batches.

The write spread is computed from the index keys themselves: one hour of a steady shop where
timers arrive uniformly, each due uniformly over the next 24 h or 30 days, and as many fire (and
are deleted) in that hour. Every arm and every removal is one index write on the timer's key; a
key (one partition) takes about 1,000 writes/s, so the index ceiling is 1,000 / the max share.
Before hour buckets: 4 keys, 25 %.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import uuid
import zlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "functions"))

import boto3
import botocore.client

from shopflow.clock import FakeClock
from shopflow.kernel.timers import TimerRequest
from shopflow.local.dynamodb_local import DynamoDBLocal
from shopflow.local.resources import provision
from shopflow.local.template import Template
from shopflow.store.models import TimerItem, bind_table
from shopflow.store.timers import timer_item, timer_shard
from shopflow.timers.sweep import Sweeper

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
calls: Counter[str] = Counter()
_real_call = botocore.client.BaseClient._make_api_call


def _counting_call(self: Any, operation: str, params: Any) -> Any:
    calls[f"{self.meta.service_model.service_name}.{operation}"] += 1
    return _real_call(self, operation, params)


class QueueStandIn:
    def __init__(self) -> None:
        self.sent = self.batches = 0

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        self.sent += len(Entries)
        self.batches += 1
        return {"Successful": [{"Id": e["Id"]} for e in Entries]}


def fill(waiting: int, due: int) -> None:
    with TimerItem.batch_write() as batch:
        for n in range(waiting):  # spread over the next 30 days
            later = NOW + timedelta(minutes=1 + n % (30 * 24 * 60))
            batch.save(timer_item(TimerRequest(f"wait#{n}", "late_check", later, "{}"), NOW))
        for n in range(due):
            batch.save(
                timer_item(TimerRequest(f"due#{n}", "late_check", NOW - timedelta(seconds=n), "{}"), NOW)
            )


def one_sweep(endpoint: str, waiting: int, due: int) -> str:
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    template = Template.load(Stage=f"sw-{uuid.uuid4().hex[:8]}")
    provisioned = provision(template, dynamodb=client, sqs=None)
    bind_table(provisioned.table_name(), region="us-east-1")
    queue = QueueStandIn()
    sweeper = Sweeper(lambda: queue, "timers-queue", FakeClock(NOW))
    sweeper.handle({}, None)  # the first sweep after install: sets the watermark
    started = time.perf_counter()
    fill(waiting, due)
    filled = time.perf_counter() - started
    calls.clear()
    botocore.client.BaseClient._make_api_call = _counting_call  # type: ignore[method-assign]
    started = time.perf_counter()
    found = sweeper.handle({}, None)
    took = (time.perf_counter() - started) * 1000
    botocore.client.BaseClient._make_api_call = _real_call  # type: ignore[method-assign]
    client.delete_table(TableName=provisioned.table_name())
    requests = ", ".join(f"{k} {v}" for k, v in sorted(calls.items()))
    return (
        f"  {waiting:>7} waiting, {due} due: swept {found['due']}, queued {queue.sent} in {queue.batches} "
        f"SendMessageBatch; "
        f"DynamoDB requests {sum(calls.values())} ({requests}); {took:.0f} ms (fill {filled:.0f} s)"
    )


PARTITION_WRITES_PER_SECOND = 1000


def legacy_key(timer_id: str) -> str:
    """The index key before hour buckets (4 shards by crc32 of the id)."""
    return f"timers#{zlib.crc32(timer_id.encode()) % 4}"


def write_spread(horizon: timedelta, layout: str, timers: int = 100_000) -> str:
    """One hour of a steady shop: `timers` armed (due uniformly within `horizon`) and as many fired."""
    rng = random.Random(12)
    arms: Counter[str] = Counter()
    fires: Counter[str] = Counter()
    for n in range(timers):
        armed = NOW + timedelta(seconds=rng.uniform(0, 3600))
        due = armed + timedelta(seconds=rng.uniform(0, horizon.total_seconds()))
        arms[legacy_key(f"a#{n}") if layout == "before" else timer_shard(f"a#{n}", due, armed)] += 1
        # a timer armed earlier fires (due) within this hour, and its removal writes its key
        fired = NOW + timedelta(seconds=rng.uniform(0, 3600))
        fires[legacy_key(f"f#{n}") if layout == "before" else timer_shard(f"f#{n}", fired, fired)] += 1
    both = arms + fires
    share_arms = max(arms.values()) / arms.total()
    share = max(both.values()) / both.total()
    return (
        f"  {layout:<6} due within {'24 h' if horizon.days < 2 else f'{horizon.days} d'}: "
        f"arms alone write {len(arms):>6} keys (max share {share_arms:.2%}); arms + fires write "
        f"{len(both):>6} keys, max share {share:.2%}: index ceiling about "
        f"{PARTITION_WRITES_PER_SECOND / share:,.0f} writes/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiting", type=int, nargs="+", default=[10, 10_000, 100_000])
    parser.add_argument("--due", type=int, default=100)
    parser.add_argument("--spread-only", action="store_true", help="only the index write spread")
    args = parser.parse_args()
    print(
        "Index writes over partition keys, one hour of a steady shop (100,000 timers armed, 100,000 fired):"
    )
    for layout in ("before", "now"):
        for horizon in (timedelta(hours=24), timedelta(days=30)):
            print(write_spread(horizon, layout), flush=True)
    if args.spread_only:
        return
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    server = DynamoDBLocal()
    server.start()
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = server.endpoint
    try:
        print(f"One sweep on DynamoDB Local, {args.due} timers due:")
        for waiting in args.waiting:
            print(one_sweep(server.endpoint, waiting, args.due), flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
