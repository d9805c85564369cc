"""The event sources of `shopflow local` and the start's outbox check, in a process of their own.

With the API, the handlers of every queue and the stream reader in one process, a burst of
webhooks waited on the one GIL while notify rendered and sent the emails of the orders before
them (bench/local_runtime.py --only load). Here the event sources (DynamoDB stream -> dispatch,
each SQS queue -> its function, each schedule) run with their journal and the outbox check, at a
lower CPU priority than the API, and give way to it while it is busy: during a burst the API
takes the machine and messages catch up right after it, as a queue's backlog does on AWS
(decisions 52 and 81).

The runtime starts it with its environment (endpoints, the functions' variables), hands it a
plan as the first line on stdin (template, resources, the shared clock and SSM write count) and
reads its JSON lines on a pipe of their own (stdout stays the console, for the handlers' logs):
`ready` once the stream positions are fixed and every source
runs, `say` for a console line, `invocations` now and then. The runtime writes `api` once the
API answers (the outbox check starts then) and closes stdin to stop it; when the runtime dies
(even by SIGKILL) it is sent SIGTERM (Linux) and its stdin closes: it never outlives it.

    python -m shopflow.local.worker MESSAGES_FD
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from shopflow.local.outbox_check import OUTBOX_CHECK_FILE, Journal, LiveStream, OutboxCheck
from shopflow.local.resources import Provisioned
from shopflow.local.shared import (
    ApiActivity,
    SettingsOnWrite,
    SharedClock,
    SharedMemory,
    WriteCount,
    wait_for_child,
)
from shopflow.local.sources import (
    PollerDemand,
    QueueOutcome,
    QueueSource,
    Schedule,
    ScheduleSource,
    Source,
    StreamSource,
    stop_all,
)
from shopflow.local.streams import SharedStream, StreamReader, filter_patterns
from shopflow.local.template import Template

JOURNAL_FILE = "journal.jsonl"
# Lambda reads a standard queue with several pollers at once (five at first), each invoking the
# function with its own batch; one poller left a burst's emails waiting on one thread's calls.
# All but the first wait while the API is busy: DynamoDB Local serves both, and in a burst the
# API comes first (decision 52); and poller n polls only while the n - 1 before it are running
# the function (`PollerDemand`): an idle queue is one long poll a second.
POLLERS_PER_QUEUE = 4
# Below the API's priority (0): during a burst the API is served first, messages right after.
WORKER_NICENESS = 10
STATUS_EVERY_SECONDS = 1.0


class WorkerError(RuntimeError):
    pass


class Worker:
    """The runtime's handle on the event sources' process."""

    def __init__(self, report: Callable[[str], None], on_exit: Callable[[str], None]) -> None:
        self._report = report
        self._on_exit = on_exit  # called with why, when it exits while not asked to stop
        self._process: subprocess.Popen[bytes] | None = None
        self._ready = threading.Event()
        self._stopping = False
        self.invocations: dict[str, int | None] = {}
        self._reader: threading.Thread | None = None

    def start(self, plan: dict[str, Any], pass_fds: tuple[int, ...]) -> None:
        from shopflow.local.dynamodb_local import _terminate_with_parent

        messages, theirs = os.pipe()
        try:
            self._process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
                [sys.executable, "-m", __name__, str(theirs)],
                stdin=subprocess.PIPE,
                pass_fds=(*pass_fds, theirs),
                preexec_fn=_terminate_with_parent,
            )
        finally:
            os.close(theirs)
        self._send(plan)
        self._reader = threading.Thread(
            target=self._read, args=(os.fdopen(messages, "rb"),), name="event sources' process", daemon=True
        )
        self._reader.start()

    def wait_ready(self, timeout: float = 120.0) -> None:
        wait_for_child(
            self._ready,
            self._process,
            timeout,
            lambda why: WorkerError(f"the event sources did not start ({why})"),
        )

    def api_up(self) -> None:
        self._send({"api": "up"})

    def _send(self, document: dict[str, Any]) -> None:
        process = self._process
        if process is not None and process.stdin is not None:
            process.stdin.write(json.dumps(document).encode() + b"\n")
            process.stdin.flush()

    def _read(self, messages: IO[bytes]) -> None:
        process = self._process
        assert process is not None
        for line in messages:
            document = json.loads(line)
            if "say" in document:
                self._report(str(document["say"]))
            elif "invocations" in document:
                self.invocations = dict(document["invocations"])
            elif "ready" in document:
                self._ready.set()
        code = process.wait()
        if not self._stopping and self._ready.is_set():
            self._on_exit(f"the event sources' process exited (code {code})")

    def stop(self, timeout: float = 15.0) -> None:
        """Stop every source (a handler running finishes first), then the process."""
        self._stopping = True
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(OSError):  # a process already gone
                process.stdin.close()  # its signal to stop
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if self._reader is not None:
            self._reader.join(2.0)  # its last console lines


# --- the process itself ----------------------------------------------------------------------


class _Say:
    """Messages to the runtime, one JSON document a line on the pipe it gave."""

    def __init__(self, fd: int) -> None:
        self._lock = threading.Lock()
        self._pipe = os.fdopen(fd, "w")

    def __call__(self, document: dict[str, Any]) -> None:
        with self._lock:
            self._pipe.write(json.dumps(document, default=str) + "\n")
            self._pipe.flush()

    def line(self, text: str) -> None:
        self({"say": text})


class EventSources:
    """Every event source template.yaml declares, run on the handlers in this process."""

    def __init__(self, plan: dict[str, Any], say: _Say) -> None:
        self.say = say
        self.data_dir = Path(plan["data_dir"])
        self.template = Template.load(Path(plan["template"]), Stage=plan["stage"])
        self.provisioned = Provisioned(
            refs=dict(plan["refs"]),
            attributes={(logical_id, name): value for logical_id, name, value in plan["attributes"]},
        )
        self.clock = SharedClock.from_plan(plan["clock"])
        self.writes = WriteCount(SharedMemory(int(plan["writes_fd"])))
        self.api = ApiActivity(SharedMemory(int(plan["api_fd"])))
        self.sources: list[Source] = []
        self.outbox_check: OutboxCheck | None = None
        self._streams: dict[str, SharedStream] = {}

    def start(self) -> None:
        from shopflow import bootstrap

        built = bootstrap.reset(self.clock)
        built.settings = SettingsOnWrite(built.stage, built.client("ssm"), self.writes)
        bootstrap.build_models()  # before any handler thread: decision 15
        app_module = importlib.import_module("app")
        (self.data_dir / JOURNAL_FILE).touch()  # there from the start, for whoever reads it
        journal = Journal(self.data_dir / JOURNAL_FILE).load()
        live = LiveStream()
        consumers: dict[str, QueueSource] = {}
        stream_sources: list[StreamSource] = []
        template = self.template
        for logical_id, resource in template.of_type("AWS::Serverless::Function").items():
            properties = template.function_properties(logical_id)
            handler = getattr(app_module, str(properties["Handler"]).split(".", 1)[1])
            timeout = int(properties.get("Timeout", 3))
            for event_name, event in (resource["Properties"].get("Events") or {}).items():
                kind, props = event["Type"], event.get("Properties", {})
                if kind == "SQS":
                    most = int(
                        (props.get("ScalingConfig") or {}).get("MaximumConcurrency", POLLERS_PER_QUEUE)
                    )
                    demand = PollerDemand()
                    for poller in range(1, min(most, POLLERS_PER_QUEUE) + 1):
                        queue = self._queue_source(
                            logical_id, handler, timeout, props, journal, poller, demand
                        )
                        consumers[queue.queue_url] = queue
                        self.sources.append(queue)
                elif kind == "DynamoDB":
                    stream = self._stream_source(logical_id, handler, timeout, props, live)
                    stream_sources.append(stream)
                    self.sources.append(stream)
                elif kind in ("Schedule", "ScheduleV2"):
                    expression = props.get("Schedule") or props.get("ScheduleExpression")
                    self.sources.append(
                        ScheduleSource(
                            function_name=logical_id,
                            handler=handler,
                            schedule=Schedule(str(expression)),
                            rule_name=f"{logical_id}-{event_name}",
                            clock=self.clock,
                            report=self.say.line,
                            timeout_seconds=timeout,
                            constant_input=props.get("Input"),
                        )
                    )
                elif kind != "Api":
                    raise WorkerError(f"{logical_id}.{event_name}: event type {kind} is not run locally yet")
        for source in self.sources:
            source.yield_to = self.api.busy  # messages after the API (decision 81)
        for stream in stream_sources:
            stream.open()  # from here on: what was written before is the outbox check's
        self.outbox_check = self._outbox_check(journal, consumers, stream_sources, live)
        for source in self.sources:
            source.start()

    def invocations(self) -> dict[str, Any]:
        return {s.name: getattr(s, "invocations", None) for s in self.sources}

    def stop(self) -> None:
        if self.outbox_check is not None:
            self.outbox_check.stopping.set()
        stop_all(self.sources)

    def _queue_source(
        self,
        function: str,
        handler: Any,
        timeout: int,
        props: dict[str, Any],
        journal: Journal,
        poller: int,
        demand: PollerDemand,
    ) -> QueueSource:
        queue_id = props["Queue"]["Fn::GetAtt"][0]
        queue_props = self.template.resources[queue_id].get("Properties", {})
        redrive = queue_props.get("RedrivePolicy") or {}

        def on_outcome(outcome: QueueOutcome) -> None:
            for _, message in outcome.completed:
                outbox_id = message.get("MessageAttributes", {}).get("outbox_id", {}).get("StringValue")
                if outbox_id:
                    journal.record(queue_id, outbox_id, "consumed")

        return QueueSource(
            function_name=function,
            handler=handler,
            sqs=_client("sqs"),
            queue_url=self.provisioned.refs[queue_id],
            queue_arn=self.provisioned.attributes[(queue_id, "Arn")],
            batch_size=int(props.get("BatchSize", 10)),
            report_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
            visibility_timeout=int(queue_props.get("VisibilityTimeout", 30)),
            max_receive_count=int(redrive["maxReceiveCount"]) if redrive else None,
            clock=self.clock,
            report=self.say.line,
            on_outcome=on_outcome,
            timeout_seconds=timeout,
            poller=poller,
            wait_while=self.api.busy if poller > 1 else lambda: False,
            demand=demand,
        )

    def _stream_source(
        self, function: str, handler: Any, timeout: int, props: dict[str, Any], live: LiveStream
    ) -> StreamSource:
        provisioned = self.provisioned
        stream_arn = self.template.resolve(props["Stream"], provisioned.refs, provisioned.attributes)
        destination = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        failure_queue = None
        if destination is not None:
            failure_queue = provisioned.refs[destination["Fn::GetAtt"][0]]
        sqs = _client("sqs")

        def on_failure(metadata: dict[str, Any]) -> None:
            if failure_queue is not None:
                sqs.send_message(QueueUrl=failure_queue, MessageBody=json.dumps(metadata))

        def seen_then_handled(event: dict[str, Any], context: Any) -> Any:
            live.saw(event["Records"])  # the outbox check leaves these to the live stream
            return handler(event, context)

        return StreamSource(
            function_name=function,
            handler=seen_then_handled,
            reader=self._shared_stream(str(stream_arn)).view(),
            patterns=filter_patterns(props),
            batch_size=int(props.get("BatchSize", 100)),
            maximum_retry_attempts=int(props.get("MaximumRetryAttempts", 10)),
            report_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
            on_failure=on_failure,
            report=self.say.line,
            timeout_seconds=timeout,
            batching_window=float(props.get("MaximumBatchingWindowInSeconds", 0)),
        )

    def _shared_stream(self, stream_arn: str) -> SharedStream:
        """The table's stream, read once for all the functions it triggers."""
        if stream_arn not in self._streams:
            # From now on only: what was written before is the outbox check's (module doc).
            reader = StreamReader(_client("dynamodbstreams"), stream_arn, start="LATEST")
            self._streams[stream_arn] = SharedStream(reader)
        return self._streams[stream_arn]

    def _outbox_check(
        self,
        journal: Journal,
        consumers: dict[str, QueueSource],
        streams: list[StreamSource],
        live: LiveStream,
    ) -> OutboxCheck | None:
        """The check of outbox items no consumer completed, run once the API answers (decision 34)."""
        from shopflow import bootstrap
        from shopflow.store.orders import iso

        if not streams or not consumers:
            return None  # nothing reads the stream, or no queue has a consumer: nothing was lost
        refs = self.provisioned.refs
        queue_ids = {url: logical_id for logical_id, url in refs.items() if url in consumers}
        dispatcher = bootstrap.runtime().dispatcher

        def consumed_queues_for(event_type: str) -> set[str]:
            # Only the queues dispatch sends this event to; an unroutable one is dispatch's to report.
            return {queue_ids[url] for url in dispatcher.queue_urls_for(event_type) if url in queue_ids}

        def deliver(records: list[dict[str, Any]]) -> None:
            for stream in streams:
                for first in range(0, len(records), stream.batch_size):
                    stream.deliver(records[first : first + stream.batch_size])

        live.empty_reads = lambda: min(stream.empty_reads for stream in streams)
        return OutboxCheck(
            dynamodb=_client("dynamodb"),
            table_name=self.provisioned.table_name(),
            journal=journal,
            queues_for=consumed_queues_for,
            deliver=deliver,
            live=live,
            state_path=self.data_dir / OUTBOX_CHECK_FILE,
            started_at=iso(self.clock.now()),
            report=self.say.line,
        )

    def run_outbox_check(self) -> None:
        check = self.outbox_check
        if check is None:
            return
        try:
            check.run()
        except Exception as exc:  # the instance keeps serving; the next start checks again
            if not check.stopping.is_set():
                self.say.line(f"outbox check failed: {exc} (it runs again at the next start)")


