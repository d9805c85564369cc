"""The botocore data shipped with the functions is the installed botocore's, for every service
the functions call (decision 51)."""

from __future__ import annotations

import re
import tomllib

import botocore

from shopflow.botocore_data import OPERATIONS, generated, on_disk
from tests.support import REPO


def test_shipped_botocore_data_is_the_installed_botocores() -> None:
    assert on_disk() == generated(), "regenerate: python -m shopflow.botocore_data"


def test_the_layer_installs_the_botocore_the_data_was_made_for() -> None:
    # Another botocore on AWS would make the functions fall back to botocore's own (slower) data.
    pinned = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"botocore=={botocore.__version__}" in pinned


def test_the_shipped_operations_are_those_template_yaml_lets_a_function_call() -> None:
    # A function's role allows nothing else, so a client needs nothing else (least privilege).
    template = (REPO / "template.yaml").read_text()
    for service, operations in OPERATIONS.items():
        granted = set(re.findall(rf"^\s*- {service}:(\w+)", template, re.MULTILINE))
        assert granted == set(operations), f"ship {sorted(granted)}, then: python -m shopflow.botocore_data"
