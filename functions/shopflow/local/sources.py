"""Event sources as AWS runs them, for `shopflow local`: SQS queues, the DynamoDB stream, schedules.

Each source is a thread that turns what it reads into the Lambda event the function gets
and honours the answer the way the event source mapping does:

* SQS: batches of real messages (their ids, receipt handles and receive counts); with
  `ReportBatchItemFailures` only the listed messages stay, otherwise an error keeps the
  whole batch; a kept message comes back after the queue's visibility timeout (scaled by
  the clock speed) and the queue's redrive policy moves it to its DLQ after
  `maxReceiveCount` receives (moto does that, as SQS does).
* DynamoDB stream: records filtered by `FilterCriteria`, gathered for up to
  `MaximumBatchingWindowInSeconds`, retried from the first failed one up to
  `MaximumRetryAttempts`, then their metadata goes to the `OnFailure` destination.
* Schedules: `rate(...)` and `cron(...)` fired on the runtime's clock.
"""

from __future__ import annotations

import calendar
import json
import math
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shopflow.clock import ScaledClock
from shopflow.local.streams import StreamReader, StreamView, lambda_event

Handler = Callable[[dict[str, Any], Any], Any]
Report = Callable[[str], None]
ACCOUNT = "123456789012"
REGION = "us-east-1"


def lambda_context(function_name: str, timeout_seconds: int = 30, memory_mb: int = 256) -> Any:
    from chalice.local import LambdaContext

    return LambdaContext(function_name, memory_mb, max_runtime_ms=timeout_seconds * 1000)


class Source(threading.Thread):
    """A polling thread that stops when asked and never dies of one bad poll."""

    poll_pause = 0.05

    def __init__(self, name: str, report: Report) -> None:
        super().__init__(name=name, daemon=True)
        self._stopping = threading.Event()
        self.report = report
        self.errors = 0
        # While this says so (the API is busy), a source that just ran its function waits as long
        # as the function took before its next poll: messages take at most half of what the
        # machine gives this process then, and DynamoDB Local, which serves both, serves the API's
        # requests first (decision 81).
        self.yield_to: Callable[[], bool] = lambda: False
        self._handled_seconds = 0.0  # wall time in the function since the last poll

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                busy = self.poll()
            except Exception as exc:
                self.errors += 1
                if not self._stopping.is_set():
                    self.report(f"{self.name}: poll failed: {exc}")
                self._stopping.wait(1.0)
                continue
            pause = self.pause_after(busy)
            handled, self._handled_seconds = self._handled_seconds, 0.0
            if handled > pause and self.yield_to():
                self.give_way(handled)
            elif pause > 0:
                self._stopping.wait(pause)

    def give_way(self, seconds: float) -> None:
        """Wait up to `seconds`: less once `yield_to` says the API is idle (its backlog drains)."""
        ends = time.monotonic() + seconds
        while not self._stopping.is_set() and self.yield_to():
            left = ends - time.monotonic()
            if left <= 0:
                return
            self._stopping.wait(min(left, 0.1))

    def poll(self) -> bool:
        """Do one round of work; True when there was something to do."""
        raise NotImplementedError

    def pause_after(self, busy: bool) -> float:
        """Seconds to wait before the next poll: none while there is work."""
        return 0.0 if busy else self.poll_pause


@dataclass
class QueueOutcome:
    """What happened to a queue's messages, for the runtime's journal and reports."""

    completed: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (message id, message)
    kept: list[tuple[str, str]] = field(default_factory=list)  # (message id, why)


def lambda_sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """A ReceiveMessage message as the record Lambda's SQS event source hands a function."""
    attributes = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
            "SentTimestamp": attributes.get("SentTimestamp", ""),
            "SenderId": attributes.get("SenderId", ACCOUNT),
            "ApproximateFirstReceiveTimestamp": attributes.get("ApproximateFirstReceiveTimestamp", ""),
        },
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


