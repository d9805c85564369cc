"""Sweep cost: DynamoDB requests and time for one sweep with 100 due timers, whatever waits.

    python bench/sweep.py [--waiting 10 10000 100000] [--due 100]

Runs on AWS's DynamoDB Local (in memory), with a table built from template.yaml. Requests are
counted at botocore's API-call boundary; the timers queue is a stand-in that counts batches.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "functions"))

import boto3
import botocore.client

from shopflow.clock import FakeClock
from shopflow.local.dynamodb_local import DynamoDBLocal
from shopflow.local.resources import provision
from shopflow.local.template import Template
from shopflow.store.models import TimerItem, bind_table
from shopflow.store.orders import TimerRequest, timer_item
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
            batch.save(timer_item(TimerRequest(f"wait#{n}", "late_check", later, "{}")))
        for n in range(due):
            batch.save(timer_item(TimerRequest(f"due#{n}", "late_check", NOW - timedelta(seconds=n), "{}")))


def one_sweep(endpoint: str, waiting: int, due: int) -> str:
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    template = Template.load(Stage=f"sw-{uuid.uuid4().hex[:8]}")
    provisioned = provision(template, dynamodb=client, sqs=None)
    bind_table(provisioned.table_name(), region="us-east-1")
    started = time.perf_counter()
    fill(waiting, due)
    filled = time.perf_counter() - started
    queue = QueueStandIn()
    sweeper = Sweeper(lambda: queue, "timers-queue", FakeClock(NOW))
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiting", type=int, nargs="+", default=[10, 10_000, 100_000])
    parser.add_argument("--due", type=int, default=100)
    args = parser.parse_args()
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
