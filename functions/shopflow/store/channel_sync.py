"""What shopflow knows of each SKU on each channel, and which channels are paused.

A SKU's state on a channel is pk `LISTING#{sku}`, sk `SYNC#{channel}` (beside the owner's links,
`store/listings.py`: one Query finds both), written on condition no later version is stored, so
an answer that arrives late never overwrites a newer one. A paused channel is pk
`CHANNEL#{name}`, sk `STATE`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from pynamodb.exceptions import PutError

from shopflow.channels.sync import SyncState
from shopflow.store.listings import listing_pk
from shopflow.store.models import ChannelStateItem, SyncStateItem, iso
from shopflow.store.stock import parse_time

_BATCH_GET_LIMIT = 100


def _sync_sk(channel: str) -> str:
    return f"SYNC#{channel}"


class DynamoSyncStore:
    def states(self, skus: Iterable[str], channel: str) -> Mapping[str, SyncState]:
        keys = [(listing_pk(sku), _sync_sk(channel)) for sku in dict.fromkeys(skus)]
        found: dict[str, SyncState] = {}
        for start in range(0, len(keys), _BATCH_GET_LIMIT):
            for item in SyncStateItem.batch_get(keys[start : start + _BATCH_GET_LIMIT], consistent_read=True):
                state = _state(item)
                found[state.sku] = state
        return found

    def states_of_sku(self, sku: str) -> Mapping[str, SyncState]:
        """The SKU's state on every channel, by channel."""
        return {
            state.channel: state
            for state in map(
                _state, SyncStateItem.query(listing_pk(sku), SyncStateItem.sk.startswith("SYNC#"))
            )
        }

    def record(self, state: SyncState) -> bool:
        item = SyncStateItem(
            listing_pk(state.sku),
            _sync_sk(state.channel),
            item_type="SYNC",
            shown=state.shown,
            version=state.version,
            listing_id=state.listing_id,
            error=state.error,
            at=iso(state.at) if state.at else None,
        )
        try:
            item.save(condition=SyncStateItem.pk.does_not_exist() | (SyncStateItem.version <= state.version))
        except PutError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def paused(self, channel: str) -> str | None:
        """Why `channel` is paused, or None."""
        try:
            item = ChannelStateItem.get(f"CHANNEL#{channel}", "STATE", consistent_read=True)
        except ChannelStateItem.DoesNotExist:
            return None
        return item.paused_because

    def pause(self, channel: str, reason: str, at: datetime) -> None:
        ChannelStateItem(
            f"CHANNEL#{channel}", "STATE", item_type="CHANNEL", paused_because=reason, paused_at=iso(at)
        ).save()

    def resume(self, channel: str) -> None:
        ChannelStateItem(f"CHANNEL#{channel}", "STATE").delete()


def _state(item: SyncStateItem) -> SyncState:
    return SyncState(
        channel=item.sk.removeprefix("SYNC#"),
        sku=item.pk.removeprefix("LISTING#"),
        shown=int(item.shown) if item.shown is not None else None,
        version=int(item.version),
        listing_id=item.listing_id,
        error=item.error,
        at=parse_time(item.at) if item.at else None,
    )


@dataclass
class InMemorySyncStore:
    saved: dict[tuple[str, str], SyncState] = field(default_factory=dict)  # (channel, sku)
    paused_channels: dict[str, str] = field(default_factory=dict)

    def states(self, skus: Iterable[str], channel: str) -> Mapping[str, SyncState]:
        return {sku: self.saved[(channel, sku)] for sku in skus if (channel, sku) in self.saved}

    def states_of_sku(self, sku: str) -> Mapping[str, SyncState]:
        return {channel: state for (channel, s), state in self.saved.items() if s == sku}

    def record(self, state: SyncState) -> bool:
        stored = self.saved.get((state.channel, state.sku))
        if stored is not None and stored.version > state.version:
            return False
        self.saved[(state.channel, state.sku)] = state
        return True

    def paused(self, channel: str) -> str | None:
        return self.paused_channels.get(channel)

    def pause(self, channel: str, reason: str, at: datetime) -> None:
        self.paused_channels[channel] = reason

    def resume(self, channel: str) -> None:
        self.paused_channels.pop(channel, None)
