"""WooCommerce webhooks: verification and normalization of order and product topics.

WooCommerce signs the raw body (`X-WC-Webhook-Signature`), never retries, and gives every
send a new delivery id, so a resend is recognised by (topic, order id, `date_modified_gmt`).
When a webhook is created it sends an unsigned ping: form body `webhook_id=N`, no topic.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from shopflow.catalog.model import Product, Variant, normalize_tags
from shopflow.catalog.ports import ReceivedProduct
from shopflow.kernel.money import Amount, CurrencyCode
from shopflow.orders.changes import OrderChange, OrderSnapshot, StatusUpdate
from shopflow.orders.model import (
    Consent,
    Customer,
    Order,
    OrderLine,
    OrderStatus,
    Quantity,
    Tracking,
    order_id_for,
)
from shopflow.orders.ports import ReceivedChange
from shopflow.webhooks.common import (
    ComputedUnitPrice,
    Ignored,
    Moment,
    PlatformId,
    PlatformRef,
    ProductName,
    Text,
    as_utc,
    header,
    parse_json_object,
    validate,
)
from shopflow.webhooks.signatures import verify_hmac_base64

SOURCE = "woocommerce"
PRODUCT_TOPICS = frozenset({"product.created", "product.updated"})
HANDLED_TOPICS = frozenset({"order.created", "order.updated", "order.deleted"}) | PRODUCT_TOPICS
_PING = re.compile(rb"^webhook_id=\d+$")

STATUSES: dict[str, OrderStatus] = {
    "pending": OrderStatus.PENDING,
    "on-hold": OrderStatus.PENDING,
    "failed": OrderStatus.PENDING,  # the customer may still pay; not terminal in WooCommerce
    "processing": OrderStatus.PAID,
    "completed": OrderStatus.DELIVERED,
    "cancelled": OrderStatus.CANCELLED,
    "trash": OrderStatus.CANCELLED,
    "refunded": OrderStatus.REFUNDED,
    # common plugin statuses
    "shipped": OrderStatus.SHIPPED,
    "delivered": OrderStatus.DELIVERED,
}
# Meta keys multilingual plugins store the order's language under (WPML, Polylang, TranslatePress).
_LOCALE_META_KEYS = ("wpml_language", "pll_language", "trp_language")
_TRACKING_META_KEY = "_wc_shipment_tracking_items"  # WooCommerce Shipment Tracking extension


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)


class _Billing(_In):
    first_name: Text | None = None
    last_name: Text | None = None
    email: Text | None = None
    phone: Text | None = None


class _Meta(_In):
    key: str
    value: object = None


class _Line(_In):
    sku: Text | None = None
    name: ProductName
    quantity: Quantity
    price: ComputedUnitPrice  # total / quantity as a float: 3.3333333333333335 is real
    total: Amount | None = None  # the line's exact total (after discounts), a decimal string
    subtotal: Amount | None = None
    product_id: PlatformRef | None = None  # 0: not a catalog product


class _Order(_In):
    id: PlatformId
    number: Text | None = None
    status: str
    currency: CurrencyCode
    total: Amount
    customer_id: PlatformRef | None = None  # 0: a guest
    date_created_gmt: Moment | None = None
    date_modified_gmt: Moment
    billing: _Billing = _Billing()
    line_items: list[_Line]
    meta_data: list[_Meta] = []


class _Deleted(_In):
    id: PlatformId


class _Tag(_In):
    name: ProductName = ""
    slug: Text = ""


class _Product(_In):
    id: PlatformId
    name: ProductName | None = None
    sku: Text = ""
    type: str = "simple"
    regular_price: str = ""  # a decimal string; "" when the product has no price
    tags: list[_Tag] = []
    date_modified_gmt: Moment


def _price(text: str) -> Decimal | None:
    """WooCommerce's `regular_price`: a decimal string, "" (no price) or anything else: none."""
    try:
        price = Decimal(text.strip())
    except ArithmeticError:
        return None
    return price if price.is_finite() and price >= 0 else None


def normalize_product(data: Mapping[str, object]) -> Product:
    """`product.created|updated`: its tags, by name and by slug (an owner may write either)."""
    product = validate(_Product, data)
    return Product(
        source=SOURCE,
        product_id=str(product.id),
        title=product.name,
        tags=normalize_tags([t.name for t in product.tags] + [t.slug for t in product.tags]),
        # A simple product is its own variant (its stock is the product's); a variable product's
        # variations carry their SKUs only in their own resource, not in this webhook.
        variants=(Variant(variant_id=product.id, sku=product.sku, price=_price(product.regular_price)),)
        if product.sku.strip() and product.type == "simple"
        else (),
        updated_at=as_utc(product.date_modified_gmt),
    )