# moto picks the FIFO groups it may hand out per ReceiveMessage, without a lock: pollers receiving
# at the same moment each took a group's head (one message twice, or its second before its first).
# SQS never does, so the pollers of one FIFO queue receive one at a time; a long poll still
# returns as soon as a message can be handed out.
_FIFO_RECEIVES: dict[str, threading.Lock] = {}
_FIFO_RECEIVES_GUARD = threading.Lock()


def _receiving(queue_url: str) -> AbstractContextManager[object]:
    if not queue_url.endswith(".fifo"):
        return nullcontext()
    with _FIFO_RECEIVES_GUARD:
        return _FIFO_RECEIVES.setdefault(queue_url, threading.Lock())


class PollerDemand:
    """How many of one queue's pollers are running its function now. Lambda adds pollers to a
    queue while its messages keep the ones it has busy; locally poller n (n > 1) polls only while
    the n - 1 before it are running the function, so an idle queue costs one long poll a second,
    not four (each a request moto serves)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running = 0

    def wanted(self, poller: int) -> bool:
        return self.running >= poller - 1

    def started(self) -> None:
        with self._lock:
            self.running += 1

    def ended(self) -> None:
        with self._lock:
            self.running -= 1


class QueueSource(Source):
    receive_wait_seconds = 1  # a long poll, as Lambda's pollers do
    # A FIFO message behind its group's message in flight is visible but cannot be handed out;
    # moto's long poll then spins for its whole wait (a core, as long as a down channel's pushes
    # wait: 12 minutes of the clock). While so, the queue is short-polled four times a second.
    blocked_pause = 0.25

    def __init__(
        self,
        *,
        function_name: str,
        handler: Handler,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        batch_size: int,
        report_item_failures: bool,
        visibility_timeout: int,
        max_receive_count: int | None,
        clock: ScaledClock,
        report: Report,
        on_outcome: Callable[[QueueOutcome], None] = lambda outcome: None,
        timeout_seconds: int = 30,
        poller: int = 1,  # of the queue's pollers (they share its messages, as Lambda's do)
        wait_while: Callable[[], bool] = lambda: False,  # skip polls while this says so
        demand: PollerDemand | None = None,  # shared by the queue's pollers: when poller n polls
    ) -> None:
        name = f"{function_name} <- {queue_arn.rsplit(':', 1)[-1]}"
        super().__init__(name if poller == 1 else f"{name} #{poller}", report)
        self.function_name = function_name
        self._handler = handler
        self._sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self._batch_size = min(batch_size, 10)
        self._report_item_failures = report_item_failures
        self._visibility = visibility_timeout
        self.max_receive_count = max_receive_count
        self._clock = clock
        self._on_outcome = on_outcome
        self._timeout = timeout_seconds
        self._wait_while = wait_while
        self._demand = demand
        self._poller = poller
        self.invocations = 0
        self._receiving = _receiving(queue_url)
        self._fifo = queue_url.endswith(".fifo")
        self.blocked = False  # the last poll found only messages their groups hold back

    def poll(self) -> bool:
        if self._wait_while() or (self._demand is not None and not self._demand.wanted(self._poller)):
            return False
        with self._receiving:
            received = self._sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=self._batch_size,
                WaitTimeSeconds=0 if self.blocked else self.receive_wait_seconds,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
        if not received:
            self.blocked = self._fifo and self._visible() > 0
            return False
        event = {"Records": [lambda_sqs_record(message, self.queue_arn) for message in received]}
        failed: dict[str, str] = {}
        self.invocations += 1
        if self._demand is not None:
            self._demand.started()
        began = time.monotonic()
        try:
            answer = self._handler(event, lambda_context(self.function_name, self._timeout))
        except Exception as exc:
            failed = {m["MessageId"]: f"{type(exc).__name__}: {exc}" for m in received}
        else:
            if self._report_item_failures and isinstance(answer, dict):
                for failure in answer.get("batchItemFailures") or ():
                    failed[str(failure["itemIdentifier"])] = "reported in batchItemFailures"
        finally:
            self._handled_seconds += time.monotonic() - began
            if self._demand is not None:
                self._demand.ended()
        outcome = QueueOutcome()
        for message in received:
            message_id = message["MessageId"]
            if message_id in failed:
                outcome.kept.append((message_id, failed[message_id]))
                self._keep(message, failed[message_id])
            else:
                outcome.completed.append((message_id, message))
        self._delete_completed([message for _, message in outcome.completed])
        self._on_outcome(outcome)
        return True

    def _delete_completed(self, messages: list[dict[str, Any]]) -> None:
        """The completed messages in one DeleteMessageBatch, as Lambda deletes them."""
        if not messages:
            return
        answer = self._sqs.delete_message_batch(
            QueueUrl=self.queue_url,
            Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)],
        )
        for failure in answer.get("Failed") or ():
            message = messages[int(failure["Id"])]
            self.report(
                f"{self.name}: message {message['MessageId']} was handled but could not be deleted "
                f"({failure.get('Code')}: {failure.get('Message')}): it comes back"
            )

    def pause_after(self, busy: bool) -> float:
        return self.blocked_pause if self.blocked and not busy else super().pause_after(busy)

    def _visible(self) -> int:
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])

    def _keep(self, message: dict[str, Any], why: str) -> None:
        receives = int(message["Attributes"]["ApproximateReceiveCount"])
        if self.max_receive_count is not None and receives >= self.max_receive_count:
            self.report(
                f"{self.name}: message {message['MessageId']} failed on receive {receives} of "
                f"{self.max_receive_count} ({why}): it goes to the dead-letter queue"
            )
        else:
            self.report(f"{self.name}: message {message['MessageId']} failed on receive {receives} ({why})")
        # The visibility timeout passes on the runtime's clock, like every other wait.
        wait = math.ceil(self._clock.real_seconds(timedelta(seconds=self._visibility)))
        if wait < self._visibility:
            self._sqs.change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=wait
            )


class StreamSource(Source):
    # Lambda reads each shard of a DynamoDB stream four times a second. A GetRecords costs
    # DynamoDB Local several ms of CPU; read 20 times a second, and at once again after every
    # batch, the reads took the CPU the API needed in a burst (decision 52).
    poll_pause = 0.25

    def __init__(
        self,
        *,
        function_name: str,
        handler: Handler,
        reader: StreamReader | StreamView,
        patterns: list[dict[str, Any]],
        batch_size: int,
        maximum_retry_attempts: int,
        report_item_failures: bool,
        on_failure: Callable[[dict[str, Any]], None] | None,
        report: Report,
        timeout_seconds: int = 30,
        retry_pause: float = 0.2,
        batching_window: float = 0.0,
    ) -> None:
        super().__init__(f"{function_name} <- stream", report)
        self.function_name = function_name
        self._handler = handler
        self._reader = reader
        self._patterns = patterns
        self.batch_size = batch_size
        self._max_retries = maximum_retry_attempts
        self._report_item_failures = report_item_failures
        self._on_failure = on_failure
        self._timeout = timeout_seconds
        self._retry_pause = retry_pause
        self.invocations = 0
        self.empty_reads = 0  # reads that found nothing new: the stream was read to its end
        self._read_full = False  # the last read hit the limit: more is waiting
        # MaximumBatchingWindowInSeconds (wall-clock seconds, as on AWS): from the first matching
        # record, keep reading until the batch is full or the window has passed.
        self._batching_window = batching_window

    def poll(self) -> bool:
        records = self._read()
        if records and len(records) < self.batch_size and self._batching_window > 0:
            closes = time.monotonic() + self._batching_window
            while len(records) < self.batch_size and not self._stopping.is_set():
                left = closes - time.monotonic()
                if left <= 0:
                    break
                if not self._read_full:
                    self._stopping.wait(min(self.poll_pause, left))
                records += self._read(self.batch_size - len(records))
        if not records:
            return False
        for start in range(0, len(records), self.batch_size):
            self.deliver(records[start : start + self.batch_size])
        return True

    def _read(self, limit: int | None = None) -> list[dict[str, Any]]:
        """One GetRecords pass (up to `limit` records): those the function's filter lets through."""
        limit = limit or self.batch_size
        read = self._reader.poll(limit=limit)
        self._read_full = len(read) >= limit
        if not read and getattr(self._reader, "read_the_stream", True):  # a test's reader: it did
            self.empty_reads += 1
        records: list[dict[str, Any]] = lambda_event(read, self._patterns)["Records"]
        return records

    def pause_after(self, busy: bool) -> float:
        return 0.0 if self._read_full else self.poll_pause

    def open(self) -> None:
        """Fix where reading starts (the reader's `start`) before the first poll."""
        self._reader.open()

    def deliver(self, batch: list[dict[str, Any]]) -> None:
        """Invoke until the batch is through, retrying from the first failed record."""
        retries = 0
        while batch and not self._stopping.is_set():
            self.invocations += 1
            try:
                answer = self._invoke({"Records": batch})
            except Exception as exc:
                first_failed, why = 0, f"{type(exc).__name__}: {exc}"
            else:
                failures = (answer or {}).get("batchItemFailures") if self._report_item_failures else None
                if not failures:
                    return
                sequence_numbers = [r["dynamodb"]["SequenceNumber"] for r in batch]
                failed = {str(f["itemIdentifier"]) for f in failures}
                first_failed = min(i for i, s in enumerate(sequence_numbers) if s in failed)
                why = "reported in batchItemFailures"
            batch = batch[first_failed:]
            retries += 1
            if retries > self._max_retries:
                self.report(
                    f"{self.name}: {len(batch)} record(s) failed {retries} times ({why}): "
                    "sent to the on-failure destination"
                )
                if self._on_failure is not None:
                    self._on_failure(self._failure_metadata(batch, why))
                return
            self.report(f"{self.name}: {len(batch)} record(s) failed ({why}); retry {retries}")
            self._stopping.wait(self._retry_pause)

    def _invoke(self, event: dict[str, Any]) -> Any:
        began = time.monotonic()
        try:
            return self._handler(event, lambda_context(self.function_name, self._timeout))
        finally:
            self._handled_seconds += time.monotonic() - began

    def _failure_metadata(self, batch: list[dict[str, Any]], why: str) -> dict[str, Any]:
        # The shape Lambda sends to an on-failure destination for a stream batch.
        first, last = batch[0]["dynamodb"], batch[-1]["dynamodb"]
        return {
            "requestContext": {"condition": "RetryAttemptsExhausted", "functionArn": self.function_name},
            "responseContext": {"functionError": why},
            "DDBStreamBatchInfo": {
                "streamArn": self._reader.stream_arn,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "batchSize": len(batch),
            },
        }


