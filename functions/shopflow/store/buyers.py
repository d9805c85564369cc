"""Who bought what, when: the index the reminders ask "did this customer order since ...?".

An order's first details write one `BuyerItem` per identifier of its buyer (platform customer
id, email, phone, the cart/checkout tokens it was placed from) right after the intake
transaction, before the sender is answered, so a reminder due one second after the order
already sees it; notify writes them again when it handles the `OrderPlaced` event, so a crash
between the two writes loses nothing (decision 30). A cart is matched by whichever of
those identifiers it has: a guest checkout has an email or a token, not a customer id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from shopflow.orders.model import Order, PastOrder
from shopflow.orders.purchases import order_buyer_keys, order_products
from shopflow.store.models import BuyerItem, iso


def buyer_pk(key: str) -> str:
    return "BUYER#" + hashlib.sha256(key.encode()).hexdigest()


def buyer_items(order: Order, placed_at: datetime) -> list[BuyerItem]:
    """The index entries of a newly placed order."""
    stamp = iso(placed_at)
    products = json.dumps(sorted(order_products(order)))
    return [
        BuyerItem(
            buyer_pk(key),
            f"PLACED#{stamp}#{order.order_id}",
            item_type="BUYER",
            order_id=order.order_id,
            placed_at=stamp,
            products=products,
        )
        for key in order_buyer_keys(order)
    ]


class DynamoBuyerIndex:
    """One Query per key (a buyer has a handful of keys and few orders)."""

    def record(self, order: Order, placed_at: datetime) -> None:
        # Puts of the same items: writing them again (a retried delivery, notify's backstop for
        # a crash right after the intake commit) changes nothing.
        with BuyerItem.batch_write() as batch:
            for item in buyer_items(order, placed_at):
                batch.save(item)

    def orders_since(self, keys: Sequence[str], since: datetime) -> list[PastOrder]:
        found: dict[str, PastOrder] = {}
        lower = f"PLACED#{iso(since)}"
        for key in keys:
            for item in BuyerItem.query(buyer_pk(key), BuyerItem.sk >= lower, consistent_read=True):
                found[item.order_id] = PastOrder(
                    item.order_id,
                    datetime.fromisoformat(item.placed_at.replace("Z", "+00:00")),
                    frozenset(json.loads(item.products)),
                )
        return sorted(found.values(), key=lambda past: past.placed_at)


@dataclass
class InMemoryBuyerIndex:
    entries: dict[str, list[PastOrder]] = field(default_factory=dict)

    def record(self, order: Order, placed_at: datetime) -> None:
        for key in order_buyer_keys(order):
            known = self.entries.setdefault(key, [])
            if all(p.order_id != order.order_id for p in known):
                known.append(PastOrder(order.order_id, placed_at, order_products(order)))

    def orders_since(self, keys: Sequence[str], since: datetime) -> list[PastOrder]:
        found = {p.order_id: p for key in keys for p in self.entries.get(key, []) if p.placed_at >= since}
        return sorted(found.values(), key=lambda past: past.placed_at)
