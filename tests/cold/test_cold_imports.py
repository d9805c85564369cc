"""What a cold api container loads before its first webhook is answered (decisions 14, 46, 75).

Every function shares app.py, so code that only another function runs must not be imported by
the api's first webhook: each module is paid for by every cold start. Checked in a fresh
interpreter with exactly ApiFunction's environment, through sys.modules after the answer
(timings belong in bench/cold_start.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.cold.container import FUNCTIONS_DIR, PROBE, ColdStack, rest_api_event
from tests.support import SHOP_DOMAIN, SHOPIFY_SECRET, corpus, dumps, moto_server, shopify_headers

API = "ApiFunction"
_MODULES = "cold-modules: "
# The probe as the bench runs it, then what the process had imported by its answer.
_FIRST_WEBHOOK = PROBE + f"\nprint('{_MODULES}' + json.dumps(sorted(sys.modules)), flush=True)\n"

# Loaded only by the function that runs them: messages (notify), channel pushes and their alerts
# (channel_*), the local runtime and its template reader, boto3 (decision 46: botocore alone).
NOT_ON_THE_API_PATH = (
    "boto3",
    "s3transfer",
    "jinja2",
    "yaml",
    "aws_lambda_powertools.utilities.batch",
    "aws_lambda_powertools.utilities.parameters",
    "shopflow.local",
    "shopflow.cli",
    "shopflow.messaging",
    "shopflow.notifications",
    "shopflow.sync",
    "shopflow.channels.adapters",
    "shopflow.channels.alerts",
)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


def test_a_cold_api_container_answers_its_first_order_without_other_functions_code(endpoint: str) -> None:
    stack = ColdStack.provision(endpoint)
    stack.put_setting("webhooks/shopify/secret", SHOPIFY_SECRET, secure=True)
    stack.put_setting("webhooks/shopify/shop_domains", SHOP_DOMAIN)
    body = dumps(corpus("shopify/order.json"))
    event = rest_api_event("/webhooks/shopify", shopify_headers(body, "orders/create"), body)

    finished = subprocess.run(
        [sys.executable, "-c", _FIRST_WEBHOOK, stack.handler(API), API],
        cwd=FUNCTIONS_DIR,
        env=stack.container_environment(API),
        input=json.dumps(event),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    answer = json.loads(finished.stdout.split("cold-answer: ", 1)[1].splitlines()[0])["answer"]
    assert answer["statusCode"] == 200 and json.loads(answer["body"])["status"] == "accepted"
    modules = json.loads(finished.stdout.split(_MODULES, 1)[1].splitlines()[0])
    loaded = sorted(
        name
        for name in modules
        for prefix in NOT_ON_THE_API_PATH
        if name == prefix or name.startswith(f"{prefix}.")
    )
    assert loaded == []
