"""Reprice figures on DynamoDB Local (issue 16): a whole catalogue repriced on 3 channels, twice.

    python bench/pricing_reprice.py [--skus 100000] [--moved-pct 10] [--threads 4]

The table is made from template.yaml in a fresh in-memory DynamoDB Local; the code is the real
reprice: `pricing.service.reprice_all` over `DynamoPricingStore` (a Query page of 100 records,
their stock in one BatchGetItem, a write only for a record that changed), with the pricers
`pricing_setup` builds from settings and the stock capability's reader.

Before the clock starts, each SKU gets a record as a previous run left it: cost, three
competitors, a price on three channels (the shop in EUR; a marketplace in PLN with commission,
fixed and minimum fee and a .99 ending; one in EUR with 15% commission), repriced once in this
process at T0 so its decisions are settled, and a stock level; all written by BatchWriteItem.
Then:

1. two hours later, `--moved-pct` of the SKUs see their cheapest competitor move (3-7% up or
   down; each record read by BatchGetItem and written back, as an observation would), and
   the catalogue is repriced: writes for what changed;
2. fifteen minutes later it is repriced again with nothing changed: no writes expected.

Each run prints its wall time, DynamoDB requests by kind (counted at botocore's
`_make_api_call`), records written against records changed, evaluations (SKU x channel) per
second end to end, and the process's peak RSS during the run (VmHWM, reset before it).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "functions"))

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

import botocore.client  # noqa: E402
import botocore.session  # noqa: E402

from shopflow import bootstrap  # noqa: E402
from shopflow.clock import FakeClock  # noqa: E402
from shopflow.config import SettingsLoader  # noqa: E402
from shopflow.local.dynamodb_local import DynamoDBLocal  # noqa: E402
from shopflow.local.resources import provision  # noqa: E402
from shopflow.local.template import Template  # noqa: E402
from shopflow.pricing.handlers import stock_reader  # noqa: E402
from shopflow.pricing.model import CompetitorObservation  # noqa: E402
from shopflow.pricing.reprice import reprice  # noqa: E402
from shopflow.pricing.service import PricingSetup, RepriceReport, pricing_setup, reprice_all  # noqa: E402
from shopflow.pricing.state import ChannelPrice, PricePoint, SkuPrices  # noqa: E402
from shopflow.stock.model import StockItem  # noqa: E402
from shopflow.store.models import PriceRecordItem, StockLevelItem, iso  # noqa: E402
from shopflow.store.pricing import _document, _record_key  # noqa: E402
from shopflow.store.stock import _level_item  # noqa: E402

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)  # the previous run, whose records are seeded
T1 = T0 + timedelta(hours=2)  # the measured run after competitors moved (cool-downs over)
T2 = T1 + timedelta(minutes=15)  # the next scheduled run: nothing changed
CENT = Decimal("0.01")
SETTINGS = {
    "pricing/enabled": "true",
    "pricing/strategy/default": (
        '{"action": "beat", "amount": "1%", "endings": [".99", ".49"], "daily_drop_budget_pct": 8,'
        ' "min_rating": "3", "max_markup": "3"}'
    ),
    "channels/shop/currency": "EUR",
    "channels/allegro/currency": "PLN",
    "channels/allegro/commission": "0.11",
    "channels/allegro/fixed_fee": "1",
    "channels/allegro/min_fee": "1.50",
    "channels/allegro/fx": "4.2817",
    "channels/allegro/price_ending": ".99",
    "channels/amazon/currency": "EUR",
    "channels/amazon/commission": "0.15",
    "channels/amazon/min_fee": "0.30",
}
SEED_CHUNK = 500  # SKUs a seeding task builds, settles and writes

calls: Counter[str] = Counter()
waited: dict[str, float] = {}  # seconds spent in each kind of request (the answer parsed)
_calls_lock = threading.Lock()
_real_call = botocore.client.BaseClient._make_api_call


def _counting_call(self: Any, operation: str, params: Any) -> Any:
    if self.meta.service_model.service_name != "dynamodb":
        return _real_call(self, operation, params)
    started = time.perf_counter()
    try:
        return _real_call(self, operation, params)
    finally:
        with _calls_lock:
            calls[operation] += 1
            waited[operation] = waited.get(operation, 0.0) + time.perf_counter() - started


def sku_name(number: int) -> str:
    return f"SKU-{number:06d}"


def cents(rng: random.Random, low: float, high: float) -> Decimal:
    return Decimal(rng.randint(int(low * 100), int(high * 100))) / 100


def fresh_record(number: int, setup: PricingSetup) -> SkuPrices:
    """A SKU as the ERP, the price feed and an earlier price set left it, before T0's run."""
    rng = random.Random(number)
    cost = cents(rng, 2, 200)
    competitors = {
        f"rival-{k}": CompetitorObservation(
            f"rival-{k}", (cost * Decimal(rng.uniform(1.2, 2.2))).quantize(CENT), "EUR", rng.random() < 0.9,
            T0 - timedelta(minutes=rng.randint(0, 360)), rating=cents(rng, 2.5, 5),
        )
        for k in range(3)
    }  # fmt: skip
    pricer = setup.pricer_for("default")
    assert pricer is not None
    channels = {}
    for terms in pricer.terms:
        channel = terms.channel
        price = (cost * Decimal("1.6") * terms.per_base * Decimal(rng.uniform(0.9, 1.1))).quantize(CENT)
        since = T0 - timedelta(days=rng.randint(3, 60))
        channels[channel.name] = ChannelPrice(
            channel.currency, price, sequence=1, changed_at=since, points=(PricePoint(since, price),)
        )
    return SkuPrices(
        sku_name(number), currency="EUR", cost=cost, inputs_at=T0 - timedelta(days=10),
        competitors=competitors, channels=channels,
    )  # fmt: skip


