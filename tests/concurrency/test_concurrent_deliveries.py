"""Concurrent and conflicting deliveries on DynamoDB Local: exactly-once holds under races.

Every delivery goes through the real intake (`shopify.receive` verifies the signature and
normalizes the body) and `record_delivery`; every assertion is about what the owner would
find in the table afterwards.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any, TypeVar

import pytest
from botocore.exceptions import ClientError
from pynamodb.exceptions import TransactWriteError

from shopflow.kernel.conflicts import MAX_ATTEMPTS, ConcurrentUpdates, VersionConflict
from shopflow.kernel.timeline import TimelineEntry
from shopflow.orders.changes import OrderSnapshot
from shopflow.orders.model import OrderStatus, can_transition
from shopflow.orders.ports import ReceivedChange, delivery_digest
from shopflow.orders.service import Recorded, record_delivery
from shopflow.store.orders import DynamoOrderStore
from shopflow.store.unit_of_work import DynamoUnitOfWork
from shopflow.webhooks import shopify
from tests.support import SHOP_DOMAIN, SHOPIFY_SECRET, corpus, dumps, shopify_headers

pytestmark = pytest.mark.dynamodb_local

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DEDUP_RETENTION = timedelta(days=8)
ORDER_ID = "shopify:450789469"  # the corpus order
T = TypeVar("T")


# --- helpers -------------------------------------------------------------------------------


def signed(topic: str, payload: dict[str, Any], webhook_id: str) -> tuple[dict[str, str], bytes]:
    body = dumps(payload)
    return shopify_headers(body, topic, webhook_id=webhook_id), body


def receive(headers: dict[str, str], body: bytes) -> ReceivedChange:
    delivery = shopify.receive(
        headers, body, secrets=(SHOPIFY_SECRET,), shop_domains=frozenset({SHOP_DOMAIN}), now=NOW
    )
    assert isinstance(delivery, ReceivedChange)
    return delivery


def deliver(store: DynamoOrderStore, request: tuple[dict[str, str], bytes], **options: Any) -> Recorded:
    """One webhook request as the api function handles it: verify, normalize, record."""
    return record_delivery(receive(*request), store, now=NOW, **options)


def all_at_once(count: int, work: Callable[[int], T]) -> list[T]:
    """`work(0..count-1)` in `count` threads released together; results in index order."""
    barrier = threading.Barrier(count, timeout=30)

    def released(index: int) -> T:
        barrier.wait()
        return work(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(released, range(count)))


def scan(table: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    page: dict[str, Any] = {"ConsistentRead": True}
    while True:
        answer = table.scan(**page)
        items.extend(answer["Items"])
        if "LastEvaluatedKey" not in answer:
            return items
        page["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


def by_type(table: Any) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for item in scan(table):
        found.setdefault(item["item_type"], []).append(item)
    return found


def counts(table: Any) -> dict[str, int]:
    return {kind: len(items) for kind, items in by_type(table).items()}


def timeline(items: dict[str, list[dict[str, Any]]]) -> list[TimelineEntry]:
    """The order's timeline as the owner reads it: in sort-key (that is, commit) order. A line
    that announces an event is that event's outbox item too (decision 49)."""
    lines = [item for found in items.values() for item in found if item["sk"].startswith("TIMELINE#")]
    rows = sorted(lines, key=lambda item: item["sk"])
    return [TimelineEntry.model_validate_json(row["document"]) for row in rows]


# --- a. one order however often and however concurrently it is delivered ---------------------


def test_fifty_identical_deliveries_sixteen_at_once_make_one_order(
    store: DynamoOrderStore, table: Any
) -> None:
    # Shopify's retries of one orders/create: same body, same signature, same X-Shopify-Webhook-Id.
    request = signed("orders/create", corpus("shopify/order.json"), webhook_id="wh-create-1")

    concurrent = all_at_once(16, lambda _: deliver(store, request))
    sequential = [deliver(store, request) for _ in range(34)]

    assert Counter(r.status for r in concurrent + sequential) == {"accepted": 1, "duplicate": 49}
    assert all(r.order_id == ORDER_ID for r in concurrent + sequential)
    items = by_type(table)
    assert {kind: len(found) for kind, found in items.items()} == {
        "ORDER": 1,  # carrying the delivery's marker (decision 49)
        "OUTBOX": 1,  # the timeline line announcing OrderPlaced
        # The confirmation's send-once records are made by notify's claim (decision 45).
        # The buyer index: customer id, email, phone, checkout id and cart token, written once.
        "BUYER": 5,
    }
    [order] = items["ORDER"]
    assert (order["pk"], order["version"], order["status"]) == (f"ORDER#{ORDER_ID}", 1, "pending")
    assert order["deliveries"] == delivery_digest("shopify:webhook:wh-create-1")
    assert [(o["event_type"], o["messages"]) for o in items["OUTBOX"]] == [
        ("OrderPlaced", "confirmation#email confirmation#sms")
    ]
    assert [e.event for e in timeline(items)] == ["placed"]


