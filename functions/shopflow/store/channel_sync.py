"""What shopflow knows of each SKU on each channel, and which channels are paused.

A SKU's state on a channel is pk `LISTING#{sku}`, sk `SYNC#{channel}` (beside the owner's links,
`store/listings.py`: one Query finds both), written on condition no later version is stored, so
an answer that arrives late never overwrites a newer one. A paused channel is pk
`CHANNEL#{name}`, sk `STATE`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from pynamodb.exceptions import PutError

from shopflow.channels.alerts import CHANNEL_ALERT_OWED, ChannelAlert, alert_message
from shopflow.channels.breaker import ChannelTotals
from shopflow.channels.reconcile import Reconciled
from shopflow.channels.sync import SyncState
from shopflow.kernel.conflicts import VersionConflict
from shopflow.store.listings import listing_pk
from shopflow.store.models import (
    ChannelReconciledItem,
    ChannelStateItem,
    ChannelStatsItem,
    SyncStateItem,
    iso,
)
from shopflow.store.orders import DynamoOrderStore
from shopflow.store.stock import parse_time
from shopflow.store.stock_outbox import stage_outbox_message
from shopflow.store.unit_of_work import DynamoUnitOfWork

_BATCH_GET_LIMIT = 100


def _sync_sk(channel: str) -> str:
    return f"SYNC#{channel}"


class DynamoSyncStore:
    def __init__(self, orders: DynamoOrderStore | None = None) -> None:
        self._orders = orders or DynamoOrderStore()  # shares its connection for transactions

    def states(self, skus: Iterable[str], channel: str) -> Mapping[str, SyncState]:
        keys = [(listing_pk(sku), _sync_sk(channel)) for sku in dict.fromkeys(skus)]
        found: dict[str, SyncState] = {}
        for start in range(0, len(keys), _BATCH_GET_LIMIT):
            for item in SyncStateItem.batch_get(keys[start : start + _BATCH_GET_LIMIT], consistent_read=True):
                state = sync_state_of(item)
                found[state.sku] = state
        return found

    def states_of_sku(self, sku: str) -> Mapping[str, SyncState]:
        """The SKU's state on every channel, by channel."""
        return {
            state.channel: state
            for state in map(
                sync_state_of, SyncStateItem.query(listing_pk(sku), SyncStateItem.sk.startswith("SYNC#"))
            )
        }

    def states_of_channel(self, channel: str) -> list[SyncState]:
        """Every SKU's state on `channel`: a Scan (reconciliation, once a day; the owner's view)."""
        return [
            sync_state_of(item)
            for item in SyncStateItem.scan(
                (SyncStateItem.item_type == "SYNC") & (SyncStateItem.sk == _sync_sk(channel))
            )
        ]

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

    def pause(self, alert: ChannelAlert) -> bool:
        """Pause `alert.channel` for `alert.reason` and tell the owner, in one transaction (the
        alert's outbox item); False when it was paused already (no second alert)."""
        work = DynamoUnitOfWork(self._orders.connection)
        work.put(
            ChannelStateItem(
                f"CHANNEL#{alert.channel}",
                "STATE",
                item_type="CHANNEL",
                paused_because=alert.reason,
                paused_at=iso(alert.at),
            ),
            condition=ChannelStateItem.pk.does_not_exist(),
        )
        stage_outbox_message(alert_message(alert), CHANNEL_ALERT_OWED, alert.at, work)
        try:
            work.commit()
        except VersionConflict:  # paused meanwhile (another batch): it told the owner
            return False
        return True

    def tell(self, alert: ChannelAlert) -> None:
        """Tell the owner `alert` (its outbox item; the same alert twice is one message)."""
        work = DynamoUnitOfWork(self._orders.connection)
        stage_outbox_message(alert_message(alert), CHANNEL_ALERT_OWED, alert.at, work)
        work.commit()

    def resume(self, channel: str) -> None:
        ChannelStateItem(f"CHANNEL#{channel}", "STATE").delete()

    def record_reconciled(self, report: Reconciled, at: datetime) -> None:
        """The channel's last reconciliation, for the owner's view (`channels list|status`)."""
        ChannelReconciledItem(
            f"CHANNEL#{report.channel}",
            "RECONCILED",
            item_type="CHANNEL_RECONCILED",
            at=iso(at),
            checked=report.checked,
            in_step=report.in_step,
            fixed=sum(1 for d in report.drifts if d.fixed and d.shown != d.wanted),
            reported=len(report.to_report),
        ).save()

    def totals(self, channel: str) -> ChannelTotals:
        """What the channel shows in all, as acknowledged pushes added it up (the breaker's base)."""
        try:
            item = ChannelStatsItem.get(f"CHANNEL#{channel}", "STATS", consistent_read=True)
        except ChannelStatsItem.DoesNotExist:
            return ChannelTotals()
        return _totals(item)

    def add_totals(self, channel: str, listed: int, shown: int) -> None:
        """Move what the channel shows in all by these deltas (after acknowledged pushes)."""
        if listed or shown:
            ChannelStatsItem(f"CHANNEL#{channel}", "STATS").update(
                actions=[
                    ChannelStatsItem.item_type.set("CHANNEL_STATS"),
                    ChannelStatsItem.listed.add(listed),
                    ChannelStatsItem.shown.add(shown),
                ]
            )


def _totals(item: ChannelStatsItem) -> ChannelTotals:
    return ChannelTotals(int(item.listed or 0), int(item.shown or 0))


def sync_state_of(item: SyncStateItem) -> SyncState:
    return SyncState(
        channel=item.sk.removeprefix("SYNC#"),
        sku=item.pk.removeprefix("LISTING#"),
        shown=int(item.shown) if item.shown is not None else None,
        version=int(item.version),
        listing_id=item.listing_id,
        error=item.error,
        at=parse_time(item.at) if item.at else None,
    )
