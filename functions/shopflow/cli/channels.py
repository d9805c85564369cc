"""`shopflow channels list|status NAME|resume NAME`: the owner's view of the sales channels (table
or --json): what each shows, paused or not and why, the last push, the push queue's depth; and
releasing a paused channel so it catches up.

The reads are `store/channel_view.py`'s (one Scan of the table: an owner read); which listing a
SKU is on a channel, `channels/listings.listing_for`; what it should show, `published_quantity`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shopflow.cli.table import print_table
from shopflow.target import Target, TargetError, add_target_arguments, target_from_args

if TYPE_CHECKING:
    from shopflow.channels.listings import Listing
    from shopflow.channels.model import Channel, Misconfigured
    from shopflow.channels.sync import PushOrder, SyncState
    from shopflow.stock.model import StockItem
    from shopflow.store.channel_view import Pause, PushQueues, ShopView

PREFIX = "shopflow channels"
_SEND_BATCH_LIMIT = 10  # entries per SendMessageBatch


def register(commands: Any) -> None:
    group = commands.add_parser(
        "channels", help="the sales channels: what each shows, paused or not, the push queue; resume one"
    )
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser(
        "list", help="every channel in the settings, with its last push and the queue"
    )
    listing.add_argument(
        "--json", action="store_true", help="one JSON object (channels, push queue), for scripts"
    )
    add_target_arguments(listing)
    listing.set_defaults(run=_list)
    status = actions.add_parser(
        "status", help="one channel: what it shows of each SKU, and what is not listed"
    )
    status.add_argument("name", help="the channel's name (as `channels list` shows it)")
    status.add_argument("--json", action="store_true", help="one JSON object, for scripts")
    add_target_arguments(status)
    status.set_defaults(run=_status)
    resume = actions.add_parser(
        "resume", help="release a paused channel and queue a push of every SKU it does not show right"
    )
    resume.add_argument("name", help="the channel's name")
    add_target_arguments(resume)
    resume.set_defaults(run=_resume)
    reconcile = actions.add_parser(
        "reconcile",
        help="read what the channel shows now, push back small drift, report the rest (as the daily run)",
    )
    reconcile.add_argument("name", help="the channel's name")
    reconcile.add_argument("--json", action="store_true", help="one JSON object, for scripts")
    add_target_arguments(reconcile)
    reconcile.set_defaults(run=_reconcile)


# --- reading ---------------------------------------------------------------------------------------------


def configured_channels(target: Target) -> tuple[Channel | Misconfigured, ...]:
    """Every channel named in the target's settings (SSM), as the pipeline reads them."""
    # Cold start: imported on use, so the other `shopflow` commands load none of this.
    from shopflow.channels.capability import channels
    from shopflow.cli.config import _aws_errors
    from shopflow.config.parameters import current_values, read_stored
    from shopflow.config.settings import Settings

    with _aws_errors(target):
        stored = read_stored(target.stage, target.client("ssm"))
    current = current_values(target.stage, stored)
    return channels(Settings({key: entry.value for key, entry in current.items()}))


