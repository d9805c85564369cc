"""Shopify webhooks: verification and normalization of order, fulfillment, refund and checkout topics.

Shopify signs the raw body (`X-Shopify-Hmac-Sha256`), retries a failed delivery up to 8
times over 4 hours, and may send the same event under several topics
(`orders/paid` and `orders/updated` for one payment).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from shopflow.carts.model import Cart, CartChange, CartDeleted, CartSnapshot, CartStatus
from shopflow.carts.ports import ReceivedCartChange
from shopflow.catalog.model import Product, Variant, normalize_tags
from shopflow.catalog.ports import ReceivedProduct
from shopflow.kernel.money import Amount, CurrencyCode
from shopflow.orders.changes import OrderChange, OrderSnapshot, RefundIssued, ShipmentUpdate
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
from shopflow.pricing.ports import ReceivedCost
from shopflow.stock.model import MAX_ON_HAND, MAX_SKU_LENGTH
from shopflow.stock.ports import ReceivedInventoryLevel
from shopflow.webhooks.common import (
    Ignored,
    Moment,
    PayloadError,
    PlatformId,
    PlatformRef,
    ProductName,
    Received,
    Text,
    as_utc,
    header,
    optional_header,
    parse_json_object,
    validate,
)
from shopflow.webhooks.signatures import SignatureError, verify_hmac_base64

SOURCE = "shopify"
ORDER_TOPICS = frozenset(
    {"orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/fulfilled"}
)
FULFILLMENT_TOPICS = frozenset({"fulfillments/create", "fulfillments/update"})
REFUND_TOPICS = frozenset({"refunds/create"})
CHECKOUT_TOPICS = frozenset({"checkouts/create", "checkouts/update"})
CHECKOUT_DELETE = "checkouts/delete"
PRODUCT_TOPICS = frozenset({"products/create", "products/update"})
INVENTORY_LEVEL_TOPIC = "inventory_levels/update"
INVENTORY_ITEM_TOPIC = "inventory_items/update"  # carries the item's `cost` (pricing)
MAX_VARIANTS = 2048  # Shopify's own limit per product
HANDLED_TOPICS = (
    ORDER_TOPICS
    | FULFILLMENT_TOPICS
    | REFUND_TOPICS
    | CHECKOUT_TOPICS
    | {CHECKOUT_DELETE}
    | PRODUCT_TOPICS
    | {INVENTORY_LEVEL_TOPIC, INVENTORY_ITEM_TOPIC}
)
MAX_TAGS_CHARS = 250 * 256  # Shopify: up to 250 tags of 255 characters


class _In(BaseModel):
    # Shopify adds fields over time: read what we need, ignore the rest.
    model_config = ConfigDict(extra="ignore", defer_build=True)


class _Money(_In):
    amount: Amount
    currency_code: CurrencyCode


class _MoneySet(_In):
    shop_money: _Money
    presentment_money: _Money


class _MarketingConsent(_In):
    state: str | None = None


class _Customer(_In):
    id: PlatformId | None = None
    email: Text | None = None
    phone: Text | None = None
    first_name: Text | None = None
    last_name: Text | None = None
    accepts_marketing: bool | None = None
    email_marketing_consent: _MarketingConsent | None = None
    sms_marketing_consent: _MarketingConsent | None = None


class _Address(_In):
    name: Text | None = None
    phone: Text | None = None


class _Line(_In):
    sku: Text | None = None
    title: ProductName
    name: ProductName | None = None
    quantity: Quantity  # strict: `true` or `1e20` is not a quantity
    price: Amount
    price_set: _MoneySet | None = None
    product_id: PlatformId | None = None


class _Fulfillment(_In):
    id: PlatformId
    order_id: PlatformId
    status: str | None = None
    shipment_status: str | None = None
    tracking_company: Text | None = None
    tracking_numbers: list[Text] = []
    tracking_urls: list[str] = []
    tracking_number: Text | None = None
    tracking_url: str | None = None
    created_at: Moment | None = None
    updated_at: Moment


class _OrderFulfillment(_Fulfillment):
    order_id: PlatformId | None = None  # type: ignore[assignment]
    updated_at: Moment | None = None  # type: ignore[assignment]


class _Buyer(_In):
    """What an order and a checkout both say about the person buying."""

    email: Text | None = None
    contact_email: Text | None = None
    phone: Text | None = None
    customer_locale: str | None = None
    buyer_accepts_marketing: bool | None = None
    customer: _Customer | None = None
    billing_address: _Address | None = None
    shipping_address: _Address | None = None


class _Order(_Buyer):
    id: PlatformId
    name: Text | None = None
    order_number: PlatformRef | None = None
    currency: CurrencyCode
    presentment_currency: CurrencyCode | None = None
    total_price: Amount
    subtotal_price: Amount | None = None
    total_price_set: _MoneySet | None = None
    subtotal_price_set: _MoneySet | None = None
    financial_status: str | None = None
    fulfillment_status: str | None = None
    cancelled_at: Moment | None = None
    created_at: Moment | None = None
    processed_at: Moment | None = None
    updated_at: Moment
    line_items: list[_Line]
    fulfillments: list[_OrderFulfillment] = []
    # The checkout it was placed from: converts that abandoned cart.
    checkout_id: PlatformId | None = None
    checkout_token: Text | None = None
    cart_token: Text | None = None


class _Checkout(_Buyer):
    """An (abandoned) checkout: `checkouts/create|update`."""

    id: PlatformId
    token: Text | None = None
    cart_token: Text | None = None
    currency: CurrencyCode | None = None
    presentment_currency: CurrencyCode | None = None
    total_price: Amount = Decimal("0")
    line_items: list[_Line] = []
    abandoned_checkout_url: str | None = None
    buyer_accepts_sms_marketing: bool | None = None
    sms_marketing_phone: str | None = None
    created_at: Moment | None = None
    updated_at: Moment
    completed_at: Moment | None = None


class _CheckoutDeleted(_In):
    id: PlatformId


class _Transaction(_In):
    kind: str
    status: str | None = None
    amount: Amount


class _Refund(_In):
    id: PlatformId
    order_id: PlatformId
    created_at: Moment
    processed_at: Moment | None = None
    transactions: list[_Transaction] = []


# Fulfillment statuses that never reached the customer: their tracking numbers mean nothing.
_FAILED_FULFILLMENT = frozenset({"cancelled", "error", "failure"})


def receive(
    headers: Mapping[str, str],
    body: bytes,
    *,
    secrets: Iterable[str],
    shop_domains: frozenset[str],
    now: datetime,
) -> Received | Ignored:
    """Verify and normalize one Shopify delivery. Raises `SignatureError` or `PayloadError`."""
    shop = (headers.get("X-Shopify-Shop-Domain") or "").strip().lower()
    if not shop or shop not in shop_domains:
        raise SignatureError("unknown shop domain")
    verify_hmac_base64(body, headers.get("X-Shopify-Hmac-Sha256"), secrets)
    topic = header(headers, "X-Shopify-Topic")
    webhook_id = header(headers, "X-Shopify-Webhook-Id")
    event_id = optional_header(headers, "X-Shopify-Event-Id")
    if topic not in HANDLED_TOPICS:
        return Ignored(f"topic {topic} is not handled")
    data = parse_json_object(body)
    if topic in PRODUCT_TOPICS:
        return ReceivedProduct(normalize_product(data), via=f"shopify {topic}")
    # One marker a delivery (decision 45): the event id is shared by a retry and by every
    # subscription the event reaches, so when Shopify sends it the webhook id adds nothing.
    dedup_keys = [f"shopify:event:{topic}:{event_id}" if event_id else f"shopify:webhook:{webhook_id}"]
    if topic == INVENTORY_LEVEL_TOPIC:
        return normalize_inventory_level(data, event_id=dedup_keys[0])
    if topic == INVENTORY_ITEM_TOPIC:
        return normalize_inventory_item(data, event_id=dedup_keys[0])
    if topic in CHECKOUT_TOPICS or topic == CHECKOUT_DELETE:
        return ReceivedCartChange(
            dedup_keys=tuple(dedup_keys), change=normalize_checkout(topic, data, now), via=f"shopify {topic}"
        )
    return ReceivedChange(
        dedup_keys=tuple(dedup_keys),
        change=normalize(topic, data),
        via=f"shopify {topic}",
        expect_new=topic == "orders/create",
    )


def normalize(topic: str, data: Mapping[str, Any]) -> OrderChange:
    """The canonical change a webhook body (unwrapped) of `topic` describes."""
    if topic in ORDER_TOPICS:
        return _order_snapshot(validate(_Order, data))
    if topic in FULFILLMENT_TOPICS:
        return _shipment(validate(_Fulfillment, data))
    if topic in REFUND_TOPICS:
        return _refund(validate(_Refund, data))
    raise PayloadError("header X-Shopify-Topic", f"topic {topic} is not handled")


def order_status(order: _Order) -> OrderStatus:
    if order.financial_status == "refunded":
        return OrderStatus.REFUNDED
    if order.cancelled_at is not None:
        return OrderStatus.CANCELLED
    if any(f.shipment_status == "delivered" for f in order.fulfillments):
        return OrderStatus.DELIVERED
    if order.fulfillment_status == "fulfilled":
        return OrderStatus.SHIPPED
    if order.fulfillment_status == "partial":
        return OrderStatus.PROCESSING
    if order.financial_status in ("paid", "partially_refunded"):
        return OrderStatus.PAID
    # pending, authorized (not captured yet), partially_paid, voided, missing
    return OrderStatus.PENDING


def _presentment(plain: Decimal, money_set: _MoneySet | None) -> Decimal:
    # The presentment amount is what the customer saw and paid; messages must quote it.
    return money_set.presentment_money.amount if money_set else plain


def _lines(items: list[_Line]) -> tuple[OrderLine, ...]:
    """An order's or a checkout's line items, at the prices the customer saw."""
    return tuple(
        OrderLine(
            sku=line.sku or None,
            name=line.name or line.title,
            quantity=line.quantity,
            unit_price=_presentment(line.price, line.price_set),
            product_id=str(line.product_id) if line.product_id is not None else None,
        )
        for line in items
    )


def _tracking(fulfillment: _Fulfillment) -> tuple[Tracking, ...]:
    if fulfillment.status in _FAILED_FULFILLMENT:
        return ()
    numbers = fulfillment.tracking_numbers or (
        [fulfillment.tracking_number] if fulfillment.tracking_number else []
    )
    urls = fulfillment.tracking_urls or ([fulfillment.tracking_url] if fulfillment.tracking_url else [])
    return tuple(
        Tracking(number=number, url=urls[i] if i < len(urls) else None, carrier=fulfillment.tracking_company)
        for i, number in enumerate(numbers)
    )


def _customer(order: _Buyer, *, sms_consent: bool | None = None, phone: str | None = None) -> Customer:
    c = order.customer or _Customer()
    addresses = [a for a in (order.shipping_address, order.billing_address) if a is not None]
    name = " ".join(part for part in (c.first_name, c.last_name) if part) or next(
        (a.name for a in addresses if a.name), None
    )
    email_consent = (
        c.email_marketing_consent.state == "subscribed"
        if c.email_marketing_consent and c.email_marketing_consent.state
        else bool(c.accepts_marketing if c.accepts_marketing is not None else order.buyer_accepts_marketing)
    )
    return Customer(
        external_id=str(c.id) if c.id is not None else None,
        email=order.email or order.contact_email or c.email or None,
        phone=phone or order.phone or c.phone or next((a.phone for a in addresses if a.phone), None),
        name=name,
        locale=order.customer_locale,
        consent=Consent(
            email=email_consent,
            sms=bool(c.sms_marketing_consent and c.sms_marketing_consent.state == "subscribed")
            or bool(sms_consent),
        ),
    )


def _order_snapshot(order: _Order) -> OrderSnapshot:
    external_id = str(order.id)
    currency = (
        order.total_price_set.presentment_money.currency_code
        if order.total_price_set
        else order.presentment_currency or order.currency
    )
    canonical = Order(
        order_id=order_id_for(SOURCE, external_id),
        source=SOURCE,
        external_id=external_id,
        number=order.name or str(order.order_number or external_id),
        status=order_status(order),
        currency=currency,
        total=_presentment(order.total_price, order.total_price_set),
        subtotal=(
            _presentment(order.subtotal_price, order.subtotal_price_set)
            if order.subtotal_price is not None
            else None
        ),
        shop_currency=order.currency,
        shop_total=order.total_price,
        lines=_lines(order.line_items),
        customer=_customer(order),
        tracking=tuple(t for f in order.fulfillments for t in _tracking(f)),
        placed_at=as_utc(order.processed_at or order.created_at or order.updated_at),
        cart_tokens=_checkout_tokens(order.checkout_id, order.checkout_token, order.cart_token),
    )
    return OrderSnapshot(
        order_id=canonical.order_id,
        source=SOURCE,
        external_id=external_id,
        order=canonical,
        updated_at=as_utc(order.updated_at),
    )


def _checkout_tokens(checkout_id: str | None, token: str | None, cart_token: str | None) -> tuple[str, ...]:
    """What ties an order to the checkout it came from, on both sides."""
    return tuple(
        f"{name}:{value}"
        for name, value in (("checkout", checkout_id), ("checkout-token", token), ("cart", cart_token))
        if value not in (None, "")
    )


def normalize_checkout(topic: str, data: Mapping[str, Any], now: datetime) -> CartChange:
    """A checkout is shopflow's cart: `shopify:{checkout id}` (the delete topic carries only the id)."""
    if topic == CHECKOUT_DELETE:
        deleted = validate(_CheckoutDeleted, data)
        external_id = str(deleted.id)
        return CartDeleted(
            cart_id=order_id_for(SOURCE, external_id), source=SOURCE, external_id=external_id, occurred_at=now
        )
    checkout = validate(_Checkout, data)
    external_id = str(checkout.id)
    cart_id = order_id_for(SOURCE, external_id)
    updated_at = as_utc(checkout.updated_at)
    lines = _lines(checkout.line_items)
    currency = checkout.presentment_currency or checkout.currency
    if lines and currency is None:
        raise PayloadError("currency", "is required for a checkout with line items")
    cart = Cart(
        cart_id=cart_id,
        source=SOURCE,
        external_id=external_id,
        status=CartStatus.CONVERTED if checkout.completed_at else CartStatus.OPEN,
        currency=currency,
        total=checkout.total_price,
        lines=lines,
        customer=_customer(
            checkout, sms_consent=checkout.buyer_accepts_sms_marketing, phone=checkout.sms_marketing_phone
        ),
        recovery_url=checkout.abandoned_checkout_url,
        tokens=_checkout_tokens(checkout.id, checkout.token, checkout.cart_token),
        started_at=as_utc(checkout.created_at or checkout.updated_at),
        last_activity_at=updated_at,
    )
    return CartSnapshot(cart_id=cart_id, source=SOURCE, external_id=external_id, cart=cart)


