"""Intake figures: DynamoDB requests and write units per delivery kind (moto), and handler time
with AWS excluded.

    python bench/intake.py [--deliveries N]

Requests are counted at botocore's API-call boundary, so every request PynamoDB makes is seen.
Write units are computed from the items each request writes, as AWS bills them (bench/write_units.py):
moto and DynamoDB Local report capacity unlike AWS.
Handler time runs the real Chalice app in-process (API Gateway event -> response) with the
order store replaced by its in-memory twin and settings by a fixed set: what remains is
verification, parsing, normalization, domain logic and response building.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support
sys.path.insert(0, str(Path(__file__).resolve().parent))  # write_units

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
    }
)
for variable in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
    os.environ.pop(variable, None)

import boto3  # noqa: E402
import botocore.client  # noqa: E402
from chalice.test import Client  # noqa: E402
from moto import mock_aws  # noqa: E402
from tests.support import (  # noqa: E402
    EVENTS_SECRET,
    SHOP_DOMAIN,
    SHOPIFY_SECRET,
    WOO_SECRET,
    corpus,
    dumps,
    events_headers,
    shopify_headers,
    woo_headers,
)

from app import app  # noqa: E402
from shopflow import bootstrap  # noqa: E402
from shopflow.clock import FakeClock  # noqa: E402
from shopflow.config import SettingsLoader  # noqa: E402
from shopflow.local.resources import function_environment, provision  # noqa: E402
from shopflow.local.template import Template  # noqa: E402
from shopflow.store.orders import InMemoryOrderStore  # noqa: E402
from write_units import WriteMeter, index_keys_of  # noqa: E402

CLOCK = FakeClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
SETTINGS = {
    "webhooks/shopify/secret": SHOPIFY_SECRET,
    "webhooks/shopify/shop_domains": SHOP_DOMAIN,
    "webhooks/woocommerce/secret": WOO_SECRET,
    "webhooks/events/secret": EVENTS_SECRET,
}
calls: Counter[str] = Counter()
meter: WriteMeter | None = None
_real_call = botocore.client.BaseClient._make_api_call


def _counting_call(self: Any, operation: str, params: Any) -> Any:
    if self.meta.service_model.service_name == "dynamodb":
        calls[operation] += 1
        if meter is not None:
            meter.observe(operation, params)
    return _real_call(self, operation, params)


def post(client: Client, topic: str, payload: dict[str, Any], webhook_id: str) -> dict[str, Any]:
    body = dumps(payload)
    response = client.http.post(
        "/webhooks/shopify", body=body, headers=shopify_headers(body, topic, webhook_id=webhook_id)
    )
    result: dict[str, Any] = response.json_body
    return result


def measure(client: Client, label: str, topic: str, payload: dict[str, Any], webhook_id: str) -> None:
    calls.clear()
    answer = post(client, topic, payload, webhook_id)
    writes = calls["TransactWriteItems"] + calls["PutItem"] + calls["UpdateItem"]
    reads = calls["TransactGetItems"] + calls["GetItem"] + calls["Query"]
    print(
        f"  {label:<24} {answer['status']:<9} requests={sum(calls.values())} writes={writes} reads={reads} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(calls.items()))})"
    )


CANONICAL_ORDER = {
    "type": "order.created",
    "timestamp": "2026-11-02T08:59:00Z",
    "data": {
        "source": "erp",
        "external_id": "SO-1001",
        "number": "SO-1001",
        "status": "pending",
        "currency": "PLN",
        "total": "149.90",
        "lines": [{"sku": "KAWA-1KG", "name": "Kawa ziarnista 1 kg", "quantity": 2, "unit_price": "74.95"}],
        "customer": {
            "email": "anna@example.pl",
            "phone": "+48 601 234 567",
            "name": "Anna Nowak",
            "locale": "pl",
            "timezone": "Europe/Warsaw",
            "consent": {"email": True, "sms": False},
        },
        "updated_at": "2026-11-02T08:58:00Z",
    },
}


def new_orders() -> list[tuple[str, str, str, bytes, dict[str, str]]]:
    """(label, route, order id, body, headers) of each kind of new order, unpaid and paid."""
    found = []
    shopify = corpus("shopify/order.json")
    for paid in (False, True):
        state = "paid" if paid else "unpaid"
        order = {**shopify, "id": 7_000 + paid, "financial_status": "paid" if paid else "pending"}
        body = dumps(order)
        headers = shopify_headers(body, "orders/create", event_id=f"evt-{paid}")
        found.append((f"Shopify orders/create, {state}", "/webhooks/shopify", body, headers))
        woo_status = "processing" if paid else "pending"
        body = dumps({**corpus("woocommerce/order.json"), "id": 8_000 + paid, "status": woo_status})
        headers = woo_headers(body, "order.created")
        found.append((f"WooCommerce order.created, {state}", "/webhooks/woocommerce", body, headers))
        status = "paid" if paid else "pending"
        data = {**CANONICAL_ORDER["data"], "external_id": f"SO-{paid}", "status": status}
        body = dumps({**CANONICAL_ORDER, "data": data})
        headers = events_headers(body, timestamp=int(CLOCK.now().timestamp()))
        found.append((f"canonical order.created, {state}", "/webhooks/events", body, headers))
    large = {**shopify, "id": 7_100, "financial_status": "paid"}
    line = shopify["line_items"][0]
    large["line_items"] = [{**line, "id": n, "sku": f"SKU-{n:04d}", "title": f"P{n}"} for n in range(12)]
    body = dumps(large)
    headers = shopify_headers(body, "orders/create", event_id="evt-large")
    found.append(("Shopify orders/create, 12 lines, paid", "/webhooks/shopify", body, headers))
    return [(label, route, "", body, headers) for label, route, body, headers in found]


@contextmanager
def counted_api() -> Iterator[tuple[Client, Template]]:
    """The api function on moto, built from template.yaml, with every AWS call counted."""
    with mock_aws():
        template = Template.load(Stage="bench")
        provisioned = provision(template, dynamodb=boto3.client("dynamodb"), sqs=boto3.client("sqs"))
        os.environ.update(function_environment(template, "ApiFunction", provisioned))
        runtime = bootstrap.reset(CLOCK)
        runtime.__dict__["settings"] = SettingsLoader("bench", fetch=lambda: SETTINGS)
        botocore.client.BaseClient._make_api_call = _counting_call  # type: ignore[method-assign]
        try:
            with Client(app) as client:
                yield client, template
        finally:
            botocore.client.BaseClient._make_api_call = _real_call  # type: ignore[method-assign]


def write_units_per_new_order() -> None:
    global meter
    print("Write units per new order, from item sizes as AWS bills them (moto, counted at botocore):")
    with counted_api() as (client, template):
        table = template.resources["ShopflowTable"]["Properties"]
        for label, route, _, body, headers in new_orders():
            meter = WriteMeter(index_keys_of(table))
            answer = client.http.post(route, body=body, headers=headers).json_body
            print(f"  {label:<38} {answer['status']:<9} {meter.summary()}")
        meter = None


def requests_per_delivery() -> None:
    print("DynamoDB requests per delivery (moto, counted at botocore):")
    order = corpus("shopify/order.json")
    paid = {**order, "financial_status": "paid", "updated_at": "2008-01-10T11:05:00-05:00"}
    with counted_api() as (client, _):
        measure(client, "new order", "orders/create", order, "wh-1")
        measure(client, "status change", "orders/paid", paid, "wh-2")
        measure(client, "duplicate (create)", "orders/create", order, "wh-1")
        measure(client, "duplicate (update)", "orders/paid", paid, "wh-2")
        measure(client, "stale update", "orders/updated", order, "wh-3")


def handler_time(deliveries: int) -> None:
    runtime = bootstrap.reset(CLOCK)
    runtime.__dict__["settings"] = SettingsLoader("bench", fetch=lambda: SETTINGS)
    runtime.__dict__["orders"] = InMemoryOrderStore()
    order = corpus("shopify/orders_create_multicurrency.json")
    bodies = []
    for i in range(deliveries):  # a realistic mix: creates, then a paid update of the same order
        created = {**order, "id": 10_000_000 + i}
        paid = {**created, "financial_status": "paid", "updated_at": "2020-12-27T08:30:00+11:00"}
        bodies.append(("orders/create", created, f"c-{i}"))
        bodies.append(("orders/paid", paid, f"p-{i}"))
    timings = []
    with Client(app) as client:
        for topic, payload, webhook_id in bodies[:200]:  # warm-up
            post(client, topic, payload, f"warm-{webhook_id}")
        for topic, payload, webhook_id in bodies:
            body = dumps(payload)
            headers = shopify_headers(body, topic, webhook_id=webhook_id)
            started = time.perf_counter()
            response = client.http.post("/webhooks/shopify", body=body, headers=headers)
            timings.append(time.perf_counter() - started)
            assert response.status_code == 200
    timings.sort()
    ms = [t * 1000 for t in timings]
    print(f"Handler time per webhook, AWS calls excluded ({len(ms)} deliveries, in-process Chalice):")
    p50, p99 = ms[len(ms) // 2], ms[int(len(ms) * 0.99)]
    print(f"  mean {statistics.mean(ms):.3f} ms  p50 {p50:.3f} ms  p99 {p99:.3f} ms  max {ms[-1]:.3f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=1000, help="orders (each created, then paid)")
    args = parser.parse_args()
    write_units_per_new_order()
    requests_per_delivery()
    handler_time(args.deliveries)
