"""`shopflow prices simulate` figures: wall time and peak memory of a 30-day what-if over 10,000 SKUs.

    python bench/pricing_simulate.py [--skus 10000] [--days 30] [--competitors 3] [--per-day 3]
                                     [--change 0.3]

The replay (`simulate_stored`) runs as the CLI runs it, shard by shard, on synthetic recorded
inputs that a stand-in for the store builds when a shard is read: each SKU on two channels (the
shop in EUR, a marketplace with 12% commission, a fixed and a minimum fee) at a price set before
the window, a cost from the ERP (and one cost change for 1 SKU in 20), `--competitors` rivals each
observed `--per-day` times a day (a price that moves at `--change` of the observations, as feeds
repeat themselves) and 0 to 3 units sold a day. The current strategy matches the lowest rival,
the proposed one beats it by 0.01. The figure is the wall time of the replay; the inputs' build
is timed apart (on AWS it is the reads, estimated below from the items' sizes).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "functions"))

from shopflow.pricing.engine import Pricer
from shopflow.pricing.model import Channel, CompetitorObservation
from shopflow.pricing.recorded import (
    DailySales,
    Described,
    Logged,
    LoggedInputs,
    LoggedObservation,
    log_document,
)
from shopflow.pricing.simulate import simulate_stored
from shopflow.pricing.state import SHARDS, ChannelPrice, PricePoint, SkuPrices, shard_of
from shopflow.pricing.strategy import parse_strategy

END = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
CHANNELS = (
    Channel("shop", "EUR"),
    Channel("market", "EUR", commission=Decimal("0.12"), fixed_fee=Decimal("0.30"), min_fee=Decimal("0.50")),
)
CURRENT = '{"action": "match"}'
PROPOSED = '{"action": "beat", "amount": "0.01"}'
CENT = Decimal("0.01")


class SyntheticReads:
    """The store's reads (`ReplayReads`) over synthetic inputs, built a shard at a time when the
    replay reads that shard's records, so only one shard's window is held, as from DynamoDB."""

    def __init__(self, skus: int, start: datetime, args: argparse.Namespace) -> None:
        self.by_shard: dict[int, list[str]] = {shard: [] for shard in range(SHARDS)}
        for number in range(skus):
            sku = f"SKU-{number:06d}"
            self.by_shard[shard_of(sku)].append(sku)
        self.start, self.args = start, args
        self.logs: dict[date, list[Logged]] = {}
        self.sold: dict[date, list[DailySales]] = {}
        self.build_seconds = 0.0
        self.items = {"log": 0, "log_bytes": 0, "sales": 0, "records": 0}

    def pages(self, shard: int) -> Iterator[Sequence[SkuPrices]]:
        began = time.perf_counter()
        records = [self._sku(sku) for sku in self.by_shard[shard]]
        self.build_seconds += time.perf_counter() - began
        for at in range(0, len(records), 100):
            yield records[at : at + 100]

    def logged(self, shard: int, day: date) -> Sequence[Logged]:
        return self.logs.get(day, [])

    def sales(self, shard: int, day: date) -> Sequence[DailySales]:
        return self.sold.get(day, [])

    def _sku(self, sku: str) -> SkuPrices:
        """The SKU's record, and (into this shard's log and sales) its window's inputs."""
        args = self.args
        rng = random.Random(sku)
        base = Decimal(rng.randint(1000, 10000)) / 100
        cost = (base * Decimal("0.6")).quantize(CENT)
        before = self.start - timedelta(days=40)
        channels = {
            channel.name: ChannelPrice("EUR", base, changed_at=before, points=(PricePoint(before, base),))
            for channel in CHANNELS
        }
        described = Described("EUR", cost, None, None, "default")
        state = SkuPrices(sku, "default", "EUR", cost, None, None, before, {}, channels)
        self.items["records"] += 1
        rivals = [base] * args.competitors
        first = self.start - timedelta(days=1)
        for day in range(args.days + 1):
            midnight = datetime.combine(first.date() + timedelta(days=day), datetime.min.time(), UTC)
            for slot in range(args.per_day):
                for rival in range(args.competitors):
                    if rng.random() < args.change:
                        moved = rivals[rival] * Decimal(1 + rng.uniform(-0.04, 0.035))
                        rivals[rival] = max(moved.quantize(CENT), cost)
                    at = midnight + timedelta(hours=8 + slot * 12 / args.per_day, minutes=rival * 7)
                    seen = CompetitorObservation(f"rival-{rival}", rivals[rival], "EUR", True, at)
                    self._log(LoggedObservation(sku, seen))
            if day and rng.random() < 0.05 / args.days * 30:
                raised = Described("EUR", (cost * Decimal("1.05")).quantize(CENT), None, None, "default")
                self._log(LoggedInputs(sku, midnight + timedelta(hours=7), described, raised))
                described = raised
            units = rng.choice((0, 0, 0, 1, 1, 2, 3))
            if day and units:
                sold = DailySales(
                    sku, midnight.date(), rng.choice(("shop", "market", "erp")), units, base * units, "EUR"
                )
                self.sold.setdefault(midnight.date(), []).append(sold)
                self.items["sales"] += 1
        return replace(state, cost=described.cost)  # the record holds the latest cost

    def _log(self, entry: Logged) -> None:
        self.logs.setdefault(entry.at.date(), []).append(entry)
        self.items["log"] += 1
        if self.items["log"] % 1000 == 1:  # the item's size, sampled: key + document
            self.items["log_bytes_sample"] = len(json.dumps(log_document(entry))) + 80


