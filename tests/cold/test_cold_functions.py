"""Every function of template.yaml, called once in a cold container, does its job.

Each function gets a fresh interpreter with exactly the environment template.yaml gives it
(tests/cold/container.py), against a moto server: nothing another handler set up in the same
process can hide what its own first call forgot (the sweep once queried `shopflow-unbound`).
This process prepares each function's input by running the functions upstream of it.
A function added to template.yaml fails here until it has a scenario below.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from shopflow import bootstrap
from shopflow.kernel.timers import TimerRequest
from shopflow.local.fakes.woocommerce import FakeWooCommerce
from shopflow.local.sources import lambda_sqs_record
from shopflow.local.streams import StreamReader, filter_patterns, lambda_event
from shopflow.local.template import Template
from shopflow.notifications.consumer import SEND_DEFERRED
from shopflow.store.models import bind_table
from shopflow.store.timers import timer_item
from tests.cold.container import REGION, ColdStack, rest_api_event
from tests.service.conftest import SECRETS
from tests.support import SHOP_DOMAIN, corpus, dumps, events_headers, moto_server, shopify_headers

SENDER = "orders@demo-shop.example"
ORDER = corpus("shopify/order.json")
ORDER_ID = f"shopify:{ORDER['id']}"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def stack(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> ColdStack:
    stack = ColdStack.provision(endpoint)  # a Stage of its own: nothing left from another test
    for name, value in SECRETS.items():
        stack.put_setting(name, value, secure=True)
    stack.put_setting("webhooks/shopify/shop_domains", SHOP_DOMAIN)
    stack.put_setting("notify/email/sender", SENDER)
    stack.client("ses").verify_domain_identity(Domain="demo-shop.example")
    # This process runs the upstream functions in process, with every function's variables.
    for function in stack.functions():
        for name, value in stack.environment(function).items():
            monkeypatch.setenv(name, value)
    bootstrap.reset()
    bind_table(stack.table_name)  # for preparing inputs here, whatever the Runtime does
    return stack


# --- inputs, as each function's event source hands them over ---------------------------------


def order_webhook() -> dict[str, Any]:
    body = dumps(ORDER)
    return rest_api_event("/webhooks/shopify", shopify_headers(body, "orders/create"), body)


def place_order_in_process() -> None:
    from app import app

    answer = app(order_webhook(), None)
    assert answer["statusCode"] == 200, answer


def stream_event(stack: ColdStack, function: str) -> dict[str, Any]:
    """The table's stream as `function`'s DynamoDB event source hands it over (filtered)."""
    arn = stack.provisioned.attributes[("ShopflowTable", "StreamArn")]
    records = StreamReader(stack.client("dynamodbstreams"), arn).poll()
    events = stack.template.function_properties(function)["Events"].values()
    source = next(e["Properties"] for e in events if e["Type"] == "DynamoDB")
    return lambda_event(records, filter_patterns(source))


def queue_messages(stack: ColdStack, queue: str) -> list[dict[str, Any]]:
    """Every message on `queue` (received, then deleted)."""
    sqs, url = stack.client("sqs"), stack.provisioned.refs[queue]
    found = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get(
        "Messages", []
    ):
        for message in batch:
            found.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def sqs_event(stack: ColdStack, queue: str) -> dict[str, Any]:
    arn = stack.provisioned.attributes[(queue, "Arn")]
    return {"Records": [lambda_sqs_record(m, arn) for m in queue_messages(stack, queue)]}


def scheduled_event() -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": DEFAULT_ACCOUNT_ID,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{DEFAULT_ACCOUNT_ID}:rule/every-minute"],
        "detail": {},
    }


def arm_due_timer(action: str, payload: dict[str, Any]) -> str:
    """A timer due a minute ago by the real clock (a cold function runs on the real clock)."""
    timer_id = f"cold#{uuid.uuid4().hex}"
    due = datetime.now(UTC) - timedelta(minutes=1)
    timer_item(TimerRequest(timer_id, action, due, json.dumps(payload)), datetime.now(UTC)).save()
    return timer_id


def items(stack: ColdStack, item_type: str) -> list[dict[str, Any]]:
    table = stack.client("dynamodb")
    found = table.scan(TableName=stack.table_name, ConsistentRead=True)["Items"]
    return [i for i in found if i["item_type"]["S"] == item_type]


def emails_to(address: str) -> int:
    sent = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
    return sum(address in (m.destinations or []) or address in str(m.raw_data) for m in sent)


# --- what each function's first call must do -------------------------------------------------


def api_records_a_signed_order(stack: ColdStack, function: str) -> None:
    answer = stack.invoke_cold(function, order_webhook()).answer

    assert answer["statusCode"] == 200 and json.loads(answer["body"])["status"] == "accepted", answer
    assert [o["pk"]["S"] for o in items(stack, "ORDER")] == [f"ORDER#{ORDER_ID}"]


def dispatch_publishes_the_outbox_to_notify(stack: ColdStack, function: str) -> None:
    place_order_in_process()
    event = stream_event(stack, function)
    assert event["Records"], "the order's outbox reached the stream"

    answer = stack.invoke_cold(function, event).answer

    assert answer == {"batchItemFailures": []}
    published = [json.loads(m["Body"]) for m in queue_messages(stack, "NotifyQueue")]
    assert [(m["type"], m["event"]["order_id"]) for m in published] == [("OrderPlaced", ORDER_ID)]


def notify_sends_the_confirmation(stack: ColdStack, function: str) -> None:
    from app import dispatch

    place_order_in_process()
    assert dispatch(stream_event(stack, "DispatchFunction"), None) == {"batchItemFailures": []}
    event = sqs_event(stack, "NotifyQueue")
    before = emails_to(ORDER["email"])

    answer = stack.invoke_cold(function, event).answer

    assert answer == {"batchItemFailures": []}
    assert emails_to(ORDER["email"]) == before + 1
    records = {m["sk"]["S"]: m["status"]["S"] for m in items(stack, "MESSAGE")}
    assert records["MESSAGE#confirmation#email"] == "SENT", records


def sweep_queues_a_due_timer(stack: ColdStack, function: str) -> None:
    timer_id = arm_due_timer(SEND_DEFERRED, {"order_id": ORDER_ID})

    answer = stack.invoke_cold(function, scheduled_event()).answer

    assert answer == {"due": 1}
    queued = [json.loads(m["Body"]) for m in queue_messages(stack, "TimersQueue")]
    assert [t["timer_id"] for t in queued] == [timer_id]


def timers_act_and_remove_the_timer(stack: ColdStack, function: str) -> None:
    from app import sweep

    deferred = {"order_id": ORDER_ID, "kind": "confirmation", "channel": "sms", "cause": "cold"}
    arm_due_timer(SEND_DEFERRED, deferred)
    assert sweep(scheduled_event(), None) == {"due": 1}
    event = sqs_event(stack, "TimersQueue")

    answer = stack.invoke_cold(function, event).answer

    assert answer == {"batchItemFailures": []}
    # Its action: the deferred message goes back to notify as a typed body (the timer was armed
    # with the payload written before typed bodies: its `order_id` is the subject); then the timer is gone.
    assert [json.loads(m["Body"]) for m in queue_messages(stack, "NotifyQueue")] == [
        {
            "type": "send_message",
            "subject_id": ORDER_ID,
            "kind": "confirmation",
            "channel": "sms",
            "cause": "cold",
        }
    ]
    assert items(stack, "TIMER") == []


def count_and_list_a_sku_on_woocommerce(stack: ColdStack, woo: FakeWooCommerce) -> None:
    """In process: stock on, a WooCommerce channel (the fake), MUG-01 counted 5 and linked to 799."""
    from app import app

    woo.add_product(799, stock=0)
    for name, value in (
        ("stock/enabled", "true"),
        ("channels/woo/kind", "woocommerce"),
        ("channels/woo/url", woo.url),
    ):
        stack.put_setting(name, value)
    stack.put_setting("channels/woo/token", woo.token, secure=True)
    now = datetime.now(UTC).isoformat()
    for type_, data in (
        ("listing.linked", {"channel": "woo", "sku": "MUG-01", "listing_id": "799"}),
        ("inventory.set", {"sku": "MUG-01", "on_hand": 5, "sequence": 1}),
    ):
        body = dumps({"type": type_, "timestamp": now, "data": data})
        answer = app(rest_api_event("/webhooks/events", events_headers(body), body), None)
        assert json.loads(answer["body"])["status"] == "accepted", answer


def fanout_queues_a_push_per_channel(stack: ColdStack, function: str) -> None:
    with FakeWooCommerce() as woo:
        count_and_list_a_sku_on_woocommerce(stack, woo)
        event = stream_event(stack, function)
        assert event["Records"], "the count reached the stream"

        answer = stack.invoke_cold(function, event).answer

    assert answer == {"batchItemFailures": []}
    queued = [
        (json.loads(m["Body"]), m["Attributes"]["MessageGroupId"])
        for m in queue_messages(stack, "ChannelPushQueue")
    ]
    assert queued == [({"channel": "woo", "orders": [["MUG-01", 1]]}, "woo")]


def push_sets_the_channels_quantity(stack: ColdStack, function: str) -> None:
    from app import channel_fanout

    with FakeWooCommerce() as woo:
        count_and_list_a_sku_on_woocommerce(stack, woo)
        assert channel_fanout(stream_event(stack, "ChannelFanoutFunction"), None) == {"batchItemFailures": []}
        event = sqs_event(stack, "ChannelPushQueue")

        answer = stack.invoke_cold(function, event).answer

        assert answer == {"batchItemFailures": []}
        assert woo.stock("799") == 5
    [state] = items(stack, "SYNC")
    assert (state["shown"]["N"], state["version"]["N"]) == ("5", "1")


def reconcile_fixes_a_small_drift(stack: ColdStack, function: str) -> None:
    from app import channel_fanout, channel_push

    with FakeWooCommerce() as woo:
        count_and_list_a_sku_on_woocommerce(stack, woo)
        assert channel_fanout(stream_event(stack, "ChannelFanoutFunction"), None) == {"batchItemFailures": []}
        assert channel_push(sqs_event(stack, "ChannelPushQueue"), None) == {"batchItemFailures": []}
        woo.sell("799", 1)  # a sale shopflow has not heard of: 4, not 5

        answer = stack.invoke_cold(function, scheduled_event()).answer

        assert answer == {"woo": {"checked": 1, "drifts": 1}}
        assert woo.stock("799") == 5


def watch_starts_a_restocks_batches(stack: ColdStack, function: str) -> None:
    """A shopper waits for MUG-01 (sold out); its count of 3 on the stream starts the run."""
    from app import app

    for name in ("stock/enabled", "back_in_stock/enabled"):
        stack.put_setting(name, "true")
    now = datetime.now(UTC).isoformat()
    for type_, data in (
        ("inventory.set", {"sku": "MUG-01", "on_hand": 0, "sequence": 1}),
        ("back_in_stock.subscribed", {"sku": "MUG-01", "email": "ann@example.com"}),
        ("inventory.set", {"sku": "MUG-01", "on_hand": 3, "sequence": 2}),
    ):
        body = dumps({"type": type_, "timestamp": now, "data": data})
        answer = app(rest_api_event("/webhooks/events", events_headers(body), body), None)
        assert json.loads(answer["body"])["status"] == "accepted", answer

    answer = stack.invoke_cold(function, stream_event(stack, function)).answer

    assert answer == {"batchItemFailures": []}
    [timer] = items(stack, "TIMER")
    assert (timer["pk"]["S"], timer["action"]["S"]) == ("TIMER#bis#MUG-01", "back_in_stock_batch")


def price_a_sku_in_process(stack: ColdStack, woo: FakeWooCommerce) -> None:
    """In process: pricing on, a WooCommerce channel priced in EUR with MUG-01 linked to 799, the
    ERP's cost of MUG-01 and a rival's price for it."""
    from app import app

    woo.add_product(799, stock=0)
    for name, value in (
        ("pricing/enabled", "true"),
        ("channels/woo/kind", "woocommerce"),
        ("channels/woo/url", woo.url),
        ("channels/woo/currency", "EUR"),
    ):
        stack.put_setting(name, value)
    stack.put_setting("channels/woo/token", woo.token, secure=True)
    now = datetime.now(UTC).isoformat()
    rival = {"sku": "MUG-01", "competitor": "rival", "price": "19.00", "currency": "EUR", "in_stock": True}
    for type_, data in (
        ("listing.linked", {"channel": "woo", "sku": "MUG-01", "listing_id": "799"}),
        ("product.pricing_updated", {"sku": "MUG-01", "cost": "10.00", "currency": "EUR"}),
        ("competitor_price.observed", {**rival, "observed_at": now}),
    ):
        body = dumps({"type": type_, "timestamp": now, "data": data})
        answer = app(rest_api_event("/webhooks/events", events_headers(body), body), None)
        assert json.loads(answer["body"])["status"] == "accepted", answer


def reprice_proposes_the_first_price(stack: ColdStack, function: str) -> None:
    from shopflow.pricing.state import shard_of

    with FakeWooCommerce() as woo:
        price_a_sku_in_process(stack, woo)
        queue = stack.provisioned.refs["RepriceQueue"]
        stack.client("sqs").send_message(
            QueueUrl=queue, MessageBody=json.dumps({"shard": shard_of("MUG-01")})
        )

        answer = stack.invoke_cold(function, sqs_event(stack, "RepriceQueue")).answer

    assert answer == {"batchItemFailures": []}
    [proposal] = items(stack, "PRICEPROPOSAL")
    waiting = json.loads(proposal["document"]["S"])
    assert (waiting["sku"], waiting["channel"], waiting["new"]) == ("MUG-01", "woo", "19.00")


def price_push_sets_the_channels_price(stack: ColdStack, function: str) -> None:
    from app import dispatch
    from shopflow.pricing.handlers import stock_reader
    from shopflow.pricing.service import approve_proposal, pricing_setup, reprice_all

    with FakeWooCommerce() as woo:
        price_a_sku_in_process(stack, woo)
        runtime = bootstrap.runtime()
        setup = pricing_setup(runtime.settings.load())
        reprice_all(runtime.pricing, setup, stock_reader(runtime), datetime.now(UTC))
        [proposal] = runtime.pricing.proposals()
        approve_proposal(
            proposal.proposal_id, runtime.pricing, setup, stock_reader(runtime), datetime.now(UTC)
        )
        assert dispatch(stream_event(stack, "DispatchFunction"), None) == {"batchItemFailures": []}

        answer = stack.invoke_cold(function, sqs_event(stack, "PricePushQueue")).answer

        assert answer == {"batchItemFailures": []}
        assert woo.prices("799") == {"regular_price": "19.00", "sale_price": "", "price": "19.00"}


SCENARIOS: dict[str, Callable[[ColdStack, str], None]] = {
    "app.app": api_records_a_signed_order,
    "app.dispatch": dispatch_publishes_the_outbox_to_notify,
    "app.notify": notify_sends_the_confirmation,
    "app.sweep": sweep_queues_a_due_timer,
    "app.timers": timers_act_and_remove_the_timer,
    "app.channel_fanout": fanout_queues_a_push_per_channel,
    "app.channel_push": push_sets_the_channels_quantity,
    "app.channel_reconcile": reconcile_fixes_a_small_drift,
    "app.back_in_stock_watch": watch_starts_a_restocks_batches,
    "app.pricing_reprice": reprice_proposes_the_first_price,
    "app.price_push": price_push_sets_the_channels_price,
}


@pytest.mark.parametrize("function", list(Template.load().of_type("AWS::Serverless::Function")))
def test_the_first_call_in_a_cold_container_does_its_job(stack: ColdStack, function: str) -> None:
    handler = stack.handler(function)
    scenario = SCENARIOS.get(handler)
    assert scenario is not None, f"{function} ({handler}) has no cold-container scenario: add one here"
    scenario(stack, function)


def test_a_checkout_hold_in_a_cold_api_container_holds_the_stock(stack: ColdStack) -> None:
    """The api's other route: its first call loads the stock capability and its repository."""
    from shopflow.stock.model import StockItem

    stack.put_setting("stock/enabled", "true")
    repo = bootstrap.runtime().stock
    work = repo.unit_of_work()
    repo.stage_item(StockItem("MUG-01", on_hand=1), datetime.now(UTC), work)
    work.commit()
    body = dumps({"checkout_token": "chk-1", "lines": [{"sku": "MUG-01", "quantity": 1}]})

    answer = stack.invoke_cold(
        "ApiFunction", rest_api_event("/reservations", events_headers(body), body)
    ).answer

    assert answer["statusCode"] == 201 and json.loads(answer["body"])["status"] == "held", answer
    [level] = items(stack, "STOCK")
    assert (level["atp"]["N"], level["reserved"]["N"]) == ("0", "1")
    assert [t["action"]["S"] for t in items(stack, "TIMER")] == ["stock_reservation_expiry"]


