"""Pricing's records in the single table (pricing/ports.py), and an in-memory twin.

- pk `PRICES#{shard}`, sk `SKU#{sku}`: the SKU's record (inputs, competitors, per channel price,
  30-day points, last decision, waiting proposal), guarded by `version`. A reprice Queries one
  shard 100 records a page; an input reads and writes one record.
- pk `PRICEHIST#{sku}`, sk `{applied_at}#{channel}`: each applied price (append-only).
- pk `PRICEPROPOSALS`, sk `{proposed_at}#{id}`: the owner's list of waiting proposals.
- pk `PRICELOG#{shard}#{day}`, sk `OBS#{sku}#{observed_at}#{competitor}` / `INPUTS#{sku}#{at}`: the
  input log (pricing/recorded.py), written in the same transaction as the record it changed.
- pk `PRICESALES#{shard}#{day}`, sk `{sku}#{source}`: units and revenue sold, ADDed by orders.

A record whose only change is itself (a new decision, an input) is one conditional PutItem; one
that applies prices or opens or closes proposals is one TransactWriteItems with its history
lines, its `PriceChanged` outbox items (the stream carries them to the price push) and its
proposal entries.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pynamodb.exceptions import PutError

from shopflow.kernel.outbox import OutboxMessage, outbox_id
from shopflow.kernel.unit_of_work import UnitOfWork, in_memory
from shopflow.pricing.ports import PricesConflict
from shopflow.pricing.recorded import (
    LOG_RETENTION,
    DailySales,
    Logged,
    LoggedObservation,
    log_document,
    logged_from,
)
from shopflow.pricing.reprice import PriceChange, Repriced
from shopflow.pricing.state import Proposal, SkuPrices, shard_of
from shopflow.store.models import (
    PriceHistoryItem,
    PriceLogItem,
    PriceProposalItem,
    PriceRecordItem,
    PriceSalesItem,
    PricingRunItem,
    iso,
)
from shopflow.store.orders import DynamoOrderStore, outbox_item
from shopflow.store.unit_of_work import DynamoUnitOfWork, dynamo

PAGE = 100  # records per read: a Query page, a BatchGetItem
PROPOSALS = "PRICEPROPOSALS"
HISTORY_RETENTION = timedelta(days=400)  # a year of history for the owner, then TTL
COMPRESS_OVER = 1000  # bytes: a longer record is stored zlib'd (its writes stay few units)
PRICE_CHANGED = "PriceChanged"


def _record_key(sku: str) -> tuple[str, str]:
    return f"PRICES#{shard_of(sku):02d}", f"SKU#{sku}"


def price_changed(change: PriceChange) -> OutboxMessage:
    """The event an applied price publishes: the push sends it to the channel (`price.published`)."""
    payload = {
        "sku": change.sku,
        "channel": change.channel,
        "price": change.as_dict()["price"],
        "currency": change.currency,
        "was": change.as_dict()["was"],
        "sequence": change.sequence,
    }
    key = f"price:{change.sku}:{change.channel}:{change.sequence}"
    return OutboxMessage(outbox_id((key,), PRICE_CHANGED), PRICE_CHANGED, json.dumps(payload))


def _document(state: SkuPrices) -> tuple[str | None, bytes | None]:
    raw = json.dumps(state.as_dict(), separators=(",", ":"))
    if len(raw) > COMPRESS_OVER:
        return None, zlib.compress(raw.encode(), 6)
    return raw, None


def _state(item: PriceRecordItem) -> SkuPrices:
    raw = item.document if item.document is not None else zlib.decompress(item.document_z or b"").decode()
    return SkuPrices.from_dict(json.loads(raw), version=int(item.version))


def _history(item: PriceHistoryItem) -> PriceChange:
    return PriceChange.from_dict(json.loads(item.document))


def _proposal_sk(proposal: Proposal) -> str:
    return f"{iso(proposal.proposed_at)}#{proposal.proposal_id}"


def _log_key(entry: Logged) -> tuple[str, str]:
    """By shard and day of the input's own time: a replay Queries a shard's day at once."""
    shard = shard_of(entry.sku)
    if isinstance(entry, LoggedObservation):
        seen = entry.observation
        sk = f"OBS#{entry.sku}#{iso(seen.observed_at.astimezone(UTC))}#{seen.competitor}"
    else:
        sk = f"INPUTS#{entry.sku}#{iso(entry.at.astimezone(UTC))}"
    return f"PRICELOG#{shard:02d}#{entry.at.astimezone(UTC).date().isoformat()}", sk


def _sales_key(sales: DailySales) -> tuple[str, str]:
    return f"PRICESALES#{shard_of(sales.sku):02d}#{sales.day.isoformat()}", f"{sales.sku}#{sales.source}"


def _sales_expiry(day: date) -> int:
    return int((datetime(day.year, day.month, day.day, tzinfo=UTC) + LOG_RETENTION).timestamp())


def _conditional_failure(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


class DynamoPricingStore:
    def __init__(self, orders: DynamoOrderStore) -> None:
        self._orders = orders  # shares its connection for transactions

    def get(self, sku: str) -> SkuPrices | None:
        try:
            return _state(PriceRecordItem.get(*_record_key(sku), consistent_read=True))
        except PriceRecordItem.DoesNotExist:
            return None

    def get_many(self, skus: Sequence[str]) -> Mapping[str, SkuPrices]:
        found: dict[str, SkuPrices] = {}
        for start in range(0, len(skus), PAGE):
            keys = [_record_key(sku) for sku in skus[start : start + PAGE]]
            for item in PriceRecordItem.batch_get(keys, consistent_read=True):
                state = _state(item)
                found[state.sku] = state
        return found

    def pages(self, shard: int) -> Iterator[Sequence[SkuPrices]]:
        page: list[SkuPrices] = []
        for item in PriceRecordItem.query(f"PRICES#{shard:02d}", page_size=PAGE):
            page.append(_state(item))
            if len(page) == PAGE:
                yield page
                page = []
        if page:
            yield page

    def _record(self, repriced: Repriced) -> tuple[PriceRecordItem, Any]:
        pk, sk = _record_key(repriced.after.sku)
        document, compressed = _document(repriced.after)
        item = PriceRecordItem(
            pk,
            sk,
            item_type="PRICES",
            version=repriced.before.version + 1,
            document=document,
            document_z=compressed,
        )
        condition = (
            PriceRecordItem.version == repriced.before.version
            if repriced.before.version
            else PriceRecordItem.pk.does_not_exist()
        )
        return item, condition

    def save(self, repriced: Repriced, logged: Sequence[Logged] = ()) -> None:
        """`logged`: the input log lines of the input that changed the record, written with it."""
        if not repriced.changed:
            return
        item, condition = self._record(repriced)
        if not (repriced.applied or repriced.opened or repriced.closed or logged):
            try:
                item.save(condition=condition)
            except PutError as exc:
                if _conditional_failure(exc):
                    raise PricesConflict(repriced.after.sku) from None
                raise
            return
        work = DynamoUnitOfWork(self._orders.connection)
        work.put(item, condition=condition, if_condition_fails=lambda: PricesConflict(repriced.after.sku))
        for change in repriced.applied:
            work.put(
                PriceHistoryItem(
                    f"PRICEHIST#{change.sku}",
                    f"{iso(change.at)}#{change.channel}",
                    item_type="PRICEHIST",
                    document=json.dumps(change.as_dict()),
                    expires_at=int((change.at + HISTORY_RETENTION).timestamp()),
                )
            )
            work.put(outbox_item(price_changed(change), (), change.at))
        for entry in logged:
            pk, sk = _log_key(entry)
            expires = int((entry.at + LOG_RETENTION).timestamp())
            document = json.dumps(log_document(entry), separators=(",", ":"))
            work.put(PriceLogItem(pk, sk, item_type="PRICELOG", document=document, expires_at=expires))
        for proposal in repriced.closed:
            work.delete(PriceProposalItem(PROPOSALS, _proposal_sk(proposal)))
        for proposal in repriced.opened:
            work.put(
                PriceProposalItem(
                    PROPOSALS,
                    _proposal_sk(proposal),
                    item_type="PRICEPROPOSAL",
                    document=json.dumps(proposal.as_dict()),
                )
            )
        work.commit()

    def claim_run(self, now: datetime, every_minutes: int) -> bool:
        """Start a scheduled run unless one began under `every_minutes` ago (a minute of slack,
        so a 15-minute setting on a 5-minute tick runs every 15, not 20)."""
        due_before = iso(now - timedelta(minutes=every_minutes) + timedelta(minutes=1))
        try:
            PricingRunItem("PRICING", "RUN", item_type="PRICING_RUN", started_at=iso(now)).save(
                condition=PricingRunItem.pk.does_not_exist() | (PricingRunItem.started_at < due_before)
            )
        except PutError as exc:
            if _conditional_failure(exc):
                return False
            raise
        return True

    def proposals(self) -> Sequence[Proposal]:
        return [
            Proposal.from_dict(json.loads(item.document))
            for item in PriceProposalItem.query(PROPOSALS, consistent_read=True)
        ]

    def history(self, sku: str, limit: int = 100) -> Sequence[PriceChange]:
        items = PriceHistoryItem.query(f"PRICEHIST#{sku}", scan_index_forward=False, limit=limit)
        return [_history(item) for item in items]

    def stage_sales(self, sales: DailySales, work: UnitOfWork) -> None:
        """One UpdateItem ADD in the order's transaction: concurrent orders of a SKU add up."""
        pk, sk = _sales_key(sales)
        dynamo(work).update(
            PriceSalesItem(pk, sk),
            actions=[
                PriceSalesItem.units.add(sales.units),
                PriceSalesItem.revenue.add(sales.revenue),
                PriceSalesItem.currency.set(sales.currency),
                PriceSalesItem.item_type.set("PRICESALES"),
                PriceSalesItem.expires_at.set(_sales_expiry(sales.day)),
            ],
        )

    def logged(self, shard: int, day: date) -> Sequence[Logged]:
        """The input log of one shard and day, in key order (one Query, 1 MB a page)."""
        return [
            logged_from(json.loads(item.document))
            for item in PriceLogItem.query(f"PRICELOG#{shard:02d}#{day.isoformat()}")
        ]

    def sales(self, shard: int, day: date) -> Sequence[DailySales]:
        found = []
        for item in PriceSalesItem.query(f"PRICESALES#{shard:02d}#{day.isoformat()}"):
            sku, _, source = item.sk.rpartition("#")
            found.append(
                DailySales(
                    sku, day, source, int(item.units or 0), item.revenue or Decimal(0), item.currency or ""
                )
            )
        return found


