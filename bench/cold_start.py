"""Cold start of the api function: a fresh interpreter to its first answered webhook, against
a bare `import boto3` in a fresh interpreter, in the same run.

    python bench/cold_start.py [--runs N]

The bench starts a moto server (outside the measured processes) with template.yaml's table and
queues and the webhook secrets in SSM. Each api sample is a fresh interpreter with exactly the
environment template.yaml gives ApiFunction (tests/cold/container.py): it imports app and
answers one signed Shopify orders/create given as the REST API Gateway proxy event Lambda hands
`app.app`, reading SSM and writing the order for real. Each boto3 sample runs the same probe
but only imports boto3. Samples alternate, so machine noise hits both alike. Prints the median
and best of each and their ratio (goal <= 1.5x): inside the process (from the probe's first
line), in that process's CPU time (steadier when the machine is busy), and for the whole
process to its answer (interpreter start-up included, as Lambda's init pays it; not the
interpreter's exit, which a Lambda container never makes between requests: with this many objects
its final collections take longer than the whole import of boto3).

Then the same first webhook under SnapStart, as template.yaml deploys the api (decision 82): in
each run, one fresh interpreter with ApiFunction's SnapStart environment (credentials from a
container endpoint whose first keys expire within botocore's refresh margin, as a snapshot's have
by the time it is restored, so each restored container fetches new ones) imports app and runs
the before-snapshot hooks; then `--restores`
containers restored from it (forks) each run the after-restore hooks and answer one new order.
Printed: the init (paid once per published version), and each restored container's first answer
against the same `import boto3`. Lambda's own restore of the memory is not in these figures:
it is outside the process (CloudWatch reports it as Restore Duration).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from moto.server import ThreadedMotoServer
from tests.cold.container import (
    ColdStack,
    ContainerCredentials,
    Invocation,
    aws_variables,
    rest_api_event,
    run_probe,
    run_snapstart_probe,
)
from tests.support import SHOP_DOMAIN, SHOPIFY_SECRET, corpus, dumps, shopify_headers

API = "ApiFunction"


def signed_order(order_id: int) -> dict[str, object]:
    body = dumps({**corpus("shopify/order.json"), "id": order_id})
    return rest_api_event("/webhooks/shopify", shopify_headers(body, "orders/create"), body)


def timed(run: Callable[[], Invocation]) -> tuple[Invocation, float]:
    """The invocation and the seconds from starting its interpreter to its answer."""
    started = time.time()
    invocation = run()
    return invocation, invocation.answered_at - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--restores", type=int, default=3, help="restored containers per snapshot")
    arguments = parser.parse_args()
    runs, restores = arguments.runs, arguments.restores

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        endpoint = "http://{}:{}".format(*server.get_host_and_port())
        os.environ.update(aws_variables(endpoint))  # this process provisions there too
        stack = ColdStack.provision(endpoint, stage=f"bench-{uuid.uuid4().hex[:6]}")
        stack.put_setting("webhooks/shopify/secret", SHOPIFY_SECRET, secure=True)
        stack.put_setting("webhooks/shopify/shop_domains", SHOP_DOMAIN)
        environment = stack.container_environment(API)
        target = stack.handler(API)

        def answer(order_id: int) -> Invocation:
            invocation = run_probe(target, signed_order(order_id), environment, API)
            status = invocation.answer["statusCode"]
            assert status == 200 and '"accepted"' in invocation.answer["body"], invocation.answer
            return invocation

        def bare_boto3() -> Invocation:
            return run_probe("boto3", {}, environment, "boto3")

        answer(1)  # the first run of a checkout compiles .pyc files: not a cold start's cost
        samples: dict[str, list[float]] = {key: [] for key in FIGURES}
        loads = [os.getloadavg()[0]]  # other work on the machine inflates both, not always alike
        for n in range(runs):
            for name, run in (("boto3", bare_boto3), ("api", lambda: answer(1000 + n))):  # noqa: B023
                invocation, whole = timed(run)
                samples[f"{name} in"].append(invocation.seconds)
                samples[f"{name} cpu"].append(invocation.cpu_seconds)
                samples[f"{name} whole"].append(whole)
            loads.append(os.getloadavg()[0])

        snapstart: dict[str, list[float]] = {"boto3 in": [], "boto3 cpu": [], "init": [], "in": [], "cpu": []}
        with ContainerCredentials(first_lifetime=timedelta(minutes=5)).serving() as credentials:
            restored_environment = stack.snapstart_environment(API, credentials)
            for n in range(runs):
                boto3_import = bare_boto3()
                snapstart["boto3 in"].append(boto3_import.seconds)
                snapstart["boto3 cpu"].append(boto3_import.cpu_seconds)
                orders = [signed_order(5000 + n * restores + r) for r in range(restores)]
                init_cpu, restored = run_snapstart_probe(target, orders, restored_environment, API)
                snapstart["init"].append(init_cpu)
                for container in restored:
                    assert container.invocation.answer["statusCode"] == 200, container.invocation.answer
                    snapstart["in"].append(container.invocation.seconds)
                    snapstart["cpu"].append(container.invocation.cpu_seconds)
                loads.append(os.getloadavg()[0])
    finally:
        server.stop()

    print(f"api cold path, {runs} runs each, alternating (moto server, real SSM read and order write)")
    print(f"load average during the runs: {min(loads):.1f} .. {max(loads):.1f} ({os.cpu_count()} CPUs)")
    for key, label in FIGURES.items():
        median, best = statistics.median(samples[key]) * 1000, min(samples[key]) * 1000
        print(f"{label:<48} median {median:7.1f} ms  best {best:7.1f} ms")
    ratios = {
        how: statistics.median(samples[f"api {how}"]) / statistics.median(samples[f"boto3 {how}"])
        for how in ("in", "cpu", "whole")
    }
    print(
        f"ratio first webhook / import boto3 (medians): {ratios['in']:.2f}x in process, "
        f"{ratios['cpu']:.2f}x its CPU time, {ratios['whole']:.2f}x process start to answer  (goal <= 1.5x)"
    )

    print(f"\nunder SnapStart: {runs} snapshots, {restores} containers restored from each")
    for key, label in SNAPSTART_FIGURES.items():
        median, best = statistics.median(snapstart[key]) * 1000, min(snapstart[key]) * 1000
        print(f"{label:<48} median {median:7.1f} ms  best {best:7.1f} ms")
    restored_ratios = {
        how: statistics.median(snapstart[how]) / statistics.median(snapstart[f"boto3 {how}"])
        for how in ("in", "cpu")
    }
    print(
        f"ratio restored first webhook / import boto3 (medians): {restored_ratios['in']:.2f}x in process, "
        f"{restored_ratios['cpu']:.2f}x its CPU time  (goal <= 1.5x; Lambda's restore itself not included)"
    )


FIGURES = {
    "boto3 in": "import boto3, in process",
    "api in": "first answered webhook, in process",
    "boto3 cpu": "import boto3, CPU time",
    "api cpu": "first answered webhook, CPU time",
    "boto3 whole": "import boto3, process start to answer",
    "api whole": "first answered webhook, process start to answer",
}

SNAPSTART_FIGURES = {
    "boto3 in": "import boto3, in process",
    "boto3 cpu": "import boto3, CPU time",
    "init": "init and before-snapshot hooks, CPU time",
    "in": "restored: first answered webhook, in process",
    "cpu": "restored: first answered webhook, CPU time",
}


if __name__ == "__main__":
    main()