# --- schedules -------------------------------------------------------------------------------

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}


class ScheduleError(ValueError):
    pass


@dataclass(frozen=True)
class Schedule:
    expression: str

    def next_after(self, moment: datetime) -> datetime:
        """The first firing time strictly after `moment` (UTC)."""
        rate = _RATE.match(self.expression.strip())
        if rate is not None:
            every = int(rate.group(1)) * _UNITS[rate.group(2).rstrip("s")]
            if every <= 0:
                raise ScheduleError(f"{self.expression}: the rate must be positive")
            epoch = moment.timestamp()
            return datetime.fromtimestamp((math.floor(epoch / every) + 1) * every, UTC)
        if self.expression.startswith("cron(") and self.expression.endswith(")"):
            return _Cron.parse(self.expression[5:-1]).next_after(moment)
        raise ScheduleError(f"{self.expression!r} is neither rate(...) nor cron(...)")


@dataclass(frozen=True)
class _Cron:
    """EventBridge cron: minutes hours day-of-month month day-of-week year (UTC)."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None  # None: '?' or '*' (any)
    months: frozenset[int]
    weekdays: frozenset[int] | None  # 1 = Sunday ... 7 = Saturday, as EventBridge counts
    years: frozenset[int] | None

    @classmethod
    def parse(cls, text: str) -> _Cron:
        fields = text.split()
        if len(fields) != 6:
            raise ScheduleError(f"cron({text}): EventBridge cron has 6 fields, got {len(fields)}")
        minute, hour, day, month, weekday, year = fields
        months = {n: i for i, n in enumerate(calendar.month_abbr) if n}
        days = {n.upper(): i % 7 + 1 for i, n in enumerate(calendar.day_abbr, start=1)}
        return cls(
            minutes=_field(minute, 0, 59),
            hours=_field(hour, 0, 23),
            days=None if day in ("?", "*") else _field(day, 1, 31),
            months=_field(month, 1, 12, {k.upper(): v for k, v in months.items()}),
            weekdays=None if weekday in ("?", "*") else _field(weekday, 1, 7, days),
            years=None if year in ("?", "*") else _field(year, 1970, 2199),
        )

    def next_after(self, moment: datetime) -> datetime:
        candidate = moment.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = candidate + timedelta(days=366 * 5)
        while candidate < limit:
            if self.years is not None and candidate.year not in self.years:
                candidate = datetime(candidate.year + 1, 1, 1, tzinfo=UTC)
                continue
            if candidate.month not in self.months or not self._day_matches(candidate):
                candidate = (candidate + timedelta(days=1)).replace(hour=0, minute=0)
                continue
            if candidate.hour not in self.hours:
                candidate = (candidate + timedelta(hours=1)).replace(minute=0)
                continue
            if candidate.minute not in self.minutes:
                candidate += timedelta(minutes=1)
                continue
            return candidate
        raise ScheduleError("this cron expression never fires within five years")

    def _day_matches(self, moment: datetime) -> bool:
        weekday = moment.isoweekday() % 7 + 1  # Sunday = 1
        day_ok = self.days is None or moment.day in self.days
        weekday_ok = self.weekdays is None or weekday in self.weekdays
        return day_ok and weekday_ok


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
        if part == "*":
            start, end = low, high
        elif "-" in part:
            first, last = part.split("-", 1)
            start, end = _value(first, names), _value(last, names)
        else:
            start = _value(part, names)
            end = high if step > 1 else start
        if not (low <= start <= high and low <= end <= high) or step < 1:
            raise ScheduleError(f"cron field {text!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _value(text: str, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    try:
        return int(text)
    except ValueError:
        raise ScheduleError(f"{text!r} is not a cron value") from None


class ScheduleSource(Source):
    """Fires a function at its schedule, on the runtime's clock (a jump fires once, as EventBridge)."""

    poll_pause = 0.02

    def __init__(
        self,
        *,
        function_name: str,
        handler: Handler,
        schedule: Schedule,
        rule_name: str,
        clock: ScaledClock,
        report: Report,
        timeout_seconds: int = 30,
        constant_input: str | None = None,
    ) -> None:
        super().__init__(f"{function_name} <- {schedule.expression}", report)
        self.function_name = function_name
        self._handler = handler
        self.schedule = schedule
        # The rule's `Input`: EventBridge hands the function this JSON instead of the event.
        self._input: dict[str, Any] | None = None if constant_input is None else json.loads(constant_input)
        self._rule = rule_name
        self._clock = clock
        self._timeout = timeout_seconds
        self.next_due = schedule.next_after(clock.now())
        self.fired: list[datetime] = []

    def poll(self) -> bool:
        now = self._clock.now()
        if now < self.next_due:
            return False
        due, self.next_due = self.next_due, self.schedule.next_after(now)
        self.fired.append(due)
        try:
            self._handler(self.event(due), lambda_context(self.function_name, self._timeout))
        except Exception as exc:
            self.report(f"{self.name}: the run due at {due:%Y-%m-%d %H:%M} failed: {exc}")
        return True

    def event(self, due: datetime) -> dict[str, Any]:
        if self._input is not None:
            return dict(self._input)
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT,
            "time": due.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": REGION,
            "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{self._rule}"],
            "detail": {},
        }


def stop_all(sources: Iterable[Source], timeout: float = 5.0) -> None:
    items = list(sources)
    for source in items:
        source.stop()
    deadline = time.monotonic() + timeout
    for source in items:
        if source.is_alive():
            source.join(max(0.0, deadline - time.monotonic()))


def dumps(value: Any) -> str:
    return json.dumps(value, default=str)
