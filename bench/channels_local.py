"""`shopflow local` with its fake shops: ATP change -> channel acknowledged, p50/p99 (issue 15);
with --skus N, what N SKUs changed at once cost each shop.

    python bench/channels_local.py [--changes 20] [--pause 1.0]
    python bench/channels_local.py --skus 1000

Starts a fresh `shopflow local` (clock speed 1) with its fake Shopify and WooCommerce shops,
lists and links one SKU on both (`listing.linked`, signed), then changes its stock `--changes`
times with the ERP's signed `inventory.set` (a new quantity each time, `--pause` seconds apart).
For each change: the time from the API's answer (the ATP changed: the stock item is written)
until each fake shop shows the new quantity (it acknowledged the push), read from the runtime's
control endpoint every 10 ms (what `shopflow local channels` reads). The path: the table's stream
(read 4 times a second, gathered for up to 5 s: the fan-out's batching window) -> channel_fanout
-> the FIFO push queue -> channel_push -> the shop.

With --skus N: lists and links N SKUs on both shops, counts them all at 5, then counts them all
at 7 in one burst (8 at a time, as fast as the local API takes them), and prints what the second
burst cost each shop (requests, writes, quantities, the largest write) and how long it took from
the last count until both shops showed every SKU.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "functions"))
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import Instance, start, user_env  # noqa: E402
from tests.e2e.test_local_channel_faults import (  # noqa: E402
    count_all,
    list_and_link_many,
    wait_until_all_shown,
)
from tests.e2e.test_local_reservations import Storefront  # noqa: E402

SKU = "BENCH-MUG"
GIVE_UP_SECONDS = 60.0


def shown(instance: Instance) -> dict[str, int | None]:
    with urllib.request.urlopen(instance.session.control_url + "/channels", timeout=10) as answer:  # noqa: S310
        rows = json.loads(answer.read())["listings"]
    return {row["channel"]: row["quantity"] for row in rows if row["sku"] == SKU}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between changes")
    parser.add_argument("--skus", type=int, default=0, help="instead: N SKUs changed at once")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shopflow-bench-channels-") as scratch:
        instance = start(Path(scratch) / "data", env=user_env())
        try:
            if args.skus:
                run_many(instance, args.skus)
            else:
                run(instance, args.changes, args.pause)
        finally:
            instance.stop()


def traffic(instance: Instance) -> dict[str, dict[str, int]]:
    with urllib.request.urlopen(instance.session.control_url + "/channels", timeout=10) as answer:  # noqa: S310
        seen: dict[str, dict[str, int]] = json.loads(answer.read())["traffic"]
        return seen


def run_many(instance: Instance, count: int) -> None:
    storefront = Storefront(instance)
    skus = [f"BENCH-{n:05d}" for n in range(count)]
    started = time.monotonic()
    list_and_link_many(instance, storefront, skus)
    count_all(storefront, skus, 5, sequence=1)
    wait_until_all_shown(instance, skus, 5, timeout=3600)
    print(f"{count} SKUs listed, linked and counted on both shops in {time.monotonic() - started:.0f} s")
    before = traffic(instance)
    started = time.monotonic()
    count_all(storefront, skus, 7, sequence=2)
    counted = time.monotonic()
    wait_until_all_shown(instance, skus, 7, timeout=3600)
    shown = time.monotonic()
    time.sleep(2)
    after = traffic(instance)
    print(
        f"{count} SKUs changed at once: counted in {counted - started:.0f} s "
        f"({count / (counted - started):.1f}/s), "
        f"every SKU shown on both shops {shown - counted:.1f} s after the last count"
    )
    for channel, kind, limit in (("shop", "Shopify", 250), ("woo", "WooCommerce", 100)):
        seen = {key: after[channel][key] - before[channel][key] for key in after[channel] if key != "largest"}
        print(
            f"  {kind}: {seen['requests']} requests ({seen['requests'] / count:.3f} per changed SKU), "
            f"{seen['writes']} writes carrying {seen['items']} quantities, "
            f"{seen['throttled']} throttled, largest write {after[channel]['largest']} (limit {limit})"
        )


def run(instance: Instance, changes: int, pause: float) -> None:
    storefront = Storefront(instance)
    listed = instance.cli_plain("local", "channels", "--add", SKU, "--json")
    for channel, listing_id in json.loads(listed.stdout)["added"]["listings"].items():
        storefront.event("listing.linked", {"channel": channel, "sku": SKU, "listing_id": listing_id})
    latencies: dict[str, list[float]] = {"shop": [], "woo": []}
    for sequence in range(1, changes + 1):
        # a new quantity every time, rising: cuts by the ERP of more than 30% in 10 minutes would
        # trip the channels' breaker
        quantity = 100 + sequence
        status, answer = storefront.count(SKU, quantity, sequence=sequence)
        changed = time.monotonic()
        assert status == 200 and answer["atp"] == quantity, answer
        waiting = set(latencies)
        while waiting and time.monotonic() - changed < GIVE_UP_SECONDS:
            now = shown(instance)
            for channel in [c for c in waiting if now.get(c) == quantity]:
                latencies[channel].append(time.monotonic() - changed)
                waiting.discard(channel)
            time.sleep(0.01)
        if waiting:
            print(
                f"change {sequence}: {sorted(waiting)} did not show {quantity} within {GIVE_UP_SECONDS:.0f} s"
            )
        time.sleep(pause)
    print(f"ATP change -> channel acknowledged, {changes} changes at clock speed 1 (one SKU, both shops):")
    for channel, kind in (("shop", "Shopify"), ("woo", "WooCommerce")):
        values = [v * 1000 for v in latencies[channel]]
        if not values:
            continue
        print(
            f"  {channel} ({kind}): p50 {percentile(values, 0.5):.0f} ms, "
            f"p99 {percentile(values, 0.99):.0f} ms, "
            f"min {min(values):.0f} ms, max {max(values):.0f} ms, mean {statistics.mean(values):.0f} ms "
            f"over {len(values)}"
        )
    status: dict[str, Any] = json.loads(
        urllib.request.urlopen(instance.session.control_url + "/status", timeout=10).read()  # noqa: S310
    )
    print(f"  dead letters: {status['dead_letters']}")


if __name__ == "__main__":
    main()
