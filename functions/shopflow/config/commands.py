"""`shopflow config show|get|set|unset|push|validate`: the owner's settings in SSM, checked before writing.

Values are checked with `parse_setting` (the same parsing the pipeline uses) before anything
is written, so a refused value leaves SSM as it was. `show` and `get` report the value the
pipeline would use (`SettingsLoader`), and where it came from. Secrets are SecureStrings and
are never printed, except by `get KEY --reveal`.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shopflow.cli import print_table
from shopflow.config.spec import BY_KEY, SETTINGS, Setting, SettingError, Value, key_to_name, parse_setting
from shopflow.target import Target, TargetError, add_target_arguments, target_from_args

PREFIX = "shopflow config"


def register(commands: Any) -> None:
    config = commands.add_parser(
        "config", help="the owner's settings in SSM: show, get, set, unset, push or validate a YAML file"
    )
    actions = config.add_subparsers(dest="action", required=True, metavar="ACTION")

    show = actions.add_parser("show", help="every setting, its effective value and where it comes from")
    show.add_argument("--json", action="store_true", help="a JSON list of {key, value, source, type}")
    add_target_arguments(show)
    show.set_defaults(run=_show)

    get = actions.add_parser("get", help="one setting's effective value (secrets masked)")
    get.add_argument("key", help="e.g. dedup.retention_days (`shopflow config show` lists them)")
    get.add_argument("--reveal", action="store_true", help="print a secret's value instead of (set)")
    add_target_arguments(get)
    get.set_defaults(run=_get)

    put = actions.add_parser("set", help="check a value, then write it (an invalid value is refused)")
    put.add_argument("key", help="e.g. dedup.retention_days")
    put.add_argument("value", help="as text: numbers 30, booleans true/false, lists a,b")
    add_target_arguments(put)
    put.set_defaults(run=_set)

    unset = actions.add_parser(
        "unset", help="remove a setting from SSM: its default applies again (or it is not set)"
    )
    unset.add_argument("key", help="e.g. webhooks.shopify.previous_secret, after a rotation")
    add_target_arguments(unset)
    unset.set_defaults(run=_unset)

    push = actions.add_parser(
        "push", help="write a YAML file of settings; if any entry is invalid, nothing is written"
    )
    push.add_argument("file", type=Path, help="a YAML mapping of setting key -> value")
    add_target_arguments(push)
    push.set_defaults(run=_push)

    validate = actions.add_parser(
        "validate", help="check a YAML file of settings without writing (nor reading) anything"
    )
    validate.add_argument("file", type=Path, help="a YAML mapping of setting key -> value")
    add_target_arguments(validate)  # accepted so that `push` and `validate` take the same arguments
    validate.set_defaults(run=_validate)


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


def _root(target: Target) -> str:
    from shopflow.config.settings import ssm_path

    return ssm_path(target.stage)


def _read(target: Target, ssm: Any) -> dict[str, Stored]:
    """Every parameter under the stage's root, by name relative to it (`dedup/retention_days`)."""
    root = _root(target)
    found: dict[str, Stored] = {}
    for page in ssm.get_paginator("get_parameters_by_path").paginate(
        Path=root, Recursive=True, WithDecryption=True
    ):
        for parameter in page["Parameters"]:
            found[parameter["Name"].removeprefix(root + "/")] = Stored(parameter["Value"], parameter["Type"])
    return found


def _current(target: Target, stored: Mapping[str, Stored]) -> dict[str, Current]:
    """Effective values exactly as `SettingsLoader` computes them, plus where each came from."""
    from shopflow.config.settings import SettingsLoader

    raw = {name: entry.value for name, entry in stored.items()}
    with _pipeline_warnings_silenced():  # the invalid ones are reported here, in the source column
        settings = SettingsLoader(target.stage, fetch=lambda: raw).load()
    found: dict[str, Current] = {}
    for setting in SETTINGS:
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
    import logging

    from shopflow.observability import logger

    level = logger.log_level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _reason(key: str, exc: SettingError) -> str:
    return str(exc).removeprefix(f"{key}: ")


# --- text forms ------------------------------------------------------------------------------------


def _text(value: Value) -> str:
    """The raw form `parse_setting` reads back as `value` (what is stored, and what `get` prints)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value)


def _shown(setting: Setting, value: Value) -> str:
    """A value for the owner's eyes: secrets masked, nothing left blank."""
    if setting.secure:
        return "(set)" if value else "(not set)"
    if value is None:
        return "(not set)"
    if value == ():
        return "(empty)"
    return _text(value)


