"""`shopflow local` (run the backend here), `shopflow local advance 2h`, `shopflow demo`."""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

from shopflow.local.fakes import FAULTS
from shopflow.target import DEFAULT_DATA_DIR, LocalSession

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([dhms])")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> timedelta:
    """'2h', '30m', '1d', '1h30m', '90s' -> timedelta; anything else raises ValueError."""
    compact = text.strip().lower().replace(" ", "")
    parts = _DURATION.findall(compact)
    if not parts or "".join(f"{n}{u}" for n, u in parts) != compact:
        raise ValueError(f"{text!r} is not a duration like 2h, 30m, 1d or 1h30m")
    return timedelta(seconds=sum(float(n) * _UNIT_SECONDS[u] for n, u in parts))


def register(commands: Any) -> None:
    local = commands.add_parser(
        "local",
        help="run the whole backend on this machine (DynamoDB Local, moto, the API, every event source)",
        description="Run shopflow on this machine, from template.yaml. Ctrl-C stops everything.",
    )
    local.add_argument("--port", type=int, default=8000, help="the API's port (8000)")
    local.add_argument(
        "--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="where data is kept (.shopflow)"
    )
    local.add_argument("--in-memory", action="store_true", help="DynamoDB on moto, nothing kept after exit")
    local.add_argument(
        "--clock-speed", type=float, default=1.0, help="run the clock N times faster than real time (1)"
    )
    local.add_argument("--verbose", action="store_true", help="show the handlers' INFO logs too")
    local.add_argument(
        "--no-fake-channels",
        dest="fake_channels",
        action="store_false",
        help="run no fake Shopify and WooCommerce shops (a fresh data dir then has no channels)",
    )
    local.set_defaults(run=_run_local)
    actions = local.add_subparsers(dest="action", metavar="ACTION")
    advance = actions.add_parser("advance", help="move a running instance's clock forward, e.g. 2h, 1d, 30m")
    advance.add_argument("duration", help="how far: 2h, 30m, 1d, 1h30m")
    advance.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="the instance's data dir")
    advance.set_defaults(run=_run_advance)
    status = actions.add_parser("status", help="a running instance's clock, dead letters and invocations")
    status.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="the instance's data dir")
    status.set_defaults(run=_run_status)
    shown = actions.add_parser(
        "channels", help="what the fake Shopify and WooCommerce shops of a running instance show"
    )
    shown.add_argument("--add", metavar="SKU", help="list this SKU on both fake shops first")
    shown.add_argument(
        "--fault",
        choices=sorted(FAULTS),
        help="make a shop misbehave first: " + "; ".join(f"{name}: {what}" for name, what in FAULTS.items()),
    )
    shown.add_argument("--channel", help="the fake shop --fault hits (shop or woo)")
    shown.add_argument("--sku", help="the SKU --fault stale, bad-item and sell take")
    shown.add_argument("--times", type=int, default=1, help="N for --fault (1)")
    shown.add_argument("--json", action="store_true", help="print JSON")
    shown.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="the instance's data dir")
    shown.set_defaults(run=_run_channels)
    register_demo(commands)


