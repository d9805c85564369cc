"""Stock figures: DynamoDB requests and write units per reserve, release, expiry, and an
order's commit, fulfilment and cancellation (moto,
counted at botocore), reservations per second with p50/p99 latency at 1, 8 and 32 threads on
DynamoDB Local (across 1,000 SKUs and on one hot SKU), and the oversell check repeated.

    python bench/stock.py [--reservations N] [--runs N] [--skip-local]

Write units come from item sizes as AWS bills them (bench/write_units.py; an update in a
transaction is counted as a small item's 2). Latency is one `reserve` call as the service makes
it (one TransactWriteItems on the success path), measured in this process: DynamoDB Local runs
on the same 2 cores, so the rates compare runs here, not AWS.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
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
from moto import mock_aws  # noqa: E402

from shopflow.bootstrap import build_models  # noqa: E402
from shopflow.kernel.conflicts import ConcurrentUpdates  # noqa: E402
from shopflow.local.resources import provision  # noqa: E402
from shopflow.local.template import Template  # noqa: E402
from shopflow.orders.ports import ReceivedChange  # noqa: E402
from shopflow.orders.service import record_delivery  # noqa: E402
from shopflow.stock.model import ReservationDue, ReservationRequest, StockItem  # noqa: E402
from shopflow.stock.orders import OrderStockWrites  # noqa: E402
from shopflow.stock.service import Held, Short, expire, release, reserve  # noqa: E402
from shopflow.store.models import bind_table  # noqa: E402
from shopflow.store.orders import DynamoOrderStore  # noqa: E402
from shopflow.store.stock import DynamoStockRepository  # noqa: E402
from shopflow.webhooks.events import EVENT_MODELS, to_change  # noqa: E402
from write_units import WriteMeter, index_keys_of  # noqa: E402

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
HOLD = timedelta(minutes=15)
calls: Counter[str] = Counter()
meter: WriteMeter | None = None
_real_call = botocore.client.BaseClient._make_api_call


def _counting_call(self: Any, operation: str, params: Any) -> Any:
    if self.meta.service_model.service_name == "dynamodb":
        calls[operation] += 1
        if meter is not None:
            meter.observe(operation, params)
    return _real_call(self, operation, params)


def request(n: int, *lines: tuple[str, int]) -> ReservationRequest:
    return ReservationRequest.model_validate(
        {
            "checkout_token": f"chk-{n}",
            "lines": [{"sku": sku, "quantity": q} for sku, q in lines],
            "request_id": f"msg_{n}_{uuid.uuid4().hex[:8]}",
        }
    )


def stock(repo: DynamoStockRepository, counts: dict[str, int]) -> None:
    # Ten items a transaction: the pinned DynamoDB Local (1.11.478) takes no more (AWS takes 100).
    skus = list(counts)
    for first in range(0, len(skus), 10):
        work = repo.unit_of_work()
        for sku in skus[first : first + 10]:
            repo.stage_item(StockItem(sku, on_hand=counts[sku]), NOW, work)
        work.commit()


@contextmanager
def table(dynamodb: Any, stage: str) -> Iterator[tuple[DynamoStockRepository, dict[str, Any]]]:
    template = Template.load(Stage=stage)
    name = provision(template, dynamodb=dynamodb, sqs=None).table_name()
    bind_table(name, region="us-east-1")
    try:
        yield DynamoStockRepository(DynamoOrderStore()), template.resources["ShopflowTable"]["Properties"]
    finally:
        dynamodb.delete_table(TableName=name)


def measure(label: str, properties: dict[str, Any], action: Callable[[], object]) -> object:
    global meter
    calls.clear()
    meter = WriteMeter(index_keys_of(properties))
    answer = action()
    listed = ", ".join(f"{k} {v}" for k, v in sorted(calls.items()))
    units = meter.summary()
    if len(units) > 160:  # a 90-SKU unit: the total, not every item
        units = f"{meter.units} write units in {meter.requests} request(s)"
    print(f"  {label:<36} {type(answer).__name__:<5} requests={sum(calls.values())} ({listed}); {units}")
    meter = None
    return answer


def order_event(n: int, status: str, lines: tuple[tuple[str, int], ...] = (), **extra: str) -> ReceivedChange:
    """A canonical order delivery: `order.created` with lines, else `order.status_changed`."""
    at = (NOW + timedelta(minutes=n)).isoformat()
    data: dict[str, Any] = {"source": "erp", "external_id": str(extra.pop("order", n)), "status": status}
    if lines:
        data |= {
            "currency": "EUR",
            "total": "10.00",
            "lines": [{"sku": sku, "name": sku, "quantity": q, "unit_price": "1.00"} for sku, q in lines],
            "customer": {"email": "ann@example.com"},
            **extra,
        }
    type_ = "order.created" if lines else "order.status_changed"
    body = EVENT_MODELS[type_].model_validate(
        {"type": type_, "timestamp": at, "data": {**data, "updated_at": at}}
    )
    return ReceivedChange((f"events:bench-{n}",), to_change(body), via=f"erp {type_}", expect_new=bool(lines))


def record_order(delivery: ReceivedChange, repo: DynamoStockRepository, orders: DynamoOrderStore) -> object:
    return record_delivery(delivery, orders, now=NOW, writes=(OrderStockWrites(repo),))


def requests_per_operation() -> None:
    print("DynamoDB requests and write units per operation (moto, counted at botocore):")
    with mock_aws(), table(boto3.client("dynamodb"), "bench") as (repo, properties):
        stock(repo, {"MUG-01": 10, "TEE-M": 10, "CAP": 10, **{f"SKU-{n:03d}": 5 for n in range(90)}})
        botocore.client.BaseClient._make_api_call = _counting_call  # type: ignore[method-assign]
        try:
            three = request(1, ("MUG-01", 2), ("TEE-M", 1), ("CAP", 1))
            held = measure("reserve, 3 SKUs", properties, lambda: reserve(three, repo, now=NOW, hold=HOLD))
            measure(
                "reserve again (same webhook-id)",
                properties,
                lambda: reserve(three, repo, now=NOW, hold=HOLD),
            )
            assert isinstance(held, Held)
            rid = held.reservation.reservation_id
            measure("release, 3 SKUs", properties, lambda: release(rid, repo, now=NOW))
            one = reserve(request(2, ("MUG-01", 1)), repo, now=NOW, hold=HOLD)
            assert isinstance(one, Held)
            due = ReservationDue(reservation_id=one.reservation.reservation_id, lines=[("MUG-01", 1)])
            measure(
                "expiry, 1 SKU (the timer's action)", properties, lambda: expire(due, repo, now=NOW + HOLD)
            )
            measure("expiry again (timer swept twice)", properties, lambda: expire(due, repo, now=NOW + HOLD))
            short = request(3, ("MUG-01", 50))
            measure("reserve refused (short)", properties, lambda: reserve(short, repo, now=NOW, hold=HOLD))
            largest = request(4, *((f"SKU-{n:03d}", 1) for n in range(90)))
            held = measure(
                "reserve, 90 SKUs (the most)", properties, lambda: reserve(largest, repo, now=NOW, hold=HOLD)
            )
            assert isinstance(held, Held)
            rid = held.reservation.reservation_id
            measure("release, 90 SKUs", properties, lambda: release(rid, repo, now=NOW))
            print("  Orders (the order, its timeline line and its stock in one TransactWriteItems):")
            orders = DynamoOrderStore()
            held = reserve(request(5, ("MUG-01", 2), ("TEE-M", 1)), repo, now=NOW, hold=HOLD)
            assert isinstance(held, Held)
            lines = (("MUG-01", 2), ("TEE-M", 1))
            measure(
                "paid order, its checkout's hold",
                properties,
                lambda: record_order(order_event(10, "paid", lines, checkout_token="chk-5"), repo, orders),
            )
            held = reserve(request(6, ("MUG-01", 2), ("TEE-M", 1)), repo, now=NOW, hold=HOLD)
            assert isinstance(held, Held)
            rid = held.reservation.reservation_id
            measure(
                "paid order naming its reservation",
                properties,
                lambda: record_order(order_event(11, "paid", lines, reservation_id=rid), repo, orders),
            )
            measure(
                "paid marketplace order, direct",
                properties,
                lambda: record_order(order_event(12, "paid", lines), repo, orders),
            )
            measure(
                "shipped (fulfilment), 2 SKUs",
                properties,
                lambda: record_order(order_event(13, "shipped", order="12"), repo, orders),
            )
            measure(
                "cancelled before shipping",
                properties,
                lambda: record_order(order_event(14, "cancelled", order="11"), repo, orders),
            )
            stock(repo, {"LAST-1": 1})
            measure(
                "paid order beyond atp (oversold)",
                properties,
                lambda: record_order(order_event(15, "paid", (("LAST-1", 3),)), repo, orders),
            )
        finally:
            botocore.client.BaseClient._make_api_call = _real_call  # type: ignore[method-assign]


def percentile(sorted_values: list[float], share: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(share * len(sorted_values)))]


def throughput(repo: DynamoStockRepository, label: str, skus: list[str], threads: int, count: int) -> None:
    picker = random.Random(threads)
    requests = [request(n, (picker.choice(skus), 1)) for n in range(count)]
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()

    def one(n: int) -> None:
        started = time.perf_counter()
        try:
            outcome = type(reserve(requests[n], repo, now=NOW, hold=HOLD)).__name__
        except ConcurrentUpdates:
            outcome = "busy"
        latencies.append(time.perf_counter() - started)
        outcomes[outcome] += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(one, range(count)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    print(
        f"  {label:<16} {threads:>2} threads: {count / elapsed:7.1f} reservations/s, "
        f"p50 {percentile(latencies, 0.5) * 1000:6.1f} ms, p99 {percentile(latencies, 0.99) * 1000:6.1f} ms "
        f"({', '.join(f'{k} {v}' for k, v in sorted(outcomes.items()))})"
    )


def oversell_runs(repo: DynamoStockRepository, runs: int) -> None:
    print(f"Oversell check, {runs} runs: stock 100, 500 reservations of one unit per SKU from 32 threads:")
    for shape in ("1 SKU", "3-SKU carts"):
        held_counts: list[int] = []
        broken = 0
        for run in range(runs):
            skus = [f"RUN{run}-{shape[0]}-{n}" for n in range(4 if shape != "1 SKU" else 1)]
            stock(repo, dict.fromkeys(skus, 100))
            picker = random.Random(run)
            carts = [picker.sample(skus, 3) if len(skus) > 1 else skus for _ in range(500)]
            requests = [request(n, *((sku, 1) for sku in cart)) for n, cart in enumerate(carts)]

            def one(n: int, requests: list[ReservationRequest] = requests) -> Held | Short | None:
                try:
                    return reserve(requests[n], repo, now=NOW, hold=HOLD)
                except ConcurrentUpdates:
                    return None

            with ThreadPoolExecutor(max_workers=32) as pool:
                answers = list(pool.map(one, range(500)))
            held = [cart for cart, answer in zip(carts, answers, strict=True) if isinstance(answer, Held)]
            demand = Counter(sku for cart in held for sku in cart)
            for sku, item in repo.items(skus).items():
                assert item.atp is not None
                adds_up = item.atp + item.reserved + item.committed + item.safety == item.on_hand
                if not adds_up or item.atp < 0 or item.reserved != demand[sku]:
                    broken += 1
            held_counts.append(len(held))
        print(
            f"  {shape:<12} held per run: min {min(held_counts)}, max {max(held_counts)}, "
            f"mean {statistics.mean(held_counts):.1f}; runs with atp < 0, a partial hold or numbers "
            f"not adding up: {broken}"
        )


def on_dynamodb_local(count: int, runs: int) -> None:
    from shopflow.local.dynamodb_local import DynamoDBLocal

    build_models()  # threads follow (decision 15)
    with DynamoDBLocal() as db:
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = db.endpoint
        dynamodb = boto3.client("dynamodb", endpoint_url=db.endpoint, region_name="us-east-1")
        print(f"Reservations on DynamoDB Local ({count} per run, one unit each, never short):")
        with table(dynamodb, f"bs-{uuid.uuid4().hex[:8]}") as (repo, _):
            many = [f"SKU-{n:04d}" for n in range(1000)]
            stock(repo, {**dict.fromkeys(many, 1_000_000), "HOT-1": 1_000_000})
            repo.items(["HOT-1"])  # its client built before the threads start
            for threads in (1, 8, 32):
                throughput(repo, "1,000 SKUs", many, threads, count)
            for threads in (1, 8, 32):
                throughput(repo, "one hot SKU", ["HOT-1"], threads, count)
            oversell_runs(repo, runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reservations", type=int, default=600, help="reservations per throughput run")
    parser.add_argument("--runs", type=int, default=20, help="repetitions of the oversell check")
    parser.add_argument("--skip-local", action="store_true", help="only the moto request counts")
    arguments = parser.parse_args()
    requests_per_operation()
    if not arguments.skip_local:
        on_dynamodb_local(arguments.reservations, arguments.runs)


if __name__ == "__main__":
    main()
