"""Checkout holds under a burst, on DynamoDB Local: the last unit is never held twice.

Stock 100, 500 one-unit reservations from 32 threads: exactly 100 are held, atp is never seen
below zero, and every SKU's numbers add up; the same with 3-SKU carts, where a cart is held
whole or not at all; the same again with TransactionConflict injected into 30% of the commits
(DynamoDB Local never raises it); and a release racing the expiry of one hold gives the stock
back exactly once. One run each here; bench/stock.py repeats and times them.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from botocore.exceptions import ClientError

from shopflow.kernel.conflicts import ConcurrentUpdates
from shopflow.orders.ports import ReceivedChange
from shopflow.orders.service import record_delivery
from shopflow.stock.model import Reservation, ReservationDue, ReservationRequest, ReservationStatus, StockItem
from shopflow.stock.orders import OrderStockWrites
from shopflow.stock.service import Ended, Held, Short, expire, release, reserve
from shopflow.store.orders import DynamoOrderStore
from shopflow.store.stock import DynamoStockRepository
from shopflow.webhooks.events import OrderCreatedBody, to_change

pytestmark = pytest.mark.dynamodb_local

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
HOLD = timedelta(minutes=15)
THREADS = 32
T = TypeVar("T")


@pytest.fixture
def repo(store: DynamoOrderStore) -> DynamoStockRepository:
    return DynamoStockRepository(store)


def stock(repo: DynamoStockRepository, **on_hand: int) -> None:
    work = repo.unit_of_work()
    for sku, count in on_hand.items():
        repo.stage_item(StockItem(sku, on_hand=count), NOW, work)
    work.commit()


def request(n: int, *skus: str) -> ReservationRequest:
    return ReservationRequest(
        checkout_token=f"chk-{n}",
        lines=[{"sku": sku, "quantity": 1} for sku in skus],
        request_id=f"msg_{n}",
    )


def outcome(answer: Held | Short | ConcurrentUpdates) -> str:
    return type(answer).__name__


def in_threads(count: int, work: Callable[[int], T]) -> list[T]:
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(work, range(count)))


class Watch:
    """Reads the SKUs over and over while the burst runs: the lowest atp anyone could see."""

    def __init__(self, repo: DynamoStockRepository, skus: tuple[str, ...]) -> None:
        self.lowest: dict[str, int] = {}
        self.reads = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(repo, skus))

    def _run(self, repo: DynamoStockRepository, skus: tuple[str, ...]) -> None:
        while not self._stop.is_set():
            for sku, item in repo.items(skus).items():
                assert item.atp is not None
                self.lowest[sku] = min(self.lowest.get(sku, item.atp), item.atp)
            self.reads += 1

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def burst(
    repo: DynamoStockRepository, requests: list[ReservationRequest]
) -> list[Held | Short | ConcurrentUpdates]:
    def one(n: int) -> Held | Short | ConcurrentUpdates:
        try:
            return reserve(requests[n], repo, now=NOW, hold=HOLD)
        except ConcurrentUpdates as busy:  # the route's 503: the storefront asks again
            return busy

    return in_threads(len(requests), one)


def numbers(repo: DynamoStockRepository, *skus: str) -> dict[str, tuple[int, int, int]]:
    """sku -> (on_hand, atp, reserved); each SKU's numbers must add up."""
    found = repo.items(skus)
    for item in found.values():
        assert item.atp is not None
        assert item.atp + item.reserved + item.committed + item.safety == item.on_hand
    return {sku: (item.on_hand, item.atp or 0, item.reserved) for sku, item in found.items()}


def test_500_checkouts_for_100_units_hold_exactly_100(repo: DynamoStockRepository) -> None:
    stock(repo, **{"MUG-01": 100})
    requests = [request(n, "MUG-01") for n in range(500)]

    with Watch(repo, ("MUG-01",)) as watch:
        answers = burst(repo, requests)

    assert Counter(map(outcome, answers)) == Counter({"Held": 100, "Short": 400})
    assert numbers(repo, "MUG-01") == {"MUG-01": (100, 0, 100)}
    assert watch.reads > 0 and watch.lowest["MUG-01"] >= 0


def test_3_sku_carts_are_held_whole_or_not_at_all(repo: DynamoStockRepository) -> None:
    stock(repo, **{"MUG-01": 100, "TEE-M": 60, "CAP": 150, "SOCKS": 80})
    shuffled = random.Random(14)
    carts = [shuffled.sample(["MUG-01", "TEE-M", "CAP", "SOCKS"], 3) for _ in range(500)]

    with Watch(repo, ("MUG-01", "TEE-M", "CAP", "SOCKS")) as watch:
        answers = burst(repo, [request(n, *skus) for n, skus in enumerate(carts)])

    held = [cart for cart, answer in zip(carts, answers, strict=True) if isinstance(answer, Held)]
    demand = Counter(sku for cart in held for sku in cart)
    after = numbers(repo, "MUG-01", "TEE-M", "CAP", "SOCKS")
    # Every SKU's reserved is exactly what the held carts take: no cart was held in part.
    assert {sku: reserved for sku, (_, _, reserved) in after.items()} == {sku: demand[sku] for sku in after}
    assert all(atp >= 0 for _, atp, _ in after.values()) and min(watch.lowest.values()) >= 0
    # A cart was refused only for a SKU with nothing left (stock only goes out here, so it still has none).
    for cart, answer in zip(carts, answers, strict=True):
        if isinstance(answer, Short):
            assert answer.short and all(s.sku in cart and s.available == 0 for s in answer.short)
            assert any(after[s.sku][1] == 0 for s in answer.short)
    assert held and len(held) < 500