@dataclass
class InMemoryPricingStore:
    """The same in dictionaries, for unit tests."""

    records: dict[str, SkuPrices] = field(default_factory=dict)
    changes: list[PriceChange] = field(default_factory=list)
    published: list[OutboxMessage] = field(default_factory=list)
    waiting: dict[str, Proposal] = field(default_factory=dict)
    writes: int = 0
    last_run: datetime | None = None
    log: dict[str, dict[str, Logged]] = field(default_factory=dict)  # pk -> sk -> line
    sold: dict[str, dict[str, DailySales]] = field(default_factory=dict)  # pk -> sk -> day's sales

    def get(self, sku: str) -> SkuPrices | None:
        return self.records.get(sku)

    def get_many(self, skus: Sequence[str]) -> Mapping[str, SkuPrices]:
        return {sku: self.records[sku] for sku in skus if sku in self.records}

    def pages(self, shard: int) -> Iterator[Sequence[SkuPrices]]:
        mine = sorted(
            (state for sku, state in self.records.items() if shard_of(sku) == shard), key=lambda s: s.sku
        )
        for start in range(0, len(mine), PAGE):
            yield mine[start : start + PAGE]

    def save(self, repriced: Repriced, logged: Sequence[Logged] = ()) -> None:
        if not repriced.changed:
            return
        known = self.records.get(repriced.after.sku)
        if (known.version if known else 0) != repriced.before.version:
            raise PricesConflict(repriced.after.sku)
        self.writes += 1
        self.records[repriced.after.sku] = replace(repriced.after, version=repriced.before.version + 1)
        self.changes.extend(repriced.applied)
        self.published.extend(price_changed(change) for change in repriced.applied)
        for proposal in repriced.closed:
            self.waiting.pop(proposal.proposal_id, None)
        for proposal in repriced.opened:
            self.waiting[proposal.proposal_id] = proposal
        for entry in logged:
            pk, sk = _log_key(entry)
            self.log.setdefault(pk, {})[sk] = entry

    def claim_run(self, now: datetime, every_minutes: int) -> bool:
        if self.last_run is not None and self.last_run > now - timedelta(minutes=every_minutes - 1):
            return False
        self.last_run = now
        return True

    def proposals(self) -> Sequence[Proposal]:
        return sorted(self.waiting.values(), key=lambda proposal: proposal.proposed_at)

    def history(self, sku: str, limit: int = 100) -> Sequence[PriceChange]:
        mine = [change for change in self.changes if change.sku == sku]
        return sorted(mine, key=lambda change: change.at, reverse=True)[:limit]

    def stage_sales(self, sales: DailySales, work: UnitOfWork) -> None:
        pk, sk = _sales_key(sales)

        def add() -> None:
            day = self.sold.setdefault(pk, {})
            known = day.get(sk)
            day[sk] = (
                sales
                if known is None
                else replace(known, units=known.units + sales.units, revenue=known.revenue + sales.revenue)
            )

        in_memory(work).stage(("PRICESALES", pk, sk), add)

    def logged(self, shard: int, day: date) -> Sequence[Logged]:
        lines = self.log.get(f"PRICELOG#{shard:02d}#{day.isoformat()}", {})
        return [lines[sk] for sk in sorted(lines)]

    def sales(self, shard: int, day: date) -> Sequence[DailySales]:
        found = self.sold.get(f"PRICESALES#{shard:02d}#{day.isoformat()}", {})
        return [found[sk] for sk in sorted(found)]
