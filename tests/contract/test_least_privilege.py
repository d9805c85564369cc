"""Each function's role in template.yaml allows exactly the AWS actions its code calls.

The handlers run against moto through a shop's whole life (products, an abandoned checkout and
its reminders, orders paid, late, shipped by SMS, delivered, reviewed, replenished, an
unsubscribe). Every botocore call is recorded as IAM sees it, under the function whose handler
made it (found on the call stack, so test set-up is left out); a transaction counts as the
per-item actions IAM checks. Then, per function:

- every recorded (action, resource) is allowed by its role's policies, and not denied;
- every action its policies allow is one the code called (no extra permission).

IAM is modelled as far as these policies need: `*` and `?` wildcards, Allow and Deny, a call
without a resource ARN (SMS to a phone number) matched only by `"Resource": "*"`. SES authorizes
a send on the identity of its From domain and on its configuration set, as the SES guide says.
"""

from __future__ import annotations

import fnmatch
import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr
from types import CodeType
from typing import Any
from urllib.parse import urlparse

import boto3
import botocore.client
import pytest

import app as app_module
from shopflow import bootstrap
from shopflow.local.fakes.woocommerce import FakeWooCommerce
from shopflow.local.resources import Provisioned
from shopflow.local.template import _PSEUDO, Template
from shopflow.messaging.unsubscribe import make_token
from shopflow.store.orders import iso
from tests.service.conftest import (
    STAGE,
    Stack,
    deliver_notify,
    drain,
    post_shopify,
    run_due,
    stack,
    stream_event,
)
from tests.support import corpus, dumps, events_headers

__all__ = ["stack"]  # the moto fixture of the service tests

SES_IDENTITY = "demo-shop.example"
SES_CONFIGURATION_SET = "shopflow-transactional"
REGION, ACCOUNT = _PSEUDO["AWS::Region"], _PSEUDO["AWS::AccountId"]
NO_ARN = None  # a request IAM checks without a resource ARN (sns:Publish to a phone number)


@dataclass(frozen=True)
class Call:
    action: str  # sns:Publish
    resource: str | None  # an ARN, or NO_ARN


# ---------------------------------------------------------------- recording the calls


def _handler_codes(template: Template) -> dict[CodeType, str]:
    """The code object of every handler -> the logical id of the function it serves."""
    codes: dict[CodeType, str] = {}
    for logical_id in template.of_type("AWS::Serverless::Function"):
        name = template.function_properties(logical_id)["Handler"].removeprefix("app.")
        if name == "app":  # the Chalice app: each route's view function
            views = [
                route.view_function for routes in app_module.app.routes.values() for route in routes.values()
            ]
        else:
            views = [getattr(app_module, name)]
        for view in views:
            while not hasattr(view, "__code__"):  # Chalice's wrappers around the function
                view = getattr(view, "func", None) or view._original_func
            codes[view.__code__] = logical_id
    return codes


def _caller(codes: dict[CodeType, str]) -> str | None:
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code in codes:
            return codes[frame.f_code]
        frame = frame.f_back  # type: ignore[assignment]
    return None


