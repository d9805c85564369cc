"""shopflow's own signed format for ERPs, marketplaces and any other sender.

Transport follows the Standard Webhooks spec (`webhook-id`, `webhook-timestamp`,
`webhook-signature`); the body is `{"type", "timestamp", "data"}`. The models here are the
one definition of each canonical event: `infra/schemas/*.json` is generated from them
(`python -m shopflow.webhooks.events`) and docs/events.md describes them.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from shopflow.back_in_stock.model import Subscription, contact_id
from shopflow.back_in_stock.ports import ReceivedSubscription, ReceivedUnsubscription
from shopflow.carts.model import Cart, CartChange, CartConverted, CartSnapshot
from shopflow.carts.ports import ReceivedCartChange
from shopflow.catalog.model import Product, normalize_tags
from shopflow.catalog.ports import ReceivedProduct
from shopflow.channels.listings import ReceivedListing
from shopflow.channels.model import CHANNEL_NAME
from shopflow.kernel.money import Amount, CurrencyCode
from shopflow.orders.changes import OrderChange, OrderSnapshot, StatusUpdate
from shopflow.orders.model import (
    MAX_TEXT_CHARS,
    Customer,
    Order,
    OrderLine,
    OrderStatus,
    Quantity,
    Tracking,
    order_id_for,
)
from shopflow.orders.ports import ReceivedChange
from shopflow.pricing.ports import ReceivedCompetitorPrice, ReceivedPricingInputs
from shopflow.stock.model import (
    MAX_ON_HAND,
    MAX_SKU_LENGTH,
    InventoryAdjusted,
    InventorySet,
    StockChange,
)
from shopflow.stock.ports import ReceivedStockChange
from shopflow.webhooks.common import (
    Ignored,
    Moment,
    Received,
    as_utc,
    optional_header,
    parse_json_object,
    validate,
)
from shopflow.webhooks.signatures import verify_standard_webhook

# A sender names itself ("erp", "allegro", "amazon-de"): it becomes the order id's prefix.
SourceName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{1,31}$")]
ExternalId = Annotated[str, Field(min_length=1, max_length=128)]
_MONEY = re.compile(r"^[0-9]{1,14}(\.[0-9]{1,4})?$")


def _decimal_string(value: object) -> object:
    # The contract is strict: a JSON number (a binary float in most senders) is refused, not rounded.
    if not isinstance(value, str) or not _MONEY.match(value):
        raise ValueError('must be a decimal string such as "12.50" (up to 14 digits, 4 decimals)')
    return value


# Money in a canonical event: a decimal string, never a JSON number.
Money = Annotated[
    Amount,
    BeforeValidator(_decimal_string),
    WithJsonSchema({"type": "string", "pattern": _MONEY.pattern, "examples": ["149.90"]}),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class OrderLineData(_Strict):
    sku: str | None = Field(default=None, max_length=128)
    name: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    quantity: Quantity
    unit_price: Money
    product_id: ExternalId | None = Field(
        default=None, description="Fills {product_id} in product links; matches `product:` and `tag:` rules."
    )


class OrderCreatedData(_Strict):
    source: SourceName
    external_id: ExternalId
    number: str | None = Field(
        default=None, max_length=128, description="The number the customer sees; defaults to external_id."
    )
    status: OrderStatus = OrderStatus.PENDING
    currency: CurrencyCode
    total: Money
    subtotal: Money | None = None
    lines: list[OrderLineData] = Field(min_length=1)
    customer: Customer
    tracking: list[Tracking] = []
    placed_at: Moment | None = None
    updated_at: Moment = Field(description="When the sender last changed the order; orders deliveries.")
    cart_id: ExternalId | None = Field(
        default=None, description="The cart it was placed from (as in cart.updated): that cart is bought."
    )
    reservation_id: Annotated[str, Field(pattern=r"^rsv_[a-z2-7]{26}$")] | None = Field(
        default=None, description="The stock hold (POST /reservations) its payment commits."
    )
    checkout_token: ExternalId | None = Field(
        default=None, description="The checkout_token its stock was held under, when not naming the hold."
    )


class OrderStatusChangedData(_Strict):
    source: SourceName
    external_id: ExternalId
    status: OrderStatus
    updated_at: Moment = Field(
        description="When the status changed at the sender; older updates are ignored."
    )
    tracking: list[Tracking] = []
    note: str | None = Field(default=None, max_length=500)


# A wire body is `...Body` (the domain has its own `CartConverted`); `title` keeps the published
# schemas' titles as they were.
class OrderCreatedBody(_Strict, title="OrderCreated"):
    """`order.created`: an order placed at the sender (also accepted as a full update)."""

    type: Literal["order.created"]
    timestamp: Moment
    data: OrderCreatedData


class OrderStatusChangedBody(_Strict, title="OrderStatusChanged"):
    """`order.status_changed`: the sender moved an order to another status."""

    type: Literal["order.status_changed"]
    timestamp: Moment
    data: OrderStatusChangedData


class CartUpdatedData(_Strict):
    source: SourceName
    cart_id: ExternalId
    currency: CurrencyCode
    total: Money
    lines: list[OrderLineData] = Field(default=[], description="An empty cart is never reminded.")
    customer: Customer
    recovery_url: str | None = Field(
        default=None,
        pattern=r"^https://",
        max_length=2048,
        description="Where the reminder sends the shopper back to.",
    )
    started_at: Moment | None = Field(default=None, description="When the cart was started.")
    updated_at: Moment = Field(description="The shopper's last activity; orders deliveries.")


class CartConvertedData(_Strict):
    source: SourceName
    cart_id: ExternalId
    order_external_id: ExternalId | None = Field(default=None, description="The order placed from it.")
    updated_at: Moment


class CartUpdatedBody(_Strict, title="CartUpdated"):
    """`cart.updated`: a shopper's cart as it is now (reminders count inactivity from `updated_at`)."""

    type: Literal["cart.updated"]
    timestamp: Moment
    data: CartUpdatedData


