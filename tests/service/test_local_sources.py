"""Event sources of `shopflow local` behave as AWS's: batches, partial failures, DLQ, retries."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from shopflow.clock import ScaledClock
from shopflow.local.sources import QueueOutcome, QueueSource, Schedule, ScheduleSource, StreamSource, stop_all
from tests.support import moto_server


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def sqs(moto_url: str) -> Any:
    return boto3.client("sqs", endpoint_url=moto_url, region_name="us-east-1")


def wait_until(condition: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_a_poison_message_is_retried_then_dead_lettered_while_the_batch_completes(sqs: Any) -> None:
    dlq = sqs.create_queue(QueueName="sources-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5})
    queue = sqs.create_queue(
        QueueName="sources-q", Attributes={"VisibilityTimeout": "180", "RedrivePolicy": policy}
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for n in range(6):
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"n": n, "poison": n == 3}))
    seen: Counter[int] = Counter()
    receive_counts: list[str] = []
    completed: list[str] = []
    reports: list[str] = []

    def consumer(event: dict[str, Any], context: Any) -> dict[str, Any]:
        failures = []
        for record in event["Records"]:
            body = json.loads(record["body"])
            seen[body["n"]] += 1
            if body["poison"]:
                receive_counts.append(record["attributes"]["ApproximateReceiveCount"])
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    def on_outcome(outcome: QueueOutcome) -> None:
        completed.extend(message_id for message_id, _ in outcome.completed)

    source = QueueSource(
        function_name="NotifyFunction",
        handler=consumer,
        sqs=sqs,
        queue_url=queue,
        queue_arn=arn,
        batch_size=10,
        report_item_failures=True,
        visibility_timeout=180,
        max_receive_count=5,
        clock=ScaledClock(speed=3600),  # 180 s of visibility pass in well under a second
        report=reports.append,
        on_outcome=on_outcome,
    )
    source.start()
    try:
        wait_until(lambda: int(_count(sqs, dlq)) == 1)
    finally:
        stop_all([source])

    assert {n: c for n, c in seen.items() if n != 3} == {0: 1, 1: 1, 2: 1, 4: 1, 5: 1}  # each once
    assert receive_counts == ["1", "2", "3", "4", "5"]
    assert len(completed) == 5 and len(set(completed)) == 5
    assert any("failed on receive 5 of 5" in line and "dead-letter" in line for line in reports)
    dead = sqs.receive_message(QueueUrl=dlq)["Messages"]
    assert json.loads(dead[0]["Body"]) == {"n": 3, "poison": True}
    assert _count(sqs, queue) == "0"


def test_an_exception_keeps_the_whole_batch(sqs: Any) -> None:
    queue = sqs.create_queue(QueueName="sources-raise", Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for n in range(3):
        sqs.send_message(QueueUrl=queue, MessageBody=str(n))
    calls: list[list[str]] = []

    def flaky(event: dict[str, Any], context: Any) -> None:
        calls.append(sorted(r["body"] for r in event["Records"]))
        if len(calls) == 1:
            raise RuntimeError("database down")

    source = QueueSource(
        function_name="F",
        handler=flaky,
        sqs=sqs,
        queue_url=queue,
        queue_arn=arn,
        batch_size=10,
        report_item_failures=True,
        visibility_timeout=60,
        max_receive_count=None,
        clock=ScaledClock(speed=600),
        report=lambda line: None,
    )
    source.start()
    try:
        wait_until(lambda: sum(len(c) for c in calls) >= 6 and _count(sqs, queue) == "0")
    finally:
        stop_all([source])

    assert sorted(b for c in calls for b in c) == ["0", "0", "1", "1", "2", "2"]  # all kept once, then done


class FakeReader:
    stream_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/1"

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records

    def poll(self, limit: int = 100) -> list[dict[str, Any]]:
        records, self.records = self.records[:limit], self.records[limit:]
        return records


def stream_record(n: int) -> dict[str, Any]:
    return {
        "eventName": "INSERT",
        "dynamodb": {
            "SequenceNumber": f"{n:05d}",
            "NewImage": {"item_type": {"S": "OUTBOX"}, "n": {"N": str(n)}},
        },
    }


def test_a_stream_batch_is_retried_from_the_first_failed_record_then_sent_to_on_failure() -> None:
    invocations: list[list[str]] = []
    failed_batches: list[dict[str, Any]] = []

    def dispatch(event: dict[str, Any], context: Any) -> dict[str, Any]:
        numbers = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
        invocations.append(numbers)
        return {"batchItemFailures": [{"itemIdentifier": "00002"}] if "00002" in numbers else []}

    source = StreamSource(
        function_name="DispatchFunction",
        handler=dispatch,
        reader=FakeReader([stream_record(n) for n in range(4)]),  # type: ignore[arg-type]
        patterns=[{"dynamodb": {"NewImage": {"item_type": {"S": ["OUTBOX"]}}}}],
        batch_size=10,
        maximum_retry_attempts=2,
        report_item_failures=True,
        on_failure=failed_batches.append,
        report=lambda line: None,
        retry_pause=0,
    )

    assert source.poll() is True

    assert invocations == [
        ["00000", "00001", "00002", "00003"],
        ["00002", "00003"],
        ["00002", "00003"],
    ]
    assert [b["DDBStreamBatchInfo"]["startSequenceNumber"] for b in failed_batches] == ["00002"]
    assert failed_batches[0]["requestContext"]["condition"] == "RetryAttemptsExhausted"


class TricklingReader(FakeReader):
    """A stream a burst of writes reaches a few records per read (what a burst of requests does)."""

    def __init__(self, records: list[dict[str, Any]], per_read: int) -> None:
        super().__init__(records)
        self.per_read = per_read

    def poll(self, limit: int = 100) -> list[dict[str, Any]]:
        return super().poll(min(limit, self.per_read))


def gathering_source(window: float, batches: list[list[str]], reader: FakeReader) -> StreamSource:
    def fan_out(event: dict[str, Any], context: Any) -> dict[str, Any]:
        batches.append([r["dynamodb"]["SequenceNumber"] for r in event["Records"]])
        return {"batchItemFailures": []}

    source = StreamSource(
        function_name="ChannelFanoutFunction",
        handler=fan_out,
        reader=reader,  # type: ignore[arg-type]
        patterns=[{"dynamodb": {"NewImage": {"item_type": {"S": ["OUTBOX"]}}}}],
        batch_size=10,
        maximum_retry_attempts=0,
        report_item_failures=True,
        on_failure=None,
        report=lambda line: None,
        batching_window=window,
    )
    source.poll_pause = 0.01
    return source


def test_a_batching_window_gathers_a_burst_into_one_invocation_up_to_the_batch_size() -> None:
    gathered: list[list[str]] = []
    source = gathering_source(0.5, gathered, TricklingReader([stream_record(n) for n in range(25)], 3))
    while source.poll():
        pass
    assert [len(batch) for batch in gathered] == [10, 10, 5]  # a full batch goes at once
    assert sorted(n for batch in gathered for n in batch) == [f"{n:05d}" for n in range(25)]

    without: list[list[str]] = []
    source = gathering_source(0.0, without, TricklingReader([stream_record(n) for n in range(6)], 3))
    while source.poll():
        pass
    assert without == [["00000", "00001", "00002"], ["00003", "00004", "00005"]]


def test_a_schedule_fires_on_the_local_clock_and_once_after_a_jump() -> None:
    clock = ScaledClock(speed=1, start=datetime(2026, 11, 22, 10, 0, 30, tzinfo=UTC))
    events: list[dict[str, Any]] = []
    source = ScheduleSource(
        function_name="SweepFunction",
        handler=lambda event, context: events.append(event),
        schedule=Schedule("rate(1 minute)"),
        rule_name="SweepFunction-EveryMinute",
        clock=clock,
        report=lambda line: None,
    )

    assert source.poll() is False  # not due yet
    clock.advance(timedelta(minutes=10))
    assert source.poll() is True
    assert source.poll() is False  # ten missed minutes fire once, as EventBridge does not backfill

    assert [e["time"] for e in events] == ["2026-11-22T10:01:00Z"]
    assert events[0]["detail-type"] == "Scheduled Event"
    assert source.next_due == datetime(2026, 11, 22, 10, 11, tzinfo=UTC)


def test_a_schedule_with_an_input_hands_the_function_that_input_as_eventbridge_does() -> None:
    clock = ScaledClock(speed=1, start=datetime(2026, 11, 22, 6, 59, 30, tzinfo=UTC))
    events: list[dict[str, Any]] = []
    source = ScheduleSource(
        function_name="PricingRepriceFunction",
        handler=lambda event, context: events.append(event),
        schedule=Schedule("cron(0 7 * * ? *)"),
        rule_name="PricingRepriceFunction-DailyProposals",
        clock=clock,
        report=lambda line: None,
        constant_input='{"digest": "price_proposals"}',
    )
    clock.advance(timedelta(minutes=1))
    assert source.poll() is True
    assert events == [{"digest": "price_proposals"}]


def _count(sqs: Any, url: str) -> str:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return str(sum(int(v) for v in attributes.values()))


def test_pollers_of_a_fifo_queue_never_hold_one_message_group_at_once(sqs: Any) -> None:
    """SQS hands out a FIFO group's next message only once the earlier ones are done, so a
    channel's pushes run one at a time, in order. moto decides it per ReceiveMessage
    without a lock: four pollers receiving at the same moment could each take the group's head."""
    arn = "arn:aws:sqs:us-east-1:123456789012:sources-pushes.fifo"
    handed_out: list[list[str]] = []
    switching = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # moto serves in this process: threads interleave as on a busy machine
    try:
        for trial in range(40):
            queue = sqs.create_queue(
                QueueName=f"sources-pushes-{trial}.fifo",
                Attributes={"FifoQueue": "true", "VisibilityTimeout": "300"},
            )["QueueUrl"]
            sqs.send_message_batch(
                QueueUrl=queue,
                Entries=[
                    {
                        "Id": str(n),
                        "MessageBody": str(n),
                        "MessageGroupId": "shop",
                        "MessageDeduplicationId": str(n),
                    }
                    for n in range(10)
                ],
            )
            received: list[str] = []
            start = threading.Barrier(4)

            def held(event: dict[str, Any], context: Any, received: list[str] = received) -> dict[str, Any]:
                received.extend(record["body"] for record in event["Records"])
                # the push fails: its message stays in flight, so its group must stay blocked
                return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}

            pollers = [
                QueueSource(
                    function_name="ChannelPushFunction",
                    handler=held,
                    sqs=boto3.client("sqs", endpoint_url=sqs.meta.endpoint_url, region_name="us-east-1"),
                    queue_url=queue,
                    queue_arn=arn,
                    batch_size=1,
                    report_item_failures=True,
                    visibility_timeout=300,
                    max_receive_count=None,
                    clock=ScaledClock(speed=1),
                    report=lambda line: None,
                    poller=poller,
                )
                for poller in range(1, 5)
            ]
            for poller in pollers:
                poller.receive_wait_seconds = 0

            def poll_once(source: QueueSource, start: threading.Barrier = start) -> None:
                start.wait()
                source.poll()

            threads = [threading.Thread(target=poll_once, args=(p,)) for p in pollers]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            handed_out.append(received)
    finally:
        sys.setswitchinterval(switching)

    assert [trial for trial in handed_out if trial != ["0"]] == []


