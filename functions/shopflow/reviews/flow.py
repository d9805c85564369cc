"""Review requests: some days after delivery the customer is asked to review what they bought.

Delivery arms a `review_request` timer (`reviews/timers.py`); when it fires, one `HeldMessage`
per channel goes to the notify queue and the pipeline asks this flow, just before sending,
whether the request may still go: the order must still be delivered (not returned or refunded
meanwhile), the customer must not have ordered again within the pause, and there must be a
review page to link to. Marketing: it needs the customer's consent for the channel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from shopflow.kernel.messages import Extras, MessageKind, Outbound, Route
from shopflow.kernel.skip import Skip
from shopflow.orders.model import Order, OrderStatus, ordered_recently
from shopflow.orders.pages import product_links
from shopflow.orders.ports import StoredOrder
from shopflow.orders.purchases import BuyerIndex, buyer_keys, pause_after_order

if TYPE_CHECKING:  # settings are handed in; reading them needs no import
    from shopflow.config.settings import Settings


@dataclass
class ReviewRequests:
    get_order: Callable[[str], StoredOrder | None]
    buyers: BuyerIndex | None
    settings: Callable[[], Settings]
    # Its capability's message kinds (capability.py), handed in: the declaration imports the flow.
    kinds: tuple[MessageKind, ...] = field(kw_only=True)

    def routes(self, outbound: Outbound) -> Iterable[Route]:
        return ()  # each channel's request arrives as a HeldMessage (reviews/timers.py)

    def subject(self, subject_id: str) -> Order | None:
        stored = self.get_order(subject_id)
        return stored.order if stored else None

    def recheck(self, subject: Order, kind: str, now: datetime) -> Order | Skip:
        if returned := _not_delivered(subject):
            return returned
        pause = pause_after_order(self.settings())
        keys = buyer_keys(subject.source, subject.customer)
        recent = self.buyers.orders_since(keys, now - pause) if (keys and self.buyers) else []
        why = ordered_recently(recent, now, pause, besides=subject.order_id)
        return Skip(why) if why else subject

    def extras(self, subject: Order, kind: str) -> Extras | Skip:
        if returned := _not_delivered(subject):  # also when a message is delivered without a recheck
            return returned
        template = self.settings().get("notify.review.url_template")
        if not isinstance(template, str) or not template:
            return Skip("no review page configured (notify.review.url_template)")
        links = product_links(subject, template)
        if not links:
            return Skip("no product of the order has a review page")
        return Extras(product_links=links)


def _not_delivered(order: Order) -> Skip | None:
    """A review is asked only of a delivered order (not one returned or refunded since)."""
    return Skip(f"order is {order.status} now") if order.status is not OrderStatus.DELIVERED else None
