"""An event to publish, as a unit of work writes it: the stream carries it to dispatch.

Its id names the input that caused it, not the aggregate it changed (decision 57): the same
delivery (a sender's retry, a timer that fires twice) always gives the same id, and consumers
deduplicate on it (decision 7), so an event published twice is handled once. An order, a
stock item or a reservation can each publish events in one unit of work without knowing each
other's ids.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class OutboxMessage:
    outbox_id: str
    event_type: str
    payload: str  # JSON of the event


def outbox_id(dedup_keys: Sequence[str], event_type: str, ordinal: int = 0) -> str:
    """`{event_type}.{22 characters}`: 128 bits of SHA-256 over the delivery's keys, the type and,
    from the second event of one type in one input on (none today), its position. An input with
    no key gets a random id."""
    if not dedup_keys:
        return f"{event_type}.{uuid.uuid4().hex}"
    source = "\x1f".join(sorted(dedup_keys)) + "\x1e" + event_type + (f"\x1e{ordinal}" if ordinal else "")
    digest = base64.urlsafe_b64encode(hashlib.sha256(source.encode()).digest()[:16]).decode().rstrip("=")
    return f"{event_type}.{digest}"
