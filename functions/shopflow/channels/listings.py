"""Which SKU is which listing on each channel (issue 15, item 3).

A SKU is listed on a channel when the owner linked it (`listing.linked`, any channel), or, for a
Shopify or WooCommerce channel, when that platform's catalog says so: Shopify's variants carry
the SKU and its inventory item id (`products/create|update`), a simple WooCommerce product
carries its SKU (`product.created|updated`). A variable WooCommerce product's variations carry
their SKUs only in their own resource, so they are linked with `listing.linked`
(`{product_id}/{variation_id}`). A SKU with no listing on a channel is not pushed there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from shopflow.catalog.ports import SkuVariant
from shopflow.channels.model import Channel


@dataclass(frozen=True)
class Listing:
    channel: str
    sku: str
    listing_id: str
    how: Literal["linked", "catalog"]  # the owner's link, or the platform's own catalog


@dataclass(frozen=True)
class ReceivedListing:
    """A verified `listing.linked`: the owner (or an integration hub) says where a SKU is listed."""

    event_id: str
    channel: str
    sku: str
    listing_id: str
    via: str


class ListingStore(Protocol):
    def link(self, channel: str, sku: str, listing_id: str, at: datetime) -> None: ...

    def linked(self, sku: str) -> Mapping[str, str]:
        """The SKU's linked listings: channel name -> listing id."""
        ...


VariantOf = Callable[[str, str], SkuVariant | None]  # (source, sku) -> the catalog's variant


def listing_for(
    channel: Channel, sku: str, linked: Mapping[str, str], variant_of: VariantOf
) -> Listing | None:
    """Where `sku` is on `channel`: the owner's link first, else the platform's catalog."""
    explicit = linked.get(channel.name)
    if explicit:
        return Listing(channel.name, sku, explicit, "linked")
    kind = channel.config.kind
    if kind == "webhook":
        return None
    variant = variant_of(kind, sku)
    if variant is None:
        return None
    if kind == "shopify":
        if variant.inventory_item_id is None:
            return None
        return Listing(channel.name, sku, variant.inventory_item_id, "catalog")
    simple = variant.variant_id == variant.product_id
    listing_id = variant.product_id if simple else f"{variant.product_id}/{variant.variant_id}"
    return Listing(channel.name, sku, listing_id, "catalog")
