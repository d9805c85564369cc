"""channel_reconcile: once a day (and `shopflow channels reconcile NAME`), each usable channel is
read and compared with what it should show (channels/reconcile.py): small drift pushed back,
larger drift and oversells reported to the owner in one ChannelAlert per channel."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shopflow.channels.alerts import AlertLine, ChannelAlert
from shopflow.channels.capability import channels
from shopflow.channels.model import Channel
from shopflow.channels.ports import ChannelAdapter, ChannelConfig, ChannelError
from shopflow.channels.reconcile import Reconciled, listed_skus, reconcile
from shopflow.observability import logger

if TYPE_CHECKING:
    from shopflow.bootstrap import Runtime


class ChannelReconciler:
    def __init__(self, runtime: Runtime, adapter_for: Callable[[ChannelConfig], ChannelAdapter]) -> None:
        self._runtime = runtime
        self._adapter_for = adapter_for

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """The daily schedule: every usable channel that can be read."""
        done = {}
        for channel in channels(self._runtime.settings.load()):
            if isinstance(channel, Channel) and channel.enabled and channel.config.kind != "webhook":
                report = self.run(channel)
                if report is not None:
                    done[channel.name] = {"checked": report.checked, "drifts": len(report.drifts)}
        return done

    def run(self, channel: Channel) -> Reconciled | None:
        """Reconcile one channel (None: paused, or it could not be read: logged)."""
        runtime = self._runtime
        sync = runtime.channel_sync
        if sync.paused(channel.name) is not None:
            return None
        listings = listed_skus(sync.states_of_channel(channel.name))
        now = runtime.clock.now()
        try:
            report = reconcile(
                channel,
                self._adapter_for(channel.config),
                listings,
                runtime.stock.items(listings),
                sync,
                now,
            )
        except ChannelError as exc:
            logger.warning("channel not reconciled", extra={"channel": channel.name, "reason": str(exc)})
            return None
        if report.to_report:
            lines = tuple(AlertLine(d.sku, d.listing_id, d.shown, d.wanted) for d in report.to_report)
            oversold = sum(1 for d in report.to_report if d.oversold)
            reason = (
                f"{len(report.to_report) - oversold} SKU(s) differ by more than the small drift shopflow "
                f"fixes, {oversold} oversold"
            )
            runtime.channel_sync.tell(ChannelAlert(channel.name, "drift", reason, lines, now))
        sync.record_reconciled(report, now)
        logger.info(
            "channel reconciled",
            extra={"channel": channel.name, "checked": report.checked, "drifts": len(report.drifts)},
        )
        return report