class ShardAtATime(SyntheticReads):
    """Each shard's inputs dropped when the next shard is read (the replay holds one at a time)."""

    def pages(self, shard: int) -> Iterator[Sequence[SkuPrices]]:
        self.logs, self.sold = {}, {}
        return super().pages(shard)


def measure_reads(skus: int, start: datetime, args: argparse.Namespace) -> None:
    """Write `skus` SKUs' window into DynamoDB Local, then read it back as the CLI does (a shard
    at a time through `DynamoPricingStore`): the read rate, to scale to the full window."""
    import os

    import boto3

    from shopflow.local.dynamodb_local import DynamoDBLocal
    from shopflow.pricing.simulate import read_window
    from shopflow.store import pricing as stored
    from shopflow.store.models import PriceLogItem, PriceRecordItem, PriceSalesItem, bind_table

    synthetic = SyntheticReads(skus, start, args)
    records = [state for shard in range(SHARDS) for page in synthetic.pages(shard) for state in page]
    items: list[Any] = []
    for state in records:
        pk, sk = stored._record_key(state.sku)
        text, packed = stored._document(state)
        items.append(PriceRecordItem(pk, sk, item_type="PRICES", version=1, document=text, document_z=packed))
    for entry in (entry for day in synthetic.logs.values() for entry in day):
        pk, sk = stored._log_key(entry)
        items.append(PriceLogItem(pk, sk, item_type="PRICELOG", document=json.dumps(log_document(entry))))
    for sold in (sold for day in synthetic.sold.values() for sold in day):
        pk, sk = stored._sales_key(sold)
        items.append(PriceSalesItem(pk, sk, item_type="PRICESALES", units=sold.units, revenue=sold.revenue))
    key_schema = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    attributes = [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ]
    with DynamoDBLocal() as db:
        os.environ.update(
            AWS_ENDPOINT_URL_DYNAMODB=db.endpoint, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
            AWS_DEFAULT_REGION="us-east-1",
        )  # fmt: skip
        boto3.client("dynamodb").create_table(
            TableName="bench-simulate", KeySchema=key_schema, AttributeDefinitions=attributes,
            BillingMode="PAY_PER_REQUEST",
        )  # fmt: skip
        bind_table("bench-simulate", region="us-east-1")
        began = time.perf_counter()
        for model in (PriceRecordItem, PriceLogItem, PriceSalesItem):
            with model.batch_write() as batch:
                for item in items:
                    if type(item) is model:
                        batch.save(item)
        write_seconds = time.perf_counter() - began
        store = stored.DynamoPricingStore(None)  # type: ignore[arg-type]  # reads need no order store
        began = time.perf_counter()
        read = 0
        for shard in range(SHARDS):
            window = read_window(store, start, END, shards=(shard,))
            read += len(window.records) + len(window.log) + len(window.sales)
        seconds = time.perf_counter() - began
    print(
        f"  DynamoDB Local, {skus} SKUs: {len(items):,} items written in {write_seconds:.0f} s; read back "
        f"as the CLI reads them: {read:,} items in {seconds:.1f} s ({read / seconds:,.0f} items/s); at that "
        f"rate 10,000 SKUs' window takes ~{seconds * 10_000 / skus:,.0f} s to read"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--competitors", type=int, default=3)
    parser.add_argument("--per-day", type=int, default=3)
    parser.add_argument("--change", type=float, default=0.3, help="share of observations that move a price")
    parser.add_argument(
        "--dynamodb-local", type=int, default=0, metavar="N",
        help="also write N SKUs' window to DynamoDB Local and time reading it back",
    )  # fmt: skip
    args = parser.parse_args()
    start = END - timedelta(days=args.days)
    reads = ShardAtATime(args.skus, start, args)
    current = Pricer(parse_strategy(CURRENT).plan(), CHANNELS)
    proposed = Pricer(parse_strategy(PROPOSED).plan(), CHANNELS)

    began, cpu_began = time.perf_counter(), time.process_time()
    result = simulate_stored(reads, current, proposed, start, END, channel_of=lambda source: source)
    wall = time.perf_counter() - began
    cpu = time.process_time() - cpu_began
    replay = wall - reads.build_seconds
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    evaluations = result.current.evaluations + result.proposed.evaluations
    print(f"prices simulate: {args.days} days x {args.skus:,} SKUs x {len(CHANNELS)} channels")
    print(
        f"  inputs: {reads.items['log']:,} logged offers and cost changes "
        f"({args.competitors} rivals x {args.per_day}/day, {args.change:.0%} moving), "
        f"{reads.items['sales']:,} SKU-days with sales"
    )
    built = reads.build_seconds
    print(f"  wall time: {wall:.1f} s ({replay:.1f} s replay + {built:.1f} s building the inputs)")
    print(f"  CPU time: {cpu:.1f} s (the machine is shared: wall time includes waiting for a core)")
    print(f"  reprices of a SKU: {evaluations:,} ({evaluations / replay:,.0f}/s), both strategies")
    print(f"  peak RSS: {peak_mb:,.0f} MB (one shard's window held at a time)")
    for name, figures in (("current (match)", result.current), ("proposed (beat 0.01)", result.proposed)):
        print(f"  {name}: {json.dumps(figures.as_dict())}")
    # What the reads would be on DynamoDB: Query pages are 1 MB; one request a page.
    item_bytes = reads.items.get("log_bytes_sample", 250)
    log_mb = reads.items["log"] * item_bytes / 1e6
    sales_mb = reads.items["sales"] * 120 / 1e6
    record_pages = -(-args.skus // 100)
    requests = (
        int(log_mb + SHARDS * (args.days + 2)) + int(sales_mb + SHARDS * (args.days + 1)) + record_pages
    )
    rcu = (log_mb + sales_mb) * 1e6 / 4096 / 2  # eventually consistent: half a unit per 4 KB
    print(
        f"  on DynamoDB the replay reads ~{log_mb:,.0f} MB of log and {sales_mb:,.1f} MB of sales in about "
        f"{requests:,} Query pages (16 shards x days, 1 MB a page) plus {record_pages} record pages: "
        f"~{rcu:,.0f} read units"
    )
    if args.dynamodb_local:
        measure_reads(args.dynamodb_local, start, args)


if __name__ == "__main__":
    main()
