"""Service tests: the Chalice app against moto, with resources built from template.yaml."""

from __future__ import annotations

import email
import email.policy
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import botocore.client
import pytest
from chalice.test import Client
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from app import app, sweep, timers
from shopflow import bootstrap
from shopflow.clock import FakeClock
from shopflow.local.resources import Provisioned, function_environment, provision
from shopflow.local.sources import lambda_sqs_record
from shopflow.local.streams import StreamReader, filter_patterns, lambda_event
from shopflow.local.template import Template
from tests.support import (
    EVENTS_SECRET,
    SHOP_DOMAIN,
    SHOPIFY_PREVIOUS_SECRET,
    SHOPIFY_SECRET,
    WOO_SECRET,
    dumps,
    moto_server,
    shopify_headers,
)

STAGE = "test"
SECRETS = {
    "webhooks/shopify/secret": SHOPIFY_SECRET,
    "webhooks/shopify/previous_secret": SHOPIFY_PREVIOUS_SECRET,
    "webhooks/woocommerce/secret": WOO_SECRET,
    "webhooks/events/secret": EVENTS_SECRET,
}


@dataclass
class Stack:
    template: Template
    provisioned: Provisioned
    clock: FakeClock
    client: Client

    @property
    def table(self) -> Any:
        return boto3.resource("dynamodb").Table(self.provisioned.table_name())

    def items(self) -> list[dict[str, Any]]:
        return self.table.scan(ConsistentRead=True)["Items"]

    def items_of(self, item_type: str) -> list[dict[str, Any]]:
        return [i for i in self.items() if i["item_type"] == item_type]

    def timeline_lines(self) -> list[dict[str, Any]]:
        """Every timeline line in sort-key order; one that announces an event is its outbox item."""
        return sorted((i for i in self.items() if i["sk"].startswith("TIMELINE#")), key=lambda i: i["sk"])

    def put_setting(self, name: str, value: str, secure: bool = False) -> None:
        boto3.client("ssm").put_parameter(
            Name=f"/shopflow/{STAGE}/{name}",
            Value=value,
            Overwrite=True,
            Type="SecureString" if secure else "String",
        )


def drain(stack: Stack, queue: str) -> list[dict[str, Any]]:
    """Every message on a queue, as the Lambda SQS records its consumer gets (and deleted)."""
    sqs = boto3.client("sqs")
    url = stack.provisioned.refs[queue]
    records = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get(
        "Messages", []
    ):
        for message in batch:
            records.append(lambda_sqs_record(message, stack.provisioned.attributes[(queue, "Arn")]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return records


def deliver_notify(stack: Stack) -> None:
    from app import notify

    records = drain(stack, "NotifyQueue")
    if records:
        assert notify({"Records": records}, None) == {"batchItemFailures": []}


@pytest.fixture
def dynamodb_calls() -> Iterator[Counter[str]]:
    """DynamoDB requests by operation, counted at botocore while the test runs."""
    calls: Counter[str] = Counter()
    real = botocore.client.BaseClient._make_api_call

    def counting(client: Any, operation: str, params: Any) -> Any:
        if client.meta.service_model.service_name == "dynamodb":
            calls[operation] += 1
        return real(client, operation, params)

    botocore.client.BaseClient._make_api_call = counting  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        botocore.client.BaseClient._make_api_call = real  # type: ignore[method-assign]


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    with running_stack(monkeypatch) as running:
        yield running


@contextmanager
def running_stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """The whole stack on moto (also for a module-scoped fixture that empties the table per test)."""
    with mock_aws():
        template = Template.load(Stage=STAGE)
        provisioned = provision(template, dynamodb=boto3.client("dynamodb"), sqs=boto3.client("sqs"))
        for function in template.of_type("AWS::Serverless::Function"):
            for key, value in function_environment(template, function, provisioned).items():
                monkeypatch.setenv(key, value)
        ssm = boto3.client("ssm")
        for name, value in SECRETS.items():
            ssm.put_parameter(Name=f"/shopflow/{STAGE}/{name}", Value=value, Type="SecureString")
        ssm.put_parameter(
            Name=f"/shopflow/{STAGE}/webhooks/shopify/shop_domains", Value=SHOP_DOMAIN, Type="String"
        )
        clock = FakeClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
        bootstrap.reset(clock)
        with Client(app) as client:
            yield Stack(template, provisioned, clock, client)


def plain_text(message: Any) -> str:
    """The text part of a sent email, decoded (the raw MIME is quoted-printable)."""
    parsed = email.message_from_string(message.raw_data, policy=email.policy.default)
    part = parsed.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def sent_emails() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)


def post_shopify(stack: Stack, topic: str, payload: dict[str, Any], webhook_id: str | None = None) -> Any:
    body = dumps(payload)
    answer = stack.client.http.post(
        "/webhooks/shopify", headers=shopify_headers(body, topic, webhook_id=webhook_id), body=body
    )
    assert answer.status_code == 200, answer.body
    return answer.json_body


def run_due(stack: Stack) -> int:
    """One sweep; the timers it queued act; notify sends what they asked for."""
    due = sweep({}, None)["due"]
    records = drain(stack, "TimersQueue")
    if records:
        assert timers({"Records": records}, None) == {"batchItemFailures": []}
    deliver_notify(stack)
    return due


def stream_event(
    stack: Stack, function: str = "DispatchFunction", source: str = "OutboxStream"
) -> dict[str, Any]:
    """What Lambda's event source mapping hands `function` (dispatch by default): the stream's
    records from its start, filtered as template.yaml says."""
    arn = stack.provisioned.attributes[("ShopflowTable", "StreamArn")]
    reader = StreamReader(boto3.client("dynamodbstreams"), arn)
    records: list[dict[str, Any]] = []
    seen: set[str] = set()
    while batch := [r for r in reader.poll(limit=1000) if r["dynamodb"]["SequenceNumber"] not in seen]:
        seen.update(r["dynamodb"]["SequenceNumber"] for r in batch)  # moto may hand a page again
        records += batch
    props = stack.template.function_properties(function)["Events"][source]["Properties"]
    return lambda_event(records, filter_patterns(props))


class Run:
    """`shopflow ...` as the owner types it (against the test's stage unless --local), with what
    it printed kept in `out` and `err`."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys
        self.out = self.err = ""

    def __call__(self, *argv: str, stage: str | None = STAGE) -> int:
        from shopflow.cli import main

        extra = ["--stage", stage] if stage and "--local" not in argv else []
        code = main([*argv, *extra])
        self.out, self.err = self.capsys.readouterr()
        return code


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    return Run(capsys)


@pytest.fixture
def moto_url() -> Iterator[str]:
    """A moto server of its own, standing in for a running `shopflow local`'s endpoints."""
    with moto_server() as url:
        yield url


def running_local_instance(data_dir: Path, ssm_url: str) -> list[str]:
    """Make `data_dir` look like a running `shopflow local` whose SSM is `ssm_url`; returns the
    CLI flags that talk to it."""
    import os

    from shopflow.target import LocalSession

    LocalSession(
        pid=os.getpid(),
        stage="local",
        region="us-east-1",
        table_name="shopflow-local",
        api_url="http://127.0.0.1:8000",
        control_url="http://127.0.0.1:8001",
        endpoints={"ssm": ssm_url},
    ).write(data_dir)
    return ["--local", "--data-dir", str(data_dir)]
