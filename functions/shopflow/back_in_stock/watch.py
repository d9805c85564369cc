"""back_in_stock_watch: the table's stream (STOCK items only) -> a restock starts its run of batches.

A restock is a SKU's atp reaching `back_in_stock.min_atp` from below it; only the stream sees it
for every cause alike (a count, an adjustment, a hold released or run out, an order cancelled)
with the atp before and after, where stock's own writes guard atp without reading it (decision
72). The record is read as Lambda hands it (DynamoDB JSON), so nothing here knows more of a stock
item than its key and its `atp`. Writes only the SKU's run and its first batch's timer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shopflow.back_in_stock.model import RestockRules
from shopflow.back_in_stock.ports import BackInStockStore
from shopflow.back_in_stock.service import on_stock_change


@dataclass(frozen=True)
class AtpChange:
    sku: str
    old_atp: int | None  # None: the SKU's first count
    new_atp: int


def atp_change(record: Mapping[str, Any]) -> AtpChange | None:
    """A stream record of a STOCK item as its atp change; None for anything else."""
    dynamodb = record.get("dynamodb") or {}
    new, old = dynamodb.get("NewImage") or {}, dynamodb.get("OldImage") or {}
    if (new.get("item_type") or {}).get("S") != "STOCK" or "atp" not in new:
        return None
    sku = str(new["pk"]["S"]).removeprefix("STOCK#")
    old_atp = int(old["atp"]["N"]) if "atp" in old else None
    return AtpChange(sku, old_atp, int(new["atp"]["N"]))


@dataclass
class RestockWatcher:
    store: BackInStockStore
    rules: Callable[[], RestockRules | None]  # None: back-in-stock alerts are off
    clock_now: Callable[[], datetime]

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        rules = self.rules()
        failed: list[dict[str, str]] = []
        if rules is None:
            return {"batchItemFailures": failed}
        for record in event.get("Records", []):
            change = atp_change(record)
            if change is None:
                continue
            try:
                on_stock_change(
                    change.sku, change.old_atp, change.new_atp, self.store, rules, now=self.clock_now()
                )
            except Exception:
                # shopflow's logger (Powertools' structured JSON once a handler set it up).
                logging.getLogger("shopflow").exception("restock not recorded", extra={"sku": change.sku})
                # Lambda retries from the first failed record (the ones before are done).
                failed.append({"itemIdentifier": str(record["dynamodb"].get("SequenceNumber", ""))})
                break
        return {"batchItemFailures": failed}
