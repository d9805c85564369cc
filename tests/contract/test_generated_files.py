"""Files generated from the code stay equal to it; packaging pins stay equal to pyproject."""

from __future__ import annotations

import json
import tomllib

from shopflow.config.spec import defaults_document
from shopflow.webhooks.events import SCHEMA_DIR, json_schemas
from tests.support import REPO


def test_infra_parameters_yaml_is_the_spec() -> None:
    assert (REPO / "infra" / "parameters.yaml").read_text() == defaults_document(), (
        "regenerate: python -m shopflow.config.spec > infra/parameters.yaml"
    )


def test_event_json_schemas_are_the_models() -> None:
    for name, schema in json_schemas().items():
        on_disk = json.loads((REPO / SCHEMA_DIR / name).read_text())
        assert on_disk == schema, f"regenerate: python -m shopflow.webhooks.events ({name})"


def test_every_event_type_is_documented() -> None:
    docs = (REPO / "docs" / "events.md").read_text()
    for name in json_schemas():
        assert name.removesuffix(".schema.json") in docs


def test_layer_requirements_equal_the_runtime_dependencies() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    layer = [
        line.strip()
        for line in (REPO / "layers" / "dependencies" / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert sorted(layer) == sorted(pyproject["project"]["dependencies"])
    assert all("==" in requirement for requirement in layer)
