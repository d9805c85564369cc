"""The owner's daily email of the price proposals waiting for them (issue 16, item 5).

Once a day the reprice function's schedule carries `DIGEST_INPUT` (template.yaml): when pricing is
on and proposals wait, it writes one `PriceProposalsWaiting` outbox event listing them (at most
`LISTED`, the rest counted). Its id is the day's, and it is written only if it does not exist,
so a schedule that fires twice in a day sends one email. The stream carries it to dispatch,
dispatch to the notify queue, and `PriceProposalMessages` emails the owner (`shop.owner_email`)
once: each proposal's SKU, channel, old and new price, the change, why, its id, and how to
answer (`shopflow prices approve ID`, or the admin route). Transactional: the owner's own
business needs no marketing consent. Pure: the write is handed in (`store/outbox_once.py`).

    announce_waiting(runtime.pricing.proposals(), now, runtime.publish_once)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from shopflow.kernel.messages import CHANNELS, Extras, MessageKind, Outbound, Route
from shopflow.kernel.outbox import OutboxMessage, outbox_id
from shopflow.kernel.queue_messages import EventMessage
from shopflow.kernel.skip import Skip
from shopflow.orders.model import Customer
from shopflow.pricing.model import amount_of, text
from shopflow.stock.flow import NO_OWNER_ADDRESS, owner_of

if TYPE_CHECKING:
    from shopflow.config.settings import Settings
    from shopflow.pricing.state import Proposal

PRICE_PROPOSALS_WAITING = "PriceProposalsWaiting"  # the outbox event (dispatch: the notify queue)
PRICE_PROPOSALS_KIND = "price_proposals"  # the owner's message: templates/<locale>/price_proposals.*
PRICE_PROPOSALS_OWED: tuple[str, ...] = tuple(f"{PRICE_PROPOSALS_KIND}#{channel}" for channel in CHANNELS)
DIGEST_INPUT = {"digest": "price_proposals"}  # what the daily schedule hands the reprice function
LISTED = 50  # proposals an email lists; it counts the rest (the event stays a small item)
# A subject id never collides with an order's ("|" is in no order id) nor another flow's.
DIGEST_SUBJECT_PREFIX = "prices|"
NO_CURRENCY = "XXX"  # the renderer wants one; each line names its own


class BadDigestEvent(ValueError):
    """A PriceProposalsWaiting event that does not list its proposals: it goes to the DLQ."""


@dataclass(frozen=True)
class WaitingLine:
    """One proposal as the email shows it; money in the channel's currency."""

    proposal_id: str
    sku: str
    channel: str
    currency: str
    old: Decimal | None  # None: shopflow never priced the SKU there
    new: Decimal
    rule: str
    reason: str
    proposed_at: datetime

    @property
    def change(self) -> Decimal | None:
        """The change in percent of the old price (-21.7), None for a first price."""
        if self.old is None or self.old == 0:
            return None
        return ((self.new - self.old) / self.old * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)

    @classmethod
    def of(cls, proposal: Proposal) -> WaitingLine:
        return cls(
            proposal.proposal_id,
            proposal.sku,
            proposal.channel,
            proposal.currency,
            proposal.old,
            proposal.new,
            proposal.rule,
            proposal.reason,
            proposal.proposed_at,
        )


@dataclass(frozen=True)
class WaitingProposals:
    day: str  # the UTC date the email is for: one a day
    lines: tuple[WaitingLine, ...]
    more: int  # proposals waiting beyond `lines`
    at: datetime

    @property
    def count(self) -> int:
        return len(self.lines) + self.more


def digest_day(now: datetime) -> str:
    return now.astimezone(UTC).date().isoformat()


def digest_subject_id(day: str) -> str:
    """Where the email's send-once records and timeline are filed (`store/orders.subject_pk`)."""
    return f"{DIGEST_SUBJECT_PREFIX}{day}"


def waiting_message(proposals: Sequence[Proposal], now: datetime) -> OutboxMessage:
    """The day's event listing `proposals` (oldest first); its id is the day's."""
    if not proposals:
        raise ValueError("a PriceProposalsWaiting event lists at least one proposal")
    if now.tzinfo is None:
        raise ValueError("the digest's time is aware (UTC)")
    day = digest_day(now)
    listed = proposals[:LISTED]
    payload = {
        "day": day,
        "proposals": [
            {
                "id": p.proposal_id,
                "sku": p.sku,
                "channel": p.channel,
                "currency": p.currency,
                "old": text(p.old),
                "new": text(p.new),
                "rule": p.rule,
                "reason": p.reason,
                "proposed_at": p.proposed_at.isoformat(),
            }
            for p in listed
        ],
        "more": len(proposals) - len(listed),
        "at": now.isoformat(),
    }
    return OutboxMessage(
        outbox_id=outbox_id((f"price-proposals:{day}",), PRICE_PROPOSALS_WAITING),
        event_type=PRICE_PROPOSALS_WAITING,
        payload=json.dumps(payload, separators=(",", ":")),
    )


