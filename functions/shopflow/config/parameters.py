"""The owner's settings as SSM holds them: what is stored, what the pipeline makes of it, and a
checked change written (`shopflow config`, the local demo and the benches write through here).

Values are checked with `parse_setting` (the same parsing the pipeline uses) before anything is
written, so a refused value leaves SSM as it was. Effective values are what `SettingsLoader`
computes. Errors of SSM itself (credentials, access) pass through as botocore raises them.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, Protocol

from shopflow.config.settings import SettingsLoader, ssm_path
from shopflow.config.spec import (
    BY_KEY,
    Setting,
    SettingError,
    Value,
    key_to_name,
    name_to_key,
    parse_setting,
    setting_for,
    settings_among,
)
from shopflow.observability import logger


class SettingsTarget(Protocol):
    """Where the settings live: a stage, its SSM client, and how to name it in a message."""

    @property
    def stage(self) -> str: ...

    @property
    def where(self) -> str: ...

    def client(self, service: str) -> Any: ...


# --- what is in SSM, and what the pipeline makes of it -------------------------------------------


@dataclass(frozen=True)
class Stored:
    """A parameter as SSM holds it."""

    value: str
    type: str  # String | SecureString | StringList


@dataclass(frozen=True)
class Current:
    """One setting as the pipeline sees it now."""

    setting: Setting
    value: Value  # what the pipeline uses
    stored: Stored | None
    problem: str | None = None  # why the stored value is ignored

    @property
    def source(self) -> str:
        if self.stored is None:
            return "default"
        return f"ssm (invalid: {self.problem})" if self.problem else "ssm"


def read_stored(stage: str, ssm: Any) -> dict[str, Stored]:
    """Every parameter under the stage's root, by name relative to it (`dedup/retention_days`)."""
    root = ssm_path(stage)
    found: dict[str, Stored] = {}
    for page in ssm.get_paginator("get_parameters_by_path").paginate(
        Path=root, Recursive=True, WithDecryption=True
    ):
        for parameter in page["Parameters"]:
            found[parameter["Name"].removeprefix(root + "/")] = Stored(parameter["Value"], parameter["Type"])
    return found


def current_values(
    stage: str, stored: Mapping[str, Stored], *, also: Iterable[str] = ()
) -> dict[str, Current]:
    """Effective values exactly as `SettingsLoader` computes them, plus where each came from."""
    raw = {name: entry.value for name, entry in stored.items()}
    with _pipeline_warnings_silenced():  # the invalid ones are reported here, in the source column
        settings = SettingsLoader(stage, fetch=lambda: raw).load()
    found: dict[str, Current] = {}
    for setting in settings_among([*(name_to_key(name) for name in stored), *also]):
        entry = stored.get(key_to_name(setting.key))
        problem = None
        if entry is not None:
            try:
                parse_setting(setting.key, entry.value)
            except SettingError as exc:
                problem = _reason(setting.key, exc)
        found[setting.key] = Current(setting, settings.get(setting.key), entry, problem)
    return found


@contextmanager
def _pipeline_warnings_silenced() -> Iterator[None]:
    """The pipeline's logger writes JSON to stdout, which would spoil `show --json`."""
    level = logger.log_level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _reason(key: str, exc: SettingError) -> str:
    return str(exc).removeprefix(f"{key}: ")


# --- text forms ------------------------------------------------------------------------------------


def text_form(value: Value) -> str:
    """The raw form `parse_setting` reads back as `value` (what is stored, and what `get` prints)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value)


def shown(setting: Setting, value: Value) -> str:
    """A value for the owner's eyes: secrets masked, nothing left blank."""
    if setting.secure:
        return "(set)" if value else "(not set)"
    if value is None:
        return "(not set)"
    if value == ():
        return "(empty)"
    return text_form(value)


def _shown_before(current: Current) -> str:
    if current.stored is None:
        return f"{shown(current.setting, current.value)} (default)"
    if current.problem is None:
        return shown(current.setting, current.value)
    old = "(set)" if current.setting.secure else repr(current.stored.value)
    return f"{old} (invalid, so {shown(current.setting, current.value)} was in use)"


def unknown_key(key: str) -> str:
    """`KEY: unknown setting; did you mean ...?`, like `parse_setting`'s messages."""
    close = difflib.get_close_matches(key, list(BY_KEY), n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}?" if close else "`shopflow config show` lists every setting"
    return f"{key}: unknown setting; {hint}"


