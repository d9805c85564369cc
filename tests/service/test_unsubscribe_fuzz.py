"""Whatever arrives in an unsubscribe path, the answer is a 4xx page and nothing is written."""

from __future__ import annotations

import random
import string
from typing import Any

from shopflow.messaging.unsubscribe import make_token
from tests.service.conftest import Stack
from tests.service.test_unsubscribe import ONE_CLICK, SECRET, opted_out
from tests.unit.test_unsubscribe_tokens import _signed_claims

NOT_VALID_PAGE = "This link does not work"


def _fuzzed_tokens(good: str, seed: int = 1815) -> list[str]:
    rng = random.Random(seed)
    tokens: list[str] = []
    for _ in range(40):
        tokens.append("".join(chr(rng.randrange(0, 256)) for _ in range(rng.randrange(1, 40))))  # bytes
        tokens.append("".join(chr(rng.randrange(0x80, 0x2FFFF)) for _ in range(rng.randrange(1, 20))))
        tokens.append("".join(rng.choice(string.printable) for _ in range(rng.randrange(1, 60))))
        # Valid-looking: our token with one character replaced, dropped or inserted.
        at = rng.randrange(len(good))
        replaced = good[:at] + rng.choice(string.ascii_letters + "-_.=") + good[at + 1 :]
        tokens += [replaced] if replaced != good else []
        tokens.append(good[:at] + good[at + 1 :])
        tokens.append(good[:at] + rng.choice("=+/%\u00e9\ud800") + good[at:])
    long = "x" * 200_000
    tokens += [
        "\ud800",
        "a.\ud800",
        long,
        f"{long}.{long}",
        good + "." + good,
        good.replace(".", ".."),
        "!!!!.####",
        "%FF.%FE",
        "%00",
        ".",
        "..",
        good.split(".")[1] + "." + good.split(".")[0],  # swapped
        _signed_claims(b'{"c":"email","a":"ann@example.com","e":99999999999999999999}'),
        _signed_claims(b'{"c":"email","a":"ann@example.com","e":1e400}'),
        _signed_claims(b"[" * 700),
    ]
    return tokens


def _refused_page(answer: Any) -> bool:
    if answer.status_code == 400:
        return NOT_VALID_PAGE in answer.body.decode()
    return 400 <= answer.status_code < 500  # a path the route does not match: API Gateway's own 4xx


def test_fuzzed_tokens_and_paths_get_the_not_valid_page_and_write_nothing(stack: Stack) -> None:
    stack.put_setting("notify/unsubscribe/secret", SECRET, secure=True)
    good = make_token("email", "ann@example.com", secret=SECRET, now=stack.clock.now())
    paths = [f"/unsubscribe/{token}" for token in _fuzzed_tokens(good)]
    paths += ["/unsubscribe/", "/unsubscribe//x", f"/unsubscribe/{good}/x", "/unsubscribe/a?b=c"]

    wrong = []
    for path in paths:
        for answer in (
            stack.client.http.get(path),
            stack.client.http.post(path, headers=ONE_CLICK, body="List-Unsubscribe=One-Click"),
        ):
            if not _refused_page(answer):
                wrong.append((path[:60], answer.status_code))

    assert wrong == []
    assert stack.items() == []
    # The real link still works afterwards.
    done = stack.client.http.post(
        f"/unsubscribe/{good}", headers=ONE_CLICK, body="List-Unsubscribe=One-Click"
    )
    assert done.status_code == 200 and opted_out(stack, "ann@example.com")
