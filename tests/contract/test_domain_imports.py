"""The shared kernel and the domain modules load no AWS code: each is imported alone in a fresh
interpreter and must leave pynamodb, botocore and boto3 out of `sys.modules` (issue 13, item 3).
The kernel loads nothing of shopflow outside itself, so every capability can lean on it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
KERNEL = sorted(
    f"shopflow.kernel.{path.stem}"
    for path in (FUNCTIONS / "shopflow" / "kernel").glob("*.py")
    if path.stem != "__init__"
)
# Domain modules apart from their adapters: rules, services (they reach their store through
# `ports`), intake normalizers, message decisions and rendering.
DOMAIN = (
    "shopflow.orders.model",
    "shopflow.orders.changes",
    "shopflow.orders.ports",
    "shopflow.orders.service",
    "shopflow.carts.model",
    "shopflow.carts.ports",
    "shopflow.carts.reminders",
    "shopflow.carts.service",
    "shopflow.catalog.model",
    "shopflow.replenishment.rules",
    "shopflow.replenishment.flow",
    "shopflow.replenishment.timers",
    "shopflow.reviews.flow",
    "shopflow.reviews.timers",
    "shopflow.carts.flow",
    "shopflow.orders.status_messages",
    "shopflow.orders.late",
    "shopflow.orders.pages",
    "shopflow.orders.purchases",
    "shopflow.capabilities",
    "shopflow.notifications.policy",
    "shopflow.notifications.decide",
    "shopflow.messaging.render",
    "shopflow.webhooks.common",
    "shopflow.webhooks.shopify",
    "shopflow.webhooks.woocommerce",
    "shopflow.webhooks.events",
    "shopflow.stock.model",
    "shopflow.stock.ports",
    "shopflow.stock.service",
    "shopflow.stock.capability",
    "shopflow.back_in_stock.model",
    "shopflow.back_in_stock.ports",
    "shopflow.back_in_stock.service",
    "shopflow.back_in_stock.flow",
    "shopflow.back_in_stock.watch",
    "shopflow.back_in_stock.capability",
    "shopflow.pricing.model",
    "shopflow.pricing.floors",
    "shopflow.pricing.strategy",
    "shopflow.pricing.engine",
)
AWS = ("pynamodb", "botocore", "boto3")


def loaded_by(module: str) -> list[str]:
    probe = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    answer = subprocess.run(
        [sys.executable, "-c", probe], cwd=FUNCTIONS, capture_output=True, text=True, check=True, timeout=60
    )
    loaded: list[str] = json.loads(answer.stdout)
    return loaded


@pytest.mark.parametrize("module", [*KERNEL, *DOMAIN])
def test_a_domain_module_loads_no_aws_code(module: str) -> None:
    assert [name for name in loaded_by(module) if name.split(".")[0] in AWS] == []


@pytest.mark.parametrize("module", KERNEL)
def test_the_kernel_loads_nothing_of_shopflow_outside_itself(module: str) -> None:
    outside = [
        name
        for name in loaded_by(module)
        if name.startswith("shopflow.") and not name.startswith("shopflow.kernel")
    ]
    assert outside == []
