"""Who asked for no more marketing, per channel. Keyed by a hash of the address: the table
needs to find an opt-out, never to list whom it belongs to."""

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


class ConsentStore(Protocol):
    def opted_out(self, channel: str, address: str) -> bool: ...

    def opt_out(self, channel: str, address: str, *, now: datetime) -> None: ...


class DynamoConsentStore:
    def opted_out(self, channel: str, address: str) -> bool:
        try:
            OptOutItem.get(contact_key(channel, address), f"OPTOUT#{channel}", consistent_read=True)
        except OptOutItem.DoesNotExist:
            return False
        return True

    def opt_out(self, channel: str, address: str, *, now: datetime) -> None:
        # Idempotent: a second click (or a mail client's retry) writes the same item again.
        OptOutItem(
            contact_key(channel, address),
            f"OPTOUT#{channel}",
            item_type="OPTOUT",
            channel=channel,
            recorded_at=iso(now),
        ).save()


@dataclass
class InMemoryConsentStore:
    opt_outs: set[str] = field(default_factory=set)

    def opted_out(self, channel: str, address: str) -> bool:
        return f"{contact_key(channel, address)}#{channel}" in self.opt_outs

    def opt_out(self, channel: str, address: str, *, now: datetime) -> None:
        self.opt_outs.add(f"{contact_key(channel, address)}#{channel}")