def _shipment(fulfillment: _Fulfillment) -> ShipmentUpdate:
    external_id = str(fulfillment.order_id)
    status: OrderStatus | None = None
    if fulfillment.status not in _FAILED_FULFILLMENT:
        if fulfillment.shipment_status == "delivered":
            status = OrderStatus.DELIVERED
        elif fulfillment.status == "success":
            status = OrderStatus.SHIPPED
    return ShipmentUpdate(
        order_id=order_id_for(SOURCE, external_id),
        source=SOURCE,
        external_id=external_id,
        tracking=_tracking(fulfillment),
        status=status,
        occurred_at=as_utc(fulfillment.updated_at),
    )


def _refund(refund: _Refund) -> RefundIssued:
    external_id = str(refund.order_id)
    amount = sum(
        (t.amount for t in refund.transactions if t.kind == "refund" and t.status in (None, "success")),
        Decimal("0"),
    )
    return RefundIssued(
        order_id=order_id_for(SOURCE, external_id),
        source=SOURCE,
        external_id=external_id,
        refund_id=str(refund.id),
        amount=amount,
        occurred_at=as_utc(refund.processed_at or refund.created_at),
    )


class _Variant(_In):
    id: PlatformId
    sku: Text | None = None
    inventory_item_id: PlatformId | None = None
    price: Amount | None = None


