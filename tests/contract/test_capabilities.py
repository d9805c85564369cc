"""Every capability in shopflow.capabilities is complete and apart from the others: its flows send
exactly the kinds it declares, each kind has its templates in every locale, its settings are in
infra/parameters.yaml, and no two capabilities claim one kind, setting or timer action (a second
claim would silently replace the first where they are collected by name)."""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections import Counter
from pathlib import Path

import pytest
import yaml

from shopflow.bootstrap import Runtime
from shopflow.capabilities import CAPABILITIES, capability_settings
from shopflow.config import spec
from shopflow.kernel.capability import Capability
from shopflow.notifications.consumer import SEND_DEFERRED
from tests.support import REPO

LOCALES = ("en", "ru", "pl")
# templates/<locale>/<kind>.<part>: the email's subject, HTML and text bodies, and the SMS.
TEMPLATE_PARTS = ("subject.txt", "html", "txt", "sms.txt")
NAMES = [capability.name for capability in CAPABILITIES]


@pytest.fixture
def runtime() -> Runtime:
    return Runtime(stage="test", table_name="t")  # builds flows and actions without calling AWS


def test_capabilities_have_distinct_names() -> None:
    assert sorted(NAMES) == sorted(set(NAMES))


@pytest.mark.parametrize("capability", CAPABILITIES, ids=NAMES)
def test_a_capabilitys_flows_send_exactly_the_kinds_it_declares(
    capability: Capability, runtime: Runtime
) -> None:
    flows = capability.message_flows(runtime)
    by_flows = [kind.name for flow in flows for kind in flow.kinds]

    assert Counter(by_flows) == Counter(kind.name for kind in capability.kinds)


def _duplicates(names: list[str]) -> list[str]:
    return sorted(name for name, count in Counter(names).items() if count > 1)


def test_no_two_capabilities_declare_one_message_kind() -> None:
    assert _duplicates([kind.name for c in CAPABILITIES for kind in c.kinds]) == []


def test_no_setting_key_is_declared_twice() -> None:
    keys = [setting.key for setting in spec.SETTINGS]  # shopflow's own, then every capability's

    assert _duplicates(keys) == []
    assert {setting.key for setting in capability_settings()} <= set(keys)


def test_no_two_timer_actions_share_a_name(runtime: Runtime) -> None:
    names = [SEND_DEFERRED] + [name for c in CAPABILITIES for name in c.timer_actions(runtime)]

    assert _duplicates(names) == []


@pytest.mark.parametrize("capability", CAPABILITIES, ids=NAMES)
def test_every_kind_has_its_templates_in_every_locale(capability: Capability) -> None:
    missing = [
        f"{locale}/{kind.name}.{part}"
        for kind in capability.kinds
        for locale in LOCALES
        for part in TEMPLATE_PARTS
        if not (REPO / "templates" / locale / f"{kind.name}.{part}").is_file()
    ]

    assert missing == []


def test_the_template_locales_are_the_ones_checked() -> None:
    found = sorted(path.name for path in (REPO / "templates").iterdir() if path.is_dir())

    assert found == sorted(LOCALES)


def _parameters() -> dict[str, object]:
    loaded = yaml.safe_load(Path(REPO / "infra" / "parameters.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.mark.parametrize("capability", CAPABILITIES, ids=NAMES)
def test_every_setting_of_a_capability_is_in_the_parameters_file(capability: Capability) -> None:
    switches = [f"notify.{kind.name}.{channel}" for kind in capability.kinds for channel in ("email", "sms")]
    keys = [setting.key for setting in capability.settings] + switches

    assert [key for key in keys if key not in _parameters()] == []


def _imported_by_its_handlers(intake: object) -> set[str]:
    """The shopflow modules the handlers an `intake` hook returns import inside themselves."""
    hook = ast.parse(textwrap.dedent(inspect.getsource(intake))).body[0]
    return {
        node.module
        for handler in ast.walk(hook)
        if isinstance(handler, ast.FunctionDef) and handler is not hook
        for node in ast.walk(handler)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("shopflow.")
    }


@pytest.mark.parametrize("capability", CAPABILITIES, ids=NAMES)
def test_what_its_intake_loads_on_first_use_is_declared_for_the_snapshot(capability: Capability) -> None:
    """The api's SnapStart snapshot loads `intake_modules` (shopflow/snapstart.py): a module an
    intake handler imports on its first call and leaves undeclared would be loaded by the first
    request of every restored container instead."""
    declared = set(capability.intake_modules)
    if getattr(capability.intake, "__name__", "") == "<lambda>":  # the default: records nothing
        assert declared == set()
        return
    assert _imported_by_its_handlers(capability.intake) == declared