class CartConvertedBody(_Strict, title="CartConverted"):
    """`cart.converted`: the cart became an order; no reminder goes after this."""

    type: Literal["cart.converted"]
    timestamp: Moment
    data: CartConvertedData


class ProductUpdatedData(_Strict):
    source: SourceName
    product_id: ExternalId = Field(description="As order lines carry it in `product_id`.")
    title: str | None = Field(default=None, max_length=500)
    tags: list[Annotated[str, Field(max_length=255)]] = Field(
        default=[], max_length=250, description="Matched by `tag:` replenishment rules, case-insensitively."
    )
    updated_at: Moment = Field(description="When the sender last changed the product; older updates lose.")


class ProductUpdatedBody(_Strict, title="ProductUpdated"):
    """`product.updated`: a product as it is now (created or changed)."""

    type: Literal["product.updated"]
    timestamp: Moment
    data: ProductUpdatedData


StockSku = Annotated[str, Field(min_length=1, max_length=MAX_SKU_LENGTH, pattern=r"^[^\x00-\x1f\x7f]+$")]


class InventorySetData(_Strict):
    sku: StockSku
    on_hand: Annotated[StrictInt, Field(ge=0, le=MAX_ON_HAND)] = Field(
        description="What is in the warehouse now, absolute."
    )
    sequence: Annotated[StrictInt, Field(ge=0, le=2**63 - 1)] = Field(
        description="Orders the counts of one SKU: the highest wins, an older one is ignored (`stale`)."
    )


class InventoryAdjustedData(_Strict):
    sku: StockSku
    delta: Annotated[StrictInt, Field(ge=-MAX_ON_HAND, le=MAX_ON_HAND)] = Field(
        description="Units in (positive) or out (negative); not zero."
    )
    reason: str = Field(min_length=1, max_length=200, description="Shown in the SKU's history.")

    @field_validator("delta")
    @classmethod
    def _not_zero(cls, delta: int) -> int:
        if delta == 0:
            raise ValueError("an adjustment of 0 units changes nothing")
        return delta


class ListingLinkedData(_Strict):
    channel: Annotated[str, Field(pattern=rf"^{CHANNEL_NAME}$")] = Field(
        description="A channel's name as in `channels.<name>.*`."
    )
    sku: StockSku
    listing_id: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")] = Field(
        description="The listing there: a Shopify inventory item id, a WooCommerce `{product_id}` or "
        "`{product_id}/{variation_id}`, or whatever the channel's hub names it."
    )


class ListingLinkedBody(_Strict, title="ListingLinked"):
    """`listing.linked`: where a SKU is listed on a channel (its stock is pushed there)."""

    type: Literal["listing.linked"]
    timestamp: Moment
    data: ListingLinkedData