# --- b. sixteen different changes to one order at once ---------------------------------------

# What each orders/updated says, oldest first: the status moves forward, sometimes a late
# reading says an earlier status (which the state machine refuses), and the newest says
# delivered, which every earlier status may move to: so the order must end delivered.
STATUS_BY_UPDATE = (
    "paid",
    "paid",
    "pending",
    "processing",
    "paid",
    "processing",
    "shipped",
    "processing",
    "shipped",
    "paid",
    "shipped",
    "pending",
    "shipped",
    "processing",
    "shipped",
    "delivered",
)


FULFILLMENT_STATUS = {"processing": "partial", "shipped": "fulfilled", "delivered": "fulfilled"}


def order_update(order: dict[str, Any], index: int, status: str) -> dict[str, Any]:
    """The corpus order as Shopify sends it in orders/updated once it reached `status`."""
    updated_at = datetime.fromisoformat(order["updated_at"]) + timedelta(minutes=index + 1)
    body = {**order, "updated_at": updated_at.isoformat()}
    body["financial_status"] = "authorized" if status == "pending" else "paid"
    body["fulfillment_status"] = FULFILLMENT_STATUS.get(status)
    if status == "delivered":
        body["fulfillments"] = [
            *order["fulfillments"],
            {
                "id": 255858047,
                "order_id": order["id"],
                "status": "success",
                "shipment_status": "delivered",
                "tracking_company": "UPS",
                "tracking_numbers": ["1Z9999"],
                "updated_at": updated_at.isoformat(),
            },
        ]
    return body


def test_sixteen_different_changes_at_once_lose_nothing(store: DynamoOrderStore, table: Any) -> None:
    order = corpus("shopify/order.json")
    assert deliver(store, signed("orders/create", order, "wh-create")).status == "accepted"
    updates = [order_update(order, i, status) for i, status in enumerate(STATUS_BY_UPDATE)]
    requests = [signed("orders/updated", body, f"wh-update-{i}") for i, body in enumerate(updates)]
    changes = [receive(*r).change for r in requests]
    assert [c.order.status for c in changes if isinstance(c, OrderSnapshot)] == list(STATUS_BY_UPDATE)

    results = all_at_once(16, lambda i: deliver(store, requests[i]))  # any exception fails the test

    assert all(r.status in ("accepted", "ignored") for r in results), results
    assert {r.reason for r in results if r.status == "ignored"} <= {"stale", "no change"}
    accepted = [i for i, r in enumerate(results) if r.status == "accepted"]
    assert 15 in accepted  # the newest is never stale and always a change
    items = by_type(table)
    [stored] = items["ORDER"]
    # An unchanged but newer body is ignored yet written: it moves the order's watermark.
    written = [i for i, r in enumerate(results) if r.wrote]
    assert set(accepted) <= set(written)
    assert stored["version"] == 1 + len(written)
    # One timeline entry per accepted change (and the creation), none for an ignored one,
    # in the order they were committed: oldest first, since a newer one makes the older stale.
    entries = timeline(items)
    assert [e.event for e in entries[:1]] == ["placed"]
    updated_ats = [datetime.fromisoformat(u["updated_at"]) for u in updates]
    assert [e.at for e in entries[1:]] == [updated_ats[i] for i in accepted]
    # The order's dedup markers: every delivery written into it, none of those ignored unwritten.
    assert sorted(stored["deliveries"].split()) == sorted(
        delivery_digest(key)
        for key in ["shopify:webhook:wh-create", *(f"shopify:webhook:wh-update-{i}" for i in written)]
    )
    # The owner's order: the newest update's status, reached only through allowed moves.
    assert stored["status"] == entries[-1].status == OrderStatus.DELIVERED
    document = store.get(ORDER_ID).order  # type: ignore[union-attr]  # compressed once it holds 17 markers
    assert document.status == OrderStatus.DELIVERED
    assert document.source_updated_at == updated_ats[15]
    assert [t.number for t in document.tracking] == ["1Z9999"]
    # One OrderPlaced, then one OrderStatusChanged per accepted change that moved the status.
    status_moves = [e for e in entries[1:] if "status" in e.changes]
    assert Counter(o["event_type"] for o in items["OUTBOX"]) == {
        "OrderPlaced": 1,
        "OrderStatusChanged": len(status_moves),
    }
    moves = list(pairwise(e.status for e in entries))
    assert all(a == b or can_transition(a, b) for a, b in moves), moves


# --- c. TransactionConflict, which DynamoDB Local never raises: injected -----------------------


