"""`shopflow local` end to end: signed webhooks over HTTP, results through the CLI, faults."""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import threading
import time
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Instance, start
from tests.support import SHOP_DOMAIN, corpus, dumps, shopify_headers

SENDER = "orders@demo-shop.example"


def configure(instance: Instance) -> str:
    """What an owner does first: allow their shop, name the sender of their emails; returns the
    instance's Shopify secret."""
    for key, value in (
        ("webhooks.shopify.shop_domains", SHOP_DOMAIN),
        ("notify.email.sender", SENDER),
        ("notify.sms.quiet_hours", "off"),  # the local clock is the machine's: CI may run at night
    ):
        done = instance.cli("config", "set", key, value)
        assert done.returncode == 0, done.stderr
    secret = instance.cli("config", "get", "webhooks.shopify.secret", "--reveal")
    assert secret.returncode == 0, secret.stderr
    return secret.stdout.strip()


def send_order(
    instance: Instance, secret: str, order: dict[str, Any], topic: str
) -> tuple[int, dict[str, Any]]:
    body = dumps(order)
    return instance.post("/webhooks/shopify", body, shopify_headers(body, topic, secret=secret))


def emails(instance: Instance, expected: int = 0, timeout: float = 30) -> list[EmailMessage]:
    """The outbox's emails, once there are at least `expected` of them (or the timeout passed)."""
    outbox = instance.data_dir / "outbox"
    deadline = time.monotonic() + timeout
    while True:
        files = sorted(outbox.glob("*.eml")) if outbox.exists() else []
        if len(files) >= expected or time.monotonic() > deadline:
            return [message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]  # type: ignore[misc]
        time.sleep(0.05)


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def test_a_signed_webhook_becomes_an_order_the_cli_shows(launch: Any) -> None:
    instance = launch()
    secret = configure(instance)
    order = corpus("shopify/order.json")

    assert send_order(instance, secret, order, "orders/create")[0] == 200
    paid = {**order, "financial_status": "paid", "updated_at": "2008-01-10T12:00:00-05:00"}
    status, answer = send_order(instance, secret, paid, "orders/updated")

    assert (status, answer["status"], answer["order_status"]) == (200, "accepted", "paid")
    shown = instance.cli("orders", "get", "shopify:450789469", "--json")
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert (document["order_id"], document["status"], document["currency"], document["total"]) == (
        "shopify:450789469",
        "paid",
        "USD",
        "409.94",
    )
    assert len(document["lines"]) == 3 and document["customer"]["email"] == "bob.norman@hostmail.com"
    # notify may already have added its message lines (it runs alongside): the order's own changes.
    assert [
        (e["event"], e["status"]) for e in document["timeline"] if not e["event"].startswith("message_")
    ] == [
        ("placed", "pending"),
        ("status_changed", "paid"),
    ]
    listed = json.loads(instance.cli("orders", "list", "--json").stdout)
    assert [(o["order_id"], o["status"]) for o in listed] == [("shopify:450789469", "paid")]
    table = instance.cli("orders", "get", "shopify:450789469")
    assert "status pending -> paid" in table.stdout
    # stream -> dispatch -> notify queue -> notify -> SES: a confirmation and a "paid" email, as files.
    sent = emails(instance, expected=2)
    assert len(sent) == 2
    assert all(m["To"] == "bob.norman@hostmail.com" and "#1001" in text_of(m) for m in sent)
    assert all(p.get_content_type() in ("text/plain", "text/html") for m in sent for p in m.iter_parts())
    assert (
        "email confirmation sent to b***@hostmail.com (en; no locale; used en)"
        in instance.cli("orders", "get", "shopify:450789469").stdout
    )
    # A bad signature is refused over real HTTP too, and nothing is stored.
    body = dumps({**order, "id": 1})
    headers = shopify_headers(body, "orders/create", secret="not-the-secret-0000")
    assert instance.post("/webhooks/shopify", body, headers)[0] == 401
    assert instance.cli("orders", "get", "shopify:1").returncode == 1


