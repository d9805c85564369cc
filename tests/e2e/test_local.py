"""`shopflow local` end to end: signed webhooks over HTTP, results through the CLI, faults."""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Instance, start
from tests.support import SHOP_DOMAIN, corpus, dumps, shopify_headers


def configure(instance: Instance) -> str:
    """What an owner does first: allow their shop; returns the instance's Shopify secret."""
    allowed = instance.cli("config", "set", "webhooks.shopify.shop_domains", SHOP_DOMAIN)
    assert allowed.returncode == 0, allowed.stderr
    secret = instance.cli("config", "get", "webhooks.shopify.secret", "--reveal")
    assert secret.returncode == 0, secret.stderr
    return secret.stdout.strip()


def send_order(
    instance: Instance, secret: str, order: dict[str, Any], topic: str
) -> tuple[int, dict[str, Any]]:
    body = dumps(order)
    return instance.post("/webhooks/shopify", body, shopify_headers(body, topic, secret=secret))


def queued(instance: Instance, queue: str = "NotifyQueue", expected: int = 1, timeout: float = 15) -> int:
    sqs = instance.target.client("sqs")
    url = instance.session.queues[queue]
    deadline = time.monotonic() + timeout
    count = 0
    while time.monotonic() < deadline:
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        count = sum(int(v) for v in attributes.values())
        if count >= expected:
            return count
        time.sleep(0.1)
    return count


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
    assert [(e["event"], e["status"]) for e in document["timeline"]] == [
        ("placed", "pending"),
        ("status_changed", "paid"),
    ]
    listed = json.loads(instance.cli("orders", "list", "--json").stdout)
    assert [(o["order_id"], o["status"]) for o in listed] == [("shopify:450789469", "paid")]
    table = instance.cli("orders", "get", "shopify:450789469")
    assert "status pending -> paid" in table.stdout
    # dispatch ran from the table's stream: OrderPlaced and OrderStatusChanged are on the notify queue.
    assert queued(instance, expected=2) == 2
    # A bad signature is refused over real HTTP too, and nothing is stored.
    body = dumps({**order, "id": 1})
    headers = shopify_headers(body, "orders/create", secret="not-the-secret-0000")
    assert instance.post("/webhooks/shopify", body, headers)[0] == 401
    assert instance.cli("orders", "get", "shopify:1").returncode == 1


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
                status, answer = send_order(instance, secret, {**template, "id": 900000 + n}, "orders/create")
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

    again = launch(data_dir=tmp_path / "data")
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
    outbox_orders = sorted(i["outbox_id"]["S"].split("#v")[0] for i in items)
    assert outbox_orders == sorted(listed)
    # The settings survived too: the same secret still signs.
    status, answer = send_order(again, secret, {**template, "id": 999999}, "orders/create")
    assert (status, answer["status"]) == (200, "accepted")


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
    assert "=== webhooks: 8 accepted, 1 duplicate, 1 ignored" in out
    assert "8 order events published to the notify queue" in out
    assert not (tmp_path / "demo" / "local.json").exists()  # stopped cleanly
