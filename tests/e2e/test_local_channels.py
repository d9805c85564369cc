"""`shopflow local` with its fake Shopify and WooCommerce shops, end to end (issue 15, item 8):
a SKU listed and linked on both channels shows its stock there, an order moves both, and the
shops come back after a restart (the faults: test_local_channel_faults.py). Driven through
signed HTTP, the CLI and the runtime's control endpoint only (as `shopflow local channels` uses it)."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import Instance, start, user_env
from tests.e2e.test_local import configure, send_order
from tests.e2e.test_local_reservations import Storefront
from tests.support import corpus

# A push kept on the queue while a channel is down comes back after the queue's visibility
# timeout (12 minutes) on the local clock: at x60 that is 12 s.
CLOCK_SPEED = "60"
SYNC_SECONDS = 60.0


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    running = start(
        tmp_path_factory.mktemp("channels") / "data", "--clock-speed", CLOCK_SPEED, env=user_env()
    )
    yield running
    running.stop()


def control(instance: Instance, path: str, document: dict[str, Any] | None = None) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 - the local runtime's control endpoint
        instance.session.control_url + path,
        data=None if document is None else json.dumps(document).encode(),
        headers={"Content-Type": "application/json"},
        method="GET" if document is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        result: dict[str, Any] = json.loads(answer.read())
        return result


def shows(instance: Instance, sku: str) -> dict[str, int | None]:
    """What each fake shop shows for `sku` now: channel name -> quantity."""
    return {
        row["channel"]: row["quantity"]
        for row in control(instance, "/channels")["listings"]
        if row["sku"] == sku
    }


def wait_until_shown(instance: Instance, sku: str, expected: dict[str, int]) -> dict[str, int | None]:
    deadline = time.monotonic() + SYNC_SECONDS
    while True:
        shown = shows(instance, sku)
        if all(shown.get(channel) == quantity for channel, quantity in expected.items()):
            return shown
        if time.monotonic() > deadline:
            said = "\n".join(instance.lines[-40:])
            raise AssertionError(
                f"{sku}: the channels show {shown}, not {expected}; shopflow local said:\n{said}"
            )
        time.sleep(0.1)


def list_and_link(instance: Instance, storefront: Storefront, sku: str) -> dict[str, str]:
    """The owner lists `sku` on both fake shops, then links each listing (`listing.linked`)."""
    listed = instance.cli_plain("local", "channels", "--add", sku, "--json")
    assert listed.returncode == 0, listed.stderr
    listings: dict[str, str] = json.loads(listed.stdout)["added"]["listings"]
    for channel, listing_id in listings.items():
        status, answer = storefront.event(
            "listing.linked", {"channel": channel, "sku": sku, "listing_id": listing_id}
        )
        assert (status, answer["status"]) == (200, "accepted"), answer
    return listings


def test_a_fresh_instance_sells_on_a_fake_shopify_and_woocommerce(instance: Instance) -> None:
    ready = instance.wait_for("shopflow local ready")
    urls = control(instance, "/channels")["channels"]
    assert f"fake channels shop {urls['shop']}, woo {urls['woo']}" in ready
    shown = instance.cli("config", "show")
    assert shown.returncode == 0, shown.stderr
    for line in (
        "channels.shop.kind",
        "shopify",
        "channels.woo.kind",
        "woocommerce",
        urls["shop"],
        urls["woo"],
    ):
        assert line in shown.stdout


def test_both_channels_show_the_count_and_follow_an_order(instance: Instance) -> None:
    storefront = Storefront(instance)
    secret = configure(instance)
    sku = "CH-MUG-1"
    list_and_link(instance, storefront, sku)
    assert shows(instance, sku) == {"shop": 0, "woo": 0}  # as listed: nothing pushed yet

    status, _ = storefront.count(sku, 7, sequence=1)
    assert status == 200
    assert wait_until_shown(instance, sku, {"shop": 7, "woo": 7}) == {"shop": 7, "woo": 7}

    order = corpus("shopify/order.json")
    line = {**order["line_items"][0], "sku": sku, "quantity": 2}
    paid = {**order, "id": 991001, "financial_status": "paid", "line_items": [line]}
    assert send_order(instance, secret, paid, "orders/create")[0] == 200
    assert wait_until_shown(instance, sku, {"shop": 5, "woo": 5}) == {"shop": 5, "woo": 5}
    listed = instance.cli_plain("local", "channels")
    assert listed.returncode == 0, listed.stderr
    assert [line.split() for line in listed.stdout.splitlines() if sku in line] == [
        ["shop", "shopify", sku, "44000001", "5"],
        ["woo", "woocommerce", sku, "101", "5"],
    ]


def test_the_fake_shops_survive_a_restart(launch: Any, tmp_path: Any) -> None:
    first = launch(data_dir=tmp_path / "restarted")
    storefront = Storefront(first)
    sku = "CH-MUG-3"
    list_and_link(first, storefront, sku)
    storefront.count(sku, 9, sequence=1)
    wait_until_shown(first, sku, {"shop": 9, "woo": 9})
    urls = control(first, "/channels")["channels"]
    assert first.stop() == 0

    again = launch(data_dir=tmp_path / "restarted")
    assert control(again, "/channels")["channels"] == urls  # where the channel settings point
    assert shows(again, sku) == {"shop": 9, "woo": 9}
    Storefront(again).count(sku, 11, sequence=2)
    assert wait_until_shown(again, sku, {"shop": 11, "woo": 11}) == {"shop": 11, "woo": 11}
