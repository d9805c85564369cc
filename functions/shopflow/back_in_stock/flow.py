"""Back-in-stock alerts as a message flow: the batch hands each alert to notify as a HeldMessage
(one channel: the subscription's email, else its phone), and just before it goes this flow checks
again: still subscribed, not bought since subscribing, and the SKU not sold out again (an SMS
held by quiet hours goes hours later; sold out, it goes back to its place in the queue, unsent).
The alert is one the customer asked for (`requested`): no marketing consent, no frequency cap;
opt-outs apply and its email carries a one-click stop of back-in-stock alerts only (the notify
pipeline does that for every requested kind).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from shopflow.back_in_stock.model import SUBJECT_PREFIX, Subscription, SubscriptionStatus, bought_since
from shopflow.back_in_stock.ports import NotWaiting
from shopflow.kernel.messages import Extras, MessageKind, NotYet, Outbound, Route
from shopflow.kernel.skip import Skip
from shopflow.kernel.timeline import TimelineEntry
from shopflow.orders.model import PastOrder
from shopflow.orders.purchases import buyer_keys

if TYPE_CHECKING:  # settings are handed in; reading them needs no import
    from shopflow.config.settings import Settings


@dataclass
class BackInStockAlerts:
    get: Callable[[str, str], Subscription | None]  # (contact, sku) -> the subscription
    requeue: Callable[[Subscription, TimelineEntry], None]
    atp_of: Callable[[str], int | None]
    purchases_since: Callable[[Sequence[str], datetime], list[PastOrder]] | None
    settings: Callable[[], Settings]
    # Its capability's message kinds (capability.py), handed in: the declaration imports the flow.
    kinds: tuple[MessageKind, ...] = field(kw_only=True)

    def routes(self, outbound: Outbound) -> Iterable[Route]:
        return ()  # each alert arrives as a HeldMessage from its batch (service.run_batch)

    def subject(self, subject_id: str) -> Subscription | None:
        if not subject_id.startswith(SUBJECT_PREFIX):
            return None
        contact, _, sku = subject_id.removeprefix(SUBJECT_PREFIX).partition("|")
        return self.get(contact, sku)

    def recheck(self, subject: Subscription, kind: str, now: datetime) -> Subscription | Skip | NotYet:
        if subject.status is SubscriptionStatus.UNSUBSCRIBED:
            return Skip("unsubscribed from this alert")
        if self.purchases_since is not None:
            keys = buyer_keys(subject.source, subject.customer)
            if keys and (why := bought_since(subject, self.purchases_since(keys, subject.since))):
                return Skip(why)
        if (self.atp_of(subject.sku) or 0) <= 0:
            # Not sent, so not spent: back at its place for the next restock, whose batch hands
            # it to notify again (an SMS held by quiet hours then finds its record still pending).
            line = f"{subject.sku} sold out again before the alert went: back in the queue at its place"
            entry = TimelineEntry(
                at=now, recorded_at=now, event="requeued", status="waiting", source="notify", detail=line
            )
            with suppress(NotWaiting):  # back already (the same message delivered twice)
                self.requeue(subject, entry)
            return NotYet()
        return subject

    def extras(self, subject: Subscription, kind: str) -> Extras | Skip:
        page = subject.product_url or self.settings().get("shop.url")
        if not isinstance(page, str) or not page:
            return Skip("no product link: the subscription has no product_url and shop.url is not set")
        return Extras(product_links=((subject.sku, page),))
