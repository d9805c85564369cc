"""Concurrency tests run on AWS's DynamoDB Local: moto is not concurrency-safe.

One DynamoDB Local (in memory) serves the session; every test gets its own table, built
from template.yaml under a unique Stage, and a `DynamoOrderStore` bound to it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from shopflow.bootstrap import build_models
from shopflow.local.dynamodb_local import DynamoDBLocal, DynamoDBLocalError
from shopflow.local.resources import provision
from shopflow.local.template import Template
from shopflow.store.models import OrderItem, bind_table
from shopflow.store.orders import DynamoOrderStore

REGION = "us-east-1"


@pytest.fixture(scope="session", autouse=True)
def _models_built() -> None:
    # These tests run deliveries on threads, as `shopflow local` does: build the deferred
    # models first, the way every threaded host must (decision 15).
    build_models()


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[DynamoDBLocal]:
    # Never a skip: CI installs Java 17 and has npm, and a silently skipped race test proves nothing.
    server = DynamoDBLocal()
    try:
        server.start()
    except DynamoDBLocalError as exc:
        problem = str(exc)
    else:
        problem = None
    if problem is not None:
        pytest.fail(f"tests/concurrency need DynamoDB Local: {problem}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def table(dynamodb_local: DynamoDBLocal, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh table from template.yaml on DynamoDB Local, with the store's models bound to it.

    Yields the boto3 `Table`, through which the tests look at what the owner would see.
    """
    # Every botocore client made from here on (PynamoDB's too) talks to DynamoDB Local.
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local.endpoint)
    client = boto3.client("dynamodb", endpoint_url=dynamodb_local.endpoint, region_name=REGION)
    template = Template.load(Stage=f"cc-{uuid.uuid4().hex[:12]}")  # AllowedPattern: 16 chars at most
    name = provision(template, dynamodb=client, sqs=None).table_name()  # tables only, no queues
    bound = (OrderItem.Meta.table_name, OrderItem.Meta.region)
    bind_table(name, region=REGION)
    try:
        yield boto3.resource("dynamodb", endpoint_url=dynamodb_local.endpoint, region_name=REGION).Table(name)
    finally:
        bind_table(bound[0], region=bound[1])
        client.delete_table(TableName=name)


@pytest.fixture
def store(table: Any) -> DynamoOrderStore:
    store = DynamoOrderStore()
    # Build its botocore client now: sixteen threads each building one on their first call
    # cost seconds (and a Lambda container serves one request at a time anyway).
    store.load("warm-up", ())
    return store
