"""Creating template.yaml's tables and queues on a local endpoint (moto, DynamoDB Local)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from shopflow.local.template import Template

LOCAL_API_ID = "local-api"


@dataclass
class Provisioned:
    """Physical names of what was created, and each function's resolved environment."""

    refs: dict[str, str] = field(default_factory=dict)  # logical id -> table name / queue URL
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)

    def table_name(self, logical_id: str = "ShopflowTable") -> str:
        return self.refs[logical_id]


def provision(template: Template, *, dynamodb: Any, sqs: Any | None) -> Provisioned:
    """Create every DynamoDB table and (given an SQS client) queue of `template` (idempotent)."""
    done = Provisioned()
    # APIs are not created locally; an environment that names one (SHOPFLOW_API_URL) gets a
    # placeholder id, which `shopflow local` replaces with its own URL.
    for logical_id in template.of_type("AWS::Serverless::Api"):
        done.refs[logical_id] = LOCAL_API_ID
    for logical_id, resource in template.of_type("AWS::DynamoDB::Table").items():
        _create_table(template, logical_id, resource["Properties"], dynamodb, done)
    if sqs is None:
        return done
    queues = template.of_type("AWS::SQS::Queue")
    pending = dict(queues)
    while pending:  # dead-letter queues first: a redrive policy names its DLQ's ARN
        for logical_id, resource in list(pending.items()):
            if all(dep in done.refs for dep in _queue_dependencies(resource, queues)):
                _create_queue(template, logical_id, resource.get("Properties", {}), sqs, done)
                del pending[logical_id]
    return done


def function_environment(template: Template, logical_id: str, done: Provisioned) -> dict[str, str]:
    variables = template.function_properties(logical_id)["Environment"]["Variables"]
    return {k: str(template.resolve(v, done.refs, done.attributes)) for k, v in variables.items()}


def _create_table(
    template: Template, logical_id: str, props: dict[str, Any], dynamodb: Any, done: Provisioned
) -> None:
    name = template.resolve(props["TableName"], done.refs, done.attributes)
    request: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        request["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if "StreamSpecification" in props:
        request["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    try:
        dynamodb.create_table(**request)
        dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
    except dynamodb.exceptions.ResourceInUseException:
        pass  # kept from an earlier run (a persisted DynamoDB Local)
    description = dynamodb.describe_table(TableName=name)["Table"]
    done.refs[logical_id] = name
    done.attributes[(logical_id, "Arn")] = description["TableArn"]
    if "LatestStreamArn" in description:
        done.attributes[(logical_id, "StreamArn")] = description["LatestStreamArn"]


def _queue_dependencies(resource: dict[str, Any], queues: dict[str, Any]) -> list[str]:
    redrive = resource.get("Properties", {}).get("RedrivePolicy", {})
    target = redrive.get("deadLetterTargetArn", {})
    return [target["Fn::GetAtt"][0]] if isinstance(target, dict) and "Fn::GetAtt" in target else []


def _create_queue(
    template: Template, logical_id: str, props: dict[str, Any], sqs: Any, done: Provisioned
) -> None:
    name = f"shopflow-{template.parameters.get('Stage', 'dev')}-{logical_id}"
    attributes: dict[str, str] = {
        key: str(props[key])
        for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds")
        if key in props
    }
    if props.get("FifoQueue"):  # as CloudFormation names it: a FIFO queue's name ends in .fifo
        name += ".fifo"
        attributes["FifoQueue"] = "true"
    if "RedrivePolicy" in props:
        policy = template.resolve(props["RedrivePolicy"], done.refs, done.attributes)
        attributes["RedrivePolicy"] = json.dumps(policy)
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    done.refs[logical_id] = url
    done.attributes[(logical_id, "Arn")] = arn
    done.attributes[(logical_id, "QueueName")] = name