class RecordingSqs:
    """An SQS client that notes how long each ReceiveMessage may wait."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.waits: list[int] = []

    def receive_message(self, **request: Any) -> Any:
        self.waits.append(request["WaitTimeSeconds"])
        return self.client.receive_message(**request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


def test_a_fifo_group_held_back_by_a_kept_message_is_short_polled(sqs: Any) -> None:
    """A down channel keeps its group's head message in flight for the visibility timeout;
    the group's next messages are visible but cannot be handed out, and moto's long poll spins a
    core for its whole wait while so. The poller short-polls such a queue instead."""
    queue = sqs.create_queue(
        QueueName="sources-held.fifo", Attributes={"FifoQueue": "true", "VisibilityTimeout": "300"}
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for n in range(2):
        sqs.send_message(
            QueueUrl=queue, MessageBody=str(n), MessageGroupId="woo", MessageDeduplicationId=str(n)
        )
    recording = RecordingSqs(sqs)

    def channel_down(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}

    source = QueueSource(
        function_name="ChannelPushFunction",
        handler=channel_down,
        sqs=recording,
        queue_url=queue,
        queue_arn=arn,
        batch_size=1,
        report_item_failures=True,
        visibility_timeout=300,
        max_receive_count=None,
        clock=ScaledClock(speed=1),
        report=lambda line: None,
    )
    source.start()
    try:
        wait_until(lambda: len(recording.waits) >= 6)
    finally:
        stop_all([source])

    # the head (kept), one long poll that finds the group held, then short polls only
    assert recording.waits[:6] == [1, 1, 0, 0, 0, 0]
    assert source.blocked