def stock_units(number: int) -> int:
    return random.Random(-number).randint(0, 300)


def seed_chunk(numbers: range, setup: PricingSetup) -> tuple[int, Counter[str]]:
    """Records as T0's run left them (repriced here, in process), and their stock levels."""
    pricer = setup.pricer_for("default")
    assert pricer is not None
    statuses: Counter[str] = Counter()
    with PriceRecordItem.batch_write() as records, StockLevelItem.batch_write() as levels:
        for number in numbers:
            outcome = reprice(fresh_record(number, setup), pricer, stock=stock_units(number), now=T0)
            statuses.update(decision.status for decision in outcome.decisions)
            state = outcome.after
            pk, sk = _record_key(state.sku)
            document, compressed = _document(state)
            record = PriceRecordItem(pk, sk, item_type="PRICES", version=1, document=document)
            record.document_z = compressed
            records.save(record)
            levels.save(_level_item(StockItem(state.sku, stock_units(number), version=1), iso(T0)))
    return len(numbers), statuses


def seed(count: int, setup: PricingSetup, threads: int) -> Counter[str]:
    chunks = [range(start, min(start + SEED_CHUNK, count)) for start in range(0, count, SEED_CHUNK)]
    statuses: Counter[str] = Counter()
    done = 0
    with ThreadPoolExecutor(threads) as pool:
        for written, chunk_statuses in pool.map(lambda chunk: seed_chunk(chunk, setup), chunks):
            statuses.update(chunk_statuses)
            done += written
            if done % 10_000 < SEED_CHUNK:
                print(f"  seeded {done:,} SKUs", flush=True)
    return statuses


def moved(count: int, pct: float) -> Iterator[int]:
    """Which SKUs see a competitor move: spread over every shard."""
    step = max(1, round(100 / pct)) if pct > 0 else 0
    return iter(range(3, count, step) if step else ())


def move_competitors(store: Any, numbers: list[int]) -> int:
    """The cheapest in-stock competitor of each SKU moves 3-7% (up or down), seen at T1 - 10 min;
    each record is read in batches and written back with its version raised, as an observation is."""
    rewritten = 0
    for start in range(0, len(numbers), 100):
        page = numbers[start : start + 100]
        states = store.get_many([sku_name(n) for n in page])
        with PriceRecordItem.batch_write() as batch:
            for number in page:
                state = states[sku_name(number)]
                rng = random.Random(number * 7 + 1)
                offers = [seen for seen in state.competitors.values() if seen.in_stock]
                if not offers:
                    continue
                cheapest = min(offers, key=lambda seen: seen.price)
                factor = Decimal(rng.choice((-1, 1)) * rng.uniform(0.03, 0.07)) + 1
                price = (cheapest.price * factor).quantize(CENT)
                seen = replace(cheapest, price=price, observed_at=T1 - timedelta(minutes=10))
                after = state.observed(seen)
                assert after is not None
                pk, sk = _record_key(state.sku)
                document, compressed = _document(after)
                batch.save(
                    PriceRecordItem(
                        pk, sk, item_type="PRICES", version=state.version + 1, document=document,
                        document_z=compressed,
                    )
                )  # fmt: skip
                rewritten += 1
    return rewritten


