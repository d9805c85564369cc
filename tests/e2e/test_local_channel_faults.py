"""`shopflow local` with its fake shops misbehaving (issue 15, faults to test): a channel down for
an hour, a sale on Shopify between read and write, throttling, a WooCommerce item refused, a
revoked token, an ERP snapshot of zeroes. Driven as an owner would: signed events, the CLI, and
`shopflow local channels --fault` (the runtime's control endpoint)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.e2e.conftest import Instance, start, user_env
from tests.e2e.test_local import configure, emails, send_order, text_of
from tests.e2e.test_local_channels import control, list_and_link, shows, wait_until_shown
from tests.e2e.test_local_reservations import Storefront
from tests.support import corpus

# The push queue's 12-minute visibility timeout passes in 6 s, an hour in 30 s.
CLOCK_SPEED = "120"
OWNER = "owner@demo-shop.example"


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    running = start(
        tmp_path_factory.mktemp("channel-faults") / "data", "--clock-speed", CLOCK_SPEED, env=user_env()
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def shopify_secret(instance: Instance) -> str:
    secret = configure(instance)
    done = instance.cli("config", "set", "shop.owner_email", OWNER)
    assert done.returncode == 0, done.stderr
    return secret


@pytest.fixture(scope="module")
def storefront(instance: Instance, shopify_secret: str) -> Storefront:
    return Storefront(instance)


def fault(
    instance: Instance, channel: str, kind: str, *, sku: str | None = None, times: int = 1
) -> dict[str, Any]:
    """`shopflow local channels --fault KIND --channel CHANNEL [--sku SKU] [--times N] --json`."""
    args = ["local", "channels", "--fault", kind, "--channel", channel, "--times", str(times), "--json"]
    done = instance.cli_plain(*args, *(("--sku", sku) if sku else ()))
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def traffic(instance: Instance, channel: str) -> dict[str, int]:
    seen: dict[str, int] = control(instance, "/channels")["traffic"][channel]
    return seen


def status(instance: Instance, channel: str) -> dict[str, Any]:
    done = instance.cli("channels", "status", channel, "--json")
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def local_now(instance: Instance) -> datetime:
    return datetime.fromisoformat(control(instance, "/status")["now"])


def eventually(what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.2)
    return found


def owner_alerts(instance: Instance, subject: str) -> list[str]:
    """The text of each email the owner got whose subject holds `subject`."""
    return [text_of(m) for m in emails(instance) if m["To"] == OWNER and subject in str(m["Subject"])]


def dead_letters(instance: Instance) -> int:
    found: int = control(instance, "/status")["dead_letters"].get("ChannelPushDeadLetterQueue", 0)
    return found


def on_sale(instance: Instance, storefront: Storefront, sku: str, quantity: int) -> None:
    """`sku` listed and linked on both shops, counted at `quantity`, and shown so on both."""
    list_and_link(instance, storefront, sku)
    storefront.count(sku, quantity, sequence=1)
    wait_until_shown(instance, sku, {"shop": quantity, "woo": quantity})


def list_and_link_many(instance: Instance, storefront: Storefront, skus: list[str], workers: int = 8) -> None:
    """List `skus` on both fake shops and link each listing, a few requests at a time."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda sku: list_and_link(instance, storefront, sku), skus))