def push_queues(target: Target) -> PushQueues:
    """The push queue's and its dead-letter queue's depth: `shopflow local` names its queues in
    its session; a deployed stack's are found through CloudFormation (it names them)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from shopflow.store.channel_view import (
        DEAD_LETTER_QUEUE,
        PUSH_QUEUE,
        PushQueues,
        queue_depth,
        queue_urls_of_stack,
    )

    try:
        if target.local is not None:
            urls = {k: v for k, v in target.local.queues.items() if k in (PUSH_QUEUE, DEAD_LETTER_QUEUE)}
        else:
            urls = queue_urls_of_stack(target.client("cloudformation"), target.table)
        missing = [name for name in (PUSH_QUEUE, DEAD_LETTER_QUEUE) if name not in urls]
        if missing:
            return PushQueues(None, None, f"{' and '.join(missing)} not found in {target.where}", urls)
        sqs = target.client("sqs")
        return PushQueues(
            queue_depth(sqs, urls[PUSH_QUEUE]), queue_depth(sqs, urls[DEAD_LETTER_QUEUE]), urls=urls
        )
    except (BotoCoreError, ClientError) as exc:
        said = " ".join(str(exc).split())
        return PushQueues(None, None, f"could not read the queues of {target.where}: {said}")


def _bind(target: Target) -> Any:
    from shopflow.store import channel_view

    target.bind_table()
    return channel_view


# --- what a channel shows ----------------------------------------------------------------------------------


def _listing(channel: Channel, sku: str, view: ShopView) -> Listing | None:
    from shopflow.channels.listings import listing_for

    return listing_for(channel, sku, view.linked.get(sku, {}), view.variant_of_sku)


def listed_skus(channel: Channel, view: ShopView) -> set[str]:
    """The SKUs listed on `channel`: of those shopflow keeps stock of, links or knows from a
    platform's catalog."""
    known = set(view.stock) | set(view.linked) | {sku for _, sku in view.variants}
    return {sku for sku in known if _listing(channel, sku, view) is not None}


def _wanted(channel: Channel, item: StockItem | None) -> int | None:
    from shopflow.channels.model import published_quantity

    return None if item is None or item.atp is None else published_quantity(item.atp, channel.rules)


def sku_row(channel: Channel, sku: str, view: ShopView) -> dict[str, Any]:
    """One SKU on one channel: its listing, what the channel shows and should show, and how
    far the channel is: `shown` (acknowledged what it should show), `behind` (a push is due
    or queued), `rejected` (the channel refused it), `not pushed yet`, `no stock kept` (listed,
    but shopflow keeps no stock of it, so nothing is pushed)."""
    listing = _listing(channel, sku, view)
    item = view.stock.get(sku)
    state = view.states.get(channel.name, {}).get(sku)
    wanted = _wanted(channel, item)
    return {
        "sku": sku,
        "listing_id": listing.listing_id if listing else (state.listing_id if state else None),
        "how": listing.how if listing else None,
        "should_show": wanted,
        "shows": state.shown if state else None,
        "version": state.version if state else None,
        "stock_version": item.version if item else None,
        "at": state.at.isoformat() if state and state.at else None,
        "error": state.error if state else None,
        "state": _progress(state, wanted, item),
    }


def _progress(state: SyncState | None, wanted: int | None, item: StockItem | None) -> str:
    if item is None and state is None:
        return "no stock kept"  # listed, but shopflow has never counted it: nothing to push
    if state is None:
        return "not pushed yet"
    if state.error is not None:
        return "rejected"
    if wanted is None or item is None or (state.shown == wanted or state.version >= item.version):
        return "shown"
    return "behind"


def _last_push(states: Mapping[str, SyncState]) -> str | None:
    moments = [state.at for state in states.values() if state.at is not None]
    return max(moments).isoformat() if moments else None


def channel_summary(entry: Channel | Misconfigured, view: ShopView, pause: Pause | None) -> dict[str, Any]:
    """One channel as `channels list --json` gives it (never its token)."""
    from shopflow.channels.model import Misconfigured

    states = view.states.get(entry.name, {})
    summary: dict[str, Any] = {"name": entry.name}
    if isinstance(entry, Misconfigured):
        summary |= {"kind": None, "url": None, "enabled": None, "misconfigured": entry.reason}
    else:
        summary |= {
            "kind": entry.config.kind,
            "url": entry.config.url,
            "enabled": entry.enabled,
            "misconfigured": None,
        }
    summary |= {
        "paused": pause is not None,
        "paused_because": pause.reason if pause else None,
        "paused_at": pause.since.isoformat() if pause and pause.since else None,
        "last_push": _last_push(states),
        "shows": sum(1 for s in states.values() if s.error is None and s.shown is not None),
        "rejected": sum(1 for s in states.values() if s.error is not None),
        "reconciled": dict(view.reconciled[entry.name]) if entry.name in view.reconciled else None,
    }
    if isinstance(entry, Misconfigured):
        summary |= {"listed": None, "behind": None}
        return summary
    rows = [sku_row(entry, sku, view) for sku in listed_skus(entry, view)]
    summary |= {
        "listed": len(rows),
        "behind": sum(1 for row in rows if row["state"] in ("behind", "not pushed yet")),
    }
    return summary