class _Product(_In):
    id: PlatformId
    title: ProductName | None = None
    variants: list[_Variant] = Field(default=[], max_length=MAX_VARIANTS)
    tags: Annotated[str, Field(max_length=MAX_TAGS_CHARS)] = ""  # comma-separated, as Shopify sends them
    updated_at: Moment


def normalize_product(data: Mapping[str, Any]) -> Product:
    """`products/create|update`: the product's tags (order lines do not carry them)."""
    product = validate(_Product, data)
    return Product(
        source=SOURCE,
        product_id=str(product.id),
        title=product.title,
        tags=normalize_tags(product.tags.split(",")),
        variants=tuple(
            Variant(variant_id=v.id, sku=v.sku or None, inventory_item_id=v.inventory_item_id, price=v.price)
            for v in product.variants
        ),
        updated_at=as_utc(product.updated_at),
    )


class _InventoryLevel(_In):
    inventory_item_id: PlatformId
    location_id: PlatformId
    available: Annotated[int, Field(strict=True, ge=-MAX_ON_HAND, le=MAX_ON_HAND)] | None
    updated_at: Moment


class _InventoryItem(_In):
    id: PlatformId
    sku: Annotated[str, Field(max_length=MAX_SKU_LENGTH)] | None = None
    cost: Amount | None = None  # the unit cost, in the shop's currency; null: not set
    updated_at: Moment


