"""WooCommerce channel figures: requests to the shop per changed SKU when 1,000 SKUs change at once.

    python bench/channels_woocommerce.py [--skus N] [--bad N]

The adapter talks to the fake shop (local/fakes/woocommerce.py) over HTTP on 127.0.0.1, fed as
the sync service feeds it: chunks of `batch_limit` pushes. Three catalogues: all simple products;
a mix (40% simple, the rest 6 variations to a parent); the mix fed sorted by listing id, so a
parent's variations share chunks. `--bad` items fail inside their batch (per-item errors): they
cost no request of their own. Goal (issue 15): <= 0.01 requests per SKU + per-item errors.
Wall time is this machine's loopback, shown for scale only.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "functions"))

from shopflow.channels.adapters.woocommerce import WooCommerceChannel
from shopflow.channels.ports import ChannelConfig, Push
from shopflow.local.fakes.woocommerce import FakeWooCommerce


def catalogue(shop: FakeWooCommerce, skus: int, simple_share: float) -> list[str]:
    """Listing ids of `skus` sellable items: simple products, then variations 6 to a parent."""
    simple = round(skus * simple_share)
    listings = []
    for n in range(1, simple + 1):
        shop.add_product(n, stock=10)
        listings.append(str(n))
    parent = 100_000
    for n in range(skus - simple):
        if n % 6 == 0:
            parent += 1
        shop.add_variation(parent, 200_000 + n, stock=10)
        listings.append(f"{parent}/{200_000 + n}")
    return listings


def run(name: str, skus: int, simple_share: float, bad: int, *, sort: bool) -> None:
    with FakeWooCommerce() as shop:
        listings = catalogue(shop, skus, simple_share)
        random.Random(15).shuffle(listings)  # changes arrive in no particular order
        for listing in listings[:bad]:
            shop.fail_item(listing)
        if sort:
            listings.sort()
        adapter = WooCommerceChannel(ChannelConfig("woo", "woocommerce", shop.url, shop.token))
        pushes = [Push(listing, f"SKU-{listing}", 3, None, 1) for listing in listings]
        started = time.perf_counter()
        results = []
        for start in range(0, len(pushes), adapter.batch_limit):
            results += adapter.push(pushes[start : start + adapter.batch_limit])
        elapsed = time.perf_counter() - started
        rejected = sum(r.status == "rejected" for r in results)
        requests = shop.request_count
        print(
            f"{name:<34} {skus:>6} {requests:>9} {requests / skus:>10.4f} {rejected:>9}"
            f" {(requests + rejected) / skus:>12.4f} {elapsed:>7.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--skus", type=int, default=1000)
    parser.add_argument("--bad", type=int, default=10, help="items that fail inside their batch")
    args = parser.parse_args()
    header = ("catalogue", "SKUs", "requests", "req/SKU", "rejected", "(req+err)/SKU", "secs")
    print("{:<34} {:>6} {:>9} {:>10} {:>9} {:>12} {:>7}".format(*header))
    run("all simple", args.skus, 1.0, 0, sort=False)
    run("all simple, with bad items", args.skus, 1.0, args.bad, sort=False)
    run("40% simple + variations (6/parent)", args.skus, 0.4, 0, sort=False)
    run("same, fed sorted by listing id", args.skus, 0.4, 0, sort=True)


if __name__ == "__main__":
    main()
