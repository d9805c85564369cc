"""Which SKU is which listing on each channel (issue 15, item 3): the owner's link first, else
the platform's own catalog; a webhook channel only by link."""

from __future__ import annotations

from shopflow.catalog.ports import SkuVariant
from shopflow.channels.listings import Listing, listing_for
from shopflow.channels.model import Channel, ShowRules
from shopflow.channels.ports import ChannelConfig, ChannelKind


def channel(name: str, kind: ChannelKind) -> Channel:
    return Channel(ChannelConfig(name, kind, "https://example.com", "token", "1"), ShowRules())


VARIANTS = {
    ("shopify", "MUG-01"): SkuVariant("shopify", "MUG-01", "632910392", "808950810", "39072856"),
    ("woocommerce", "MUG-01"): SkuVariant("woocommerce", "MUG-01", "799", "799", None),
    ("woocommerce", "TEE-M"): SkuVariant("woocommerce", "TEE-M", "800", "801", None),
}


def variant_of(source: str, sku: str) -> SkuVariant | None:
    return VARIANTS.get((source, sku))


def test_a_shopify_channel_lists_a_sku_by_its_variants_inventory_item() -> None:
    assert listing_for(channel("main", "shopify"), "MUG-01", {}, variant_of) == Listing(
        "main", "MUG-01", "39072856", "catalog"
    )


def test_a_woocommerce_simple_product_is_its_own_listing_a_variation_names_its_parent() -> None:
    woo = channel("woo", "woocommerce")

    assert listing_for(woo, "MUG-01", {}, variant_of) == Listing("woo", "MUG-01", "799", "catalog")
    assert listing_for(woo, "TEE-M", {}, variant_of) == Listing("woo", "TEE-M", "800/801", "catalog")


def test_the_owners_link_comes_first_and_a_webhook_channel_needs_one() -> None:
    hub = channel("allegro", "webhook")

    assert listing_for(hub, "MUG-01", {}, variant_of) is None
    assert listing_for(hub, "MUG-01", {"allegro": "offer-7"}, variant_of) == Listing(
        "allegro", "MUG-01", "offer-7", "linked"
    )
    assert listing_for(channel("main", "shopify"), "MUG-01", {"main": "111"}, variant_of) == Listing(
        "main", "MUG-01", "111", "linked"
    )


def test_a_sku_the_channel_does_not_carry_is_not_listed() -> None:
    assert listing_for(channel("main", "shopify"), "NOPE", {}, variant_of) is None