_Email = Annotated[
    str, Field(min_length=3, max_length=254, pattern=r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
]
_Phone = Annotated[str, Field(min_length=6, max_length=32, pattern=r"^\+?[0-9 ()./-]{6,32}$")]


class _Contact(_Strict):
    sku: StockSku
    email: _Email | None = Field(default=None, description="Where the alert goes (one of email, phone).")
    phone: _Phone | None = Field(default=None, description="International format: +48601234567.")

    @model_validator(mode="after")
    def _reachable(self) -> _Contact:
        if not (self.email or self.phone):
            raise ValueError("email or phone is required")
        return self


class BackInStockSubscribedData(_Contact):
    locale: Annotated[str, Field(max_length=64)] | None = Field(default=None, description="en, ru, pl, ...")
    timezone: Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description="IANA, for SMS quiet hours."
    )
    product_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        max_length=2048,
        description="The product's page the alert links to.",
    )
    customer_id: ExternalId | None = Field(
        default=None, description="The shop's customer id: with `source`, finds their orders."
    )
    source: SourceName | None = Field(
        default=None, description="Who names the customer (as in order.created)."
    )


class BackInStockSubscribedBody(_Strict, title="BackInStockSubscribed"):
    """`back_in_stock.subscribed`: a shopper asks to hear when a sold-out SKU is back."""

    type: Literal["back_in_stock.subscribed"]
    timestamp: Moment
    data: BackInStockSubscribedData


class BackInStockUnsubscribedBody(_Strict, title="BackInStockUnsubscribed"):
    """`back_in_stock.unsubscribed`: the shopper no longer waits for the SKU."""

    type: Literal["back_in_stock.unsubscribed"]
    timestamp: Moment
    data: _Contact


_GROUP = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]


class ProductPricingUpdatedData(_Strict):
    sku: StockSku
    cost: Money = Field(description="What one unit costs the shop, in `currency` (the base currency).")
    currency: CurrencyCode
    min_price: Money | None = Field(default=None, description="Never price under this (base currency).")
    max_price: Money | None = Field(default=None, description="Never price above this (base currency).")
    group: _GROUP | None = Field(
        default=None, description="The SKU group whose strategy prices it (pricing.strategy.<group>)."
    )

    @model_validator(mode="after")
    def _bounds(self) -> ProductPricingUpdatedData:
        if self.min_price is not None and self.max_price is not None and self.min_price > self.max_price:
            raise ValueError("min_price must not exceed max_price")
        return self


class ProductPricingUpdatedBody(_Strict, title="ProductPricingUpdated"):
    """`product.pricing_updated`: a SKU's cost and price bounds from the ERP (the latest wins)."""

    type: Literal["product.pricing_updated"]
    timestamp: Moment
    data: ProductPricingUpdatedData


class CompetitorPriceObservedData(_Strict):
    sku: StockSku
    competitor: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]
    price: Money
    currency: CurrencyCode
    shipping: Money | None = Field(default=None, description="The competitor's shipping for one unit.")
    in_stock: bool
    rating: Annotated[Decimal, Field(ge=0, le=100, allow_inf_nan=False)] | None = Field(
        default=None,
        description="The competitor's seller rating, on the scale the strategy's min_rating uses.",
    )
    observed_at: Moment


class CompetitorPriceObservedBody(_Strict, title="CompetitorPriceObserved"):
    """`competitor_price.observed`: a competitor's offer for one SKU (the latest per competitor wins)."""

    type: Literal["competitor_price.observed"]
    timestamp: Moment
    data: CompetitorPriceObservedData


class InventorySetBody(_Strict, title="InventorySet"):
    """`inventory.set`: the stock master's absolute count of one SKU."""

    type: Literal["inventory.set"]
    timestamp: Moment
    data: InventorySetData


class InventoryAdjustedBody(_Strict, title="InventoryAdjusted"):
    """`inventory.adjusted`: units of one SKU in or out, applied once per `webhook-id`."""

    type: Literal["inventory.adjusted"]
    timestamp: Moment
    data: InventoryAdjustedData


