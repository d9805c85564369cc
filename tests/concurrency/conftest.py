"""Concurrency tests run on AWS's DynamoDB Local: moto is not concurrency-safe."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from shopflow.local.dynamodb_local import DynamoDBLocal
from shopflow.local.resources import provision
from shopflow.local.template import Template
from shopflow.store.models import bind_table
from shopflow.store.orders import DynamoOrderStore


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[DynamoDBLocal]:
    # No skip: CI installs Java 17 and npm; a missing one fails with DynamoDBLocalError's advice.
    with DynamoDBLocal() as server:
        yield server


@pytest.fixture
def table(dynamodb_local: DynamoDBLocal, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local.endpoint)
    client = boto3.client("dynamodb", endpoint_url=dynamodb_local.endpoint)
    template = Template.load(Stage=f"c{uuid.uuid4().hex[:12]}")
    name = provision(template, dynamodb=client, sqs=None).table_name()
    bind_table(name, region="us-east-1")
    yield boto3.resource("dynamodb", endpoint_url=dynamodb_local.endpoint).Table(name)
    client.delete_table(TableName=name)


@pytest.fixture
def store(table: Any) -> DynamoOrderStore:
    return DynamoOrderStore()


def items_by_type(table: Any) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for item in table.scan(ConsistentRead=True)["Items"]:
        found.setdefault(item["item_type"], []).append(item)
    return found