def _state_word(summary: Mapping[str, Any]) -> str:
    if summary["misconfigured"]:
        return "misconfigured"
    if summary["paused"]:
        return "PAUSED"
    return "on" if summary["enabled"] else "disabled"


def _queue_json(queues: PushQueues) -> dict[str, Any]:
    def depth(found: Any) -> dict[str, int] | None:
        return None if found is None else {"waiting": found.waiting, "in_flight": found.in_flight}

    return {
        "orders": depth(queues.orders),
        "dead_letters": depth(queues.dead_letters),
        "unknown": queues.unknown,
    }


def _queue_line(queues: PushQueues) -> str:
    if queues.orders is None or queues.dead_letters is None:
        return f"push queue: unknown ({queues.unknown})"
    orders, dead = queues.orders, queues.dead_letters
    line = (
        f"push queue: {orders.waiting} waiting, {orders.in_flight} being pushed; dead letters: {dead.total}"
    )
    return line + ("  (orders that failed 5 times: see docs/channels.md)" if dead.total else "")


def _short(moment: str | None) -> str:
    return moment[:19] if moment else "-"


def _table_rows(summaries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "name": s["name"],
            "kind": s["kind"] or "-",
            "state": _state_word(s),
            "last_push": _short(s["last_push"]),
            "listed": "-" if s["listed"] is None else s["listed"],
            "shows": s["shows"],
            "rejected": s["rejected"],
            "behind": "-" if s["behind"] is None else s["behind"],
            "url": s["url"] or "-",
        }
        for s in summaries
    ]


_COLUMNS = ("name", "kind", "state", "last_push", "listed", "shows", "rejected", "behind", "url")


def _notes(summary: Mapping[str, Any]) -> list[str]:
    notes = []
    if summary["misconfigured"]:
        notes.append(f"{summary['name']}: misconfigured: {summary['misconfigured']}")
    if summary["paused"]:
        since = f" since {_short(summary['paused_at'])} UTC" if summary["paused_at"] else ""
        notes.append(
            f"{summary['name']}: PAUSED{since}: {summary['paused_because']} "
            f"(fix it, then `shopflow channels resume {summary['name']}`)"
        )
    if summary.get("reconciled"):
        run = summary["reconciled"]
        notes.append(
            f"{summary['name']}: last reconciled {_short(run['at'])} UTC: {run['checked']} checked, "
            f"{run['in_step']} in step, {run['fixed']} drift pushed back, "
            f"{run['reported']} reported to the owner"
        )
    return notes


# --- the commands ----------------------------------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    target = target_from_args(args)
    configured = configured_channels(target)
    view_module = _bind(target)
    view = view_module.shop()
    summaries = [channel_summary(c, view, view_module.pause_of(c.name)) for c in configured]
    queues = push_queues(target)
    if args.json:
        print(json.dumps({"channels": summaries, "push_queue": _queue_json(queues)}, indent=2))
        return 0
    if not summaries:
        print(f"no channels in the settings of {target.where} (see docs/channels.md: setting up a channel)")
    else:
        print_table(_table_rows(summaries), _COLUMNS)
        for summary in summaries:
            for note in _notes(summary):
                print(note)
    print(_queue_line(queues))
    return 0


def _find(target: Target, name: str) -> Channel | Misconfigured | None:
    return next((c for c in configured_channels(target) if c.name == name), None)