def normalize_inventory_item(data: Mapping[str, Any], *, event_id: str) -> ReceivedCost | Ignored:
    """`inventory_items/update`: {id, sku, cost, updated_at, ...} (the REST resource wraps it in
    `inventory_item`; both are taken): the SKU's cost, for pricing."""
    wrapped = data.get("inventory_item")
    item = validate(_InventoryItem, wrapped if isinstance(wrapped, Mapping) else data)
    sku = (item.sku or "").strip()
    if not sku:
        return Ignored("inventory item has no SKU")
    if item.cost is None:
        return Ignored("inventory item has no cost set")
    return ReceivedCost(
        event_id, sku, item.cost, as_utc(item.updated_at), via="shopify inventory_items/update"
    )


def normalize_inventory_level(data: Mapping[str, Any], *, event_id: str) -> ReceivedInventoryLevel | Ignored:
    """`inventory_levels/update`: {inventory_item_id, location_id, available, updated_at} (the
    REST resource wraps it in `inventory_level`; both are taken)."""
    wrapped = data.get("inventory_level")
    level = validate(_InventoryLevel, wrapped if isinstance(wrapped, Mapping) else data)
    if level.available is None:  # the item is not tracked at that location
        return Ignored("inventory item not tracked at this location")
    return ReceivedInventoryLevel(
        event_id=event_id,
        source=SOURCE,
        inventory_item_id=level.inventory_item_id,
        location_id=level.location_id,
        available=level.available,
        updated_at=as_utc(level.updated_at),
        via="shopify inventory_levels/update",
    )
