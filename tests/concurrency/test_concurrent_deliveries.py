"""Concurrent and conflicting deliveries on DynamoDB Local: exactly-once holds under races."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.client
import pytest
from botocore.exceptions import ClientError

from shopflow.orders.service import MAX_ATTEMPTS, ConcurrentUpdates, Recorded, record_delivery
from shopflow.store.orders import DynamoOrderStore
from shopflow.webhooks import shopify
from shopflow.webhooks.common import Delivery
from tests.concurrency.conftest import items_by_type
from tests.support import SHOP_DOMAIN, SHOPIFY_SECRET, corpus, dumps, shopify_headers

pytestmark = pytest.mark.dynamodb_local
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def delivery(topic: str, payload: dict[str, Any], webhook_id: str) -> Delivery:
    body = dumps(payload)
    received = shopify.receive(
        shopify_headers(body, topic, webhook_id=webhook_id),
        body,
        secrets=(SHOPIFY_SECRET,),
        shop_domains=frozenset({SHOP_DOMAIN}),
    )
    assert isinstance(received, Delivery)
    return received


def record(store: DynamoOrderStore, d: Delivery) -> Recorded:
    return record_delivery(d, store, now=NOW, dedup_retention=timedelta(days=8))


def in_threads(count: int, work: Any) -> list[Any]:
    barrier = threading.Barrier(count)

    def released(i: int) -> Any:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(released, range(count)))


def test_fifty_identical_deliveries_sixteen_at_once_make_one_order(
    store: DynamoOrderStore, table: Any
) -> None:
    same = delivery("orders/create", corpus("shopify/order.json"), webhook_id="wh-same")

    concurrent = in_threads(16, lambda _: record(store, same))
    sequential = [record(store, same) for _ in range(34)]

    answers = Counter(r.status for r in concurrent + sequential)
    assert answers == {"accepted": 1, "duplicate": 49}
    items = items_by_type(table)
    assert {kind: len(found) for kind, found in items.items()} == {
        "ORDER": 1,
        "TIMELINE": 1,
        "OUTBOX": 1,
        "DEDUP": 1,
    }
    assert items["ORDER"][0]["version"] == 1


def test_sixteen_different_changes_at_once_lose_nothing(store: DynamoOrderStore, table: Any) -> None:
    order = corpus("shopify/order.json")
    assert record(store, delivery("orders/create", order, "wh-create")).status == "accepted"
    base = datetime(2008, 1, 10, 16, 0, tzinfo=UTC)
    updates = []
    for i in range(16):
        paid = {
            **order,
            "financial_status": "paid",
            "updated_at": (base + timedelta(minutes=i + 1)).isoformat(),
            "note": f"update {i}",
        }
        if i == 15:
            paid["fulfillment_status"] = "fulfilled"
        updates.append(delivery("orders/updated", paid, f"wh-{i}"))

    results = in_threads(16, lambda i: record(store, updates[i]))

    accepted = [r for r in results if r.status == "accepted"]
    assert all(r.status in ("accepted", "ignored") for r in results)
    items = items_by_type(table)
    [stored] = items["ORDER"]
    assert stored["version"] == 1 + len(accepted)
    assert len(items["TIMELINE"]) == 1 + len(accepted)
    # The newest update (fulfilled) is never stale, so the order ends shipped whatever the arrival order.
    assert stored["status"] == "shipped"
    assert len(items["DEDUP"]) == 1 + len(accepted)


def test_transaction_conflicts_are_retried_until_the_write_lands(
    store: DynamoOrderStore, table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    injected = InjectedConflicts(2)
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", injected.as_method())

    result = record(store, delivery("orders/create", corpus("shopify/order.json"), "wh-conflict"))

    assert result.status == "accepted"
    assert (injected.left, injected.seen) == (0, 3)
    assert {kind: len(found) for kind, found in items_by_type(table).items()} == {
        "ORDER": 1,
        "TIMELINE": 1,
        "OUTBOX": 1,
        "DEDUP": 1,
    }


def test_endless_conflicts_end_in_concurrent_updates_and_write_nothing(
    store: DynamoOrderStore, table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    injected = InjectedConflicts(10_000)
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", injected.as_method())

    with pytest.raises(ConcurrentUpdates):
        record(store, delivery("orders/create", corpus("shopify/order.json"), "wh-busy"))

    assert injected.seen == MAX_ATTEMPTS
    assert items_by_type(table) == {}


class InjectedConflicts:
    """DynamoDB Local never raises TransactionConflict: answer the next `count` TransactWriteItems
    as DynamoDB does when another transaction holds an item, at botocore's boundary."""

    def __init__(self, count: int) -> None:
        self.left = count
        self.seen = 0
        self._real = botocore.client.BaseClient._make_api_call

    def __call__(self, client: Any, operation: str, params: Any) -> Any:
        if operation == "TransactWriteItems":
            self.seen += 1
            if self.left:
                self.left -= 1
                reasons = [{"Code": "None"} for _ in params["TransactItems"]]
                reasons[1] = {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
                raise ClientError(
                    {
                        "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                        "CancellationReasons": reasons,
                    },
                    operation,
                )
        return self._real(client, operation, params)

    def as_method(self) -> Any:
        def _make_api_call(client: Any, operation: str, params: Any) -> Any:
            return self(client, operation, params)

        return _make_api_call