def _client(service: str) -> Any:
    import boto3

    from shopflow.target import LOCAL_REGION

    return boto3.session.Session(region_name=LOCAL_REGION).client(service)


def _report_invocations(sources: EventSources, say: _Say, stopping: threading.Event) -> None:
    last: dict[str, Any] | None = None
    while not stopping.wait(STATUS_EVERY_SECONDS):
        now = sources.invocations()
        if now != last:
            say({"invocations": now})
            last = now


def main() -> int:
    # Ctrl-C reaches the whole process group: the runtime decides when this stops (stdin closed).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError, AttributeError):  # no nice here: the API's priority
        os.nice(WORKER_NICENESS)
    say = _Say(int(sys.argv[1]))
    plan = json.loads(sys.stdin.buffer.readline())
    sources = EventSources(plan, say)
    try:
        sources.start()
    except Exception as exc:
        print(f"the event sources could not start: {exc}", file=sys.stderr)
        sources.stop()
        return 1
    stopping = threading.Event()
    threading.Thread(target=_report_invocations, args=(sources, say, stopping), daemon=True).start()
    say({"invocations": sources.invocations()})
    say({"ready": True})
    for line in sys.stdin.buffer:  # until the runtime closes it (or dies)
        if json.loads(line).get("api") == "up":
            threading.Thread(target=sources.run_outbox_check, name="outbox check", daemon=True).start()
    stopping.set()
    sources.stop()
    say({"invocations": sources.invocations()})
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # a handler still running past the sources' stop is abandoned, as on a Lambda timeout


if __name__ == "__main__":
    raise SystemExit(main())