def _unknown(name: str, target: Target) -> int:
    print(
        f"{PREFIX}: no channel {name!r} in the settings of {target.where} "
        "(`shopflow channels list` names them)",
        file=sys.stderr,
    )
    return 1


def status_report(entry: Channel | Misconfigured, view: ShopView, pause: Pause | None) -> dict[str, Any]:
    """The `channels status NAME --json` object: the channel as `list` gives it, each SKU it
    lists (or has a state of), and the SKUs shopflow keeps stock of that it does not list."""
    from shopflow.channels.model import Misconfigured

    summary = channel_summary(entry, view, pause)
    states = view.states.get(entry.name, {})
    if isinstance(entry, Misconfigured):
        skus = [
            {
                "sku": sku,
                "listing_id": state.listing_id,
                "how": None,
                "should_show": None,
                "shows": state.shown,
                "version": state.version,
                "stock_version": None,
                "at": state.at.isoformat() if state.at else None,
                "error": state.error,
                "state": "rejected" if state.error else "shown",
            }
            for sku, state in sorted(states.items())
        ]
        return {**summary, "skus": skus, "not_listed": None}
    listed = listed_skus(entry, view)
    skus = [sku_row(entry, sku, view) for sku in sorted(listed | set(states))]
    not_listed = sorted(set(view.stock) - listed - set(states))
    return {**summary, "skus": skus, "not_listed": not_listed}


def _status(args: argparse.Namespace) -> int:
    target = target_from_args(args)
    entry = _find(target, args.name)
    if entry is None:
        return _unknown(args.name, target)
    view_module = _bind(target)
    report = status_report(entry, view_module.shop(), view_module.pause_of(entry.name))
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print_table(_table_rows([report]), _COLUMNS)
    for note in _notes(report):
        print(note)
    print()
    if report["skus"]:
        print(f"SKUs on {report['name']} (what it shows, at which stock version, when):")
        print_table(
            [
                {
                    "sku": row["sku"],
                    "listing": row["listing_id"] or "-",
                    "how": row["how"] or "-",
                    "should_show": "-" if row["should_show"] is None else row["should_show"],
                    "shows": "-" if row["shows"] is None else row["shows"],
                    "version": "-" if row["version"] is None else row["version"],
                    "at": _short(row["at"]),
                    "state": row["state"],
                    "error": row["error"] or "",
                }
                for row in report["skus"]
            ],
            ("sku", "listing", "how", "should_show", "shows", "version", "at", "state", "error"),
        )
    else:
        print(f"SKUs on {report['name']}: none listed there yet")
    if report["not_listed"]:
        print()
        print(f"not listed on {report['name']}, so not pushed there ({len(report['not_listed'])}):")
        print("  " + " ".join(report["not_listed"]))
    return 0


def resume_orders(channel: Channel, view: ShopView) -> tuple[PushOrder, ...]:
    """A push order for every SKU the channel lists and does not show right (as the stream's
    fan-out plans them: `plan_pushes`), so it catches up after a pause; a SKU it refused is
    tried again (the owner may have fixed that too)."""
    from shopflow.channels.sync import plan_pushes

    orders: list[PushOrder] = []
    states = view.states.get(channel.name, {})
    for sku in sorted(view.stock):
        item = view.stock[sku]
        state = states.get(sku)
        if state is not None and state.error is not None:
            state = None  # refused: not shown, whatever its version
        orders += plan_pushes(
            item,
            [channel],
            lambda of, listed_sku: _listing(of, listed_sku, view),
            {channel.name: state} if state else {},
        )
    return tuple(orders)