def receive(
    headers: Mapping[str, str], body: bytes, *, secrets: Iterable[str], now: datetime
) -> ReceivedChange | ReceivedProduct | Ignored:
    """Verify and normalize one WooCommerce delivery. Raises `SignatureError` or `PayloadError`."""
    if not headers.get("X-WC-Webhook-Topic") and _PING.match(body.strip()):
        return Ignored("webhook creation ping")
    verify_hmac_base64(body, headers.get("X-WC-Webhook-Signature"), secrets)
    topic = header(headers, "X-WC-Webhook-Topic")
    if topic not in HANDLED_TOPICS:
        return Ignored(f"topic {topic} is not handled")
    data = parse_json_object(body)
    if topic in PRODUCT_TOPICS:
        return ReceivedProduct(normalize_product(data), via=f"woocommerce {topic}")
    if topic == "order.deleted":
        deleted = validate(_Deleted, data)
        external_id = str(deleted.id)
        change: OrderChange = StatusUpdate(
            order_id=order_id_for(SOURCE, external_id),
            source=SOURCE,
            external_id=external_id,
            status=OrderStatus.CANCELLED,
            occurred_at=now,
            note="deleted in WooCommerce",
        )
        # A deletion happens once per order; it carries no modification time.
        return ReceivedChange(
            dedup_keys=(f"woocommerce:{topic}:{external_id}",), change=change, via=f"woocommerce {topic}"
        )
    order = validate(_Order, data)
    if order.status == "checkout-draft":
        return Ignored("checkout draft is not an order yet")
    snapshot = normalize_order(order)
    key = f"woocommerce:{topic}:{order.id}:{snapshot.updated_at.isoformat()}"
    return ReceivedChange(
        dedup_keys=(key,), change=snapshot, via=f"woocommerce {topic}", expect_new=topic == "order.created"
    )


def normalize(data: Mapping[str, object]) -> OrderSnapshot:
    """The canonical order a WooCommerce order body describes."""
    return normalize_order(validate(_Order, data))


def normalize_order(order: _Order) -> OrderSnapshot:
    external_id = str(order.id)
    meta = {m.key: m.value for m in order.meta_data}
    locale = next((str(meta[k]) for k in _LOCALE_META_KEYS if meta.get(k)), None)
    b = order.billing
    canonical = Order(
        order_id=order_id_for(SOURCE, external_id),
        source=SOURCE,
        external_id=external_id,
        number=order.number or external_id,
        # Unknown (custom) statuses start an order as pending; the state machine never moves it back.
        status=STATUSES.get(order.status, OrderStatus.PENDING),
        currency=order.currency,
        total=order.total,
        subtotal=sum((line.subtotal for line in order.line_items if line.subtotal is not None), Decimal("0")),
        lines=tuple(
            OrderLine(
                sku=line.sku or None,
                name=line.name,
                quantity=line.quantity,
                unit_price=line.price,
                product_id=str(line.product_id) if line.product_id else None,
                line_total=_exact_total(line),
            )
            for line in order.line_items
        ),
        customer=Customer(
            external_id=str(order.customer_id) if order.customer_id else None,  # 0 is a guest
            email=b.email or None,
            phone=b.phone or None,
            name=" ".join(p for p in (b.first_name, b.last_name) if p) or None,
            locale=locale,
            consent=Consent(),  # WooCommerce core records no marketing consent
        ),
        tracking=_tracking(meta.get(_TRACKING_META_KEY)),
        placed_at=as_utc(order.date_created_gmt or order.date_modified_gmt),
    )
    return OrderSnapshot(
        order_id=canonical.order_id,
        source=SOURCE,
        external_id=external_id,
        order=canonical,
        updated_at=as_utc(order.date_modified_gmt),
    )


def _exact_total(line: _Line) -> Decimal | None:
    """The line's total when its rounded unit price times the quantity does not give it."""
    if line.total is None or line.total == line.price * line.quantity:
        return None
    return line.total


def _tracking(items: object) -> tuple[Tracking, ...]:
    if not isinstance(items, list):
        return ()
    found = []
    for item in items:
        if isinstance(item, dict) and item.get("tracking_number"):
            found.append(
                Tracking(
                    number=str(item["tracking_number"]),
                    url=item.get("custom_tracking_link") or None,
                    carrier=item.get("tracking_provider") or item.get("custom_tracking_provider") or None,
                )
            )
    return tuple(found)
