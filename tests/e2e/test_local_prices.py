"""Dynamic pricing through `shopflow local` with its fake Shopify and WooCommerce (issue 16, "Done
when"): signed ERP and price-feed events, `shopflow prices` and what the fake shops show. A
competitor's small cut is applied within the band, a big cut waits for the owner who approves it,
a competitor at 0.01 never takes a channel under its floor, and the struck-through "was" price
each shop shows is the 30-day low, not an older higher price."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal as D
from typing import Any

import pytest

from tests.e2e.conftest import Instance, start, user_env
from tests.e2e.test_local import configure
from tests.e2e.test_local_channels import control, list_and_link
from tests.e2e.test_local_reservations import Storefront

SKU = "PR-MUG-1"
PUSH_SECONDS = 60.0


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    running = start(tmp_path_factory.mktemp("prices") / "data", env=user_env())
    yield running
    running.stop()


def cli_json(instance: Instance, *args: str) -> Any:
    done = instance.cli(*args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def prices_shown(instance: Instance) -> dict[str, dict[str, str | None]]:
    """What each fake shop shows of the SKU's price: Shopify price and compare-at, WooCommerce
    regular and sale price."""
    return {
        row["channel"]: {
            key: row.get(key) for key in ("price", "compare_at_price", "regular_price", "sale_price")
        }
        for row in control(instance, "/channels")["listings"]
        if row["sku"] == SKU
    }


def wait_for_prices(instance: Instance, expected: dict[str, dict[str, str | None]]) -> None:
    deadline = time.monotonic() + PUSH_SECONDS
    while True:
        shown = prices_shown(instance)
        if all(
            all(shown.get(channel, {}).get(key) == value for key, value in fields.items())
            for channel, fields in expected.items()
        ):
            return
        if time.monotonic() > deadline:
            said = "\n".join(instance.lines[-40:])
            raise AssertionError(f"the shops show {shown}, not {expected}; shopflow local said:\n{said}")
        time.sleep(0.2)


def rival(instance: Instance, storefront: Storefront, price: str) -> None:
    now = control(instance, "/status")["now"]  # the instance's time: its clock was advanced
    seen = {"sku": SKU, "competitor": "rival", "price": price, "currency": "USD", "in_stock": True}
    status, answer = storefront.event("competitor_price.observed", {**seen, "observed_at": now})
    assert (status, answer["status"]) == (200, "accepted"), answer


def after_the_cool_down(instance: Instance) -> None:
    moved = instance.cli_plain("local", "advance", "61m")
    assert moved.returncode == 0, moved.stderr


def reprice(instance: Instance) -> dict[str, Any]:
    report: dict[str, Any] = cli_json(instance, "prices", "reprice")
    return report


def approve_all(instance: Instance) -> list[dict[str, Any]]:
    waiting: list[dict[str, Any]] = cli_json(instance, "prices", "proposals")
    assert waiting, "no proposal waits"
    done = instance.cli("prices", "approve", *(proposal["id"] for proposal in waiting))
    assert done.returncode == 0, done.stderr
    return waiting


def test_prices_follow_a_competitor_within_the_floor_and_show_the_30_day_low(instance: Instance) -> None:
    instance.wait_for("shopflow local ready")
    configure(instance)
    storefront = Storefront(instance)
    for key, value in (
        ("pricing.enabled", "true"),
        ("channels.shop.currency", "USD"),  # the fake Shopify's currency
        ("channels.woo.currency", "USD"),
        ("channels.woo.commission", "0.10"),  # the marketplace-like channel covers its fees
        ("channels.woo.fixed_fee", "0.30"),
    ):
        done = instance.cli("config", "set", key, value)
        assert done.returncode == 0, done.stderr
    refused = instance.cli("config", "set", "pricing.strategy.default", '{"auto_pct": 10, "bogus": 1}')
    assert refused.returncode == 1 and "bogus" in refused.stderr
    list_and_link(instance, storefront, SKU)
    status, answer = storefront.event(
        "product.pricing_updated", {"sku": SKU, "cost": "20.00", "currency": "USD", "max_price": "80.00"}
    )
    assert (status, answer["status"]) == (200, "accepted"), answer

    # shopflow never priced the SKU there: its first price on each channel is the owner's to approve
    rival(instance, storefront, "48.00")
    reprice(instance)
    first = cli_json(instance, "prices", "proposals")
    assert {(proposal["channel"], proposal["reason"]) for proposal in first} == {
        ("shop", "first price on this channel"),
        ("woo", "first price on this channel"),
    }
    approved = instance.cli("prices", "approve", "--all")
    assert approved.returncode == 0, approved.stderr
    # woo: (48.00 + 0.30) / (1 - 0.10) = 53.666.., in whole cents down (the default rounding): 53.66
    wait_for_prices(
        instance,
        {
            "shop": {"price": "48.00", "compare_at_price": None},
            "woo": {"regular_price": "53.66", "sale_price": ""},
        },
    )

    # a small cut (-4%): applied, the shops announce the 30-day low as the "was"
    after_the_cool_down(instance)
    rival(instance, storefront, "46.00")
    reprice(instance)
    wait_for_prices(
        instance,
        {
            "shop": {"price": "46.00", "compare_at_price": "48.00"},
            "woo": {"regular_price": "53.66", "sale_price": "51.44"},
        },
    )

    # a big cut (-22%): proposed, nothing changes until the owner approves
    after_the_cool_down(instance)
    rival(instance, storefront, "36.00")
    reprice(instance)
    big = {proposal["channel"]: proposal for proposal in cli_json(instance, "prices", "proposals")}
    assert (big["shop"]["old"], big["shop"]["new"]) == ("46.00", "36.00")
    assert prices_shown(instance)["shop"]["price"] == "46.00"
    approve_all(instance)
    # the "was" is now 46.00, the lowest of the last 30 days, not 48.00 (an older, higher price)
    wait_for_prices(instance, {"shop": {"price": "36.00", "compare_at_price": "46.00"}})

    # a competitor at 0.01: every channel stops at its floor (the owner allows big moves to see it)
    allowed = instance.cli("config", "set", "pricing.strategy.default", '{"approve_pct": 60}')
    assert allowed.returncode == 0, allowed.stderr
    after_the_cool_down(instance)
    rival(instance, storefront, "0.01")
    reprice(instance)
    approve_all(instance)
    shown = cli_json(instance, "prices", "show", SKU)
    for channel, on in shown["channels"].items():
        assert D(on["price"]) >= D(on["floor"]), (channel, on)
    # floors: 20 / (1 - 0.15) on shop; (20 + 0.30) / (1 - 0.10 - 0.15) on woo
    assert (shown["channels"]["shop"]["floor"], shown["channels"]["woo"]["floor"]) == ("23.53", "27.07")
    wait_for_prices(instance, {"shop": {"price": "23.53"}, "woo": {"sale_price": "27.07"}})
    history = cli_json(instance, "prices", "history", SKU)
    assert [change["price"] for change in history if change["channel"] == "shop"] == [
        "23.53",
        "36.00",
        "46.00",
        "48.00",
    ]


def test_a_sku_without_cost_is_not_repriced_and_prices_show_says_why(instance: Instance) -> None:
    storefront = Storefront(instance)
    now = control(instance, "/status")["now"]
    seen = {"sku": "PR-NOCOST", "competitor": "rival", "price": "9.99", "currency": "USD", "in_stock": True}
    status, answer = storefront.event("competitor_price.observed", {**seen, "observed_at": now})
    assert (status, answer["status"]) == (200, "accepted"), answer
    reprice(instance)
    shown = cli_json(instance, "prices", "show", "PR-NOCOST")
    assert shown["repriced"] is False and "no cost" in shown["why_not"]
    assert all(on["price"] is None for on in shown["channels"].values())
    plain = instance.cli("prices", "show", "PR-NOCOST")
    assert plain.returncode == 0 and "not repriced: no cost" in plain.stdout
    unknown = instance.cli("prices", "show", "NO-SUCH-SKU")
    assert unknown.returncode == 1 and "no pricing record" in unknown.stderr


def test_prices_simulate_replays_the_recorded_day_and_changes_nothing(
    instance: Instance, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A day after the first test left the SKU at its floors, the rival comes back at 24.00:
    `prices simulate` replays that day through "beat by a cent" next to the current strategy."""
    storefront = Storefront(instance)
    moved = instance.cli_plain("local", "advance", "25h")
    assert moved.returncode == 0, moved.stderr
    rival(instance, storefront, "24.00")
    after_the_cool_down(instance)
    strategy = tmp_path_factory.mktemp("simulate") / "beat.json"
    strategy.write_text('{"action": "beat", "amount": "0.01", "approve_pct": 60}')
    before = (cli_json(instance, "prices", "show", SKU), cli_json(instance, "prices", "history", SKU))

    result = cli_json(instance, "prices", "simulate", "--strategy", str(strategy), "--days", "1")

    assert result["skus"] >= 1 and result["channels"] == ["shop", "woo"]
    # the shop follows the rival up from its floor 23.53: to 24.00 matching, to 23.99 beating
    assert result["current"]["prices_changed"] >= 1 and result["proposed"]["prices_changed"] >= 1
    assert (cli_json(instance, "prices", "show", SKU), cli_json(instance, "prices", "history", SKU)) == before
    plain = instance.cli("prices", "simulate", "--strategy", str(strategy), "--days", "1")
    assert plain.returncode == 0 and "nothing changed" in plain.stdout


