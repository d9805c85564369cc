"""The owner's message about an oversell: which SKUs a paid order took beyond what was there.

A `StockOversold` event (`stock/oversell.py`) reaches the notify queue as an `EventMessage`;
this flow makes the message's subject, `OversellNotice`, and hands it to the notify pipeline,
which sends it once and settles it. The notice is filed under the order (its send-once record
and its timeline line are the order's: the owner finds it in `shopflow orders get`), and it is
addressed to the owner (`shop.owner_email`, in the shop's language and time zone), not to the
order's customer. Without an owner address the message is skipped, the reason on that timeline.
Transactional: the owner's own business needs no marketing consent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from shopflow.kernel.messages import Extras, MessageKind, Outbound, Route
from shopflow.kernel.queue_messages import EventMessage
from shopflow.kernel.skip import Skip
from shopflow.orders.model import Customer
from shopflow.stock.oversell import (
    OVERSOLD_KIND,
    STOCK_OVERSOLD,
    OversellReport,
    OversoldLine,
    report_from_event,
)

if TYPE_CHECKING:  # settings are handed in; reading them needs no import
    from shopflow.config.settings import Settings
    from shopflow.orders.ports import StoredOrder

NO_OWNER_ADDRESS = "no owner address configured (shop.owner_email)"


class OversoldOrderMissing(Exception):
    """The event's order is not readable (it is committed with the event): SQS brings it back."""


@dataclass(frozen=True)
class OversellNotice:
    """What the owner's message is about, as the notify pipeline and the templates see it: the
    order's id, status, source and currency (its records and timeline are the order's), the
    owner as the `customer` it goes to, and the report (`subject.lines` in the templates)."""

    report: OversellReport
    status: str  # the order's, now
    currency: str  # the order's (the templates' number formats need one)
    customer: Customer  # the owner

    @property
    def subject_id(self) -> str:
        return self.report.order_id

    @property
    def source(self) -> str:
        return self.report.source

    @property
    def order_number(self) -> str:
        return self.report.order_number

    @property
    def lines(self) -> tuple[OversoldLine, ...]:
        return self.report.lines

    @property
    def at(self) -> datetime:
        return self.report.at


def owner_of(settings: Settings) -> Customer | None:
    """The owner as a message's recipient: `shop.owner_email`, in the shop's default language
    (`notify.locale_fallback`) and time zone (`shop.timezone`); None when no address is set."""
    address = settings.get("shop.owner_email")
    if not isinstance(address, str) or not address:
        return None
    return Customer(
        email=address,
        locale=str(settings.get("notify.locale_fallback")),
        timezone=str(settings.get("shop.timezone")),
    )


@dataclass
class OversellMessages:
    get_order: Callable[[str], StoredOrder | None]
    settings: Callable[[], Settings]
    # Its capability's message kinds (capability.py), handed in: the declaration imports the flow.
    kinds: tuple[MessageKind, ...] = field(kw_only=True)

    def routes(self, outbound: Outbound) -> Iterable[Route]:
        def heard(message: EventMessage) -> None:
            self.notify(report_from_event(message.event), outbound, cause=message.outbox_id)

        return [(STOCK_OVERSOLD, EventMessage, heard)]

    def notify(self, report: OversellReport, outbound: Outbound, *, cause: str) -> None:
        """Send the owner the report (a repeated event finds its records settled: one email)."""
        stored = self.get_order(report.order_id)
        if stored is None:  # cannot happen: the report is committed with the order
            raise OversoldOrderMissing(f"order {report.order_id} not found")
        owner = owner_of(self.settings())
        notice = OversellNotice(
            report=report,
            status=stored.order.status.value,
            currency=stored.order.currency,
            customer=owner or Customer(),
        )
        if owner is None:
            outbound.skip_waiting(notice, OVERSOLD_KIND, cause=cause, reason=NO_OWNER_ADDRESS)
            return
        outbound.send(notice, OVERSOLD_KIND, cause=cause)

    def subject(self, subject_id: str) -> OversellNotice | None:
        # Only a held message asks (quiet hours hold an SMS, never an email) and the owner's
        # message is never held: an SMS to the owner is skipped, shopflow knows no phone of theirs.
        return None

    def recheck(self, subject: OversellNotice, kind: str, now: datetime) -> OversellNotice:
        return subject  # what was oversold stays so; restocking since does not unsay it

    def extras(self, subject: OversellNotice, kind: str) -> Extras | Skip:
        return Extras()