# --- planning and writing a change -------------------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    """A checked value, ready to write."""

    setting: Setting
    value: Value
    text: str | None  # what to store; None: remove the parameter (an empty value that is the default)

    @property
    def key(self) -> str:
        return self.setting.key

    @property
    def type(self) -> str:
        return "SecureString" if self.setting.secure else "String"


def plan_change(key: str, raw: str) -> Planned:
    """The checked change, or `SettingError` naming the key and why (unknown keys included)."""
    setting = setting_for(key)
    if setting is None:
        raise SettingError(unknown_key(key))
    value = parse_setting(key, raw)
    text = text_form(value)
    if text:
        return Planned(setting, value, text)
    if value != setting.default:  # SSM holds no empty strings
        raise SettingError(f"{key}: cannot be empty")
    return Planned(setting, value, None)


def unchanged(planned: Planned, current: Current) -> bool:
    if planned.text is None:
        return current.stored is None
    stored = current.stored
    return stored is not None and stored.value == planned.text and stored.type == planned.type


def write_change(ssm: Any, stage: str, planned: Planned, current: Current) -> None:
    name = f"{ssm_path(stage)}/{key_to_name(planned.key)}"
    if planned.text is None:
        _delete(ssm, name)
        return
    stored = current.stored
    if stored is None or stored.type == planned.type:
        ssm.put_parameter(Name=name, Value=planned.text, Type=planned.type, Overwrite=True)
        return
    # SSM does not change a parameter's type in place (HierarchyTypeMismatchException).
    _delete(ssm, name)
    try:
        ssm.put_parameter(Name=name, Value=planned.text, Type=planned.type)
    except Exception:
        ssm.put_parameter(Name=name, Value=stored.value, Type=stored.type)  # put the old one back
        raise


def _delete(ssm: Any, name: str) -> None:
    with suppress(ssm.exceptions.ParameterNotFound):
        ssm.delete_parameter(Name=name)


def change_line(planned: Planned, current: Current) -> str:
    new = shown(planned.setting, planned.value)
    if planned.setting.secure and current.value and planned.value:
        new = "(set, new value)"
    return f"{planned.key}: {_shown_before(current)} -> {new}"


def set_setting(target: SettingsTarget, key: str, raw: str) -> str:
    """Check `raw`, then write it unless unchanged; the line saying what changed.

    Raises `SettingError` (nothing written) for an unknown key or an invalid value.
    """
    planned = plan_change(key, raw)
    ssm = target.client("ssm")
    every = current_values(target.stage, read_stored(target.stage, ssm), also=(planned.key,))
    refuse_inconsistent(every, [planned])
    current = every[planned.key]
    if unchanged(planned, current):
        return f"{planned.key}: {shown(planned.setting, planned.value)} (unchanged) in {target.where}"
    write_change(ssm, target.stage, planned, current)
    return f"{change_line(planned, current)} in {target.where}"


def refuse_inconsistent(current: Mapping[str, Current], changes: Iterable[Planned]) -> None:
    """`SettingError` when the settings after `changes` are each valid but wrong together (the
    capabilities' cross-setting checks: a channel's commission with a strategy's margin)."""
    from shopflow.capabilities import settings_problems

    after: dict[str, object] = {key: entry.value for key, entry in current.items()}
    after.update({planned.key: planned.value for planned in changes})
    problems = settings_problems(after)
    if problems:
        raise SettingError("; ".join(problems))


def unset_plan(key: str) -> Planned:
    """Removing `key`'s parameter, or `SettingError` for an unknown or a required key."""
    setting = setting_for(key)
    if setting is None:
        raise SettingError(unknown_key(key))
    if setting.required is not None:
        raise SettingError(f"{key}: {setting.required}")
    return Planned(setting, setting.default, None)


def unset_setting(target: SettingsTarget, key: str) -> str:
    """Delete `key`'s parameter, so that its default applies (or it is not set); the line saying
    what changed. Raises `SettingError` (nothing deleted) for an unknown or a required key."""
    planned = unset_plan(key)
    after = shown(planned.setting, planned.value)
    if planned.value is not None and not planned.setting.secure:
        after += " (default)"
    ssm = target.client("ssm")
    current = current_values(target.stage, read_stored(target.stage, ssm), also=(key,))[key]
    if unchanged(planned, current):
        return f"{key}: not in SSM, nothing removed in {target.where}"
    write_change(ssm, target.stage, planned, current)
    return f"{key}: {_shown_before(current)} -> {after} in {target.where}"