Event = (
    OrderCreatedBody
    | OrderStatusChangedBody
    | CartUpdatedBody
    | CartConvertedBody
    | ProductUpdatedBody
    | InventorySetBody
    | InventoryAdjustedBody
    | ListingLinkedBody
    | BackInStockSubscribedBody
    | BackInStockUnsubscribedBody
    | ProductPricingUpdatedBody
    | CompetitorPriceObservedBody
)
EVENT_MODELS: dict[str, type[Event]] = {
    "order.created": OrderCreatedBody,
    "order.status_changed": OrderStatusChangedBody,
    "cart.updated": CartUpdatedBody,
    "cart.converted": CartConvertedBody,
    "product.updated": ProductUpdatedBody,
    "inventory.set": InventorySetBody,
    "inventory.adjusted": InventoryAdjustedBody,
    "listing.linked": ListingLinkedBody,
    "back_in_stock.subscribed": BackInStockSubscribedBody,
    "back_in_stock.unsubscribed": BackInStockUnsubscribedBody,
    "product.pricing_updated": ProductPricingUpdatedBody,
    "competitor_price.observed": CompetitorPriceObservedBody,
}


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    type: str = Field(min_length=1)
    timestamp: Moment
    data: dict[str, Any]


def receive(
    headers: Mapping[str, str], body: bytes, *, secrets: Iterable[str], real_now: datetime
) -> Received | Ignored:
    """Verify and normalize one canonical event. Raises `SignatureError` or `PayloadError`.

    `real_now` (wall-clock time) judges the signature's freshness only."""
    msg_id = headers.get("webhook-id")
    verify_standard_webhook(
        body,
        msg_id=msg_id,
        timestamp=headers.get("webhook-timestamp"),
        signature=headers.get("webhook-signature"),
        secrets=secrets,
        now=real_now,
    )
    optional_header(headers, "webhook-id")  # signed, and a dedup key: bounded
    envelope = validate(_Envelope, parse_json_object(body))
    model = EVENT_MODELS.get(envelope.type)
    if model is None:
        return Ignored(f"event type {envelope.type} is not handled")
    event = validate(model, envelope.model_dump())
    if isinstance(event, ProductUpdatedBody):
        return ReceivedProduct(to_product(event), via=f"{event.data.source} {event.type}")
    if isinstance(event, ListingLinkedBody):
        assert msg_id is not None
        data = event.data
        return ReceivedListing(
            msg_id, data.channel, data.sku.strip(), data.listing_id, via=f"events {event.type}"
        )
    if isinstance(event, BackInStockSubscribedBody | BackInStockUnsubscribedBody):
        assert msg_id is not None
        return to_back_in_stock(msg_id, event)
    if isinstance(event, ProductPricingUpdatedBody | CompetitorPriceObservedBody):
        assert msg_id is not None
        return to_pricing_input(msg_id, event)
    if isinstance(event, InventorySetBody | InventoryAdjustedBody):
        assert msg_id is not None  # verified: a signed delivery has its id
        return ReceivedStockChange(msg_id, to_stock_change(event), via=f"events {event.type}")
    if isinstance(event, CartUpdatedBody | CartConvertedBody):
        return ReceivedCartChange(
            dedup_keys=(f"events:{msg_id}",),
            change=to_cart_change(event),
            via=f"{event.data.source} {event.type}",
        )
    return ReceivedChange(
        dedup_keys=(f"events:{msg_id}",),
        change=to_change(event),
        via=f"{event.data.source} {event.type}",
        expect_new=event.type == "order.created",
    )


def to_change(event: OrderCreatedBody | OrderStatusChangedBody) -> OrderChange:
    data = event.data
    order_id = order_id_for(data.source, data.external_id)
    tracking = tuple(data.tracking)
    if isinstance(data, OrderStatusChangedData):
        return StatusUpdate(
            order_id=order_id,
            source=data.source,
            external_id=data.external_id,
            status=data.status,
            occurred_at=as_utc(data.updated_at),
            updated_at=as_utc(data.updated_at),
            tracking=tracking,
            note=data.note,
        )
    order = Order(
        order_id=order_id,
        source=data.source,
        external_id=data.external_id,
        number=data.number or data.external_id,
        status=data.status,
        currency=data.currency,
        total=data.total,
        subtotal=data.subtotal,
        lines=tuple(_line(line) for line in data.lines),
        customer=data.customer,
        tracking=tracking,
        placed_at=as_utc(data.placed_at or data.updated_at),
        cart_tokens=tuple(
            f"{name}:{value}"
            for name, value in (
                ("cart", data.cart_id),
                ("reservation", data.reservation_id),
                ("checkout-token", data.checkout_token),
            )
            if value
        ),
    )
    return OrderSnapshot(
        order_id=order_id,
        source=data.source,
        external_id=data.external_id,
        order=order,
        updated_at=as_utc(data.updated_at),
    )