def test_an_order_through_every_status_leaves_exactly_its_messages_in_the_outbox(launch: Any) -> None:
    instance = launch()
    secret = configure(instance)
    order = corpus("shopify/order.json")
    order = {**order, "phone": "+48601234567", "customer_locale": "pl-PL"}
    fulfillment = corpus("shopify/fulfillment.json")
    cancelled = {
        **order,
        "id": 450789470,
        "name": "#1002",
        "email": "ann@example.com",
        "customer_locale": "ru",
    }
    steps = [
        ("orders/create", order),
        ("orders/paid", {**order, "financial_status": "paid", "updated_at": "2008-01-10T11:05:00-05:00"}),
        ("fulfillments/create", {**fulfillment, "status": "success", "shipment_status": None}),
        ("fulfillments/update", {**fulfillment, "shipment_status": "delivered"}),
        ("orders/create", cancelled),
        (
            "orders/cancelled",
            {
                **cancelled,
                "cancelled_at": "2008-01-10T12:00:00-05:00",
                "updated_at": "2008-01-10T12:00:00-05:00",
            },
        ),
    ]
    for topic, payload in steps:
        status, answer = send_order(instance, secret, payload, topic)
        assert (status, answer["status"]) == (200, "accepted"), (topic, answer)

    sent = emails(instance, expected=6)
    by_order: dict[str, list[str]] = {}
    for message in sent:
        by_order.setdefault(str(message["To"]), []).append(str(message["Content-Language"]))
    assert sorted(by_order["bob.norman@hostmail.com"]) == ["pl"] * 4  # confirmation, paid, shipped, delivered
    assert by_order["ann@example.com"] == ["ru", "ru"]  # confirmation, cancelled
    time.sleep(1)  # nothing more arrives
    assert len(emails(instance)) == 6
    sms = sorted((instance.data_dir / "outbox").glob("*.txt"))
    assert (
        len(sms) == 1
        and "+48601234567" in sms[0].read_text()
        and fulfillment["tracking_number"] in sms[0].read_text()
    )
    shipped = next(m for m in sent if fulfillment["tracking_url"] in (m.get_body(("html",)).get_content()))  # type: ignore[union-attr]
    assert shipped["To"] == "bob.norman@hostmail.com"
    shown = json.loads(instance.cli("orders", "get", "shopify:450789470", "--json").stdout)
    decisions = [e["detail"] for e in shown["timeline"] if e["event"].startswith("message_")]
    assert "sms confirmation skipped: sms disabled for confirmation" in decisions


def test_a_setting_changed_with_the_cli_takes_effect_at_once(launch: Any) -> None:
    instance = launch()
    secret = instance.cli("config", "get", "webhooks.shopify.secret", "--reveal").stdout.strip()
    order = corpus("shopify/order.json")
    # A fresh instance accepts no shop yet: the owner has not named theirs.
    assert send_order(instance, secret, order, "orders/create")[0] == 401

    refused = instance.cli("config", "set", "webhooks.shopify.shop_domains", "johns-apparel.com")
    assert refused.returncode == 1
    assert "not a *.myshopify.com domain: johns-apparel.com" in refused.stderr
    assert send_order(instance, secret, order, "orders/create")[0] == 401

    allowed = instance.cli("config", "set", "webhooks.shopify.shop_domains", SHOP_DOMAIN)
    assert allowed.returncode == 0, allowed.stderr
    assert f"webhooks.shopify.shop_domains: (empty) (default) -> {SHOP_DOMAIN}" in allowed.stdout
    status, answer = send_order(instance, secret, order, "orders/create")
    assert (status, answer["status"], answer["order_id"]) == (200, "accepted", "shopify:450789469")
    shown = {r["key"]: r for r in json.loads(instance.cli("config", "show", "--json").stdout)}
    assert shown["webhooks.shopify.shop_domains"]["source"] == "ssm"
    assert shown["webhooks.shopify.secret"]["value"] == "(set)"


