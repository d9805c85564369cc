"""An outbox event staged into another repository's unit of work: the stock capability's (the
oversell report, `stock/oversell.py`) rides in the order's commit, so it is written if and only
if that commit is, and the table's stream carries it to dispatch (the transactional outbox).

`stage_outbox_message` stages the event's own outbox item (`store/orders.py`'s `outbox_item`)
into a DynamoDB unit of work; `InMemoryOutbox` is its twin for unit tests. The item's key is the
event's id: staging it again in a later attempt is a put of the same item, which DynamoDB's
stream reports as a MODIFY, not an INSERT, so dispatch sends it once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from shopflow.kernel.outbox import OutboxMessage
from shopflow.kernel.unit_of_work import UnitOfWork, in_memory
from shopflow.store.orders import outbox_item
from shopflow.store.unit_of_work import dynamo


def stage_outbox_message(
    message: OutboxMessage, owed: Sequence[str], now: datetime, work: UnitOfWork
) -> None:
    """Stage `message`'s outbox item into `work` (a `DynamoUnitOfWork`), naming the messages
    (`kind#channel`) its event owes; the unit's one TransactWriteItems writes it."""
    dynamo(work).put(outbox_item(message, owed, now))


@dataclass
class InMemoryOutbox:
    """The same in lists. `messages` are the events the stream would carry (pass an in-memory
    order store's `outbox` to share it); `owed` the messages each outbox item names."""

    messages: list[OutboxMessage] = field(default_factory=list)
    owed: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def stage_outbox_message(
        self, message: OutboxMessage, owed: Sequence[str], now: datetime, work: UnitOfWork
    ) -> None:
        def apply() -> None:
            # Written again by a later attempt: the same item, no new event on the stream.
            if all(known.outbox_id != message.outbox_id for known in self.messages):
                self.messages.append(message)
            self.owed[message.outbox_id] = tuple(owed)

        in_memory(work).stage(("OUTBOX", message.outbox_id), apply)
