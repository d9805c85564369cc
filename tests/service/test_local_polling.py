"""`shopflow local`'s event sources poll no more than their work needs: one read of the table's
stream for every function it triggers, one poller of an idle queue, one delete per batch."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from shopflow.clock import ScaledClock
from shopflow.local.sources import PollerDemand, QueueSource, StreamSource
from shopflow.local.streams import SharedStream, StreamReader
from tests.service.test_local_sources import stream_record
from tests.support import moto_server

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/1"


class FakeStreams:
    """A DynamoDB Streams client over one shard: what is written, read by position."""

    def __init__(self) -> None:
        self.written: list[dict[str, Any]] = []
        self.get_records_calls = 0

    def describe_stream(self, StreamArn: str) -> dict[str, Any]:
        return {"StreamDescription": {"Shards": [{"ShardId": "shard-1"}]}}

    def get_shard_iterator(self, StreamArn: str, ShardId: str, ShardIteratorType: str) -> dict[str, Any]:
        start = len(self.written) if ShardIteratorType == "LATEST" else 0
        return {"ShardIterator": str(start)}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        self.get_records_calls += 1
        start = int(ShardIterator)
        records = self.written[start : start + Limit]
        return {"Records": records, "NextShardIterator": str(start + len(records))}


def stream_source(name: str, reader: Any, handled: list[str], batch_size: int = 10) -> StreamSource:
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        for record in event["Records"]:
            handled.append(record["dynamodb"]["SequenceNumber"])
            record["dynamodb"]["NewImage"]["n"] = {"N": "-1"}  # a handler may change its event
        return {"batchItemFailures": []}

    source = StreamSource(
        function_name=name,
        handler=handler,
        reader=reader,
        patterns=[],
        batch_size=batch_size,
        maximum_retry_attempts=0,
        report_item_failures=True,
        on_failure=None,
        report=lambda line: None,
    )
    source.open()
    return source


def test_one_read_of_the_stream_serves_every_function_it_triggers() -> None:
    streams = FakeStreams()
    streams.written = [stream_record(n) for n in range(3)]  # before the start: the outbox check's
    shared = SharedStream(StreamReader(streams, ARN, start="LATEST"))
    handled: dict[str, list[str]] = {name: [] for name in ("dispatch", "fanout", "watch")}
    sources = [stream_source(name, shared.view(), handled[name], batch_size=4) for name in handled]
    streams.written += [stream_record(n) for n in range(3, 13)]

    for source in sources:
        while source.poll():
            pass

    expected = [f"{n:05d}" for n in range(3, 13)]
    assert handled == {"dispatch": expected, "fanout": expected, "watch": expected}
    assert streams.get_records_calls == 1  # not one (or more) per function
    assert [source.empty_reads for source in sources] == [0, 0, 0]  # none read to the end since

    shared._read_at = float("-inf")  # a poll interval later: one read, nothing new
    for source in sources:
        assert not source.poll()
    assert [source.empty_reads for source in sources] == [1, 1, 1]  # for the outbox check
    assert streams.get_records_calls == 2

    streams.written.append(stream_record(13))
    shared._read_at = float("-inf")
    for source in sources:
        source.poll()
    assert [names[-1] for names in handled.values()] == ["00013"] * 3


def test_what_a_function_read_from_a_shared_stream_is_its_own() -> None:
    streams = FakeStreams()
    shared = SharedStream(StreamReader(streams, ARN))
    first, second = shared.view(), shared.view()
    shared.open()
    streams.written = [stream_record(1)]

    read = first.poll()
    read[0]["dynamodb"]["NewImage"]["n"] = {"N": "-1"}

    assert second.poll()[0]["dynamodb"]["NewImage"]["n"] == {"N": "1"}


class RecordingSqs:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        def call(**request: Any) -> Any:
            self.calls.append(name)
            return getattr(self.client, name)(**request)

        return call


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


def queue_pollers(sqs: Any, queue: str, handler: Any, count: int = 4) -> list[QueueSource]:
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    demand = PollerDemand()
    pollers = [
        QueueSource(
            function_name="NotifyFunction",
            handler=handler,
            sqs=RecordingSqs(sqs),
            queue_url=queue,
            queue_arn=arn,
            batch_size=10,
            report_item_failures=True,
            visibility_timeout=30,
            max_receive_count=None,
            clock=ScaledClock(speed=1),
            report=lambda line: None,
            poller=poller,
            demand=demand,
        )
        for poller in range(1, count + 1)
    ]
    for poller in pollers:
        poller.receive_wait_seconds = 0
    return pollers


def test_an_idle_queue_is_polled_by_one_poller_and_a_busy_one_by_more(moto_url: str) -> None:
    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name="us-east-1")
    queue = sqs.create_queue(QueueName="polling-idle")["QueueUrl"]
    in_handler, release = threading.Event(), threading.Event()

    def slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
        in_handler.set()
        release.wait(10)
        return {"batchItemFailures": []}

    first, second, third, _ = pollers = queue_pollers(sqs, queue, slow)

    for poller in pollers:
        poller.poll()
    assert [len(p._sqs.calls) for p in pollers] == [1, 0, 0, 0]  # one ReceiveMessage in all

    sqs.send_message(QueueUrl=queue, MessageBody="1")
    busy = threading.Thread(target=first.poll)
    busy.start()
    try:
        assert in_handler.wait(10)
        second.poll()  # the first is running the function: the second polls too
        third.poll()
    finally:
        release.set()
        busy.join(10)
    assert [p._sqs.calls.count("receive_message") for p in pollers] == [2, 1, 0, 0]


def test_a_batch_s_completed_messages_are_deleted_in_one_request(moto_url: str) -> None:
    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name="us-east-1")
    queue = sqs.create_queue(QueueName="polling-delete")["QueueUrl"]
    sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": str(n), "MessageBody": str(n)} for n in range(5)])

    def one_fails(event: dict[str, Any], context: Any) -> dict[str, Any]:
        kept = [r["messageId"] for r in event["Records"] if r["body"] == "3"]
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in kept]}

    (poller,) = queue_pollers(sqs, queue, one_fails, count=1)
    poller._sqs.client = sqs

    assert poller.poll()

    assert poller._sqs.calls == ["receive_message", "delete_message_batch"]
    counts = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=counts)["Attributes"]
    assert attributes == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "1"}


def test_while_the_api_is_busy_a_source_gives_way_as_long_as_its_function_took(moto_url: str) -> None:
    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name="us-east-1")
    queue = sqs.create_queue(QueueName="polling-yield")["QueueUrl"]

    def slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
        threading.Event().wait(0.05)
        return {"batchItemFailures": []}

    (poller,) = queue_pollers(sqs, queue, slow, count=1)
    sqs.send_message(QueueUrl=queue, MessageBody="1")
    assert poller.poll()
    assert poller._handled_seconds >= 0.05  # what it gives way for while the API is busy

    checks: list[bool] = []

    def api_busy() -> bool:  # busy for its first three checks, then idle
        checks.append(len(checks) < 3)
        return checks[-1]

    poller.yield_to = api_busy
    poller.give_way(60)

    assert checks == [True, True, True, False]  # back at once when the API went idle, not 60 s later