@pytest.fixture
def recorded(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> dict[str, set[Call]]:
    calls: dict[str, set[Call]] = defaultdict(set)
    codes = _handler_codes(stack.template)
    real = botocore.client.BaseClient._make_api_call
    # Each function is its own process on AWS: settings one handler read must not spare
    # another its own SSM call, so each gets its own wiring.
    runtimes: dict[str | None, bootstrap.Runtime] = {}
    shared = bootstrap.runtime

    def runtime_of_the_caller() -> bootstrap.Runtime:
        function = _caller(codes)
        if function not in runtimes:
            runtimes[function] = bootstrap.Runtime(stage=STAGE, table_name=stack.provisioned.table_name())
            runtimes[function].clock = shared().clock
        return runtimes[function]

    monkeypatch.setattr(bootstrap, "runtime", runtime_of_the_caller)

    def recording(client: Any, operation: str, params: dict[str, Any]) -> Any:
        function = _caller(codes)
        if function is not None:
            calls[function].update(as_iam(client.meta.service_model.signing_name, operation, params))
        return real(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    return calls


def _table(name: str, index: str | None = None) -> str:
    arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
    return f"{arn}/index/{index}" if index else arn


_TRANSACT_ITEM_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem"}


def as_iam(service: str, operation: str, params: dict[str, Any]) -> Iterator[Call]:
    """What IAM checks for one API call."""
    if service == "dynamodb":
        if operation == "TransactWriteItems":  # no IAM action of its own: one per item
            for item in params["TransactItems"]:
                [(kind, request)] = item.items()
                action = _TRANSACT_ITEM_ACTIONS.get(kind, "ConditionCheckItem")
                yield Call(f"dynamodb:{action}", _table(request["TableName"]))
        elif operation == "TransactGetItems":
            for item in params["TransactItems"]:
                yield Call("dynamodb:GetItem", _table(item["Get"]["TableName"]))
        elif operation in ("BatchGetItem", "BatchWriteItem"):
            for table in params["RequestItems"]:
                yield Call(f"dynamodb:{operation}", _table(table))
        else:
            yield Call(f"dynamodb:{operation}", _table(params["TableName"], params.get("IndexName")))
    elif service == "sqs":
        account, name = urlparse(params["QueueUrl"]).path.strip("/").split("/")
        yield Call(f"sqs:{operation}", f"arn:aws:sqs:{REGION}:{account}:{name}")
    elif service == "ssm":
        path = params.get("Path") or params.get("Name")
        yield Call(f"ssm:{operation}", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{path}")
    elif service == "ses":
        domain = parseaddr(params["Source"])[1].rsplit("@", 1)[1]
        yield Call(f"ses:{operation}", f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/{domain}")
        if params.get("ConfigurationSetName"):
            configuration_set = params["ConfigurationSetName"]
            yield Call(
                f"ses:{operation}", f"arn:aws:ses:{REGION}:{ACCOUNT}:configuration-set/{configuration_set}"
            )
    elif service == "sns":
        yield Call(f"sns:{operation}", params.get("TopicArn") or params.get("TargetArn") or NO_ARN)
    else:
        raise AssertionError(f"{service}:{operation}: teach as_iam() what IAM checks for it")


# ---------------------------------------------------------------- reading the roles


def _sam_policy_templates() -> dict[str, Any]:
    from importlib.resources import files

    document = json.loads(
        files("samtranslator").joinpath("policy_templates_data/policy_templates.json").read_text()
    )
    templates: dict[str, Any] = document["Templates"]
    return templates


class Resolver:
    """The intrinsic functions of the template's Policies, as CloudFormation would resolve them."""

    def __init__(self, template: Template, provisioned: Provisioned) -> None:
        self.template, self.provisioned = template, provisioned

    def condition(self, name: str) -> bool:
        return bool(self.value(self.template.document["Conditions"][name]))

    def value(self, node: Any, local: dict[str, Any] | None = None) -> Any:
        local = local or {}
        if isinstance(node, list):
            return [v for v in (self.value(n, local) for n in node) if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            [(key, argument)] = node.items()
            if key == "Ref":
                if argument == "AWS::NoValue":
                    return _NO_VALUE
                if argument in local:
                    return local[argument]
                if argument in self.template.parameters:
                    return self.template.parameters[argument]
                return self.provisioned.refs[argument]
            if key == "Fn::GetAtt":
                return self.provisioned.attributes[tuple(argument)]
            if key == "Fn::If":
                name, then, otherwise = argument
                return self.value(then if self.condition(name) else otherwise, local)
            if key == "Fn::Not":
                return not self.value(argument[0], local)
            if key == "Fn::Equals":
                left, right = (self.value(a, local) for a in argument)
                return left == right
            if key == "Fn::Sub":
                text, variables = (argument, {}) if isinstance(argument, str) else argument
                variables = {k: self.value(v, local) for k, v in variables.items()}
                return self._sub(text, variables)
        return {k: v for k, v in ((k, self.value(v, local)) for k, v in node.items()) if v is not _NO_VALUE}

    def _sub(self, text: str, variables: dict[str, Any]) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if name in _PSEUDO:
                return _PSEUDO[name]
            if "." in name:
                return str(self.provisioned.attributes[tuple(name.split(".", 1))])  # type: ignore[index]
            return str(self.value({"Ref": name}))

        return re.sub(r"\$\{([^}!]+)\}", one, text)

    def statements(self, logical_id: str) -> list[dict[str, Any]]:
        """The statements of a function's `Policies`: inline ones and SAM policy templates."""
        sam_templates = _sam_policy_templates()
        found: list[dict[str, Any]] = []
        for policy in self.template.function_properties(logical_id)["Policies"]:
            [(name, body)] = policy.items() if isinstance(policy, dict) else [(policy, None)]
            if name == "Statement":
                found += self.value(body)
            elif name in sam_templates:
                parameters = {k: self.value(v) for k, v in body.items()}
                found += self.value(sam_templates[name]["Definition"]["Statement"], parameters)
            else:
                raise AssertionError(
                    f"{logical_id}: a managed policy ({name}) grants more than the code asks"
                )
        return found


_NO_VALUE = object()


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def _matches(pattern: str, value: str | None, *, case: bool) -> bool:
    if value is NO_ARN:
        return pattern == "*"
    if not case:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern)


def _applies(statement: dict[str, Any], call: Call) -> bool:
    return any(_matches(a, call.action, case=False) for a in _listed(statement["Action"])) and any(
        _matches(r, call.resource, case=True) for r in _listed(statement["Resource"])
    )


def allowed(statements: list[dict[str, Any]], call: Call) -> bool:
    applying = [s["Effect"] for s in statements if _applies(s, call)]
    return "Allow" in applying and "Deny" not in applying


# ---------------------------------------------------------------- a shop's life on moto


def hold_stock_for_the_checkout(stack: Stack) -> None:
    """The SKU counted by the ERP's signed event, then a checkout's stock held through the api's
    signed route, so its expiry timer fires; a second checkout short of stock is refused (the
    SKUs read once), and a third one's hold is given back by the storefront. (Paid orders of the
    same SKU later commit stock in their own transaction.)"""

    def signed(body: bytes) -> dict[str, str]:
        return events_headers(body, timestamp=int(stack.clock.now().timestamp()))

    count = dumps(
        {
            "type": "inventory.set",
            "timestamp": stack.clock.now().isoformat(),
            "data": {"sku": "IPOD2008PINK", "on_hand": 2, "sequence": 1},
        }
    )
    unlisted = dumps(  # a SKU no channel lists: the fan-out looks for it in the catalog
        {
            "type": "inventory.set",
            "timestamp": stack.clock.now().isoformat(),
            "data": {"sku": "CASE-01", "on_hand": 4, "sequence": 1},
        }
    )
    assert (
        stack.client.http.post("/webhooks/events", headers=signed(unlisted), body=unlisted).status_code == 200
    )
    counted = stack.client.http.post("/webhooks/events", headers=signed(count), body=count)
    assert counted.json_body["status"] == "accepted", counted.json_body

    def reserve(token: str, quantity: int) -> Any:
        body = dumps({"checkout_token": token, "lines": [{"sku": "IPOD2008PINK", "quantity": quantity}]})
        return stack.client.http.post("/reservations", headers=signed(body), body=body)

    assert reserve("chk-1", 1).status_code == 201
    assert reserve("chk-2", 2).status_code == 409
    given_back = reserve("chk-3", 1).json_body["reservation_id"]
    assert (
        stack.client.http.delete(f"/reservations/{given_back}", headers=signed(b""), body=b"").status_code
        == 200
    )


def channels_follow(stack: Stack, *, pushes: bool = True) -> None:
    """The stock changes so far, fanned out to the channels and pushed."""
    from app import channel_fanout, channel_push

    fanned = channel_fanout(stream_event(stack, "ChannelFanoutFunction", "StockStream"), None)
    assert fanned == {"batchItemFailures": []}
    records = drain(stack, "ChannelPushQueue")
    assert bool(records) == pushes
    if records:
        assert channel_push({"Records": records}, None) == {"batchItemFailures": []}


def count(stack: Stack, sku: str, on_hand: int, sequence: int) -> None:
    body = dumps(
        {
            "type": "inventory.set",
            "timestamp": stack.clock.now().isoformat(),
            "data": {"sku": sku, "on_hand": on_hand, "sequence": sequence},
        }
    )
    headers = events_headers(body, timestamp=int(stack.clock.now().timestamp()))
    answer = stack.client.http.post("/webhooks/events", headers=headers, body=body)
    assert answer.json_body["status"] == "accepted", answer.json_body


def back_in_stock_alert(stack: Stack) -> None:
    """A shopper waits for the sold-out iPod; its restock (the watcher) runs a batch (timers) and
    notify sends the alert."""
    from app import back_in_stock_watch

    data = {
        "sku": "IPOD2008PINK",
        "email": "waiting@example.com",
        "product_url": f"https://{SES_IDENTITY}/ipod",
    }
    body = dumps(
        {"type": "back_in_stock.subscribed", "timestamp": stack.clock.now().isoformat(), "data": data}
    )
    headers = events_headers(body, timestamp=int(stack.clock.now().timestamp()))
    assert (
        stack.client.http.post("/webhooks/events", headers=headers, body=body).json_body["status"]
        == "accepted"
    )
    count(stack, "IPOD2008PINK", 20, 4)
    watched = back_in_stock_watch(stream_event(stack, "BackInStockWatchFunction", "StockStream"), None)
    assert watched == {"batchItemFailures": []}
    run_due(stack)


def send_event(stack: Stack, event_type: str, data: dict[str, object]) -> None:
    body = dumps({"type": event_type, "timestamp": stack.clock.now().isoformat(), "data": data})
    headers = events_headers(body, timestamp=int(stack.clock.now().timestamp()))
    answer = stack.client.http.post("/webhooks/events", headers=headers, body=body)
    assert answer.json_body["status"] == "accepted", answer.json_body


def prices_follow(stack: Stack, woo: FakeWooCommerce) -> None:
    """The ERP's costs and a competitor's prices; the schedule queues the shards and a shard
    proposes each SKU's first price on woo; the rival moves, so the next run replaces those
    proposals; the morning's schedule emails the owner the list, who approves each through the
    api's admin routes, and the push sets the price where the SKU is listed."""
    from app import dispatch, price_push, pricing_reprice
    from shopflow.pricing.digest import DIGEST_INPUT

    def reprice_run() -> None:
        assert pricing_reprice({"source": "aws.events", "detail-type": "Scheduled Event"}, None)["started"]
        shards = drain(stack, "RepriceQueue")
        assert pricing_reprice({"Records": shards}, None) == {"batchItemFailures": []}

    def rival(sku: str, price: str) -> None:
        seen = {"sku": sku, "competitor": "rival", "price": price, "currency": "EUR", "in_stock": True}
        send_event(stack, "competitor_price.observed", {**seen, "observed_at": iso(stack.clock.now())})

    for sku in ("IPOD2008PINK", "IPOD2008BLACK"):  # the black one is not listed on woo
        send_event(stack, "product.pricing_updated", {"sku": sku, "cost": "100.00", "currency": "EUR"})
        rival(sku, "149.00")
    reprice_run()
    stack.clock.advance(timedelta(minutes=16))
    for sku in ("IPOD2008PINK", "IPOD2008BLACK"):
        rival(sku, "145.00")
    reprice_run()  # the rival moved: each proposal closed, another opened
    assert pricing_reprice(dict(DIGEST_INPUT), None)["sent"]  # the owner's daily email
    answer = stack.client.http.get("/admin/prices/proposals")
    assert answer.status_code == 200, answer.body
    for proposal in answer.json_body["proposals"]:
        approved = stack.client.http.post(f"/admin/prices/proposals/{proposal['id']}/approve")
        assert approved.status_code == 200, approved.body
    assert dispatch(stream_event(stack), None) == {"batchItemFailures": []}
    deliver_notify(stack)
    assert price_push({"Records": drain(stack, "PricePushQueue")}, None) == {"batchItemFailures": []}
    assert woo.prices("799") == {"regular_price": "145.00", "sale_price": "", "price": "145.00"}


def a_shops_life(stack: Stack, woo: FakeWooCommerce) -> None:
    from app import dispatch

    boto3.client("ses").verify_domain_identity(Domain=SES_IDENTITY)
    boto3.client("ses").create_configuration_set(ConfigurationSet={"Name": SES_CONFIGURATION_SET})
    for name, value in {
        "notify/email/sender": f"orders@{SES_IDENTITY}",
        "notify/email/configuration_set": SES_CONFIGURATION_SET,
        "notify/delayed/after_hours": "24",
        "notify/review/url_template": f"https://{SES_IDENTITY}/products/{{product_id}}#reviews",
        "notify/replenishment/periods": "tag:ipod-batteries=20",
        "notify/replenishment/lead_days": "5",
        "notify/replenishment/url_template": f"https://{SES_IDENTITY}/products/{{sku}}",
        "stock/enabled": "true",
        "back_in_stock/enabled": "true",  # settings are read again only after 60 s: set up front
        "pricing/enabled": "true",
        "channels/woo/currency": "EUR",
        "channels/woo/kind": "woocommerce",
        "channels/woo/url": woo.url,
    }.items():
        stack.put_setting(name, value)
    stack.put_setting("channels/woo/token", woo.token, secure=True)
    stack.put_setting("notify/unsubscribe/secret", "unsubscribe-secret-0123456789", secure=True)

    def pipeline() -> None:
        assert dispatch(stream_event(stack), None) == {"batchItemFailures": []}
        deliver_notify(stack)

    now = stack.clock.now()
    post_shopify(
        stack, "products/update", {"id": 632910392, "tags": "iPod-Batteries", "updated_at": iso(now)}
    )
    checkout = {**corpus("shopify/abandoned_checkout.json"), "created_at": iso(now), "updated_at": iso(now)}
    checkout["buyer_accepts_marketing"] = True
    checkout["customer"] = {**checkout["customer"], "accepts_marketing": True}
    post_shopify(stack, "checkouts/create", checkout)
    hold_stock_for_the_checkout(stack)  # not paid: its hold expires with the first reminder's sweep
    link = dumps(
        {
            "type": "listing.linked",
            "timestamp": iso(now),
            "data": {"channel": "woo", "sku": "IPOD2008PINK", "listing_id": "799"},
        }
    )
    headers = events_headers(link, timestamp=int(now.timestamp()))
    assert stack.client.http.post("/webhooks/events", headers=headers, body=link).status_code == 200
    channels_follow(stack)
    stack.clock.advance(timedelta(minutes=61))
    run_due(stack)  # the first cart reminder

    order = {**corpus("shopify/order.json"), "financial_status": "paid", "buyer_accepts_marketing": True}
    order = {**order, "phone": "+48601234567", "customer": {**order["customer"], "accepts_marketing": True}}
    post_shopify(stack, "orders/create", order)
    completed = {**checkout, "completed_at": iso(stack.clock.now()), "updated_at": iso(stack.clock.now())}
    post_shopify(stack, "checkouts/update", completed)  # converted: its second reminder is cancelled
    late = {**order, "id": 450789470, "name": "#1002"}
    post_shopify(stack, "orders/create", late)
    pipeline()
    stack.clock.advance(timedelta(hours=25))
    run_due(stack)  # the late order's apology
    fulfillment = corpus("shopify/fulfillment.json")
    post_shopify(stack, "fulfillments/create", {**fulfillment, "status": "success", "shipment_status": None})
    pipeline()  # shipped: email and SMS
    channels_follow(stack)
    [ipod] = bootstrap.runtime().stock.items(["IPOD2008PINK"]).values()
    assert woo.stock("799") == max(ipod.atp or 0, 0)  # the channel shows what can be sold
    from app import channel_reconcile

    woo.sell("799", 1)  # someone sold one on the channel by hand...
    woo.add_product(799, stock=9)  # ...and then set it far off: reported to the owner
    assert channel_reconcile({"source": "aws.events"}, None) == {"woo": {"checked": 1, "drifts": 1}}
    count(stack, "IPOD2008PINK", 10, 2)  # a delivery came in
    channels_follow(stack)
    count(stack, "IPOD2008PINK", 0, 3)  # a bad snapshot: the breaker pauses the channel
    channels_follow(stack, pushes=False)
    assert woo.stock("799") == 10 - (ipod.committed or 0) and bootstrap.runtime().channel_sync.paused("woo")
    post_shopify(stack, "fulfillments/update", {**fulfillment, "shipment_status": "delivered"})
    pipeline()
    for _ in range(16):  # a review a week after delivery, the replenishment reminder after it
        stack.clock.advance(timedelta(days=1))
        run_due(stack)

    back_in_stock_alert(stack)
    prices_follow(stack, woo)
    token = make_token("email", order["email"], secret="unsubscribe-secret-0123456789", now=stack.clock.now())
    assert stack.client.http.get(f"/unsubscribe/{token}").status_code == 200
    answer = stack.client.http.post(
        f"/unsubscribe/{token}", headers={"Content-Type": "application/x-www-form-urlencoded"}, body=b""
    )
    assert answer.status_code == 200


# ---------------------------------------------------------------- the contract


def test_every_role_allows_exactly_what_its_function_calls(
    stack: Stack, recorded: dict[str, set[Call]]
) -> None:
    with FakeWooCommerce() as woo:
        woo.add_product(799, stock=0)
        a_shops_life(stack, woo)
    template = Template.load(Stage=STAGE, SesIdentity=SES_IDENTITY, SesConfigurationSet=SES_CONFIGURATION_SET)
    resolver = Resolver(template, stack.provisioned)

    problems = []
    for function in template.of_type("AWS::Serverless::Function"):
        statements = resolver.statements(function)
        calls = recorded.get(function, set())
        assert calls, f"{function}: the scenario never ran it"
        problems += [
            f"{function} may not {c.action} on {c.resource}" for c in calls if not allowed(statements, c)
        ]
        for statement in statements:
            if statement["Effect"] != "Allow":
                continue
            for action in _listed(statement["Action"]):
                if not any(_matches(action, c.action, case=False) and _applies(statement, c) for c in calls):
                    problems.append(
                        f"{function} is allowed {action} on {statement['Resource']} but never calls it"
                    )
    assert not problems, "\n".join(problems)


def test_notify_may_send_sms_but_publish_to_no_topic_and_email_from_no_other_identity(stack: Stack) -> None:
    template = Template.load(Stage=STAGE, SesIdentity=SES_IDENTITY, SesConfigurationSet=SES_CONFIGURATION_SET)
    statements = Resolver(template, stack.provisioned).statements("NotifyFunction")
    ses = f"arn:aws:ses:{REGION}:{ACCOUNT}"

    assert allowed(statements, Call("sns:Publish", NO_ARN))
    assert not allowed(statements, Call("sns:Publish", f"arn:aws:sns:{REGION}:{ACCOUNT}:orders-topic"))
    assert not allowed(statements, Call("sns:Publish", f"arn:aws:sns:{REGION}:{ACCOUNT}:endpoint/GCM/app/1"))
    assert allowed(statements, Call("ses:SendRawEmail", f"{ses}:identity/{SES_IDENTITY}"))
    assert allowed(statements, Call("ses:SendRawEmail", f"{ses}:identity/orders@{SES_IDENTITY}"))
    assert allowed(statements, Call("ses:SendRawEmail", f"{ses}:configuration-set/{SES_CONFIGURATION_SET}"))
    assert not allowed(statements, Call("ses:SendRawEmail", f"{ses}:identity/other-shop.example"))
    assert not allowed(statements, Call("ses:SendRawEmail", f"{ses}:configuration-set/another"))


def test_without_a_configuration_set_notify_may_use_none(stack: Stack) -> None:
    template = Template.load(Stage=STAGE, SesIdentity=SES_IDENTITY)
    statements = Resolver(template, stack.provisioned).statements("NotifyFunction")

    ses_resources = [
        r for s in statements if "ses:SendRawEmail" in s["Action"] for r in _listed(s["Resource"])
    ]
    assert ses_resources and not any(":configuration-set/" in r for r in ses_resources)