def resume_messages(orders: Sequence[PushOrder], resumed_at: datetime) -> list[dict[str, str]]:
    """The fan-out's messages for `orders` (`orders_message`: up to ORDERS_PER_MESSAGE of the
    channel's orders each), deduplicated per resume: SQS drops a FIFO message whose
    deduplication id it saw in the last 5 minutes, and the orders dropped when the channel
    paused, or a resume a minute before, may have named the same SKUs at the same versions."""
    from shopflow.channels.sync import ORDERS_PER_MESSAGE
    from shopflow.sync.fanout import orders_message

    messages = []
    for start in range(0, len(orders), ORDERS_PER_MESSAGE):
        message = orders_message(orders[start : start + ORDERS_PER_MESSAGE], start // ORDERS_PER_MESSAGE)
        key = f"{message['MessageDeduplicationId']}#resumed#{resumed_at.isoformat()}"
        message["MessageDeduplicationId"] = "resume-" + hashlib.sha256(key.encode()).hexdigest()[:48]
        messages.append(message)
    return messages


def _resume(args: argparse.Namespace) -> int:
    from shopflow.channels.model import Misconfigured
    from shopflow.store.channel_view import PUSH_QUEUE

    target = target_from_args(args)
    entry = _find(target, args.name)
    if entry is None:
        return _unknown(args.name, target)
    if isinstance(entry, Misconfigured):
        print(f"{PREFIX}: {entry.name} is misconfigured ({entry.reason}): fix that first", file=sys.stderr)
        return 1
    queues = push_queues(target)
    queue_url = queues.urls.get(PUSH_QUEUE)
    if queue_url is None:  # nothing changed: resuming without the orders would leave it behind
        print(f"{PREFIX}: cannot queue the push orders ({queues.unknown}); nothing changed", file=sys.stderr)
        return 1
    view_module = _bind(target)
    from shopflow.store.channel_sync import DynamoSyncStore

    pause = view_module.pause_of(entry.name)
    DynamoSyncStore().resume(entry.name)
    view = view_module.shop()
    orders = resume_orders(entry, view)
    resumed_at = datetime.now(UTC)
    sqs = target.client("sqs")
    messages = resume_messages(orders, resumed_at)
    for start in range(0, len(messages), _SEND_BATCH_LIMIT):
        entries = messages[start : start + _SEND_BATCH_LIMIT]
        answer = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        if answer.get("Failed"):
            raise TargetError(f"{entry.name} resumed, but push orders were not queued: {answer['Failed']}")
    if pause is None:
        print(f"{entry.name} was not paused")
    else:
        since = _short(pause.since.isoformat() if pause.since else None)
        print(f"{entry.name} resumed (paused since {since} UTC: {pause.reason})")
    if not entry.enabled:
        print(f"{entry.name} is disabled (channels.{entry.name}.enabled): nothing queued")
        return 0
    listed = sum(1 for sku in view.stock if _listing(entry, sku, view) is not None)  # with stock
    print(
        f"queued {len(orders)} push order(s) on {PUSH_QUEUE}: the SKUs {entry.name} does not show right "
        f"or refused ({listed - len(orders)} of its {listed} listed SKUs with stock already show right)"
    )
    return 0


# --- `shopflow stock get SKU`: where the SKU is on each channel --------------------------------------------


NOT_LISTED = "not listed: not pushed there"


def sku_on_channels(target: Target, item: StockItem) -> list[dict[str, Any]]:
    """The `channels` of `stock get --json`: per channel in the settings, the SKU's listing there
    (the owner's link or the platform's catalog), what it should show and what it shows at
    which stock version (its sync state), or why it is not pushed there. The table must be
    bound (`stock get` did). A Query, and a GetItem per Shopify or WooCommerce channel."""
    from shopflow.channels.listings import listing_for
    from shopflow.channels.model import Misconfigured
    from shopflow.store.catalog import DynamoCatalog
    from shopflow.store.channel_sync import DynamoSyncStore
    from shopflow.store.listings import DynamoListings

    configured = configured_channels(target)
    if not configured:
        return []
    linked = DynamoListings().linked(item.sku)
    states = DynamoSyncStore().states_of_sku(item.sku)
    catalog = DynamoCatalog()
    found: list[dict[str, Any]] = []
    for entry in configured:
        if isinstance(entry, Misconfigured):
            found.append({"channel": entry.name, "listed": None, "note": f"misconfigured: {entry.reason}"})
            continue
        listing = listing_for(entry, item.sku, linked, catalog.variant_of_sku)
        if listing is None:
            found.append({"channel": entry.name, "listed": False, "note": NOT_LISTED})
            continue
        state = states.get(entry.name)
        found.append(
            {
                "channel": entry.name,
                "listed": True,
                "listing_id": listing.listing_id,
                "how": listing.how,
                "should_show": _wanted(entry, item),
                "shows": state.shown if state else None,
                "version": state.version if state else None,
                "at": state.at.isoformat() if state and state.at else None,
                "error": state.error if state else None,
            }
        )
    return found


def print_sku_on_channels(found: Sequence[Mapping[str, Any]]) -> None:
    """The channels section of `stock get`."""
    if not found:
        print("channels: none in the settings")
        return
    print("channels (what each shows of it, at which stock version):")
    listed = [entry for entry in found if entry["listed"]]
    if listed:
        print_table(
            [
                {
                    "channel": entry["channel"],
                    "listing": entry["listing_id"],
                    "how": entry["how"],
                    "should_show": entry["should_show"],
                    "shows": "-" if entry["shows"] is None else entry["shows"],
                    "version": "-" if entry["version"] is None else entry["version"],
                    "at": _short(entry["at"]),
                    "error": entry["error"] or ("" if entry["version"] is not None else "not pushed yet"),
                }
                for entry in listed
            ],
            ("channel", "listing", "how", "should_show", "shows", "version", "at", "error"),
        )
    for entry in found:
        if not entry["listed"]:
            print(f"{entry['channel']}: {entry['note']}")


def _reconcile(args: argparse.Namespace) -> int:
    """What the daily run does for one channel, now (sync/reconcile.py), from this process."""
    from shopflow.bootstrap import Runtime
    from shopflow.channels.adapters import adapter_for
    from shopflow.channels.model import Misconfigured
    from shopflow.sync.reconcile import ChannelReconciler

    target = target_from_args(args)
    entry = _find(target, args.name)
    if entry is None:
        return _unknown(args.name, target)
    if isinstance(entry, Misconfigured):
        print(f"{PREFIX}: {entry.name} is misconfigured ({entry.reason}): fix that first", file=sys.stderr)
        return 1
    if entry.config.kind == "webhook":
        print(
            f"{PREFIX}: {entry.name} is an outgoing webhook: there is nothing to read back", file=sys.stderr
        )
        return 1
    target.bind_table()
    runtime = Runtime(stage=target.stage, table_name=target.table)
    report = ChannelReconciler(runtime, adapter_for).run(entry)
    if report is None:
        print(
            f"{PREFIX}: {entry.name} is paused or could not be read (see the log line above)", file=sys.stderr
        )
        return 1
    drifts = [
        {
            "sku": d.sku,
            "listing_id": d.listing_id,
            "shows": d.shown,
            "should_show": d.wanted,
            "fixed": d.fixed,
            "oversold": d.oversold,
        }
        for d in report.drifts
    ]
    if args.json:
        print(
            json.dumps(
                {
                    "channel": entry.name,
                    "checked": report.checked,
                    "in_step": report.in_step,
                    "drifts": drifts,
                }
            )
        )
        return 0
    print(f"{entry.name}: {report.checked} SKU(s) checked, {report.in_step} in step")
    if drifts:
        print_table(
            [{**d, "fixed": "pushed back" if d["fixed"] else "reported to the owner"} for d in drifts],
            ("sku", "listing_id", "shows", "should_show", "fixed", "oversold"),
        )
    return 0