def _shown_before(current: Current) -> str:
    if current.stored is None:
        return f"{_shown(current.setting, current.value)} (default)"
    if current.problem is None:
        return _shown(current.setting, current.value)
    old = "(set)" if current.setting.secure else repr(current.stored.value)
    return f"{old} (invalid, so {_shown(current.setting, current.value)} was in use)"


def _json_value(setting: Setting, value: Value) -> Any:
    if setting.secure:
        return _shown(setting, value)
    return list(value) if isinstance(value, tuple) else value


def _from_yaml(value: object) -> str:
    """A YAML value as the raw text `parse_setting` accepts; `ValueError` says why it cannot be."""
    if value is None:
        raise ValueError("has no value")
    if isinstance(value, dict):
        raise ValueError("is a mapping: write each setting's full key, e.g. webhooks.shopify.secret: ...")
    if isinstance(value, list):
        if any(isinstance(item, dict | list) or item is None for item in value):
            raise ValueError("a list may hold only plain values")
        return ",".join(_from_yaml(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _unknown(key: str) -> str:
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


def _plan(key: str, raw: str) -> Planned:
    """The checked change, or `SettingError` naming the key and why (unknown keys included)."""
    if key not in BY_KEY:
        raise SettingError(_unknown(key))
    setting = BY_KEY[key]
    value = parse_setting(key, raw)
    text = _text(value)
    if text:
        return Planned(setting, value, text)
    if value != setting.default:  # SSM holds no empty strings
        raise SettingError(f"{key}: cannot be empty")
    return Planned(setting, value, None)


def _unchanged(planned: Planned, current: Current) -> bool:
    if planned.text is None:
        return current.stored is None
    stored = current.stored
    return stored is not None and stored.value == planned.text and stored.type == planned.type


def _write(ssm: Any, target: Target, planned: Planned, current: Current) -> None:
    name = f"{_root(target)}/{key_to_name(planned.key)}"
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


def _change_line(planned: Planned, current: Current) -> str:
    new = _shown(planned.setting, planned.value)
    if planned.setting.secure and current.value and planned.value:
        new = "(set, new value)"
    return f"{planned.key}: {_shown_before(current)} -> {new}"


@contextmanager
def _aws_errors(target: Target) -> Iterator[None]:
    """botocore's failures (no credentials, access denied, no region, ...) as one line (exit 2)."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        yield
    except NoCredentialsError:
        raise TargetError(
            f"no AWS credentials for {target.where}: use --profile (or AWS_PROFILE), or --local"
        ) from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        said = ": ".join(str(part) for part in (error.get("Code"), error.get("Message")) if part)
        raise TargetError(_one_line(f"SSM in {target.where} refused {exc.operation_name}: {said}")) from None
    except BotoCoreError as exc:
        raise TargetError(_one_line(f"could not use SSM in {target.where}: {exc}")) from None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _complain(message: str) -> None:
    print(f"{PREFIX}: {message}", file=sys.stderr)


# --- the commands --------------------------------------------------------------------------------------


def _show(args: argparse.Namespace) -> int:
    target = target_from_args(args)
    with _aws_errors(target):
        current = _current(target, _read(target, target.client("ssm")))
    if args.json:
        rows = [
            {
                "key": c.setting.key,
                "value": _json_value(c.setting, c.value),
                "source": c.source,
                "type": c.setting.kind,
            }
            for c in current.values()
        ]
        print(json.dumps(rows, indent=2))
        return 0
    print(f"settings of {target.where} (SSM {_root(target)}/)")
    print_table(
        [
            {
                "key": c.setting.key,
                "value": _shown(c.setting, c.value),
                "source": c.source,
                "type": c.setting.kind,
            }
            for c in current.values()
        ],
        ("key", "value", "source", "type"),
    )
    return 0


def _get(args: argparse.Namespace) -> int:
    if args.key not in BY_KEY:
        _complain(_unknown(args.key))
        return 1
    target = target_from_args(args)
    with _aws_errors(target):
        current = _current(target, _read(target, target.client("ssm")))[args.key]
    if current.problem is not None:
        _complain(
            f"note: the value of {args.key} in SSM is invalid ({current.problem}); "
            "the pipeline uses the default"
        )
    if current.setting.secure and not args.reveal:
        print(_shown(current.setting, current.value))
        return 0
    if current.value is None:
        _complain(f"{args.key} is not set in {target.where}")
        return 1
    print(_text(current.value))  # the form `set` takes back
    return 0


def set_setting(target: Target, key: str, raw: str) -> str:
    """Check `raw`, then write it unless unchanged; the line saying what changed.

    Raises `SettingError` (nothing written) for an unknown key or an invalid value.
    """
    planned = _plan(key, raw)
    with _aws_errors(target):
        ssm = target.client("ssm")
        current = _current(target, _read(target, ssm))[planned.key]
        if _unchanged(planned, current):
            return f"{planned.key}: {_shown(planned.setting, planned.value)} (unchanged) in {target.where}"
        _write(ssm, target, planned, current)
    return f"{_change_line(planned, current)} in {target.where}"


def _set(args: argparse.Namespace) -> int:
    try:
        _plan(args.key, args.value)  # refuse bad input before looking for a target
        line = set_setting(target_from_args(args), args.key, args.value)
    except SettingError as exc:
        hint = f" (to remove it: {PREFIX} unset {args.key})" if not args.value.strip() else ""
        _complain(f"refused, nothing written: {exc}{hint}")
        return 1
    print(line)
    return 0


def _unset_plan(key: str) -> Planned:
    """Removing `key`'s parameter, or `SettingError` for an unknown or a required key."""
    if key not in BY_KEY:
        raise SettingError(_unknown(key))
    setting = BY_KEY[key]
    if setting.required is not None:
        raise SettingError(f"{key}: {setting.required}")
    return Planned(setting, setting.default, None)


def unset_setting(target: Target, key: str) -> str:
    """Delete `key`'s parameter, so that its default applies (or it is not set); the line saying
    what changed. Raises `SettingError` (nothing deleted) for an unknown or a required key."""
    planned = _unset_plan(key)
    after = _shown(planned.setting, planned.value)
    if planned.value is not None and not planned.setting.secure:
        after += " (default)"
    with _aws_errors(target):
        ssm = target.client("ssm")
        current = _current(target, _read(target, ssm))[key]
        if _unchanged(planned, current):
            return f"{key}: not in SSM, nothing removed in {target.where}"
        _write(ssm, target, planned, current)
    return f"{key}: {_shown_before(current)} -> {after} in {target.where}"


def _unset(args: argparse.Namespace) -> int:
    try:
        _unset_plan(args.key)  # refuse before looking for a target
        line = unset_setting(target_from_args(args), args.key)
    except SettingError as exc:
        _complain(f"refused, nothing removed: {exc}")
        return 1
    print(line)
    return 0


def _push(args: argparse.Namespace) -> int:
    plans = _checked_file(args.file, writing=True)
    if plans is None:
        return 1
    target = target_from_args(args)
    changed = unchanged = 0
    with _aws_errors(target):
        ssm = target.client("ssm")
        current = _current(target, _read(target, ssm))
        for planned in plans:
            if _unchanged(planned, current[planned.key]):
                unchanged += 1
                continue
            _write(ssm, target, planned, current[planned.key])
            print(_change_line(planned, current[planned.key]), flush=True)
            changed += 1
    print(f"pushed {args.file} to {target.where}: {changed} changed, {unchanged} unchanged")
    return 0


def _validate(args: argparse.Namespace) -> int:
    plans = _checked_file(args.file, writing=False)
    if plans is None:
        return 1
    print(f"{args.file}: {len(plans)} setting{'' if len(plans) == 1 else 's'}, all valid")
    return 0


def _checked_file(path: Path, *, writing: bool) -> list[Planned] | None:
    """Every entry of a settings file, checked; None (every problem reported) when any is wrong."""
    import yaml

    outcome = ", nothing written" if writing else ""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        _complain(f"cannot read {path}: {exc.strerror or exc}")
        return None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        _complain(_one_line(f"{path} is not valid YAML{outcome}: {exc}"))
        return None
    if not isinstance(document, dict):
        found = "an empty file" if document is None else f"a {_yaml_kind(document)}"
        _complain(f"{path} must be a YAML mapping of setting key -> value, not {found}{outcome}")
        return None
    plans: list[Planned] = []
    problems: list[str] = []
    for key, value in document.items():
        if not isinstance(key, str):
            problems.append(_unknown(repr(key)))
            continue
        try:
            plans.append(_plan(key, _from_yaml(value)))
        except SettingError as exc:
            problems.append(str(exc))
        except ValueError as exc:
            problems.append(f"{key}: {exc}")
    if problems:
        count = f"{len(problems)} problem{'' if len(problems) == 1 else 's'}"
        _complain(f"{path}: {count}{outcome}:")
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return None
    return plans


def _yaml_kind(document: object) -> str:
    if isinstance(document, list):
        return "list"
    if isinstance(document, bool):
        return "boolean"
    if isinstance(document, int | float):
        return "number"
    return "plain value" if isinstance(document, str) else type(document).__name__
