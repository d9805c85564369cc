"""A product as shopflow knows it: enough to match the owner's per-tag rules (replenishment).

Storefront order lines name a product id and a SKU but not the product's tags, so the tags come
from the product's own webhooks (Shopify `products/*`, WooCommerce `product.*`, canonical
`product.updated`) and are kept per product. Pure: no AWS here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict


class Variant(BaseModel):
    """A sellable version of a product as the platform lists it: its SKU and the platform's
    inventory item (Shopify's levels name that, not the SKU)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, defer_build=True)

    variant_id: str
    sku: str | None = None
    inventory_item_id: str | None = None
    price: Decimal | None = (
        None  # what the platform sells it for (Shopify `price`, WooCommerce `regular_price`)
    )


class Product(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, defer_build=True)

    source: str
    product_id: str  # the platform's product id, as order lines carry it
    title: str | None = None
    tags: tuple[str, ...] = ()  # normalized: see `normalize_tags`
    variants: tuple[Variant, ...] = ()
    updated_at: datetime  # the platform's last change; an older delivery is ignored

    @property
    def key(self) -> str:
        return product_key(self.source, self.product_id)


def product_key(source: str, product_id: str) -> str:
    return f"{source}:{product_id}"


def normalize_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Lower-case, trimmed, each once, sorted: `Coffee , coffee` is one tag `coffee`
    (Shopify compares tags case-insensitively too)."""
    return tuple(sorted({tag.strip().lower() for tag in tags if tag.strip()}))
