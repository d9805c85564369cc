"""An event published on its own, at most once per id: its outbox item is put on condition that
none with its id exists (a daily email's event, whose id is the day's: a schedule that fires
twice writes it once). The stream carries the new item to dispatch, as any outbox item.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pynamodb.exceptions import PutError

from shopflow.kernel.outbox import OutboxMessage
from shopflow.store.models import OutboxItem
from shopflow.store.orders import outbox_item


def publish_once(message: OutboxMessage, owed: Sequence[str], now: datetime) -> bool:
    """Write `message`'s outbox item, naming the messages (`kind#channel`) it owes; False when an
    item with its id exists already (nothing written)."""
    try:
        outbox_item(message, owed, now).save(condition=OutboxItem.pk.does_not_exist())
    except PutError as exc:
        if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
            return False
        raise
    return True