def test_the_owner_hears_of_waiting_proposals_by_email_at_seven(instance: Instance) -> None:
    from datetime import datetime, timedelta

    from tests.e2e.test_local import emails, text_of

    storefront = Storefront(instance)
    owner = instance.cli("config", "set", "shop.owner_email", "owner@shop.example")
    assert owner.returncode == 0, owner.stderr
    sku = "PR-DIGEST-1"
    now = control(instance, "/status")["now"]
    status, answer = storefront.event(
        "product.pricing_updated", {"sku": sku, "cost": "5.00", "currency": "USD"}
    )
    assert (status, answer["status"]) == (200, "accepted"), answer
    seen = {"sku": sku, "competitor": "rival", "price": "12.00", "currency": "USD", "in_stock": True}
    status, answer = storefront.event("competitor_price.observed", {**seen, "observed_at": now})
    assert status == 200, answer
    reprice(instance)  # not listed on a shop shopflow knows the price of: its first prices wait
    waiting = {
        proposal["id"] for proposal in cli_json(instance, "prices", "proposals") if proposal["sku"] == sku
    }
    assert waiting
    before = len(emails(instance, timeout=0))
    moment = datetime.fromisoformat(control(instance, "/status")["now"])
    seven = (moment + timedelta(days=1)).replace(hour=7, minute=0, second=0, microsecond=0)
    if seven - moment > timedelta(days=1):
        seven -= timedelta(days=1)
    minutes = int((seven - moment).total_seconds() // 60) + 1
    moved = instance.cli_plain("local", "advance", f"{minutes}m")
    assert moved.returncode == 0, moved.stderr
    sent = emails(instance, before + 1, timeout=60)[before:]
    digests = [message for message in sent if "for your approval" in str(message["Subject"])]
    assert digests, [str(message["Subject"]) for message in sent]
    [digest] = digests
    assert digest["To"] == "owner@shop.example"
    body = text_of(digest)
    assert sku in body and all(proposal_id in body for proposal_id in waiting)
