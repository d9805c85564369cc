"""GET /unsubscribe/{token} asks, POST unsubscribes (RFC 8058 one-click); a bad link stores nothing."""

from __future__ import annotations

from datetime import timedelta

from shopflow.messaging.unsubscribe import TOKEN_LIFETIME, make_token
from shopflow.store.consent import DynamoConsentStore
from shopflow.store.models import bind_table
from tests.service.conftest import Stack

SECRET = "unsubscribe-secret-0123456789"
ONE_CLICK = {"Content-Type": "application/x-www-form-urlencoded"}


def opted_out(stack: Stack, address: str) -> bool:
    bind_table(stack.provisioned.table_name())
    return DynamoConsentStore().opted_out("email", address)


def test_the_page_asks_and_only_the_post_unsubscribes(stack: Stack) -> None:
    stack.put_setting("notify/unsubscribe/secret", SECRET, secure=True)
    stack.put_setting("shop/name", "Demo Shop")
    token = make_token("email", "ann@example.com", secret=SECRET, now=stack.clock.now())

    page = stack.client.http.get(f"/unsubscribe/{token}")

    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    body = page.body.decode()
    assert (
        "Stop marketing emails from Demo Shop to a***@example.com?" in body and '<form method="post">' in body
    )
    assert not opted_out(stack, "ann@example.com")  # mail scanners open links

    done = stack.client.http.post(
        f"/unsubscribe/{token}", headers=ONE_CLICK, body="List-Unsubscribe=One-Click"
    )

    assert done.status_code == 200 and "will get no more marketing emails" in done.body.decode()
    assert opted_out(stack, "ann@example.com")
    again = stack.client.http.post(
        f"/unsubscribe/{token}", headers=ONE_CLICK, body="List-Unsubscribe=One-Click"
    )
    assert again.status_code == 200  # a second click is fine
    assert len(stack.items_of("OPTOUT")) == 1


def test_a_forged_or_expired_link_is_refused_and_nothing_is_stored(stack: Stack) -> None:
    stack.put_setting("notify/unsubscribe/secret", SECRET, secure=True)
    forged = make_token("email", "ann@example.com", secret="not-our-secret-000000000", now=stack.clock.now())
    expired = make_token(
        "email", "ann@example.com", secret=SECRET, now=stack.clock.now() - TOKEN_LIFETIME - timedelta(days=1)
    )

    for token, why in ((forged, "is not valid"), (expired, "has expired"), ("garbage", "is incomplete")):
        answer = stack.client.http.post(
            f"/unsubscribe/{token}", headers=ONE_CLICK, body="List-Unsubscribe=One-Click"
        )
        assert answer.status_code == 400 and why in answer.body.decode()
    assert stack.items_of("OPTOUT") == []
