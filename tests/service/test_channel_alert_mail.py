"""The owner's email about a channel on moto: the alert staged into a unit of work (as the push,
the breaker, reconciliation and the dead-letter handler stage it with their own writes), carried
by the stream to dispatch, queued to notify, sent to `shop.owner_email` once."""

from __future__ import annotations

import json
from datetime import timedelta

import boto3

from shopflow import bootstrap
from shopflow.channels.alerts import (
    CHANNEL_ALERT_OWED,
    AlertLine,
    ChannelAlert,
    alert_message,
    alert_subject_id,
)
from shopflow.channels.flow import NO_OWNER_ADDRESS
from shopflow.kernel.outbox import OutboxMessage
from shopflow.kernel.timeline import TimelineEntry
from shopflow.store.models import TimelineItem
from shopflow.store.orders import DynamoOrderStore, subject_pk
from shopflow.store.stock_outbox import stage_outbox_message
from tests.service.conftest import Stack
from tests.service.test_notify import emails, run_pipeline, shop

__all__ = ["shop"]  # the fixture, shared with test_notify

OWNER = "owner@demo-shop.example"


def stage(stack: Stack, alert: ChannelAlert) -> OutboxMessage:
    """What the code that pauses a channel does: the alert staged into its unit of work."""
    message = alert_message(alert)
    work = DynamoOrderStore().unit_of_work()
    stage_outbox_message(message, CHANNEL_ALERT_OWED, stack.clock.now(), work)
    work.commit()
    return message


def paused(stack: Stack) -> ChannelAlert:
    return ChannelAlert("main-shop", "paused", "401: the access token was refused", (), stack.clock.now())


def queue_again(stack: Stack, message: OutboxMessage) -> None:
    body = {"outbox_id": message.outbox_id, "type": message.event_type, "event": json.loads(message.payload)}
    boto3.client("sqs").send_message(
        QueueUrl=stack.provisioned.refs["NotifyQueue"], MessageBody=json.dumps(body)
    )


def owner_emails() -> list[str]:
    """Each email sent to the owner: its subject and plain text."""
    return [
        f"{m['Subject']}\n{m.get_body(('plain',)).get_content()}"  # type: ignore[union-attr]
        for m in emails()
        if m["To"] == OWNER
    ]


def alert_timeline(channel: str, message: OutboxMessage) -> list[str]:
    items = TimelineItem.query(
        subject_pk(alert_subject_id(channel, message.outbox_id)),
        TimelineItem.sk.startswith("TIMELINE#"),
        consistent_read=True,
    )
    return [TimelineEntry.model_validate_json(item.document).detail for item in items]


def test_a_paused_channel_reaches_the_owner_in_one_email_saying_what_to_do_also_when_told_twice(
    shop: Stack,
) -> None:
    shop.put_setting("shop/owner_email", OWNER)
    message = stage(shop, paused(shop))
    assert stage(shop, paused(shop)) == message  # two pushes pausing the channel: one item

    [outbox] = [i for i in shop.items_of("OUTBOX") if i["event_type"] == "ChannelAlert"]
    assert outbox["messages"] == "channel_alert#email channel_alert#sms"
    answers = run_pipeline(shop)
    queue_again(shop, message)  # at least once: the same event on the notify queue again
    answers += run_pipeline(shop)

    assert all(answer == {"batchItemFailures": []} for answer in answers)
    (sent,) = owner_emails()
    assert sent.startswith("Channel main-shop paused \N{EN DASH} Demo Shop")
    assert "because: 401: the access token was refused" in sent
    assert "shopflow config set channels.main-shop.token" in sent
    assert "shopflow channels resume main-shop" in sent
    assert alert_timeline("main-shop", message) == [
        "email channel_alert sent to o***@demo-shop.example (en)",
        "sms channel_alert skipped: sms disabled for channel_alert",
    ]


def test_a_tripped_breaker_lists_the_skus_it_would_have_zeroed(shop: Stack) -> None:
    shop.put_setting("shop/owner_email", OWNER)
    lines = (AlertLine("MUG-01", "40001", 7, 0), AlertLine("TEE-L", "40002", 3, 0))
    why = "412 listings would go to 0 within 10 minutes (more than 20 of the 420 it shows)"
    stage(shop, ChannelAlert("woo", "breaker", why, lines, shop.clock.now()))

    run_pipeline(shop)

    (sent,) = owner_emails()
    assert sent.startswith("Channel woo paused: the breaker tripped")
    assert f"because {why}" in sent
    assert "- MUG-01 (listing 40001): the channel shows 7, shopflow's number is 0" in sent
    assert "ERP snapshot" in sent and "shopflow channels resume woo" in sent


def test_a_later_pause_of_the_same_channel_is_another_email(shop: Stack) -> None:
    shop.put_setting("shop/owner_email", OWNER)
    stage(shop, paused(shop))
    run_pipeline(shop)
    shop.clock.advance(timedelta(hours=2))  # resumed meanwhile, and the token refused again
    stage(shop, paused(shop))
    run_pipeline(shop)

    assert len(owner_emails()) == 2


def test_without_the_owners_address_nothing_is_sent_and_the_alerts_timeline_says_why(shop: Stack) -> None:
    message = stage(shop, paused(shop))

    answers = run_pipeline(shop)

    assert all(answer == {"batchItemFailures": []} for answer in answers)
    assert owner_emails() == []
    assert f"email channel_alert skipped: {NO_OWNER_ADDRESS}" in alert_timeline("main-shop", message)
    # The address set afterwards: the same event again sends nothing, it was settled as skipped.
    shop.put_setting("shop/owner_email", OWNER)
    bootstrap.reset(shop.clock)  # a new container: settings are read again
    queue_again(shop, message)
    run_pipeline(shop)
    assert owner_emails() == []
