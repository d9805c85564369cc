"""The owner's message about a channel: paused, the breaker tripped, drift found, pushes given up.

A `ChannelAlert` event (`channels/alerts.py`) reaches the notify queue as an `EventMessage`;
this flow makes the message's subject, `ChannelAlertNotice`, and hands it to the notify
pipeline, which sends it once and settles it. A channel has no order to file the message under,
so each alert is its own subject, `channel|{name}|{event id}` (its send-once records and
timeline live under pk `CHANNELALERT#{name}#{event id}`, `store/orders.subject_pk`): the same
event delivered twice finds its records settled. Addressed to the owner (`shop.owner_email`, in
the shop's language and time zone); without an owner address it is skipped, the reason on that
timeline. Transactional: the owner's own business needs no marketing consent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from shopflow.channels.alerts import (
    CHANNEL_ALERT,
    CHANNEL_ALERT_KIND,
    AlertLine,
    ChannelAlert,
    alert_from_event,
    alert_subject_id,
)
from shopflow.kernel.messages import Extras, MessageKind, Outbound, Route
from shopflow.kernel.queue_messages import EventMessage
from shopflow.kernel.skip import Skip
from shopflow.orders.model import Customer
from shopflow.stock.flow import NO_OWNER_ADDRESS, owner_of

if TYPE_CHECKING:  # settings are handed in; reading them needs no import
    from shopflow.config.settings import Settings

__all__ = ["NO_OWNER_ADDRESS", "ChannelAlertMessages", "ChannelAlertNotice"]

# The renderer wants a currency for its number formats; an alert shows no money: ISO 4217's
# "no currency" code.
NO_CURRENCY = "XXX"


@dataclass(frozen=True)
class ChannelAlertNotice:
    """What the owner's message is about, as the notify pipeline and the templates see it: the
    alert (`subject.channel`, `.kind`, `.reason`, `.lines`, `.sku_count`, `.more`, `.at`), filed
    under its own subject id, going to the owner as the `customer`."""

    alert: ChannelAlert
    event_id: str  # the ChannelAlert event's outbox id: one subject per alert
    customer: Customer  # the owner
    currency: str = NO_CURRENCY

    @property
    def subject_id(self) -> str:
        return alert_subject_id(self.alert.channel, self.event_id)

    @property
    def status(self) -> str:
        return self.alert.kind  # what the timeline line says the subject is: paused, drift, ...

    @property
    def source(self) -> str:
        return self.alert.channel

    @property
    def channel(self) -> str:
        return self.alert.channel

    @property
    def kind(self) -> str:
        return self.alert.kind

    @property
    def reason(self) -> str:
        return self.alert.reason

    @property
    def lines(self) -> tuple[AlertLine, ...]:
        return self.alert.details

    @property
    def sku_count(self) -> int:
        return self.alert.sku_count

    @property
    def more(self) -> int:
        return self.alert.more

    @property
    def at(self) -> datetime:
        return self.alert.at


@dataclass
class ChannelAlertMessages:
    settings: Callable[[], Settings]
    # Its capability's message kinds (capability.py), handed in: the declaration imports the flow.
    kinds: tuple[MessageKind, ...] = field(kw_only=True)

    def routes(self, outbound: Outbound) -> Iterable[Route]:
        def heard(message: EventMessage) -> None:
            self.notify(alert_from_event(message.event), outbound, cause=message.outbox_id)

        return [(CHANNEL_ALERT, EventMessage, heard)]

    def notify(self, alert: ChannelAlert, outbound: Outbound, *, cause: str) -> None:
        """Send the owner the alert `cause` (its event id) announced; a repeated event finds its
        records settled: one email."""
        owner = owner_of(self.settings())
        notice = ChannelAlertNotice(alert=alert, event_id=cause, customer=owner or Customer())
        if owner is None:
            outbound.skip_waiting(notice, CHANNEL_ALERT_KIND, cause=cause, reason=NO_OWNER_ADDRESS)
            return
        outbound.send(notice, CHANNEL_ALERT_KIND, cause=cause)

    def subject(self, subject_id: str) -> ChannelAlertNotice | None:
        # Only a held message asks (quiet hours hold an SMS, never an email), and an SMS to the
        # owner is skipped: shopflow knows no phone of theirs. Nothing is ever held.
        return None

    def recheck(self, subject: ChannelAlertNotice, kind: str, now: datetime) -> ChannelAlertNotice:
        return subject  # what happened stays so; a resume since does not unsay it

    def extras(self, subject: ChannelAlertNotice, kind: str) -> Extras | Skip:
        return Extras()
