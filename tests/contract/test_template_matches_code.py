"""template.yaml and the code agree: handlers, routes, table keys and indexes, queues."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import app as app_module
from shopflow.bootstrap import _queue_env_var
from shopflow.capabilities import event_routes
from shopflow.local.template import Template
from shopflow.store.models import MODELS
from shopflow.sync.push import MAX_RECEIVES
from tests.support import REPO

TEMPLATE = Template.load()
FUNCTIONS = TEMPLATE.of_type("AWS::Serverless::Function")


def test_every_handler_exists_in_app_py() -> None:
    for logical_id in FUNCTIONS:
        module, name = TEMPLATE.function_properties(logical_id)["Handler"].split(".")
        assert module == "app", logical_id
        assert callable(getattr(app_module, name, None)), f"{logical_id}: app.{name} does not exist"


def _api_events() -> list[tuple[str, str, str]]:
    return [
        (logical_id, event["Properties"]["Path"], event["Properties"]["Method"].upper())
        for logical_id, function in FUNCTIONS.items()
        for event in function["Properties"].get("Events", {}).values()
        if event["Type"] == "Api"
    ]


def test_every_chalice_route_has_exactly_one_api_event_and_the_reverse() -> None:
    routes = sorted((path, method) for path, methods in app_module.app.routes.items() for method in methods)
    events = sorted((path, method) for _, path, method in _api_events())

    assert events == routes
    assert all(TEMPLATE.function_properties(fn)["Handler"] == "app.app" for fn, _, _ in _api_events())


def test_exactly_the_iam_authorized_routes_are_iam_authorized_in_the_template() -> None:
    """A route Chalice guards with IAMAuthorizer is guarded by API Gateway only if its Api event
    says so; API Gateway then invokes the function itself (InvokeRole NONE), so a caller needs
    execute-api:Invoke on the route and nothing more."""
    from chalice.app import IAMAuthorizer

    guarded = sorted(
        (path, method)
        for path, methods in app_module.app.routes.items()
        for method, entry in methods.items()
        if isinstance(entry.authorizer, IAMAuthorizer)
    )
    events = [
        (event["Properties"]["Path"], event["Properties"]["Method"].upper(), event["Properties"].get("Auth"))
        for function in FUNCTIONS.values()
        for event in function["Properties"].get("Events", {}).values()
        if event["Type"] == "Api"
    ]

    assert guarded == sorted((path, method) for path, method, auth in events if auth)
    assert guarded and all(path.startswith("/admin/") for path, _ in guarded)
    assert all(auth == {"Authorizer": "AWS_IAM", "InvokeRole": "NONE"} for _, _, auth in events if auth)


def test_the_daily_proposals_email_is_a_schedule_of_the_reprice_function_with_its_input() -> None:
    import json

    from shopflow.pricing.digest import DIGEST_INPUT

    events = TEMPLATE.function_properties("PricingRepriceFunction")["Events"]
    inputs = [e["Properties"].get("Input") for e in events.values() if e["Type"] == "Schedule"]

    # The handler tells the digest from a reprice tick by it.
    assert DIGEST_INPUT in [json.loads(given) for given in inputs if given]


def _attribute_types(props: dict[str, Any]) -> dict[str, str]:
    return {d["AttributeName"]: d["AttributeType"] for d in props["AttributeDefinitions"]}


def _keys(key_schema: list[dict[str, str]]) -> dict[str, str]:
    return {k["KeyType"]: k["AttributeName"] for k in key_schema}


def test_table_keys_and_indexes_equal_the_pynamodb_models() -> None:
    [props] = [t["Properties"] for t in TEMPLATE.of_type("AWS::DynamoDB::Table").values()]
    attribute_types = _attribute_types(props)
    for model in MODELS:
        table = model._get_schema()
        assert _keys(table["key_schema"]) == _keys(props["KeySchema"]), model.__name__
        for name, kind in _attribute_types({"AttributeDefinitions": table["attribute_definitions"]}).items():
            assert attribute_types[name] == kind, f"{model.__name__}.{name}"
    template_indexes = {
        i["IndexName"]: (_keys(i["KeySchema"]), i["Projection"]["ProjectionType"])
        for i in props.get("GlobalSecondaryIndexes", [])
    }
    model_indexes = {
        i["index_name"]: (_keys(i["key_schema"]), i["projection"]["ProjectionType"])
        for model in MODELS
        for i in model._get_schema().get("global_secondary_indexes", [])
    }
    assert model_indexes == template_indexes


def test_table_streams_both_images_and_expires_with_ttl() -> None:
    [props] = [t["Properties"] for t in TEMPLATE.of_type("AWS::DynamoDB::Table").values()]
    assert props["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_every_routed_concern_has_a_queue_with_a_dead_letter_queue() -> None:
    environment = TEMPLATE.function_properties("DispatchFunction")["Environment"]["Variables"]
    queues = TEMPLATE.of_type("AWS::SQS::Queue")
    for concern in {c for targets in event_routes().values() for c in targets}:
        ref = environment[_queue_env_var(concern)]["Ref"]
        redrive = queues[ref]["Properties"]["RedrivePolicy"]
        # a price push outlasts a channel down for an hour and a half, as the stock push does
        assert redrive["maxReceiveCount"] == (10 if concern == "price-push" else 5), concern
        assert redrive["deadLetterTargetArn"]["Fn::GetAtt"][0] in queues


def test_dispatch_reports_partial_failures_and_keeps_what_it_cannot_send() -> None:
    stream = TEMPLATE.resources["DispatchFunction"]["Properties"]["Events"]["OutboxStream"]["Properties"]
    assert stream["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert stream["DestinationConfig"]["OnFailure"]["Type"] == "SQS"


def test_every_routed_concern_has_a_consumer_that_reports_partial_failures_in_time() -> None:
    environment = TEMPLATE.function_properties("DispatchFunction")["Environment"]["Variables"]
    queues = TEMPLATE.of_type("AWS::SQS::Queue")
    consumers = {
        event["Properties"]["Queue"]["Fn::GetAtt"][0]: logical_id
        for logical_id in FUNCTIONS
        for event in TEMPLATE.function_properties(logical_id).get("Events", {}).values()
        if event["Type"] == "SQS"
    }
    for concern in {c for targets in event_routes().values() for c in targets}:
        queue = environment[_queue_env_var(concern)]["Ref"]
        assert queue in consumers, f"nothing consumes the {concern} queue"
        props = TEMPLATE.function_properties(consumers[queue])
        sources = [e["Properties"] for e in props["Events"].values() if e["Type"] == "SQS"]
        assert all(s["FunctionResponseTypes"] == ["ReportBatchItemFailures"] for s in sources), concern
        # AWS: a queue's visibility timeout at least six times its consumer's timeout.
        assert queues[queue]["Properties"]["VisibilityTimeout"] >= 6 * props["Timeout"], concern


def test_the_channel_push_queue_retries_an_hour_long_outage_and_names_its_last_try() -> None:
    queue = TEMPLATE.of_type("AWS::SQS::Queue")["ChannelPushQueue"]["Properties"]
    receives = queue["RedrivePolicy"]["maxReceiveCount"]
    assert receives == MAX_RECEIVES  # channel_push tells the owner on that try, before the DLQ
    assert queue["VisibilityTimeout"] * (receives - 1) >= 3600


def test_every_function_has_its_own_role_timeout_memory_and_log_retention() -> None:
    for logical_id in FUNCTIONS:
        props = TEMPLATE.function_properties(logical_id)
        assert "Role" not in props and props["Policies"], logical_id  # SAM makes one role per function
        assert props["Timeout"] and props["MemorySize"], logical_id
        groups = [
            g
            for g in TEMPLATE.of_type("AWS::Logs::LogGroup").values()
            if g["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{{logical_id}}}"}
        ]
        assert len(groups) == 1, logical_id


def test_cfn_lint_is_clean() -> None:
    cfn_lint = shutil.which("cfn-lint", path=str(Path(sys.executable).parent)) or shutil.which("cfn-lint")
    if cfn_lint is None:
        pytest.fail("cfn-lint is not installed: pip install -e '.[dev]'")
    result = subprocess.run(
        [cfn_lint, str(REPO / "template.yaml")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