def count_all(storefront: Storefront, skus: list[str], on_hand: int, sequence: int, workers: int = 8) -> None:
    """The ERP counts every SKU in one burst."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        answers = list(pool.map(lambda sku: storefront.count(sku, on_hand, sequence=sequence), skus))
    assert {status for status, _ in answers} == {200}, [a for a in answers if a[0] != 200][:3]


def wait_until_all_shown(instance: Instance, skus: list[str], quantity: int, timeout: float = 180.0) -> None:
    wanted = set(skus)

    def all_shown() -> bool:
        rows = control(instance, "/channels")["listings"]
        return {r["sku"] for r in rows if r["sku"] in wanted and r["quantity"] == quantity} == wanted and all(
            r["quantity"] == quantity for r in rows if r["sku"] in wanted
        )

    eventually(f"{len(skus)} SKUs shown at {quantity} on both shops", all_shown, timeout)


def test_a_channel_down_for_an_hour_then_back_ends_right_with_the_latest_change_pushed_once(
    instance: Instance, storefront: Storefront
) -> None:
    sku = "FAULT-DOWN"
    on_sale(instance, storefront, sku, 100)

    fault(instance, "woo", "down")  # connections refused
    went_down = local_now(instance)
    for sequence, on_hand in enumerate((102, 99, 104), start=2):
        assert storefront.count(sku, on_hand, sequence=sequence)[0] == 200
        wait_until_shown(instance, sku, {"shop": on_hand})  # Shopify keeps up
    eventually("half an hour down", lambda: local_now(instance) >= went_down + timedelta(minutes=30))
    fault(instance, "woo", "unavailable", times=10_000)  # listening again, but answering 503
    eventually("an hour down", lambda: local_now(instance) >= went_down + timedelta(hours=1))
    assert shows(instance, sku)["woo"] == 100
    before = traffic(instance, "woo")
    fault(instance, "woo", "up")  # answers normally again

    assert wait_until_shown(instance, sku, {"shop": 104, "woo": 104}) == {"shop": 104, "woo": 104}
    time.sleep(3)  # the kept pushes that come back after it find nothing left to do
    after = traffic(instance, "woo")
    assert (after["writes"] - before["writes"], after["items"] - before["items"]) == (1, 1)
    assert dead_letters(instance) == 0
    assert not status(instance, "woo")["paused"]


def test_a_sale_on_shopify_between_read_and_write_is_never_overwritten(
    instance: Instance, storefront: Storefront, shopify_secret: str
) -> None:
    sku = "FAULT-STALE"
    on_sale(instance, storefront, sku, 10)
    before = traffic(instance, "shop")

    fault(instance, "shop", "stale", sku=sku)  # a unit sells on Shopify just before the next write
    storefront.event("inventory.adjusted", {"sku": sku, "delta": -3, "reason": "breakage"})
    # Shopify refused the compare-and-set (it showed 9, not 10); shopflow decided again from 9.
    wait_until_shown(instance, sku, {"shop": 7, "woo": 7})
    assert traffic(instance, "shop")["writes"] - before["writes"] == 2

    # Shopify's order for that sale arrives: shopflow commits the unit, both channels follow.
    order = corpus("shopify/order.json")
    line = {**order["line_items"][0], "sku": sku, "quantity": 1}
    paid = {**order, "id": 992001, "financial_status": "paid", "line_items": [line]}
    assert send_order(instance, shopify_secret, paid, "orders/create")[0] == 200
    assert wait_until_shown(instance, sku, {"shop": 6, "woo": 6}) == {"shop": 6, "woo": 6}


def test_throttling_on_each_channel_is_waited_out_and_nothing_is_lost(
    instance: Instance, storefront: Storefront
) -> None:
    sku = "FAULT-THROTTLE"
    on_sale(instance, storefront, sku, 20)
    shop_before, woo_before = traffic(instance, "shop"), traffic(instance, "woo")

    fault(instance, "shop", "throttle")  # the cost bucket is empty and refills at 1 point a second
    fault(instance, "woo", "throttle", times=2)  # 429, Retry-After: 1, twice
    storefront.count(sku, 25, sequence=2)

    assert wait_until_shown(instance, sku, {"shop": 25, "woo": 25}) == {"shop": 25, "woo": 25}
    fault(instance, "shop", "up")
    shop_after, woo_after = traffic(instance, "shop"), traffic(instance, "woo")
    # WooCommerce: two 429s waited out (Retry-After), then the push; Shopify: THROTTLED waited
    # out as its throttleStatus said, then the push
    assert woo_after["requests"] - woo_before["requests"] == 3
    assert (woo_after["throttled"] - woo_before["throttled"], woo_after["writes"] - woo_before["writes"]) == (
        2,
        1,
    )
    assert shop_after["throttled"] - shop_before["throttled"] >= 1
    assert shop_after["writes"] - shop_before["writes"] == 1
    assert dead_letters(instance) == 0
    assert not status(instance, "shop")["paused"] and not status(instance, "woo")["paused"]


def test_one_item_woocommerce_refuses_fails_alone(instance: Instance, storefront: Storefront) -> None:
    bad, good = "FAULT-BAD-ITEM", "FAULT-GOOD-ITEM"
    for sku in (bad, good):
        on_sale(instance, storefront, sku, 5)

    fault(instance, "woo", "bad-item", sku=bad)
    storefront.count(bad, 8, sequence=2)
    storefront.count(good, 9, sequence=2)

    wait_until_shown(instance, good, {"shop": 9, "woo": 9})
    wait_until_shown(instance, bad, {"shop": 8})
    rows = eventually(
        "the refused item recorded",
        lambda: [r for r in status(instance, "woo")["skus"] if r["sku"] == bad and r["state"] == "rejected"],
    )
    assert "not allowed" in rows[0]["error"]
    assert shows(instance, bad)["woo"] == 5  # the shop kept what it showed
    assert not status(instance, "woo")["paused"]


def test_a_revoked_token_pauses_the_channel_tells_the_owner_and_sends_nothing_more(
    instance: Instance, storefront: Storefront
) -> None:
    sku = "FAULT-TOKEN"
    on_sale(instance, storefront, sku, 30)
    before = traffic(instance, "woo")

    new_token = fault(instance, "woo", "revoke-token")["token"]
    for sequence, on_hand in enumerate((31, 32, 33), start=2):
        storefront.count(sku, on_hand, sequence=sequence)
        wait_until_shown(instance, sku, {"shop": on_hand})
    paused = eventually("woo paused", lambda: status(instance, "woo")["paused_because"])
    assert paused.startswith("Unauthorized")
    [told] = eventually("the owner's email", lambda: owner_alerts(instance, "Channel woo paused"))
    assert "shopflow channels resume woo" in told
    time.sleep(3)
    assert traffic(instance, "woo")["requests"] - before["requests"] == 1  # one refused call, no storm
    assert shows(instance, sku)["woo"] == 30

    # The owner copies the new key into shopflow and resumes: the channel catches up.
    assert instance.cli("config", "set", "channels.woo.token", new_token).returncode == 0
    resumed = instance.cli("channels", "resume", "woo")
    assert resumed.returncode == 0, resumed.stderr
    assert wait_until_shown(instance, sku, {"shop": 33, "woo": 33}) == {"shop": 33, "woo": 33}
    assert not status(instance, "woo")["paused"]


def test_an_erp_snapshot_of_zeroes_trips_the_breaker_and_nothing_reaches_the_channels(
    instance: Instance, storefront: Storefront
) -> None:
    skus = [f"FAULT-ERP-{n:02d}" for n in range(22)]  # more than 20 listings taken to 0 at once
    list_and_link_many(instance, storefront, skus, workers=4)
    count_all(storefront, skus, 10, sequence=1, workers=4)
    wait_until_all_shown(instance, skus, 10)
    before = control(instance, "/channels")["pushes"]

    count_all(storefront, skus, 0, sequence=2)  # the ERP's broken snapshot, in one burst

    for channel in ("shop", "woo"):
        why = eventually(f"{channel} paused", lambda: status(instance, channel)["paused_because"])  # noqa: B023
        assert "breaker" in why.lower()
        subject = f"Channel {channel} paused: the breaker"
        [told] = eventually("the owner's email", lambda: owner_alerts(instance, subject))  # noqa: B023
        assert skus[0] in told
    time.sleep(3)
    assert control(instance, "/channels")["pushes"] == before  # not one write reached a shop
    assert {shows(instance, sku)["shop"] for sku in skus} == {10}
    assert {shows(instance, sku)["woo"] for sku in skus} == {10}

    # The owner finds the ERP's mistake, the ERP counts again, the channels are resumed.
    count_all(storefront, skus, 10, sequence=3)
    for channel in ("shop", "woo"):
        assert instance.cli("channels", "resume", channel).returncode == 0
    time.sleep(8)  # a stream batch window and a push, had anything been queued
    assert {shows(instance, sku)["woo"] for sku in skus} == {10}
    assert not status(instance, "shop")["paused"] and not status(instance, "woo")["paused"]


# The 1,000 runs in bench/channels_local.py --skus 1000: locally the signed requests that
# link and count them, not the pushes, take the minutes. 150 crosses WooCommerce's 100 a call.
MANY = 150


def test_many_skus_changed_at_once_are_pushed_once_each_in_the_channels_batches(
    instance: Instance, storefront: Storefront
) -> None:
    skus = [f"FAULT-MANY-{n:04d}" for n in range(MANY)]
    list_and_link_many(instance, storefront, skus)
    count_all(storefront, skus, 5, sequence=1)
    wait_until_all_shown(instance, skus, 5)
    before = control(instance, "/channels")["traffic"]

    count_all(storefront, skus, 7, sequence=2)
    wait_until_all_shown(instance, skus, 7)

    time.sleep(2)
    after = control(instance, "/channels")["traffic"]
    for channel, limit in (("shop", 250), ("woo", 100)):  # quantities a mutation; updates a batch call
        writes = after[channel]["writes"] - before[channel]["writes"]
        assert after[channel]["items"] - before[channel]["items"] == MANY  # each SKU pushed once
        assert after[channel]["largest"] <= limit
        assert writes <= MANY // 10, f"{channel}: {writes} writes for {MANY} SKUs"  # batched, not one a SKU
    assert dead_letters(instance) == 0
