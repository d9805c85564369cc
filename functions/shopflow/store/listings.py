"""Where the owner linked each SKU on each channel: pk `LISTING#{sku}`, sk `CHANNEL#{channel}`
(one Query finds a SKU's listings on every channel)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from shopflow.store.models import ListingItem, iso


def listing_pk(sku: str) -> str:
    return f"LISTING#{sku}"


class DynamoListings:
    def link(self, channel: str, sku: str, listing_id: str, at: datetime) -> None:
        ListingItem(
            listing_pk(sku),
            f"CHANNEL#{channel}",
            item_type="LISTING",
            listing_id=listing_id,
            linked_at=iso(at),
        ).save()

    def linked(self, sku: str) -> Mapping[str, str]:
        return {
            item.sk.removeprefix("CHANNEL#"): item.listing_id
            for item in ListingItem.query(listing_pk(sku), ListingItem.sk.startswith("CHANNEL#"))
        }
