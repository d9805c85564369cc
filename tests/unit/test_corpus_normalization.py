"""Every real payload in ../shared/corpus normalizes to the order a shop owner would expect."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from shopflow.orders.changes import OrderSnapshot, RefundIssued, ShipmentUpdate
from shopflow.orders.model import OrderStatus
from shopflow.webhooks import shopify, woocommerce
from tests.support import corpus


def test_shopify_order_totals_lines_currency_and_customer() -> None:
    change = shopify.normalize("orders/create", corpus("shopify/order.json"))

    assert isinstance(change, OrderSnapshot)
    order = change.order
    assert order.order_id == "shopify:450789469"
    assert order.number == "#1001"
    assert order.currency == "USD"
    assert order.total == Decimal("409.94")
    assert order.subtotal == Decimal("398.00")
    assert [(line.sku, line.quantity, line.unit_price) for line in order.lines] == [
        ("IPOD2008GREEN", 1, Decimal("199.00")),
        ("IPOD2008RED", 1, Decimal("199.00")),
        ("IPOD2008BLACK", 1, Decimal("199.00")),
    ]
    assert order.customer.email == "bob.norman@hostmail.com"
    assert order.customer.name == "Bob Norman"
    assert order.customer.phone == "555-625-1199"  # from the address: the order has none of its own
    assert order.customer.consent.email is False
    # financial_status "authorized": payment not captured yet
    assert order.status is OrderStatus.PENDING
    # its only fulfillment has status "failure": that tracking number never reached the customer
    assert order.tracking == ()
    assert change.updated_at == datetime(2008, 1, 10, 16, 0, tzinfo=UTC)


def test_shopify_multicurrency_order_quotes_what_the_customer_paid() -> None:
    change = shopify.normalize("orders/create", corpus("shopify/orders_create_multicurrency.json"))

    assert isinstance(change, OrderSnapshot)
    order = change.order
    assert order.order_id == "shopify:2998548365461"  # > 2**32, kept exact
    assert (order.currency, order.total) == ("USD", Decimal("45.85"))
    assert (order.shop_currency, order.shop_total) == ("AUD", Decimal("60.33"))
    assert order.lines[0].unit_price == Decimal("34.67")
    assert order.status is OrderStatus.PAID
    assert order.customer.email == "customer@example.com"
    assert order.customer.locale == "en"
    assert order.customer.name == "Alex Sample"


def test_shopify_fulfillment_carries_tracking() -> None:
    change = shopify.normalize("fulfillments/create", corpus("shopify/fulfillment.json"))

    assert isinstance(change, ShipmentUpdate)
    assert change.order_id == "shopify:450789469"
    assert [(t.number, t.url) for t in change.tracking] == [
        ("1Z2345", "http://www.google.com/search?q=1Z2345")
    ]
    assert change.status is None  # "pending": not shipped yet


def test_shopify_delivered_shipment_status_means_delivered() -> None:
    payload = {**corpus("shopify/fulfillment.json"), "status": "success", "shipment_status": "delivered"}

    change = shopify.normalize("fulfillments/update", payload)

    assert isinstance(change, ShipmentUpdate)
    assert change.status is OrderStatus.DELIVERED


def test_shopify_refund_sums_successful_refund_transactions() -> None:
    change = shopify.normalize("refunds/create", corpus("shopify/refund.json"))

    assert isinstance(change, RefundIssued)
    assert (change.order_id, change.refund_id, change.amount) == (
        "shopify:450789469",
        "509562969",
        Decimal("209.00"),
    )


def test_woocommerce_order() -> None:
    change = woocommerce.normalize(corpus("woocommerce/order.json"))

    order = change.order
    assert order.order_id == "woocommerce:727"
    assert order.status is OrderStatus.PAID  # "processing": paid, being prepared
    assert (order.currency, order.total, order.subtotal) == ("USD", Decimal("29.35"), Decimal("18.00"))
    assert [(line.sku, line.quantity, line.unit_price) for line in order.lines] == [
        (None, 2, Decimal("3")),
        ("Bar3", 1, Decimal("12")),
    ]
    assert (order.customer.email, order.customer.phone, order.customer.name) == (
        "john.doe@example.com",
        "(555) 555-5555",
        "John Doe",
    )
    assert order.customer.external_id is None  # customer_id 0: a guest
    assert change.updated_at == datetime(2017, 3, 22, 19, 28, 8, tzinfo=UTC)


def test_woocommerce_shipment_tracking_extension_meta() -> None:
    payload = corpus("woocommerce/order.json")
    payload["status"] = "completed"
    payload["meta_data"].append(
        {
            "id": 1,
            "key": "_wc_shipment_tracking_items",
            "value": [
                {
                    "tracking_provider": "DHL",
                    "tracking_number": "JD0001",
                    "custom_tracking_link": "https://dhl.example/JD0001",
                }
            ],
        }
    )

    order = woocommerce.normalize(payload).order

    assert order.status is OrderStatus.DELIVERED
    assert [(t.number, t.carrier, t.url) for t in order.tracking] == [
        ("JD0001", "DHL", "https://dhl.example/JD0001")
    ]


def test_woocommerce_float_unit_price_keeps_the_line_total_exact() -> None:
    # 3 items for 10.00: WooCommerce sends price = total / quantity as a float.
    payload = json.loads(
        json.dumps(corpus("woocommerce/order.json")).replace('"price": 3}', '"price": 3.3333333333333335}')
    )
    payload["line_items"][0].update({"quantity": 3, "subtotal": "10.00", "total": "10.00"})

    order = woocommerce.normalize(payload).order

    line = order.lines[0]
    assert (line.quantity, line.unit_price, line.total) == (3, Decimal("3.3333"), Decimal("10.00"))
    assert order.lines[1].line_total is None  # 1 x 12 is its total: nothing more to keep
    assert order.total == Decimal("29.35")


def test_woocommerce_names_are_decoded_from_html_entities() -> None:
    order = woocommerce.normalize(corpus("woocommerce/order.json")).order

    assert order.lines[1].name == "Ship Your Idea \N{EN DASH} Color: Black, Size: M Test"
