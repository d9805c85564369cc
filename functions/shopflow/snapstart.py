"""Lambda SnapStart for the api function: what its snapshot holds, and what a restore renews.

With SnapStart (template.yaml, `ApiSnapStart`), Lambda runs the init phase once when a version is
published, runs the before-snapshot hooks, and snapshots the memory; a cold start then restores
that snapshot instead of starting an interpreter. So the snapshot should already hold everything
a first answer needs (decision 82): every module the intake loads, its pydantic models built,
the capabilities' intake wiring, the SSM and DynamoDB clients with botocore's service data. It
holds nothing that must be fresh or unique: no setting is read (the owner may change them at
any time), no request is sent (a connection would not survive the restore), and the random
generator is seeded again after each restore (retry jitter would otherwise be the same in every
container restored from one snapshot). Credentials need nothing here: under SnapStart, Lambda
hands them to botocore through the container credentials endpoint, which botocore refreshes.

The hooks come from `snapshot_restore_py`, which Lambda's Python runtimes include. Outside
Lambda it may be missing (nothing runs the hooks there); the tests install it and run them.
"""

from __future__ import annotations

import gc
import importlib
import os
from collections.abc import Callable

from shopflow import bootstrap

# The handler Lambda runs in this container (a reserved variable Lambda sets, "app.app").
HANDLER_VARIABLE = "_HANDLER"
API_HANDLER = "app.app"

# What the api's routes import inside their functions: the three senders' normalizers and the
# checkout's reservations (with the stock service they call). What records each input comes
# from the capabilities (`Capability.intake_modules`).
_ROUTE_MODULES = (
    "shopflow.webhooks.http",
    "shopflow.webhooks.shopify",
    "shopflow.webhooks.woocommerce",
    "shopflow.webhooks.events",
    "shopflow.webhooks.reservations",
    "shopflow.stock.service",
)


def prime_api(runtime: bootstrap.Runtime) -> None:
    """Load and build what the api's first answers use, without reading a setting or sending a
    request: the routes' and the intake's modules, pydantic models, every capability's intake and
    order wiring (as if every capability were on), the stores and the SSM and DynamoDB clients."""
    from shopflow.capabilities import CAPABILITIES
    from shopflow.config import Settings
    from shopflow.config.spec import SETTINGS
    from shopflow.store.models import OrderItem

    for module in (*_ROUTE_MODULES, *(m for c in CAPABILITIES for m in c.intake_modules)):
        importlib.import_module(module)
    bootstrap.build_models()
    every_capability_on = Settings({s.key: True for s in SETTINGS if s.key.endswith(".enabled")})
    runtime.intake_handlers  # noqa: B018 (a cached property: building it imports each intake)
    runtime.order_timers(every_capability_on)
    runtime.order_writes(every_capability_on)
    for store in ("orders", "buyers", "carts", "catalog", "stock", "listings", "back_in_stock", "pricing"):
        getattr(runtime, store)
    runtime.client("ssm")
    OrderItem._get_connection().connection.client  # noqa: B018 (PynamoDB makes its client on first use)


# Handler -> what its snapshot is primed with; a function not named here is only frozen.
PRIMERS: dict[str, Callable[[bootstrap.Runtime], None]] = {API_HANDLER: prime_api}


def before_snapshot() -> None:
    primer = PRIMERS.get(os.environ.get(HANDLER_VARIABLE, ""))
    if primer is not None:
        primer(bootstrap.runtime())
    # What init built lives as long as the container: kept out of every later collection.
    gc.collect()
    gc.freeze()


def after_restore() -> None:
    import random  # cold start: app.py imports this module for every function, the api's hooks only

    random.seed()  # from os.urandom: each restored container its own sequence


def register_hooks() -> bool:
    """Register the hooks with the runtime's library; False where it is not installed."""
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:  # not in Lambda: nothing would run them
        return False
    register_before_snapshot(before_snapshot)
    register_after_restore(after_restore)
    return True
