"""Reminder lateness in `shopflow local`: from a reminder's due time to its email's record.

    python bench/reminder_lateness.py [--flow review|cart|replenishment] [--count 50]

`shopflow local` at clock speed 1, as on AWS: the sweep fires every minute. Every customer has
marketing consent and is a different person, with an email and phone of their own (neither the
frequency cap nor the pause after an order applies).
- review: each order is delivered; its review request is due a day later
  (`notify.review.after_days: 1`); due = the delivery's recorded time + 1 day.
- replenishment: as review, but one unit of the green iPod lasts 2 days and the lead time is 1
  (`sku:IPOD2008GREEN=2`, `lead_days: 1`): due = delivery + 1 day (no review request then).
- cart: each shopper leaves a Shopify checkout; its first reminder is due after 60 minutes
  without activity; due = the checkout's `updated_at` + 60 min.
The clock is then advanced to three minutes before the first one is due (`shopflow local
advance`) and runs on in real time. Lateness: the email record's SENT time minus its due time.
Goal: within one sweep period (60 s).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "functions"))
sys.path.insert(0, str(ROOT / "bench"))

from local_runtime import start, stop  # noqa: E402
from shopflow.config.parameters import set_setting  # noqa: E402
from shopflow.target import LocalSession, Target  # noqa: E402
from shopflow.webhooks.signatures import sign_hmac_base64  # noqa: E402

SHOP = "demo-shop.myshopify.com"


def post(session: LocalSession, secret: str, topic: str, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - local
        f"{session.api_url}/webhooks/shopify",
        data=data,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": sign_hmac_base64(data, secret),
            "X-Shopify-Shop-Domain": SHOP,
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            assert json.loads(answer.read())["status"] == "accepted"
    except urllib.error.HTTPError as error:
        raise SystemExit(f"{topic} refused: {error.code} {error.read().decode()}") from None


def iso_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


Waiting = dict[str, tuple[str, Callable[[list[dict[str, Any]]], datetime]]]  # pk -> (message sk, due)


def review_due(items: list[dict[str, Any]]) -> datetime:
    delivered_at = next(
        iso_time(json.loads(i["document"]["S"])["recorded_at"])
        for i in items
        if i["sk"]["S"].startswith("TIMELINE#")
        and "delivered" in i["document"]["S"]
        and json.loads(i["document"]["S"])["status"] == "delivered"
    )
    return delivered_at + timedelta(days=1)


def arm_reviews(
    session: LocalSession, secret: str, demo: Path, count: int, kind: str = "review"
) -> tuple[Waiting, str]:
    base: dict[str, Any] = json.loads((demo / "order.json").read_text())["order"]
    fulfillment: dict[str, Any] = json.loads((demo / "fulfillment.json").read_text())["fulfillment"]
    waiting: Waiting = {}
    for n in range(count):
        order = {
            **base,
            "id": 6_000_000 + n,
            "name": f"#{6_000_000 + n}",
            "email": f"buyer{n}@example.com",
            "buyer_accepts_marketing": True,
            "customer": {**base["customer"], "id": 5_000_000 + n, "accepts_marketing": True},
        }
        # Different people: a shared phone would make each order "a recent order" of the others.
        phone = f"+4860{n:07d}"
        for part in ("billing_address", "shipping_address"):
            order[part] = {**base[part], "phone": phone}
        order["customer"]["default_address"] = {**base["customer"]["default_address"], "phone": phone}
        post(session, secret, "orders/create", order)
        delivered = {
            **fulfillment,
            "order_id": order["id"],
            "status": "success",
            "shipment_status": "delivered",
        }
        post(session, secret, "fulfillments/create", delivered)
        waiting[f"ORDER#shopify:{order['id']}"] = (f"MESSAGE#{kind}#email", review_due)
    return waiting, "23h57m"


def cart_due(items: list[dict[str, Any]]) -> datetime:
    cart = next(json.loads(i["document"]["S"]) for i in items if i["sk"]["S"] == "CART")
    return iso_time(cart["last_activity_at"]) + timedelta(minutes=60)


def arm_carts(session: LocalSession, secret: str, demo: Path, count: int) -> tuple[Waiting, str]:
    base: dict[str, Any] = json.loads((demo / "checkout.json").read_text())["checkout"]
    now = datetime.now(UTC)  # the instance's clock starts at the real time
    waiting: Waiting = {}
    for n in range(count):
        # Last activity spread over two sweep periods, so due times fall at every phase of the sweep.
        seen = (now - timedelta(seconds=120 * n / count)).isoformat()
        checkout = {
            **base,
            "id": 7_000_000 + n,
            "token": f"tok{n}",
            "cart_token": f"cart{n}",
            "email": f"shopper{n}@example.com",
            "buyer_accepts_marketing": True,
            "created_at": seen,
            "updated_at": seen,
            "customer": {**base["customer"], "id": 5_000_000 + n, "accepts_marketing": True},
        }
        post(session, secret, "checkouts/create", checkout)
        waiting[f"CART#shopify:{checkout['id']}"] = ("MESSAGE#cart_reminder#email", cart_due)
    return waiting, "57m"


def arm_replenishments(session: LocalSession, secret: str, demo: Path, count: int) -> tuple[Waiting, str]:
    return arm_reviews(session, secret, demo, count, kind="replenishment")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flow", choices=("review", "cart", "replenishment"), default="review")
    parser.add_argument("--count", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["PYTHONUNBUFFERED"] = "1"
        data_dir = Path(scratch) / "data"
        process, _ = start(data_dir, env)
        try:
            session = LocalSession.read(data_dir)
            target = Target(session.stage, session.region, endpoints=session.endpoints, local=session)
            for key, value in (
                ("webhooks.shopify.shop_domains", SHOP),
                ("notify.email.sender", "orders@demo-shop.example"),
                ("notify.review.url_template", "https://demo-shop.example/products/{product_id}#reviews"),
                # One marketing message per customer in 16 h: only the flow measured is due.
                ("notify.review.after_days", "1" if args.flow == "review" else "30"),
                ("notify.replenishment.lead_days", "1"),
                ("notify.replenishment.url_template", "https://demo-shop.example/products/{product_id}"),
                ("notify.sms.quiet_hours", "off"),
                # Only the flow measured has consumables: a replenishment due with a review would cap it.
                *(
                    [("notify.replenishment.periods", "sku:IPOD2008GREEN=2")]
                    if args.flow == "replenishment"
                    else []
                ),
            ):
                set_setting(target, key, value)
            secret = target.client("ssm").get_parameter(
                Name=f"/shopflow/{session.stage}/webhooks/shopify/secret", WithDecryption=True
            )["Parameter"]["Value"]
            demo = ROOT / "functions/shopflow/local/demo"
            arm = {"cart": arm_carts, "review": arm_reviews, "replenishment": arm_replenishments}[args.flow]
            waiting, advance = arm(session, secret, demo, args.count)
            subprocess.run(  # noqa: S603 - our own command line
                [
                    sys.executable,
                    "-m",
                    "shopflow.cli",
                    "local",
                    "advance",
                    advance,
                    "--data-dir",
                    str(data_dir),
                ],
                check=True,
                capture_output=True,
                env=env,
            )
            dynamodb = target.client("dynamodb")
            lateness: list[float] = []
            deadline = time.monotonic() + 600
            while waiting and time.monotonic() < deadline:
                for pk, (sk, due_of) in list(waiting.items()):
                    items = dynamodb.query(
                        TableName=session.table_name,
                        KeyConditionExpression="pk = :pk",
                        ExpressionAttributeValues={":pk": {"S": pk}},
                        ConsistentRead=True,
                    )["Items"]
                    message = next((i for i in items if i["sk"]["S"] == sk), None)
                    if message is not None and message["status"]["S"] in ("SKIPPED", "FAILED"):
                        reason = message.get("reason", {}).get("S")
                        raise SystemExit(f"{pk}: {sk} {message['status']['S']}: {reason}")
                    if message is None or message["status"]["S"] != "SENT":
                        continue
                    lateness.append((iso_time(message["updated_at"]["S"]) - due_of(items)).total_seconds())
                    del waiting[pk]
                time.sleep(1)
        finally:
            stop(process)
    lateness.sort()
    p99 = lateness[max(0, int(len(lateness) * 0.99) - 1)]
    print(
        f"{args.flow} reminder: due -> SENT, {len(lateness)} of {args.count}, clock speed 1: "
        f"p50 {statistics.median(lateness):.1f} s, p99 {p99:.1f} s, max {lateness[-1]:.1f} s"
    )


if __name__ == "__main__":
    main()
