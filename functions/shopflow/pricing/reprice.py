"""A reprice of one SKU, and the owner's answer to a proposal: pure, time and inputs handed in.

`reprice` runs the engine on every pricing channel and says what changes: prices applied (each
published as `PriceChanged`, pushed to the channel, recorded in the SKU's history), proposals
opened for the owner, proposals closed because their inputs moved, and the last decision per
channel. `approve` applies a waiting proposal only if the engine, run again now, still wants that
price from the same inputs; otherwise it is refused with the reason and closed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from shopflow.pricing.engine import Pricer
from shopflow.pricing.model import PriceDecision, amount_of, text
from shopflow.pricing.state import ChannelPrice, Proposal, SkuPrices, decision_digest, proposal_id


@dataclass(frozen=True, slots=True)
class PriceChange:
    """A price applied on a channel: what is pushed there and kept in the history."""

    sku: str
    channel: str
    currency: str
    old: Decimal | None
    price: Decimal
    was: Decimal | None  # the 30-day low, announced because `price` is under it
    lowest_30d: Decimal | None
    sequence: int
    rule: str
    reason: str
    actor: str  # "reprice" or "owner"
    at: datetime

    def as_dict(self) -> dict[str, str | int | None]:
        return {
            "sku": self.sku,
            "channel": self.channel,
            "currency": self.currency,
            "old": text(self.old),
            "price": text(self.price),
            "was": text(self.was),
            "lowest_30d": text(self.lowest_30d),
            "sequence": self.sequence,
            "rule": self.rule,
            "reason": self.reason,
            "actor": self.actor,
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PriceChange:
        def amount(key: str) -> Decimal | None:
            return amount_of(data.get(key))

        price = amount("price")
        assert price is not None
        return cls(
            sku=str(data["sku"]),
            channel=str(data["channel"]),
            currency=str(data["currency"]),
            old=amount("old"),
            price=price,
            was=amount("was"),
            lowest_30d=amount("lowest_30d"),
            sequence=int(data["sequence"]),
            rule=str(data["rule"]),
            reason=str(data["reason"]),
            actor=str(data["actor"]),
            at=datetime.fromisoformat(str(data["at"])),
        )


@dataclass(frozen=True, slots=True)
class Repriced:
    """What one evaluation of a SKU changes; `after` is written only when it differs from `before`."""

    before: SkuPrices
    after: SkuPrices
    applied: tuple[PriceChange, ...] = ()
    opened: tuple[Proposal, ...] = ()
    closed: tuple[Proposal, ...] = ()
    decisions: tuple[PriceDecision, ...] = ()

    @property
    def changed(self) -> bool:
        return self.after != self.before


def _record(decision: PriceDecision, now: datetime, actor: str) -> dict[str, str | None]:
    return {**decision.as_dict(), "at": now.isoformat(), "actor": actor}


def _same(last: Mapping[str, str | None] | None, decision: PriceDecision) -> bool:
    """The decision says what the kept one said: no write for it (a reprice every 15 minutes)."""
    if last is None:
        return False
    record = decision.as_dict()
    return all(last.get(key) == record[key] for key in ("status", "new", "old", "rule", "reason"))


def _change(
    decision: PriceDecision, before: ChannelPrice, after: ChannelPrice, now: datetime, actor: str
) -> PriceChange:
    assert after.price is not None
    return PriceChange(
        sku=decision.sku,
        channel=decision.channel,
        currency=decision.currency,
        old=before.price,
        price=after.price,
        was=after.was,
        lowest_30d=before.lowest_30d(now),
        sequence=after.sequence,
        rule=decision.rule,
        reason=decision.reason,
        actor=actor,
        at=now,
    )


def reprice(
    state: SkuPrices,
    pricer: Pricer,
    *,
    stock: int | None,
    now: datetime,
    actor: str = "reprice",
    sales_per_day: Decimal | None = None,
) -> Repriced:
    """Run the engine on the SKU for every channel of `pricer`; what changes, channel by channel."""
    listings = {
        terms.channel.name: state.channel(terms.channel.name, terms.channel.currency).listing(
            terms.channel.name, now
        )
        for terms in pricer.terms
    }
    decisions = pricer.evaluate(
        state.pricing(stock, sales_per_day), state.competitors.values(), listings, now
    )
    after = state
    applied: list[PriceChange] = []
    opened: list[Proposal] = []
    closed: list[Proposal] = []
    for decision in decisions:
        before = state.channel(decision.channel, decision.currency)
        channel = before
        if decision.status == "applied" and decision.new is not None:
            channel = before.applied(decision.new, now)
            applied.append(_change(decision, before, channel, now, actor))
            if before.proposal is not None:
                closed.append(before.proposal)
        elif decision.status == "proposed" and decision.new is not None:
            digest = decision_digest(decision)
            if before.proposal is None or before.proposal.digest != digest:
                if before.proposal is not None:
                    closed.append(before.proposal)
                proposal = Proposal(
                    proposal_id=proposal_id(decision.sku, decision.channel, digest),
                    sku=decision.sku,
                    channel=decision.channel,
                    currency=decision.currency,
                    old=decision.old,
                    new=decision.new,
                    rule=decision.rule,
                    reason=decision.reason,
                    digest=digest,
                    proposed_at=now,
                )
                if digest != before.declined:
                    opened.append(proposal)
                    channel = replace(channel, proposal=proposal)
                else:  # the owner said no to exactly this: not asked again until something moves
                    after = after.with_channel(decision.channel, replace(channel, proposal=None))
                    continue
        elif before.proposal is not None:  # the engine no longer proposes it: its inputs moved
            closed.append(before.proposal)
            channel = replace(channel, proposal=None)
        if decision.status != "unchanged" and not _same(before.last, decision):
            channel = replace(channel, last=_record(decision, now, actor))
        if channel != before or decision.channel not in state.channels:
            after = after.with_channel(decision.channel, channel)
    return Repriced(state, after, tuple(applied), tuple(opened), tuple(closed), tuple(decisions))


class ProposalRefused(Exception):
    """The proposal is unknown, already gone, or its inputs changed since it was made."""


def find_proposal(state: SkuPrices, wanted: str) -> tuple[str, Proposal] | None:
    for name, channel in state.channels.items():
        if channel.proposal is not None and channel.proposal.proposal_id == wanted:
            return name, channel.proposal
    return None


def approve(
    state: SkuPrices,
    wanted: str,
    pricer: Pricer,
    *,
    stock: int | None,
    now: datetime,
    sales_per_day: Decimal | None = None,
) -> Repriced:
    """Apply proposal `wanted` if the engine, run now, wants the same price from the same inputs.
    Raises `ProposalRefused` with the reason otherwise (the caller closes the proposal)."""
    found = find_proposal(state, wanted)
    if found is None:
        raise ProposalRefused(f"{wanted}: no such proposal waits (approved, rejected or expired already)")
    name, proposal = found
    listings = {name: state.channel(name, proposal.currency).listing(name, now)}
    decisions = pricer.evaluate(
        state.pricing(stock, sales_per_day), state.competitors.values(), listings, now
    )
    decision = decisions[0] if decisions else None
    if decision is None:
        raise ProposalRefused(f"{wanted}: channel {name} is no longer priced (see `shopflow config show`)")
    if decision.status not in ("proposed", "applied") or decision_digest(decision) != proposal.digest:
        now_says = f"{decision.status} {text(decision.new) or ''}: {decision.reason}".replace("  ", " ")
        raise ProposalRefused(
            f"{wanted}: its inputs changed since it was proposed at {proposal.proposed_at:%Y-%m-%d %H:%M} "
            f"(the engine now says {now_says}); nothing applied"
        )
    before = state.channel(name, proposal.currency)
    channel = before.applied(proposal.new, now)
    approved = decision._replace(status="applied", reason=f"approved by the owner ({proposal.reason})")
    channel = replace(channel, last=_record(approved, now, "owner"), declined=None)
    change = _change(approved, before, channel, now, "owner")
    return Repriced(state, state.with_channel(name, channel), (change,), (), (proposal,), (approved,))


def reject(state: SkuPrices, wanted: str, now: datetime) -> Repriced:
    """Close proposal `wanted`; the engine does not ask again for the same inputs."""
    found = find_proposal(state, wanted)
    if found is None:
        raise ProposalRefused(f"{wanted}: no such proposal waits (approved, rejected or expired already)")
    name, proposal = found
    before = state.channels[name]
    last = {
        **(before.last or {}),
        "status": "rejected",
        "reason": "rejected by the owner",
        "at": now.isoformat(),
        "actor": "owner",
    }
    channel = replace(before, proposal=None, declined=proposal.digest, last=last)
    return Repriced(state, state.with_channel(name, channel), (), (), (proposal,), ())


def expire(state: SkuPrices, wanted: str) -> Repriced:
    """Close proposal `wanted` after a refused approval (its inputs moved on)."""
    found = find_proposal(state, wanted)
    if found is None:
        return Repriced(state, state)
    name, proposal = found
    channel = replace(state.channels[name], proposal=None)
    return Repriced(state, state.with_channel(name, channel), (), (), (proposal,), ())
