"""`shopflow local` with its fake shops: ATP change -> channel acknowledged, p50/p99 (issue 15).

    python bench/channels_local.py [--changes 20] [--pause 1.0]

Starts a fresh `shopflow local` (clock speed 1) with its fake Shopify and WooCommerce shops,
lists and links one SKU on both (`listing.linked`, signed), then changes its stock `--changes`
times with the ERP's signed `inventory.set` (a new quantity each time, `--pause` seconds apart).
For each change: the time from the API's answer (the ATP changed: the stock item is written)
until each fake shop shows the new quantity (it acknowledged the push), read from the runtime's
control endpoint every 10 ms (what `shopflow local channels` reads). The path: the table's stream
(read 4 times a second) -> channel_fanout -> the FIFO push queue -> channel_push -> the shop.
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shopflow-bench-channels-") as scratch:
        instance = start(Path(scratch) / "data", env=user_env())
        try:
            run(instance, args.changes, args.pause)
        finally:
            instance.stop()


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