class InjectedConflicts:
    """30% of TransactWriteItems answered as DynamoDB does when another transaction holds an item."""

    def __init__(self, client: Any, share: float) -> None:
        self._real = client._make_api_call
        self._share = share
        self._random = random.Random(30)
        self._lock = threading.Lock()
        self.injected = 0

    def __call__(self, operation: str, params: dict[str, Any]) -> Any:
        if operation == "TransactWriteItems":
            with self._lock:
                conflict = self._random.random() < self._share
                self.injected += conflict
            if conflict:
                reasons = [{"Code": "None"} for _ in params["TransactItems"]]
                reasons[-1] = {
                    "Code": "TransactionConflict",
                    "Message": "Transaction is ongoing for the item",
                }
                raise ClientError(
                    {
                        "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
                        "CancellationReasons": reasons,
                    },
                    operation,
                )
        return self._real(operation, params)


@pytest.fixture
def conflicted(
    repo: DynamoStockRepository, store: DynamoOrderStore, monkeypatch: pytest.MonkeyPatch
) -> Iterator[InjectedConflicts]:
    stock(repo, **{"MUG-01": 100})  # before the injection
    client = store.connection.client
    injected = InjectedConflicts(client, 0.3)
    monkeypatch.setattr(client, "_make_api_call", injected)
    yield injected


def test_with_30_percent_of_commits_conflicting_it_still_holds_exactly_100(
    repo: DynamoStockRepository, conflicted: InjectedConflicts
) -> None:
    answers = burst(repo, [request(n, "MUG-01") for n in range(500)])

    counted = Counter(map(outcome, answers))
    assert counted["Held"] == 100 and counted["Held"] + counted["Short"] + counted["ConcurrentUpdates"] == 500
    assert numbers(repo, "MUG-01") == {"MUG-01": (100, 0, 100)}
    assert conflicted.injected > 100


def test_a_release_racing_the_expiry_gives_the_stock_back_once(repo: DynamoStockRepository) -> None:
    stock(repo, **{"MUG-01": 50})
    holds = [reserve(request(n, "MUG-01"), repo, now=NOW, hold=HOLD) for n in range(50)]
    assert all(isinstance(h, Held) for h in holds)
    ids = [h.reservation.reservation_id for h in holds if isinstance(h, Held)]

    def one(n: int) -> Ended:
        rid = ids[n // 2]
        if n % 2:
            return release(rid, repo, now=NOW + HOLD)
        return expire(ReservationDue(reservation_id=rid, lines=[("MUG-01", 1)]), repo, now=NOW + HOLD)

    ended = in_threads(2 * len(ids), one)

    for rid in ids:
        pair = [e for e in ended if e.reservation_id == rid]
        assert [e.changed for e in pair].count(True) == 1  # one of them did it, the other saw it done
        assert len({e.status for e in pair}) == 1 and pair[0].status in (
            ReservationStatus.RELEASED,
            ReservationStatus.EXPIRED,
        )
    assert numbers(repo, "MUG-01") == {"MUG-01": (50, 50, 0)}


def test_a_payment_racing_the_expiry_of_its_hold_commits_it_once(
    repo: DynamoStockRepository, store: DynamoOrderStore
) -> None:
    """The same second: 30 paid orders, each racing the expiry of its checkout's hold. Each is
    committed through its hold or, the hold expired first, taken from atp directly: never both
    (reserved and committed at once), never neither (the order's units not committed)."""
    stock(repo, **{"MUG-01": 40})
    count = 30
    holds = [reserve(request(n, "MUG-01"), repo, now=NOW, hold=HOLD) for n in range(count)]
    ids = [h.reservation.reservation_id for h in holds if isinstance(h, Held)]
    assert len(ids) == count

    def one(n: int) -> object:
        if n % 2:
            return expire(
                ReservationDue(reservation_id=ids[n // 2], lines=[("MUG-01", 1)]), repo, now=NOW + HOLD
            )
        return record_delivery(paid_order(n // 2), store, now=NOW + HOLD, writes=(OrderStockWrites(repo),))

    in_threads(2 * count, one)

    item = repo.items(["MUG-01"])["MUG-01"]
    assert (item.on_hand, item.reserved, item.committed, item.atp) == (40, 0, count, 10)
    statuses = Counter(
        found.status for found in (repo.reservation(rid) for rid in ids) if isinstance(found, Reservation)
    )
    assert set(statuses) <= {ReservationStatus.COMMITTED, ReservationStatus.EXPIRED}
    assert sum(statuses.values()) == count


def paid_order(n: int) -> ReceivedChange:
    at = (NOW + HOLD).isoformat()
    body = OrderCreatedBody.model_validate(
        {
            "type": "order.created",
            "timestamp": at,
            "data": {
                "source": "erp",
                "external_id": str(n),
                "status": "paid",
                "currency": "EUR",
                "total": "1.00",
                "lines": [{"sku": "MUG-01", "name": "Mug", "quantity": 1, "unit_price": "1.00"}],
                "customer": {"email": "ann@example.com"},
                "checkout_token": f"chk-{n}",
                "updated_at": at,
            },
        }
    )
    return ReceivedChange((f"events:pay-{n}",), to_change(body), via="erp order.created", expect_new=True)