def register_demo(commands: Any) -> None:
    demo = commands.add_parser(
        "demo", help="a scripted day of a small shop against a fresh shopflow local (under a minute)"
    )
    demo.add_argument(
        "--data-dir", type=Path, default=DEFAULT_DATA_DIR / "demo", help="emptied first (.shopflow/demo)"
    )
    demo.add_argument("--port", type=int, default=None, help="the API's port (a free one)")
    demo.set_defaults(run=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    # Cold start: imported on use, so every other `shopflow` command starts without the runtime.
    from shopflow.local.demo.script import run_demo
    from shopflow.local.runtime import LocalError

    try:
        return run_demo(args.data_dir, port=args.port, say=_console)
    except LocalError as exc:
        print(f"shopflow demo: {exc}", file=sys.stderr)
        return 1


def _run_local(args: argparse.Namespace) -> int:
    # Cold start: imported on use, so every other `shopflow` command starts without the runtime.
    from shopflow.local.runtime import LocalError, LocalOptions, LocalRuntime

    if args.clock_speed <= 0:
        print("shopflow local: --clock-speed must be positive", file=sys.stderr)
        return 2
    options = LocalOptions(
        data_dir=args.data_dir,
        port=args.port,
        in_memory=args.in_memory,
        clock_speed=args.clock_speed,
        verbose=args.verbose,
        fake_channels=args.fake_channels,
    )
    runtime = LocalRuntime(options, report=_console)
    # SIGTERM (a supervisor, `kill`) stops as cleanly as Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        session = runtime.start()
    except LocalError as exc:
        print(f"shopflow local: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        runtime.stop()
        return 130
    sender = runtime.email_sender()
    emails = (
        f"emails from {sender}"
        if sender
        else "no emails: set notify.email.sender (shopflow config set notify.email.sender ADDRESS --local)"
    )
    shops = runtime.fake_channels
    fakes = (
        f"fake channels {', '.join(f'{name} {url}' for name, url in shops.urls.items())}; "
        if shops is not None
        else ""
    )
    _console(
        f"shopflow local ready in {runtime.ready_seconds:.1f} s: API {session.api_url} "
        f"(stage {session.stage}, clock x{options.clock_speed:g}); data in {runtime.data_dir}; "
        f"outbox {runtime.data_dir / 'outbox'} ({emails}); {fakes}Ctrl-C stops."
    )
    try:
        runtime.wait()
    except KeyboardInterrupt:
        _console("stopping...")
    finally:
        runtime.stop()
    _console("stopped")
    return 0 if runtime.failure is None else 1


def _console(line: str) -> None:
    print(line, flush=True)


def _control(data_dir: Path, path: str, document: dict[str, Any] | None = None) -> dict[str, Any]:
    session = LocalSession.read(data_dir)
    request = urllib.request.Request(  # noqa: S310 - our own local control endpoint
        session.control_url + path,
        data=None if document is None else json.dumps(document).encode(),
        headers={"Content-Type": "application/json"},
        method="GET" if document is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        result: dict[str, Any] = json.loads(answer.read())
        return result


def _run_advance(args: argparse.Namespace) -> int:
    try:
        delta = parse_duration(args.duration)
    except ValueError as exc:
        print(f"shopflow local advance: {exc}", file=sys.stderr)
        return 2
    moved = _control(args.data_dir, "/advance", {"seconds": delta.total_seconds()})
    print(f"local clock now {moved['now']}")
    return 0


def _run_status(args: argparse.Namespace) -> int:
    print(json.dumps(_control(args.data_dir, "/status"), indent=2))
    return 0


def _run_channels(args: argparse.Namespace) -> int:
    try:
        added = _control(args.data_dir, "/channels/add", {"sku": args.add}) if args.add else None
        if args.fault and not args.channel:
            print("shopflow local channels: --fault needs --channel (shop or woo)", file=sys.stderr)
            return 2
        fault = {"channel": args.channel, "fault": args.fault, "times": args.times, "sku": args.sku}
        done = _control(args.data_dir, "/channels/fault", fault) if args.fault else None
        shown = _control(args.data_dir, "/channels")
    except urllib.error.HTTPError as error:
        print(f"shopflow local channels: {json.loads(error.read()).get('error')}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({**shown, **({"added": added} if added else {}), **(done or {})}, indent=2))
        return 0
    if done:
        print(done["fault"])
        if "token" in done:
            print(
                f"its new token: {done['token']}\n(shopflow config set channels.{args.channel}.token ... "
                f"--local, then shopflow channels resume {args.channel} --local)"
            )
    if added:
        links = ", ".join(f"{name} listing {listing}" for name, listing in added["listings"].items())
        print(
            f"{added['sku']} is on sale on {links}; link them with listing.linked events "
            "(docs/channels.md) so shopflow pushes its stock there"
        )
    print(format_fake_channels(shown))
    return 0


def format_fake_channels(shown: dict[str, Any]) -> str:
    """The fake shops' listings as a table: what a shopper sees on each channel now."""
    lines = [
        f"{name}: {url}{' (down)' if name in shown.get('down', []) else ''}"
        for name, url in shown["channels"].items()
    ]
    if not shown["listings"]:
        return "\n".join([*lines, "nothing listed yet: shopflow local channels --add SKU"])
    lines.append(f"{'channel':<8} {'kind':<12} {'sku':<20} {'listing':<12} shows")
    for row in shown["listings"]:
        quantity = "-" if row["quantity"] is None else str(row["quantity"])
        lines.append(
            f"{row['channel']:<8} {row['kind']:<12} {row['sku']:<20} {row['listing_id']:<12} {quantity}"
        )
    return "\n".join(lines)