class InjectedCancellation:
    """Answers the next `count` calls of `operation` on one botocore client as DynamoDB does
    when another transaction holds an item: TransactionCanceledException, with the reason
    `TransactionConflict` on item `conflicting_item`. PynamoDB then builds its own
    TransactWriteError / TransactGetError from it, so the store's own mapping is exercised."""

    def __init__(self, client: Any, operation: str, count: int, conflicting_item: int = 0) -> None:
        self.operation = operation
        self.left = count
        self.calls = 0
        self._item = conflicting_item
        self._real = client._make_api_call

    def __call__(self, operation: str, params: dict[str, Any]) -> Any:
        if operation == self.operation:
            self.calls += 1
            if self.left > 0:
                self.left -= 1
                items = params["TransactItems"]
                reasons: list[dict[str, str]] = [{"Code": "None"} for _ in items]
                reasons[self._item] = {
                    "Code": "TransactionConflict",
                    "Message": "Transaction is ongoing for the item",
                }
                raise ClientError(
                    {
                        "Error": {
                            "Code": "TransactionCanceledException",
                            "Message": "Transaction cancelled, please refer cancellation reasons for "
                            f"specific reasons [{', '.join(r['Code'] for r in reasons)}]",
                        },
                        "CancellationReasons": reasons,
                    },
                    operation,
                )
        return self._real(operation, params)


def inject(
    store: DynamoOrderStore,
    monkeypatch: pytest.MonkeyPatch,
    operation: str,
    count: int,
    conflicting_item: int = 0,
) -> InjectedCancellation:
    client = store.connection.client  # this store's client only: the test's own scans are untouched
    injected = InjectedCancellation(client, operation, count, conflicting_item)
    monkeypatch.setattr(client, "_make_api_call", injected)
    return injected


class ObservedUnitOfWork(DynamoUnitOfWork):
    """The real unit of work, keeping what its commit raised in `raised`."""

    def __init__(self, connection: Any, raised: list[Exception]) -> None:
        super().__init__(connection)
        self._raised = raised

    def commit(self) -> None:
        try:
            super().commit()
        except Exception as exc:
            self._raised.append(exc)
            raise


class ObservedStore(DynamoOrderStore):
    """The real store, keeping what each commit of its units of work raised."""

    def __init__(self) -> None:
        super().__init__()
        self.raised: list[Exception] = []

    def unit_of_work(self) -> DynamoUnitOfWork:
        return ObservedUnitOfWork(self.connection, self.raised)


def assert_mapped_from_transaction_conflict(error: Exception) -> None:
    assert isinstance(error, VersionConflict)
    cause = error.__cause__
    assert isinstance(cause, TransactWriteError)
    assert cause.cause_response_code == "TransactionCanceledException"
    assert "TransactionConflict" in [r.code for r in cause.cancellation_reasons if r is not None]


@pytest.mark.parametrize("conflicting_item", [0, 1], ids=["on-order", "on-timeline-line"])
def test_a_transaction_conflict_on_create_is_retried_and_recorded_once(
    table: Any, monkeypatch: pytest.MonkeyPatch, conflicting_item: int
) -> None:
    store = ObservedStore()
    injected = inject(store, monkeypatch, "TransactWriteItems", 2, conflicting_item)
    slept: list[float] = []
    request = signed("orders/create", corpus("shopify/order.json"), "wh-conflicted")

    first = deliver(store, request, sleep=slept.append)

    assert first.status == "accepted"
    assert (injected.left, injected.calls) == (0, 3)
    assert len(slept) == 2  # backed off before each retry
    assert len(store.raised) == 2
    for error in store.raised:
        assert_mapped_from_transaction_conflict(error)
    assert counts(table) == {"ORDER": 1, "OUTBOX": 1, "BUYER": 5}
    assert deliver(store, request).status == "duplicate"  # and Shopify's retry changes nothing
    assert counts(table) == {"ORDER": 1, "OUTBOX": 1, "BUYER": 5}


def test_a_transaction_conflict_on_an_update_is_retried_against_a_fresh_read(
    store: DynamoOrderStore, table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = corpus("shopify/order.json")
    assert deliver(store, signed("orders/create", order, "wh-create")).status == "accepted"
    injected = inject(store, monkeypatch, "TransactWriteItems", 1, conflicting_item=1)

    result = deliver(store, signed("orders/updated", order_update(order, 0, "paid"), "wh-paid"))

    assert (result.status, result.order_status) == ("accepted", OrderStatus.PAID)
    assert injected.calls == 2
    items = by_type(table)
    assert (items["ORDER"][0]["version"], items["ORDER"][0]["status"]) == (2, "paid")
    assert counts(table) == {"ORDER": 1, "OUTBOX": 2, "BUYER": 5}


def test_endless_conflicts_end_in_concurrent_updates_and_write_nothing(
    table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ObservedStore()
    injected = inject(store, monkeypatch, "TransactWriteItems", 10_000, conflicting_item=1)

    with pytest.raises(ConcurrentUpdates):
        deliver(store, signed("orders/create", corpus("shopify/order.json"), "wh-busy"), sleep=lambda _: None)

    assert injected.calls == MAX_ATTEMPTS
    assert len(store.raised) == MAX_ATTEMPTS
    assert_mapped_from_transaction_conflict(store.raised[-1])
    assert counts(table) == {}