def test_a_stock_count_and_a_paid_order_in_cold_api_containers_move_the_stock(stack: ColdStack) -> None:
    """The stock inputs load the stock capability lazily: a count and a paid order, each the
    first call of its own cold container, set the SKU and commit its units."""
    stack.put_setting("stock/enabled", "true")
    now = datetime.now(UTC).isoformat()
    count = dumps(
        {"type": "inventory.set", "timestamp": now, "data": {"sku": "MUG-01", "on_hand": 5, "sequence": 1}}
    )
    paid = dumps(
        {
            "type": "order.created",
            "timestamp": now,
            "data": {
                "source": "erp",
                "external_id": "SO-1",
                "status": "paid",
                "currency": "EUR",
                "total": "9.00",
                "lines": [{"sku": "MUG-01", "name": "Mug", "quantity": 2, "unit_price": "4.50"}],
                "customer": {"email": "ann@example.com"},
                "updated_at": now,
            },
        }
    )

    counted = stack.invoke_cold(
        "ApiFunction", rest_api_event("/webhooks/events", events_headers(count), count)
    )
    ordered = stack.invoke_cold("ApiFunction", rest_api_event("/webhooks/events", events_headers(paid), paid))

    assert json.loads(counted.answer["body"])["status"] == "accepted", counted.answer
    assert json.loads(ordered.answer["body"])["status"] == "accepted", ordered.answer
    [level] = items(stack, "STOCK")
    assert (level["on_hand"]["N"], level["committed"]["N"], level["atp"]["N"]) == ("5", "2", "3")
