"""Channel sync figures: what 1,000 SKUs changed at once cost, with the table on DynamoDB Local
(its stream too; the queues on moto) and the fake Shopify and WooCommerce servers over HTTP
(both channels list every SKU; WooCommerce shows 50%). moto's Query reads its whole table, so on
moto alone a thousand SKUs took quadratic time (`--moto` still runs it there):

- DynamoDB requests per pushed SKU, in the fan-out (stream -> push orders) and in the push;
- requests to each channel per changed SKU (WooCommerce: 100 a batch call; Shopify: 250
  quantities a mutation, plus a read of what it shows for SKUs pushed the first time).

The SKUs are listed and linked first; the stream is read from after that, so the figures are
the counts' alone. The fan-out gets the stream as Lambda hands it (batches of 100 records); the
push gets the queue as Lambda does (batches of up to 10 messages of up to 100 orders).

    python bench/channels_sync.py [--skus N] [--moto]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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
from moto import mock_aws  # noqa: E402

from shopflow import bootstrap  # noqa: E402
from shopflow.clock import FakeClock  # noqa: E402
from shopflow.config import SettingsLoader  # noqa: E402
from shopflow.local.fakes.shopify import FakeShopify  # noqa: E402
from shopflow.local.fakes.woocommerce import FakeWooCommerce  # noqa: E402
from shopflow.local.resources import function_environment, provision  # noqa: E402
from shopflow.local.sources import lambda_sqs_record  # noqa: E402
from shopflow.local.streams import StreamReader, filter_patterns, lambda_event  # noqa: E402
from shopflow.local.template import Template  # noqa: E402
from shopflow.stock.inputs import apply_set  # noqa: E402
from shopflow.stock.model import InventorySet, SafetyRules  # noqa: E402

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
LOCATION = 905684977
calls: Counter[str] = Counter()
_real_call = botocore.client.BaseClient._make_api_call


def _counting_call(self: Any, operation: str, params: Any) -> Any:
    if self.meta.service_model.service_name == "dynamodb":
        calls[operation] += 1
    return _real_call(self, operation, params)


def run(count: int, on_moto: bool) -> None:
    if on_moto:
        run_on(count, mock_aws())
        return
    from shopflow.local.dynamodb_local import DynamoDBLocal

    with DynamoDBLocal() as db:
        for service in ("DYNAMODB", "DYNAMODB_STREAMS"):
            os.environ[f"AWS_ENDPOINT_URL_{service}"] = db.endpoint
        passthrough = {"services": ["dynamodb", "dynamodbstreams"]}
        run_on(count, mock_aws(config={"core": {"passthrough": passthrough}}))


def run_on(count: int, aws: Any) -> None:
    with aws, FakeShopify(location_id=LOCATION) as shopify, FakeWooCommerce() as woo:
        template = Template.load(Stage=f"bench{os.getpid()}")
        provisioned = provision(template, dynamodb=boto3.client("dynamodb"), sqs=boto3.client("sqs"))
        for function in ("ApiFunction", "ChannelFanoutFunction", "ChannelPushFunction"):
            os.environ.update(function_environment(template, function, provisioned))
        settings = {
            "stock/enabled": "true",
            "channels/main/kind": "shopify",
            "channels/main/url": shopify.url,
            "channels/main/token": shopify.token,
            "channels/main/location_id": str(LOCATION),
            "channels/woo/kind": "woocommerce",
            "channels/woo/url": woo.url,
            "channels/woo/token": woo.token,
            "channels/woo/stock_pct": "50",
        }
        runtime = bootstrap.reset(FakeClock(NOW))
        runtime.__dict__["settings"] = SettingsLoader("bench", fetch=lambda: settings)
        skus = [f"SKU-{n:04d}" for n in range(count)]
        for n, sku in enumerate(skus):
            shopify.add_item(10_000 + n, sku)
            woo.add_product(10_000 + n, stock=0)
            runtime.listings.link("main", sku, str(10_000 + n), NOW)
            runtime.listings.link("woo", sku, str(10_000 + n), NOW)
        arn = provisioned.attributes[("ShopflowTable", "StreamArn")]
        reader = StreamReader(boto3.client("dynamodbstreams"), arn, start="LATEST")
        reader.open()  # from here on: the counts, not the links
        for n, sku in enumerate(skus):
            apply_set(
                InventorySet(sku, 10, 1),
                runtime.stock,
                event_id=f"count-{n}",
                now=NOW,
                safety=SafetyRules({}),
            )
        shopify_before = shopify.requests
        woo.reset_requests()

        records: list[dict[str, Any]] = []
        seen: set[str] = set()
        while batch := [r for r in reader.poll(limit=1000) if r["dynamodb"]["SequenceNumber"] not in seen]:
            seen.update(r["dynamodb"]["SequenceNumber"] for r in batch)  # moto may hand a page again
            records += batch
        source = template.function_properties("ChannelFanoutFunction")["Events"]["StockStream"]["Properties"]
        stock_records = lambda_event(records, filter_patterns(source))["Records"]

        botocore.client.BaseClient._make_api_call = _counting_call  # type: ignore[method-assign]
        try:
            started = time.perf_counter()
            for start in range(0, len(stock_records), 100):  # as Lambda hands the stream over
                runtime.channel_fanout.handle({"Records": stock_records[start : start + 100]}, None)
            fanout_calls, fanout_seconds = Counter(calls), time.perf_counter() - started
            calls.clear()
            sqs = boto3.client("sqs")
            url, queue_arn = (
                provisioned.refs["ChannelPushQueue"],
                provisioned.attributes[("ChannelPushQueue", "Arn")],
            )
            started = time.perf_counter()
            invocations = 0
            while messages := sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]
            ).get("Messages", []):
                answer = runtime.channel_pusher.handle(
                    {"Records": [lambda_sqs_record(m, queue_arn) for m in messages]}, None
                )
                assert answer == {"batchItemFailures": []}, answer
                for message in messages:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                invocations += 1
            push_calls, push_seconds = Counter(calls), time.perf_counter() - started
        finally:
            botocore.client.BaseClient._make_api_call = _real_call  # type: ignore[method-assign]

        assert {woo.stock(str(10_000 + n)) for n in range(count)} == {5}
        assert {shopify.available(10_000 + n) for n in range(count)} == {10}
        pushed = 2 * count
        print(f"{count} SKUs changed at once, listed on Shopify and WooCommerce ({pushed} pushes):")
        print(
            f"  fan-out: {sum(fanout_calls.values())} DynamoDB requests ({_listed(fanout_calls)}), "
            f"{sum(fanout_calls.values()) / pushed:.2f} per pushed SKU, {fanout_seconds:.1f} s"
        )
        print(
            f"  push:    {sum(push_calls.values())} DynamoDB requests ({_listed(push_calls)}), "
            f"{sum(push_calls.values()) / pushed:.2f} per pushed SKU, {invocations} invocations, "
            f"{push_seconds:.1f} s"
        )
        woo_requests, shopify_requests = woo.request_count, shopify.requests - shopify_before
        print(f"  WooCommerce: {woo_requests} requests, {woo_requests / count:.3f} per changed SKU")
        print(
            f"  Shopify:     {shopify_requests} requests, {shopify_requests / count:.3f} per changed SKU "
            "(a first push reads what it shows, then 250 quantities a mutation)"
        )


def receive(sqs: Any, url: str) -> list[dict[str, Any]]:
    answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])
    return list(answer.get("Messages", []))


def _listed(counted: Counter[str]) -> str:
    return ", ".join(f"{name} {n}" for name, n in sorted(counted.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skus", type=int, default=1000)
    parser.add_argument("--moto", action="store_true", help="the table on moto too (slow beyond 200 SKUs)")
    arguments = parser.parse_args()
    run(arguments.skus, arguments.moto)


if __name__ == "__main__":
    main()