def _line(line: OrderLineData) -> OrderLine:
    return OrderLine(
        sku=line.sku,
        name=line.name,
        quantity=line.quantity,
        unit_price=line.unit_price,
        product_id=line.product_id,
    )


def to_stock_change(event: InventorySetBody | InventoryAdjustedBody) -> StockChange:
    data = event.data
    if isinstance(data, InventorySetData):
        return InventorySet(data.sku.strip(), data.on_hand, data.sequence)
    return InventoryAdjusted(data.sku.strip(), data.delta, data.reason)


def to_pricing_input(
    event_id: str, event: ProductPricingUpdatedBody | CompetitorPriceObservedBody
) -> ReceivedPricingInputs | ReceivedCompetitorPrice:
    # Cold start: the pricing models load only when a pricing input arrives.
    from shopflow.pricing.model import CompetitorObservation
    from shopflow.pricing.state import PricingInputs

    data = event.data
    via = f"events {event.type}"
    if isinstance(data, ProductPricingUpdatedData):
        inputs = PricingInputs(
            sku=data.sku.strip(),
            cost=data.cost,
            currency=data.currency,
            min_price=data.min_price,
            max_price=data.max_price,
            group=data.group,
            at=as_utc(event.timestamp),
        )
        return ReceivedPricingInputs(event_id, inputs, via)
    seen = CompetitorObservation(
        competitor=data.competitor,
        price=data.price,
        currency=data.currency,
        in_stock=data.in_stock,
        observed_at=as_utc(data.observed_at),
        shipping=data.shipping or Decimal(0),
        rating=data.rating,
    )
    return ReceivedCompetitorPrice(event_id, data.sku.strip(), seen, via)


def to_back_in_stock(
    event_id: str, event: BackInStockSubscribedBody | BackInStockUnsubscribedBody
) -> ReceivedSubscription | ReceivedUnsubscription:
    data = event.data
    sku, contact, via = data.sku.strip(), contact_id(data.email, data.phone), f"events {event.type}"
    if not isinstance(data, BackInStockSubscribedData):
        return ReceivedUnsubscription(event_id, sku, contact, via)
    subscription = Subscription(
        sku=sku,
        contact=contact,
        email=data.email,
        phone=data.phone,
        locale=data.locale,
        timezone=data.timezone,
        product_url=data.product_url,
        customer_id=data.customer_id,
        source=data.source or "events",
        subscribed_at=as_utc(event.timestamp),  # the intake puts its own time: the queue's order
        asked_at=as_utc(event.timestamp),
    )
    return ReceivedSubscription(event_id, subscription, via)


def to_product(event: ProductUpdatedBody) -> Product:
    data = event.data
    return Product(
        source=data.source,
        product_id=data.product_id,
        title=data.title,
        tags=normalize_tags(data.tags),
        updated_at=as_utc(data.updated_at),
    )


def to_cart_change(event: CartUpdatedBody | CartConvertedBody) -> CartChange:
    data = event.data
    cart_id = order_id_for(data.source, data.cart_id)
    updated_at = as_utc(data.updated_at)
    if isinstance(data, CartConvertedData):
        return CartConverted(
            cart_id=cart_id,
            source=data.source,
            external_id=data.cart_id,
            order_id=order_id_for(data.source, data.order_external_id) if data.order_external_id else None,
            occurred_at=updated_at,
        )
    cart = Cart(
        cart_id=cart_id,
        source=data.source,
        external_id=data.cart_id,
        currency=data.currency,
        total=data.total,
        lines=tuple(_line(line) for line in data.lines),
        customer=data.customer,
        recovery_url=data.recovery_url,
        tokens=(f"cart:{data.cart_id}",),
        started_at=as_utc(data.started_at or data.updated_at),
        last_activity_at=updated_at,
    )
    return CartSnapshot(cart_id=cart_id, source=data.source, external_id=data.cart_id, cart=cart)


SCHEMA_DIR = Path("infra") / "schemas"


def json_schemas() -> dict[str, dict[str, Any]]:
    """The published JSON Schema of each event type, by file name."""
    return {
        f"{name}.schema.json": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://shopflow.dev/schemas/{name}.schema.json",
            **model.model_json_schema(mode="validation"),
        }
        for name, model in EVENT_MODELS.items()
    }


def write_schemas(root: Path) -> None:
    for name, schema in json_schemas().items():
        (root / SCHEMA_DIR / name).write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":  # pragma: no cover - regenerates infra/schemas
    write_schemas(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())
