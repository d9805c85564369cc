"""Rendering figures: messages rendered per second per locale, and the first (compiling) render.

    python bench/render.py [--seconds S]

Each locale renders every kind as an email (subject, html, text) and an SMS, over and over for
S seconds, from the Shopify corpus order (with a parcel to track and a delay coupon); an email
and an SMS count as one message each. The first pass, timed apart, is what a cold Lambda pays:
jinja compiles each template once and keeps it.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support

from tests.support import corpus

from shopflow.messaging.render import KINDS, LOCALES, Coupon, MessageContext, Renderer, Shop
from shopflow.orders.model import Order, Tracking
from shopflow.orders.pages import product_links
from shopflow.webhooks import shopify

TIMEZONES = {"en": "America/New_York", "ru": "Europe/Moscow", "pl": "Europe/Warsaw"}


def corpus_order() -> Order:
    snapshot = shopify.normalize("orders/create", corpus("shopify/order.json"))
    assert snapshot is not None and snapshot.order is not None
    parcel = Tracking(
        number="1Z999AA10123456784", url="https://www.ups.com/track?tracknum=1Z999", carrier="UPS"
    )
    return snapshot.order.model_copy(update={"tracking": (parcel,)})


def render_all(renderer: Renderer, context: MessageContext) -> int:
    for kind in KINDS:
        renderer.render_email(kind, context)
        renderer.render_sms(kind, context)
    return 2 * len(KINDS)


def main(seconds: float) -> None:
    renderer = Renderer()
    order = corpus_order()
    coupon = Coupon("SORRY-7Q2X-K9PD", 15, datetime(2026, 12, 20, 23, 30, tzinfo=UTC))
    shop = Shop("Demo Shop", url="https://demo-shop.example", support_email="help@demo-shop.example")
    print(
        f"Messages rendered per second ({len(KINDS)} kinds, email and SMS one message each,"
        f" {seconds:g} s a locale):"
    )
    for locale in LOCALES:
        context = MessageContext(
            order,
            locale,
            TIMEZONES[locale],
            shop,
            coupon,
            product_links=product_links(order, "https://demo-shop.example/products/{product_id}#reviews"),
            unsubscribe_url="https://api.example/prod/unsubscribe/token.signature",
        )
        started = time.perf_counter()
        first = render_all(renderer, context)
        cold_ms = (time.perf_counter() - started) * 1000
        done, started = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds:
            done += render_all(renderer, context)
        print(
            f"  {locale}: {done / elapsed:>8,.0f} messages/s  ({elapsed / done * 1e6:,.0f} µs each; "
            f"first pass, compiling {first} messages' templates: {cold_ms:,.1f} ms)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="rendering time per locale")
    main(parser.parse_args().seconds)
