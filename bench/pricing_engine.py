"""Pricing engine figures: evaluations per second (one SKU on one channel through the full
pipeline), on one core, in this process.

    python bench/pricing_engine.py [--skus N] [--competitors N] [--runs N]

Each SKU has N competitor observations (some stale, out of stock or in another currency) and is
listed on three channels (the shop in EUR, a marketplace in PLN with commission, fixed and minimum
fee and a .99 ending, one in EUR with 15% commission); the strategy beats the lowest by 1% with
endings, a drop budget and a clearance step, so every step runs. Inputs are built before the
clock starts; the process is pinned to one core; the figure is the best of the runs (the machine is
shared, so the load average is printed too). Decisions are dropped, as a reprice drops them once
written, and counted by status in a pass of their own.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "functions"))

from shopflow.pricing.engine import Pricer
from shopflow.pricing.model import Channel, CompetitorObservation, ListingPrice, SkuPricing
from shopflow.pricing.strategy import parse_strategy

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
CHANNELS = (
    Channel("shop", "EUR"),
    Channel(
        "allegro", "PLN", commission=Decimal("0.11"), fixed_fee=Decimal("1"), min_fee=Decimal("1.50"),
        fx=Decimal("4.2817"), price_ending=Decimal("0.99"),
    ),
    Channel("amazon", "EUR", commission=Decimal("0.15"), min_fee=Decimal("0.30")),
)  # fmt: skip
STRATEGY = (
    '{"action": "beat", "amount": "1%", "endings": [".99", ".49"], "daily_drop_budget_pct": 8,'
    ' "clearance": {"90": 10}, "min_rating": "3", "max_markup": "3"}'
)


def cents(rng: random.Random, low: float, high: float) -> Decimal:
    return Decimal(rng.randint(int(low * 100), int(high * 100))) / 100


Row = tuple[SkuPricing, list[CompetitorObservation], dict[str, ListingPrice]]


def inputs(skus: int, competitors: int, seed: int = 16) -> list[Row]:
    rng = random.Random(seed)
    rows = []
    for number in range(skus):
        cost = cents(rng, 2, 200)
        sku = SkuPricing(
            f"SKU-{number}", "EUR", cost=cost if number % 50 else None, stock=rng.randint(0, 300),
            sales_per_day=cents(rng, 0, 5), stock_age_days=rng.randint(0, 150),
        )  # fmt: skip
        seen = [
            CompetitorObservation(
                f"rival-{k}", cost * Decimal(rng.uniform(0.9, 2.2)).quantize(Decimal("0.01")),
                "EUR" if rng.random() < 0.9 else "PLN", rng.random() < 0.85,
                NOW - timedelta(hours=rng.uniform(0, 30)), rating=cents(rng, 2, 5),
            )
            for k in range(competitors)
        ]  # fmt: skip
        listings = {}
        for channel in CHANNELS:
            base = cost * Decimal("1.6") * channel.fx / (1 - channel.commission)
            current = (base * Decimal(rng.uniform(0.85, 1.15))).quantize(Decimal("0.01"))
            changed = NOW - timedelta(minutes=rng.randint(5, 600))
            listings[channel.name] = ListingPrice(channel.name, current, changed, current)
        rows.append((sku, seen, listings))
    return rows


def simple_chain(rows: list[Row]) -> int:
    """The issue's yardstick, "a simple Decimal rule chain": lowest competitor less 0.01, grossed
    up, clamped, rounded, one band; run here to tell how loaded the shared machine is right now."""
    cent, band, count = Decimal("0.01"), Decimal("0.10"), 0
    for sku, seen, listings in rows:
        cost = sku.cost or Decimal(1)
        for channel in CHANNELS:
            old = listings[channel.name].current_price or Decimal(1)
            target = (min(s.price for s in seen) - cent) * channel.fx / (1 - channel.commission)
            floor = cost * channel.fx / (1 - channel.commission - Decimal("0.15"))
            target = max(floor, min(target, floor * 3)).quantize(cent, rounding="ROUND_CEILING")
            count += abs(target - old) / old <= band
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=20_000)
    parser.add_argument("--competitors", type=int, default=5)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):  # one core, as the figure says; the machine has others
        os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
    pricer = Pricer(parse_strategy(STRATEGY).plan(), CHANNELS)  # once per strategy, outside the loop
    rows = inputs(args.skus, args.competitors)
    evaluations = args.skus * len(CHANNELS)
    best = float("inf")
    evaluate = pricer.evaluate
    for _ in range(args.runs):
        started = time.perf_counter()
        for sku, seen, listings in rows:  # decisions dropped, as a reprice drops them once written
            evaluate(sku, seen, listings, NOW)
        best = min(best, time.perf_counter() - started)
    statuses = Counter(  # counted apart: counting is not the engine's time
        decision.status for sku, seen, listings in rows for decision in evaluate(sku, seen, listings, NOW)
    )
    chain = float("inf")
    for _ in range(args.runs):
        started = time.perf_counter()
        simple_chain(rows)
        chain = min(chain, time.perf_counter() - started)
    print(
        f"pricing engine: {evaluations / best:,.0f} evaluations/s (SKU x channel, full pipeline, one core;"
        f" {args.skus:,} SKUs x {len(CHANNELS)} channels x {args.competitors} competitors,"
        f" best of {args.runs}: {best * 1000:,.0f} ms)"
    )
    print("  per evaluation: " + f"{best / evaluations * 1e6:.2f} us; decisions: " + ", ".join(
        f"{status} {count}" for status, count in sorted(statuses.items())
    ))  # fmt: skip
    print(
        f"  for scale, a simple Decimal rule chain (lowest - 0.01, gross-up, clamp, round, one band) on the"
        f" same inputs now: {evaluations / chain:,.0f} evaluations/s"
    )
    if hasattr(os, "getloadavg"):  # the machine is shared: how busy it was
        print("  load average (1, 5, 15 min): " + ", ".join(f"{load:.1f}" for load in os.getloadavg()))


if __name__ == "__main__":
    main()