def _peak_rss_reset() -> bool:
    """Reset the process's peak RSS (VmHWM), so a run's peak is its own; False where Linux refuses."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _listed(counted: Counter[str]) -> str:
    return ", ".join(f"{name} {n:,}" for name, n in sorted(counted.items()))


def measured_run(title: str, runtime: Any, setup: PricingSetup, now: datetime, count: int) -> RepriceReport:
    calls.clear()
    waited.clear()
    reset = _peak_rss_reset()
    started = time.perf_counter()
    cpu_started = time.process_time()
    report = reprice_all(runtime.pricing, setup, stock_reader(runtime), now)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    evaluations = sum(report.decisions.values())
    record_writes = calls["PutItem"] + calls["TransactWriteItems"]
    print(f"{title}:")
    print(f"  wall {wall:,.1f} s (this process's CPU {cpu:,.1f} s); {report.skus:,} SKUs x 3 channels")
    print(
        f"  {evaluations:,} evaluations, {evaluations / wall:,.0f}/s end to end"
        f" ({report.skus / wall:,.0f} SKUs/s)"
    )
    print(f"  DynamoDB requests: {sum(calls.values()):,} ({_listed(calls)})")
    print(
        f"    time in them: {sum(waited.values()):,.1f} s ("
        + ", ".join(f"{name} {seconds:,.1f} s" for name, seconds in sorted(waited.items()))
        + ")"
    )
    reads = calls["Query"] + calls["BatchGetItem"]
    print(
        f"    reads: {calls['Query']:,} Query pages + {calls['BatchGetItem']:,} BatchGetItem for "
        f"{report.skus:,} SKUs ({reads / max(report.skus, 1) * 100:.2f} per 100 SKUs)"
    )
    print(
        f"  records written {record_writes:,} (PutItem {calls['PutItem']:,}, TransactWriteItems "
        f"{calls['TransactWriteItems']:,}); records changed {report.writes:,}; prices applied "
        f"{report.applied:,}, proposals opened {report.opened:,}, conflicts {report.conflicts}"
    )
    print(f"  decisions: {_listed(report.decisions)}")
    print(f"  peak RSS {'during the run' if reset else 'of the process so far'}: {_peak_rss_mb():,.0f} MB")
    assert report.skus == count, (report.skus, count)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=100_000)
    parser.add_argument("--moved-pct", type=float, default=10.0, help="%% of SKUs whose competitor moves")
    parser.add_argument("--threads", type=int, default=4, help="seeding threads (the runs are one thread)")
    parser.add_argument("--profile", action="store_true", help="print where run 2's CPU time goes (cProfile)")
    args = parser.parse_args()

    with DynamoDBLocal() as db:
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = db.endpoint
        template = Template.load(Stage=f"bench{os.getpid()}")
        client = botocore.session.get_session().create_client("dynamodb", endpoint_url=db.endpoint)
        provisioned = provision(template, dynamodb=client, sqs=None)
        os.environ["SHOPFLOW_TABLE"] = provisioned.table_name()
        runtime = bootstrap.reset(FakeClock(T0))
        setup = pricing_setup(SettingsLoader("bench", fetch=lambda: dict(SETTINGS)).load())
        assert setup.channels == ("allegro", "amazon", "shop"), setup.channels

        botocore.client.BaseClient._make_api_call = _counting_call
        try:
            print(f"seeding {args.skus:,} SKUs x {len(setup.channels)} channels on DynamoDB Local")
            started = time.perf_counter()
            settled = seed(args.skus, setup, args.threads)
            print(
                f"  seeded in {time.perf_counter() - started:,.1f} s: {_listed(calls)}; T0's decisions "
                f"(settled in process): {_listed(settled)}"
            )
            calls.clear()
            started = time.perf_counter()
            numbers = list(moved(args.skus, args.moved_pct))
            rewritten = move_competitors(runtime.pricing, numbers)
            print(
                f"  {rewritten:,} SKUs' cheapest competitor moved 3-7% in "
                f"{time.perf_counter() - started:,.1f} s ({_listed(calls)})"
            )
            first = measured_run(
                f"run 1, T0 + 2 h, {rewritten:,} SKUs' competitor moved", runtime, setup, T1, args.skus
            )
            profiler = cProfile.Profile() if args.profile else None
            if profiler is not None:
                profiler.enable()
            second = measured_run("run 2, 15 min later, nothing changed", runtime, setup, T2, args.skus)
            if profiler is not None:
                profiler.disable()
                pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        finally:
            botocore.client.BaseClient._make_api_call = _real_call
        print(
            f"writes only for changes: run 1 wrote {first.writes:,} records for {rewritten:,} moved SKUs; "
            f"run 2 wrote {second.writes:,}"
        )


if __name__ == "__main__":
    main()