def waiting_from_event(event: Mapping[str, Any]) -> WaitingProposals:
    """The proposals a PriceProposalsWaiting event lists (what `waiting_message` wrote)."""
    try:
        lines = tuple(
            WaitingLine(
                proposal_id=str(line["id"]),
                sku=str(line["sku"]),
                channel=str(line["channel"]),
                currency=str(line["currency"]),
                old=amount_of(line.get("old")),
                new=Decimal(str(line["new"])),
                rule=str(line["rule"]),
                reason=str(line["reason"]),
                proposed_at=datetime.fromisoformat(str(line["proposed_at"])),
            )
            for line in event["proposals"]
        )
        waiting = WaitingProposals(
            day=str(event["day"]),
            lines=lines,
            more=int(event.get("more") or 0),
            at=datetime.fromisoformat(str(event["at"])),
        )
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise BadDigestEvent(
            f"{PRICE_PROPOSALS_WAITING} without its proposals: {type(exc).__name__}"
        ) from None
    if not waiting.lines or waiting.at.tzinfo is None:
        raise BadDigestEvent(f"{PRICE_PROPOSALS_WAITING} lists no proposal or has a naive time")
    return waiting


# (message, the messages it owes, now) -> False when the day's event was written already.
Publish = Callable[[OutboxMessage, Sequence[str], datetime], bool]


def announce_waiting(proposals: Sequence[Proposal], now: datetime, publish: Publish) -> dict[str, Any]:
    """The day's event when proposals wait (pricing is on: the caller checks); what happened."""
    if not proposals:
        return {"sent": False, "reason": "no proposal waits"}
    message = waiting_message(proposals, now)
    if not publish(message, PRICE_PROPOSALS_OWED, now):
        return {"sent": False, "reason": f"the email of {digest_day(now)} is on its way already"}
    return {"sent": True, "proposals": len(proposals), "event": message.outbox_id}


# -- the owner's message ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PriceProposalsNotice:
    """What the owner's message is about, as the notify pipeline and the templates see it:
    `subject.lines` (each with `.sku`, `.channel`, `.old`, `.new`, `.currency`, `.change`,
    `.rule`, `.reason`, `.proposal_id`), `.more`, `.count`, `.at`; the owner as `customer`."""

    waiting: WaitingProposals
    event_id: str
    customer: Customer  # the owner
    currency: str = NO_CURRENCY

    @property
    def subject_id(self) -> str:
        return digest_subject_id(self.waiting.day)

    @property
    def status(self) -> str:
        return "waiting"  # what the timeline line says the subject is

    @property
    def source(self) -> str:
        return "pricing"

    @property
    def lines(self) -> tuple[WaitingLine, ...]:
        return self.waiting.lines

    @property
    def more(self) -> int:
        return self.waiting.more

    @property
    def count(self) -> int:
        return self.waiting.count

    @property
    def at(self) -> datetime:
        return self.waiting.at


@dataclass
class PriceProposalMessages:
    settings: Callable[[], Settings]
    # Its capability's message kinds (capability.py), handed in: the declaration imports the flow.
    kinds: tuple[MessageKind, ...] = field(kw_only=True)

    def routes(self, outbound: Outbound) -> Iterable[Route]:
        def heard(message: EventMessage) -> None:
            self.notify(waiting_from_event(message.event), outbound, cause=message.outbox_id)

        return [(PRICE_PROPOSALS_WAITING, EventMessage, heard)]

    def notify(self, waiting: WaitingProposals, outbound: Outbound, *, cause: str) -> None:
        """Email the owner the day's list; the same event again finds its records settled."""
        owner = owner_of(self.settings())
        notice = PriceProposalsNotice(waiting=waiting, event_id=cause, customer=owner or Customer())
        if owner is None:
            outbound.skip_waiting(notice, PRICE_PROPOSALS_KIND, cause=cause, reason=NO_OWNER_ADDRESS)
            return
        outbound.send(notice, PRICE_PROPOSALS_KIND, cause=cause)

    def subject(self, subject_id: str) -> PriceProposalsNotice | None:
        return None  # nothing is held: an SMS to the owner is skipped (no phone of theirs)

    def recheck(self, subject: PriceProposalsNotice, kind: str, now: datetime) -> PriceProposalsNotice:
        return subject  # the list as it was that morning; the owner's `prices proposals` shows now

    def extras(self, subject: PriceProposalsNotice, kind: str) -> Extras | Skip:
        return Extras()