def test_a_kill_during_webhooks_loses_no_acknowledged_order(launch: Any, tmp_path: Path) -> None:
    instance = launch()
    secret = configure(instance)
    template = corpus("shopify/order.json")
    acknowledged: list[str] = []
    stop = threading.Event()

    def shop() -> None:
        for n in range(200):
            if stop.is_set():
                return
            try:
                order = {**template, "id": 900000 + n, "name": f"#{900000 + n}"}
                status, answer = send_order(instance, secret, order, "orders/create")
            except OSError:
                return  # the runtime is gone
            if status == 200 and answer.get("status") == "accepted":
                acknowledged.append(answer["order_id"])

    sender = threading.Thread(target=shop)
    sender.start()
    while len(acknowledged) < 15:
        time.sleep(0.01)
    instance.crash()
    stop.set()
    sender.join(timeout=30)

    # A fast clock on restart: a message whose send the crash cut short is claimed again when its
    # lease (120 s) ends, two real seconds later.
    again = launch("--clock-speed", "60", data_dir=tmp_path / "data")
    listed = {
        o["order_id"] for o in json.loads(again.cli("orders", "list", "--json", "--limit", "1000").stdout)
    }
    assert set(acknowledged) <= listed, sorted(set(acknowledged) - listed)
    # Each order has exactly one outbox item (one OrderPlaced), none lost, none doubled.
    dynamodb = again.target.client("dynamodb")
    items = dynamodb.scan(
        TableName=again.session.table_name,
        FilterExpression="item_type = :t",
        ExpressionAttributeValues={":t": {"S": "OUTBOX"}},
    )["Items"]
    outbox_orders = sorted(json.loads(i["payload"]["S"])["order_id"] for i in items)
    assert outbox_orders == sorted(listed)
    # Every order's confirmation is sent: once, or, when the crash cut a send short between the
    # provider's answer and its record, again after the lease, and its record says so.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        records = email_records(again)
        if len(records) == len(listed) and all(r["status"] == "SENT" for r in records.values()):
            break
        time.sleep(0.2)
    assert sorted(records) == sorted(listed)
    assert {r["status"] for r in records.values()} == {"SENT"}
    per_order = {order_id: 0 for order_id in listed}
    for message in emails(again):
        number = text_of(message).split("#9", 1)[1][:5]
        per_order[f"shopify:9{number}"] += 1
    for order_id, count in per_order.items():
        assert count == 1 or (count == 2 and int(records[order_id]["attempts"]) == 2), (order_id, count)
    # The settings survived too: the same secret still signs.
    status, answer = send_order(again, secret, {**template, "id": 999999}, "orders/create")
    assert (status, answer["status"]) == (200, "accepted")


def email_records(instance: Instance) -> dict[str, dict[str, Any]]:
    """Each order's confirmation email record: order_id -> {status, attempts}."""
    items = instance.target.client("dynamodb").scan(
        TableName=instance.session.table_name,
        FilterExpression="sk = :sk",
        ExpressionAttributeValues={":sk": {"S": "MESSAGE#confirmation#email"}},
        ConsistentRead=True,
    )["Items"]
    return {
        i["pk"]["S"].removeprefix("ORDER#"): {"status": i["status"]["S"], "attempts": i["attempts"]["N"]}
        for i in items
    }


