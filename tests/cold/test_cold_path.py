"""What makes a cold container answer sooner must not change what it does afterwards (decision 51)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import boto3
import botocore
import pytest
from moto import mock_aws

from shopflow import bootstrap
from shopflow.botocore_data import DATA_DIR
from tests.cold.container import FUNCTIONS_DIR, rest_api_event

INSTALLED_BOTOCORE = botocore.__version__

# Imports app as Lambda's runtime would, then makes one first call that needs no AWS: reports
# the collector before and after it, and the call's status code or the error it raised.
_FIRST_CALL = """
import gc, json, sys, app
before = gc.isenabled()
try:
    outcome = getattr(app, sys.argv[1])(json.loads(sys.stdin.read()), None)["statusCode"]
except Exception as exc:
    outcome = type(exc).__name__
print(json.dumps({"before": before, "after": gc.isenabled(), "frozen": gc.get_freeze_count(),
                  "outcome": outcome}))
"""
# Chalice refuses its content type before any shopflow code runs.
REFUSED = rest_api_event("/webhooks/shopify", {"Content-Type": "text/plain"}, b"x")


def first_call(handler: str, event: dict[str, object], **variables: str) -> dict[str, object]:
    environment = {"PATH": os.environ.get("PATH", ""), "AWS_REGION": "us-east-1", **variables}
    finished = subprocess.run(
        [sys.executable, "-c", _FIRST_CALL, handler],
        input=json.dumps(event),
        cwd=FUNCTIONS_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    reported: dict[str, object] = json.loads(finished.stdout.strip().splitlines()[-1])
    return reported


@pytest.mark.parametrize(
    ("function", "handler", "event", "outcome"),
    [
        ("ApiFunction", "app", REFUSED, 415),
        # A first call that fails (here: no queue in its environment) ends the wait as well.
        ("SweepFunction", "sweep", {}, "KeyError"),
    ],
)
def test_in_lambda_the_collector_waits_for_the_first_call_then_runs_again(
    function: str, handler: str, event: dict[str, object], outcome: object
) -> None:
    reported = first_call(handler, event, AWS_LAMBDA_FUNCTION_NAME=function)

    assert reported["outcome"] == outcome
    assert reported["before"] is False
    assert reported["after"] is True
    assert isinstance(reported["frozen"], int) and reported["frozen"] > 10_000  # never walked again


def test_outside_lambda_the_collector_is_left_alone() -> None:
    reported = first_call("app", REFUSED)

    assert reported == {"before": True, "after": True, "frozen": 0, "outcome": 415}


@pytest.mark.parametrize("installed", [INSTALLED_BOTOCORE, "0.0.1"])
def test_clients_work_with_the_shipped_data_or_without_it(
    installed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Data made for another botocore than the installed one is not used: botocore's own is.
    monkeypatch.setattr(botocore, "__version__", installed)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        boto3.client("ssm").put_parameter(Name="/shopflow/dev/x", Value="1", Type="String")
        runtime = bootstrap.reset()
        found = runtime.client("ssm").get_parameters_by_path(Path="/shopflow/dev")["Parameters"]
    bootstrap.reset()

    assert [p["Value"] for p in found] == ["1"]
    loader = runtime._session().get_component("data_loader")
    assert (str(DATA_DIR) in loader.search_paths) is (installed == INSTALLED_BOTOCORE)
