"""Replenishment reminders as a message flow: a delivered order's consumables are about to run out.

Delivery arms one `replenishment` timer per order holding consumables (`replenishment/timers.py`);
when it fires, a `ReplenishmentDue` reaches the notify queue and this flow checks the order
again: still delivered, a consumption period for its products now, not bought again since. The
message names only what was not bought again, each linked to its page (or the shop's home page).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from shopflow.kernel.messages import Extras, MessageKind, Outbound, Route
from shopflow.kernel.queue_messages import ReplenishmentDue
from shopflow.kernel.skip import Skip
from shopflow.orders.model import Order
from shopflow.orders.pages import shop_links
from shopflow.orders.ports import StoredOrder
from shopflow.orders.purchases import BuyerIndex, buyer_keys, pause_after_order
from shopflow.replenishment.rules import (
    REPLENISHMENT,
    TagLookup,
    check_reminder,
    consumables_of,
    replenishment_rules,
)

if TYPE_CHECKING:  # settings are handed in; reading them needs no import
    from shopflow.config.settings import Settings


class NoSuchOrder(ValueError):
    """A reminder for an order that does not exist: it goes to the DLQ after its receives."""


@dataclass
class ReplenishmentReminders:
    get_order: Callable[[str], StoredOrder | None]
    buyers: BuyerIndex | None
    settings: Callable[[], Settings]
    clock_now: Callable[[], datetime]
    read_tags: TagLookup | None = None  # the catalog's product tags, for tag rules
    # Its capability's message kinds (capability.py), handed in: the declaration imports the flow.
    kinds: tuple[MessageKind, ...] = field(kw_only=True)

    def routes(self, outbound: Outbound) -> Iterable[Route]:
        return [(REPLENISHMENT, ReplenishmentDue, lambda message: self.remind(message, outbound))]

    def remind(self, message: ReplenishmentDue, outbound: Outbound) -> None:
        order = self.subject(message.order_id)
        if order is None:
            raise NoSuchOrder(f"replenishment reminder for {message.order_id}: no such order")
        cause = f"replenish#{order.order_id}"
        checked = self.recheck(order, REPLENISHMENT, self.clock_now())
        if isinstance(checked, Skip):
            outbound.skip_waiting(order, REPLENISHMENT, cause=cause, reason=checked.reason)
            return
        outbound.send(checked, REPLENISHMENT, cause=cause)

    def subject(self, subject_id: str) -> Order | None:
        stored = self.get_order(subject_id)
        return stored.order if stored else None

    def recheck(self, subject: Order, kind: str, now: datetime) -> Order | Skip:
        """The order as the reminder names it (only the consumables not bought again), or why not."""
        settings = self.settings()
        pause = pause_after_order(settings)
        since = min(subject.placed_at or now, now - pause)
        keys = buyer_keys(subject.source, subject.customer)
        checked = check_reminder(
            subject,
            consumables_of(subject, replenishment_rules(settings), self.read_tags),
            purchases=self.buyers.orders_since(keys, since) if (keys and self.buyers) else [],
            now=now,
            pause_after_order=pause,
        )
        if isinstance(checked, Skip):
            return checked
        return subject.model_copy(update={"lines": tuple(item.line for item in checked.items)})

    def extras(self, subject: Order, kind: str) -> Extras | Skip:
        settings = self.settings()
        template, shop_url = settings.get("notify.replenishment.url_template"), settings.get("shop.url")
        links = shop_links(
            subject,
            template if isinstance(template, str) and template else None,
            shop_url if isinstance(shop_url, str) and shop_url else None,
        )
        if not links:
            return Skip("no product page or shop.url to link to")
        return Extras(product_links=links)
