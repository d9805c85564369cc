"""Back-in-stock figures: messages per restock, and DynamoDB requests per alert sent, per function
(the watcher on the stream, the batch in the timers function, notify), on moto.

    python bench/back_in_stock.py [--subscribers 200] [--per-unit 3] [--units 1,5,20]

Shoppers subscribe to one sold-out SKU through signed `back_in_stock.subscribed` events; then
each restock (the ERP counts `units`, then sells them all again) runs as AWS would run it: the
stream's STOCK records to `back_in_stock_watch`, the sweep's due timer to the timers function
(one batch), its HeldMessages to notify (one email each). Requests are counted at botocore's
API-call boundary, so a transaction is one request whatever it writes.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_LOG_LEVEL": "CRITICAL",
    }
)
for variable in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
    os.environ.pop(variable, None)

import boto3  # noqa: E402
import botocore.client  # noqa: E402
from chalice.test import Client  # noqa: E402
from moto import mock_aws  # noqa: E402
from moto.core import DEFAULT_ACCOUNT_ID  # noqa: E402
from moto.ses.models import ses_backends  # noqa: E402
from tests.service.conftest import SECRETS, STAGE, Stack, drain, stream_event  # noqa: E402
from tests.support import dumps, events_headers  # noqa: E402

from app import app, back_in_stock_watch, notify, sweep, timers  # noqa: E402
from shopflow import bootstrap  # noqa: E402
from shopflow.clock import FakeClock  # noqa: E402
from shopflow.local.resources import function_environment, provision  # noqa: E402
from shopflow.local.template import Template  # noqa: E402

SKU = "MUG-01"
calls: Counter[str] = Counter()
_real_call = botocore.client.BaseClient._make_api_call


def _counting_call(self: Any, operation: str, params: Any) -> Any:
    if self.meta.service_model.service_name == "dynamodb":
        calls[operation] += 1
    return _real_call(self, operation, params)


def counted(action: Callable[[], object]) -> int:
    """DynamoDB requests `action` makes."""
    calls.clear()
    botocore.client.BaseClient._make_api_call = _counting_call  # type: ignore[method-assign]
    try:
        action()
    finally:
        botocore.client.BaseClient._make_api_call = _real_call  # type: ignore[method-assign]
    return sum(calls.values())


def event(stack: Stack, type_: str, data: dict[str, Any]) -> None:
    body = dumps({"type": type_, "timestamp": stack.clock.now().isoformat(), "data": data})
    headers = events_headers(body, timestamp=int(stack.clock.now().timestamp()))
    answer = stack.client.http.post("/webhooks/events", headers=headers, body=body)
    assert answer.status_code == 200 and answer.json_body["status"] == "accepted", answer.body


def sent() -> int:
    return len(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)


class Restocks:
    def __init__(self, stack: Stack) -> None:
        self.stack, self.seen, self.sequence = stack, set[str](), 1

    def count(self, on_hand: int) -> None:
        self.sequence += 1
        event(self.stack, "inventory.set", {"sku": SKU, "on_hand": on_hand, "sequence": self.sequence})

    def watch(self) -> None:
        records = stream_event(self.stack, "BackInStockWatchFunction", "StockStream")["Records"]
        new = [r for r in records if r["dynamodb"]["SequenceNumber"] not in self.seen]
        self.seen.update(r["dynamodb"]["SequenceNumber"] for r in new)
        assert back_in_stock_watch({"Records": new}, None) == {"batchItemFailures": []}

    def batch(self) -> None:
        """The due batch: the sweep (every minute anyway, not counted) queues it, timers runs it."""
        botocore.client.BaseClient._make_api_call = _real_call  # type: ignore[method-assign]
        sweep({}, None)
        records = drain(self.stack, "TimersQueue")
        botocore.client.BaseClient._make_api_call = _counting_call  # type: ignore[method-assign]
        if records:
            assert timers({"Records": records}, None) == {"batchItemFailures": []}

    def notify(self) -> None:
        while True:
            records = drain(self.stack, "NotifyQueue")
            if not records:
                return
            for chunk in range(0, len(records), 10):  # the notify queue's batch size
                assert notify({"Records": records[chunk : chunk + 10]}, None) == {"batchItemFailures": []}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--per-unit", type=int, default=3)
    parser.add_argument("--units", default="1,5,20", help="units each restock brings, comma-separated")
    args = parser.parse_args()
    with mock_aws():
        template = Template.load(Stage=STAGE)
        provisioned = provision(template, dynamodb=boto3.client("dynamodb"), sqs=boto3.client("sqs"))
        for function in template.of_type("AWS::Serverless::Function"):
            os.environ.update(function_environment(template, function, provisioned))
        ssm = boto3.client("ssm")
        settings = {
            **{name: (value, "SecureString") for name, value in SECRETS.items()},
            "notify/unsubscribe/secret": ("unsubscribe-secret-0123456789", "SecureString"),
            "notify/email/sender": ("orders@demo-shop.example", "String"),
            "shop/name": ("Demo Shop", "String"),
            "stock/enabled": ("true", "String"),
            "back_in_stock/enabled": ("true", "String"),
            "back_in_stock/per_unit": (str(args.per_unit), "String"),
        }
        for name, (value, kind) in settings.items():
            ssm.put_parameter(Name=f"/shopflow/{STAGE}/{name}", Value=value, Type=kind)
        boto3.client("ses").verify_domain_identity(Domain="demo-shop.example")
        clock = FakeClock(datetime(2026, 11, 29, 9, 0, tzinfo=UTC))
        bootstrap.reset(clock)
        logging.getLogger("shopflow").setLevel(logging.CRITICAL)  # the figures only
        with Client(app) as client:
            stack = Stack(template, provisioned, clock, client)
            restocks = Restocks(stack)
            event(stack, "inventory.set", {"sku": SKU, "on_hand": 0, "sequence": 1})
            per_subscription = counted(
                lambda: [
                    (
                        clock.advance(timedelta(seconds=1)),
                        event(
                            stack,
                            "back_in_stock.subscribed",
                            {
                                "sku": SKU,
                                "email": f"s{n}@example.com",
                                "product_url": "https://demo-shop.example/m",
                            },
                        ),
                    )
                    for n in range(args.subscribers)
                ]
            )
            print(f"{args.subscribers} shoppers wait for {SKU}; per_unit {args.per_unit}")
            print(f"  a subscription: {per_subscription / args.subscribers:.1f} DynamoDB requests (api)\n")
            header = ("units", "messages", "watcher", "batch", "notify", "per alert")
            print("{:>6} {:>9} {:>8} {:>6} {:>7} {:>10}".format(*header))
            for units in [int(u) for u in args.units.split(",")]:
                before = sent()
                restocks.count(units)
                watcher = counted(restocks.watch)
                batch = counted(restocks.batch)
                notifying = counted(restocks.notify)
                messages = sent() - before
                per_alert = (batch + notifying) / messages if messages else float("nan")
                print(f"{units:>6} {messages:>9} {watcher:>8} {batch:>6} {notifying:>7} {per_alert:>10.1f}")
                restocks.count(0)  # sold out again: the run ends at its next batch
                clock.advance(timedelta(minutes=31))
                restocks.watch()
                restocks.batch()
            print("\nwatcher: requests for the restock's stream records (one transaction when a run starts)")
            print("batch: the timers function's one batch (the sweep that queues it is not counted)")
            print("notify: its sends; per alert: (batch + notify) / messages")


if __name__ == "__main__":
    main()
