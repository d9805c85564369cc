"""Who asked for no more marketing, per channel (or no more of one kind of message: a `scope`
such as back-in-stock alerts). Keyed by a hash of the address: the table needs to find an
opt-out, never to list whom it belongs to."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from shopflow.store.models import OptOutItem
from shopflow.store.orders import iso


def contact_key(channel: str, address: str) -> str:
    normalized = address.strip().lower() if channel == "email" else address.strip()
    return "CONTACT#" + hashlib.sha256(f"{channel}:{normalized}".encode()).hexdigest()


def _opt_out_sk(channel: str, scope: str | None) -> str:
    return f"OPTOUT#{channel}" if scope is None else f"OPTOUT#{channel}#{scope}"


class ConsentStore(Protocol):
    def opted_out(self, channel: str, address: str, scope: str | None = None) -> bool: ...

    def opt_out(self, channel: str, address: str, *, now: datetime, scope: str | None = None) -> None: ...


class DynamoConsentStore:
    def opted_out(self, channel: str, address: str, scope: str | None = None) -> bool:
        try:
            OptOutItem.get(contact_key(channel, address), _opt_out_sk(channel, scope), consistent_read=True)
        except OptOutItem.DoesNotExist:
            return False
        return True

    def opt_out(self, channel: str, address: str, *, now: datetime, scope: str | None = None) -> None:
        # Idempotent: a second click (or a mail client's retry) writes the same item again.
        OptOutItem(
            contact_key(channel, address),
            _opt_out_sk(channel, scope),
            item_type="OPTOUT",
            channel=channel,
            recorded_at=iso(now),
        ).save()


@dataclass
class InMemoryConsentStore:
    opt_outs: set[str] = field(default_factory=set)

    def opted_out(self, channel: str, address: str, scope: str | None = None) -> bool:
        return f"{contact_key(channel, address)}#{_opt_out_sk(channel, scope)}" in self.opt_outs

    def opt_out(self, channel: str, address: str, *, now: datetime, scope: str | None = None) -> None:
        self.opt_outs.add(f"{contact_key(channel, address)}#{_opt_out_sk(channel, scope)}")
