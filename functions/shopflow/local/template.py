"""Reading template.yaml: the one definition of tables, queues and functions.

`shopflow local` and the tests create their resources from it, so whatever they run is
what AWS runs. Only the intrinsic functions the template uses are resolved: Ref, Sub and
GetAtt against parameters and the resources provisioned so far.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (`!Ref X` -> `{"Ref": "X"}`)."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def default_template_path() -> Path:
    """template.yaml at the repository root (functions/shopflow/local/ -> ../../..)."""
    return Path(__file__).resolve().parents[3] / "template.yaml"


@dataclass
class Template:
    document: dict[str, Any]
    parameters: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None, **parameters: str) -> Template:
        document = yaml.load((path or default_template_path()).read_text(), Loader=_CfnLoader)  # noqa: S506
        values = {name: str(spec.get("Default", "")) for name, spec in document.get("Parameters", {}).items()}
        values.update(parameters)
        return cls(document, values)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.document["Resources"]
        return resources

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {name: r for name, r in self.resources.items() if r["Type"] == resource_type}

    def function_properties(self, logical_id: str) -> dict[str, Any]:
        """A function's properties with the Globals it inherits merged in."""
        merged: dict[str, Any] = dict(self.document.get("Globals", {}).get("Function", {}))
        own = self.resources[logical_id]["Properties"]
        env = {
            **merged.get("Environment", {}).get("Variables", {}),
            **own.get("Environment", {}).get("Variables", {}),
        }
        merged.update(own)
        merged["Environment"] = {"Variables": env}
        return merged

    def resolve(self, value: Any, refs: Mapping[str, str], attributes: Mapping[tuple[str, str], str]) -> Any:
        """Resolve Ref/Sub/GetAtt in `value` given physical ids (`refs`) and attributes."""
        if isinstance(value, list):
            return [self.resolve(v, refs, attributes) for v in value]
        if not isinstance(value, dict):
            return value
        if "Ref" in value:
            name = value["Ref"]
            return self.parameters[name] if name in self.parameters else refs[name]
        if "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            return attributes[(logical_id, attribute)]
        if "Fn::Sub" in value:

            def substitute(match: re.Match[str]) -> str:
                name = match.group(1)
                if "." in name:
                    logical_id, attribute = name.split(".", 1)
                    return attributes[(logical_id, attribute)]
                if name in self.parameters:
                    return self.parameters[name]
                return _PSEUDO.get(name) or refs[name]

            return re.sub(r"\$\{([^}!]+)\}", substitute, value["Fn::Sub"])
        return {k: self.resolve(v, refs, attributes) for k, v in value.items()}


_PSEUDO = {
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}