def test_a_port_in_use_is_refused_with_a_clear_message(tmp_path: Path, local_env: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        instance = start(tmp_path / "data", port=port, env=local_env, wait=False)
        instance.process.wait(timeout=60)
        time.sleep(0.2)

    assert instance.process.returncode == 1
    assert f"port {port} is already in use" in instance.output
    assert not (tmp_path / "data" / "local.json").exists()


def test_without_java_it_runs_on_moto_and_says_so(launch: Any, local_env: dict[str, str]) -> None:
    env = {**local_env, "PATH": os.path.dirname(sys.executable)}  # python, but no java

    instance = launch(env=env)

    assert "Java is not installed" in instance.output and "moto" in instance.output
    secret = configure(instance)
    status, answer = send_order(instance, secret, corpus("shopify/order.json"), "orders/create")
    assert (status, answer["status"]) == (200, "accepted")
    assert instance.session.dynamodb_backend == "moto"


def test_dynamodb_local_failing_to_start_exits_cleanly(tmp_path: Path, local_env: dict[str, str]) -> None:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    java = fake_bin / "java"
    java.write_text("#!/bin/sh\necho 'Error: Could not create the Java Virtual Machine.' >&2\nexit 1\n")
    java.chmod(0o755)
    env = {**local_env, "PATH": f"{fake_bin}{os.pathsep}{local_env['PATH']}"}

    instance = start(tmp_path / "data", env=env, wait=False)
    instance.process.wait(timeout=120)
    time.sleep(0.2)

    assert instance.process.returncode == 1, instance.output
    assert "DynamoDB Local did not start" in instance.output
    assert "Could not create the Java Virtual Machine" in instance.output
    assert not (tmp_path / "data" / "local.json").exists()


def test_the_clock_runs_fast_and_advances_on_request(launch: Any) -> None:
    instance = launch("--clock-speed", "60")
    before = datetime.fromisoformat(json.loads(status(instance))["now"])

    moved = instance.cli_plain("local", "advance", "2h")

    assert moved.returncode == 0, moved.stderr
    after = datetime.fromisoformat(json.loads(status(instance))["now"])
    assert after - before >= timedelta(hours=2)
    assert after - before < timedelta(hours=3)  # 60x for a few seconds is minutes, not an hour
    assert "clock advanced by 2:00:00" in instance.wait_for("clock advanced")


def status(instance: Instance) -> str:
    answer = instance.cli_plain("local", "status")
    assert answer.returncode == 0, answer.stderr
    return answer.stdout


def test_the_demo_plays_a_day_and_sums_it_up(tmp_path: Path, local_env: dict[str, str]) -> None:
    from tests.e2e.conftest import run_cli

    demo = run_cli("demo", "--data-dir", str(tmp_path / "demo"), env=local_env)

    assert demo.returncode == 0, demo.stdout + demo.stderr
    out = demo.stdout
    assert "Emma Clark (en-US)" in out and "-> delivered" in out
    assert "Иван Петров (ru)" in out and "-> shipped" in out
    assert "Zofia Nowak (pl-PL)" in out and "-> cancelled" in out
    assert "Anna Kowalska (pl-PL)" in out and "-> paid" in out
    assert "=== webhooks: 16 accepted, 1 duplicate, 1 ignored" in out
    assert "=== messages: 26 sent, 17 skipped" in out
    # Olivia's checkout is reminded twice, the second time with her own code; Piotr ordered.
    assert "Olivia Brown  409.94 GBP  -> open, code BACK-" in out
    assert "email cart_reminder sent to o***@example.com (en)" in out
    assert "email cart_offer sent to o***@example.com (en)" in out
    assert "email cart_reminder skipped: purchased (order shopify:885005)" in out
    assert "email review sent to e***@example.com (en)" in out
    # Emma's iPods (tagged "refill" by a products/update webhook) are about to run out.
    assert "shopify products/update      shopify:632910392      -> 200 accepted" in out
    assert "email replenishment sent to e***@example.com (en)" in out
    assert "email delayed sent to a***@example.pl (pl)" in out and "discount code SORRY-" in out
    assert "sms confirmation skipped: sms disabled for confirmation" in out
    # The mug's stock: counted, Lena's hold committed by her payment, Tom's run out and given back.
    assert [line.strip() for line in out.splitlines() if line.strip().startswith("MUG-01: on hand")] == [
        "MUG-01: on hand 5 = atp 5 + reserved 0 + committed 0 + safety 0",
        "MUG-01: on hand 5 = atp 3 + reserved 2 + committed 0 + safety 0",
        "MUG-01: on hand 5 = atp 3 + reserved 0 + committed 2 + safety 0",
        "MUG-01: on hand 5 = atp 0 + reserved 3 + committed 2 + safety 0",
        "MUG-01: on hand 5 = atp 0 + reserved 3 + committed 2 + safety 0",  # Sam refused: nothing held
        "MUG-01: on hand 5 = atp 3 + reserved 0 + committed 2 + safety 0",
        "MUG-01: on hand 5 = atp 3 + reserved 0 + committed 2 + safety 0",  # the ERP's count
        "MUG-01: on hand 5 = atp 2 + reserved 0 + committed 3 + safety 0",  # Max's order
        "MUG-01: on hand 5 = atp 2 + reserved 0 + committed 3 + safety 0",  # the summary
    ]
    # The mug on sale on the fake Shopify and WooCommerce shops: both follow the count, then the order.
    channels = [line.strip() for line in out.splitlines() if "MUG-01 on the channels" in line]
    assert [re.sub(r" \(\d+\.\d s later\)$", "", line) for line in channels] == [
        "MUG-01 on the channels: shop (shopify) shows 0, woo (woocommerce) shows 0",  # just listed
        "MUG-01 on the channels: shop (shopify) shows 3, woo (woocommerce) shows 3",
        "MUG-01 on the channels: shop (shopify) shows 2, woo (woocommerce) shows 2",
        "MUG-01 on the channels: shop (shopify) shows 2, woo (woocommerce) shows 2",  # the summary
    ]
    assert "shopify products/update      shopify:7010001        -> 200 accepted" in out
    assert "owner   listing.linked       MUG-01 = woo 101       -> 200 accepted" in out
    assert "-> 409 insufficient_stock (0 available): nothing held" in out
    assert "chk-lena  2 x MUG-01  -> committed" in out and "chk-tom   3 x MUG-01  -> expired" in out
    # The cups are back: the first three of the four who asked hear, each in their language.
    assert "z***@example.pl        alerted  email back_in_stock sent to z***@example.pl (pl)" in out
    assert "a***@example.pl        waiting  waiting for the SKU" in out
    outbox = tmp_path / "demo" / "outbox"
    assert len(list(outbox.glob("*.eml"))) == 21 and len(list(outbox.glob("*.txt"))) == 5
    assert not (tmp_path / "demo" / "local.json").exists()  # stopped cleanly
