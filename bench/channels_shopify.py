"""Shopify channel figures: requests to Shopify per changed SKU and the query cost of each call,
when 1,000 SKUs change at once, through the adapter against the local fake Shopify over HTTP.

    python bench/channels_shopify.py [--skus N] [--sold-pct P]

Scenarios: every SKU's last seen quantity known (the steady state); none known (a first sync:
each batch is read first); P% of the SKUs selling on Shopify between shopflow's read and write
(stale rows re-read and decided again, as the sync service would); and the same 1,000 pushes
on an old 1,000-point bucket restoring 50 points a second (waits are simulated by the fake's
clock and printed, not slept). Wall time is this machine's, over loopback.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "functions"))

from shopflow.channels.adapters.shopify import ShopifyChannel
from shopflow.channels.ports import ChannelConfig, Push
from shopflow.local.fakes.shopify import DEFAULT_TOKEN, FakeShopify, ManualClock


@dataclass
class Figures:
    name: str
    skus: int
    requests: int
    mutations: int
    reads: int
    max_cost: int
    waited: float
    seconds: float
    acknowledged: int


def run(
    name: str, skus: int, *, seen_known: bool, sold_pct: float, bucket: tuple[float, float] | None
) -> Figures:
    clock = ManualClock()
    waited: list[float] = []

    def sleep(seconds: float) -> None:
        waited.append(seconds)
        clock.advance(seconds)

    with FakeShopify(clock=clock, location_id=1) as shop:
        if bucket is not None:
            shop.set_bucket(*bucket)
        for item in range(1, skus + 1):
            shop.add_item(item, f"SKU-{item}", available=20)
        config = ChannelConfig(
            name="bench",
            kind="shopify",
            url=shop.url,
            token=DEFAULT_TOKEN,
            location_id="1",
            api_version="2026-04",
        )
        channel = ShopifyChannel(config, sleep=sleep)
        pushes = [
            Push(
                str(item), f"SKU-{item}", quantity=item % 15, seen_there=20 if seen_known else None, version=2
            )
            for item in range(1, skus + 1)
        ]
        sold = set(random.Random(7).sample(range(1, skus + 1), int(skus * sold_pct / 100)))
        for item in sold:
            shop.sell_before_next_write(item, units=1)
        acknowledged = 0
        started = time.perf_counter()
        for start in range(0, len(pushes), channel.batch_limit):
            batch = pushes[start : start + channel.batch_limit]
            answers = channel.push(batch)
            acknowledged += sum(a.status == "acknowledged" for a in answers)
            again = [
                replace(p, seen_there=a.quantity_there)
                for p, a in zip(batch, answers, strict=True)
                if a.status == "stale"
            ]
            if again:  # the sync service decides again from the re-read quantity
                acknowledged += sum(a.status == "acknowledged" for a in channel.push(again))
        seconds = time.perf_counter() - started
        served = [call for call in shop.calls if not call.throttled]
        return Figures(
            name=name,
            skus=skus,
            requests=shop.requests,
            mutations=sum(call.operation == "mutation" for call in served),
            reads=sum(call.operation == "query" for call in served),
            max_cost=max(call.requested_cost or 0 for call in shop.calls),
            waited=sum(waited),
            seconds=seconds,
            acknowledged=acknowledged,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=1000)
    parser.add_argument("--sold-pct", type=float, default=2.0)
    args = parser.parse_args()
    runs = [
        run("seen quantities known", args.skus, seen_known=True, sold_pct=0, bucket=None),
        run("first sync (read, then set)", args.skus, seen_known=False, sold_pct=0, bucket=None),
        run(
            f"{args.sold_pct:g}% sold on Shopify meanwhile",
            args.skus,
            seen_known=True,
            sold_pct=args.sold_pct,
            bucket=None,
        ),
        run("first sync, 1000-pt bucket at 50/s", args.skus, seen_known=False, sold_pct=0, bucket=(1000, 50)),
    ]
    print(f"Shopify channel: {args.skus} SKUs changed at once, 250 quantities per inventorySetQuantities")
    print(
        f"{'scenario':38} {'requests':>8} {'mutations':>9} {'reads':>5} {'req/SKU':>8} {'max cost':>8}"
        f" {'waited s':>8} {'acked':>6} {'wall s':>6}"
    )
    for f in runs:
        print(
            f"{f.name:38} {f.requests:8d} {f.mutations:9d} {f.reads:5d} {f.requests / f.skus:8.4f} "
            f"{f.max_cost:8d} {f.waited:8.1f} {f.acknowledged:6d} {f.seconds:6.2f}"
        )
    print(
        "Query cost per call: a mutation 10 points whatever its rows; a read of 250 items 750 (limit 1000)."
    )


if __name__ == "__main__":
    main()
