"""`shopflow config show|get|set|unset|push|validate` (and `shopflow settings`): the owner's
settings in SSM, checked before writing.

Reading, checking and writing live in `shopflow.config.parameters`; this module parses the
command line and prints. `show` and `get` report the value the pipeline would use, and where it
came from. Secrets are SecureStrings and are never printed, except by `get KEY --reveal`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from shopflow.cli.table import print_table
from shopflow.config.parameters import (
    Planned,
    change_line,
    current_values,
    plan_change,
    read_stored,
    refuse_inconsistent,
    set_setting,
    shown,
    text_form,
    unchanged,
    unknown_key,
    unset_plan,
    unset_setting,
    write_change,
)
from shopflow.config.settings import ssm_path
from shopflow.config.spec import Setting, SettingError, Value, defaults_document, setting_for
from shopflow.target import Target, TargetError, add_target_arguments, target_from_args

PREFIX = "shopflow config"


def register(commands: Any) -> None:
    settings = commands.add_parser(
        "settings", help="print every setting with its type, default and meaning (YAML)"
    )
    settings.set_defaults(run=_settings)
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


# --- text forms and errors ----------------------------------------------------------------------------


def _settings(args: argparse.Namespace) -> int:
    sys.stdout.write(defaults_document())
    return 0


def _json_value(setting: Setting, value: Value) -> Any:
    if setting.secure:
        return shown(setting, value)
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


@contextmanager
def _aws_errors(target: Target) -> Iterator[None]:
    """botocore's failures (no credentials, access denied, no region, ...) as one line (exit 2)."""
    # Cold start: botocore's exceptions load only when a command talks to SSM.
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
        current = current_values(target.stage, read_stored(target.stage, target.client("ssm")))
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
    print(f"settings of {target.where} (SSM {ssm_path(target.stage)}/)")
    print_table(
        [
            {
                "key": c.setting.key,
                "value": shown(c.setting, c.value),
                "source": c.source,
                "type": c.setting.kind,
            }
            for c in current.values()
        ],
        ("key", "value", "source", "type"),
    )
    return 0


def _get(args: argparse.Namespace) -> int:
    if setting_for(args.key) is None:
        _complain(unknown_key(args.key))
        return 1
    target = target_from_args(args)
    with _aws_errors(target):
        stored = read_stored(target.stage, target.client("ssm"))
        current = current_values(target.stage, stored, also=(args.key,))[args.key]
    if current.problem is not None:
        _complain(
            f"note: the value of {args.key} in SSM is invalid ({current.problem}); "
            "the pipeline uses the default"
        )
    if current.setting.secure and not args.reveal:
        print(shown(current.setting, current.value))
        return 0
    if current.value is None:
        _complain(f"{args.key} is not set in {target.where}")
        return 1
    print(text_form(current.value))  # the form `set` takes back
    return 0


def _set(args: argparse.Namespace) -> int:
    try:
        plan_change(args.key, args.value)  # refuse bad input before looking for a target
        target = target_from_args(args)
        with _aws_errors(target):
            line = set_setting(target, args.key, args.value)
    except SettingError as exc:
        hint = f" (to remove it: {PREFIX} unset {args.key})" if not args.value.strip() else ""
        _complain(f"refused, nothing written: {exc}{hint}")
        return 1
    print(line)
    return 0


def _unset(args: argparse.Namespace) -> int:
    try:
        unset_plan(args.key)  # refuse before looking for a target
        target = target_from_args(args)
        with _aws_errors(target):
            line = unset_setting(target, args.key)
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
    changed = same = 0
    with _aws_errors(target):
        ssm = target.client("ssm")
        current = current_values(target.stage, read_stored(target.stage, ssm), also=[p.key for p in plans])
        try:
            refuse_inconsistent(current, plans)
        except SettingError as exc:
            _complain(f"{args.file}: refused, nothing written: {exc}")
            return 1
        for planned in plans:
            if unchanged(planned, current[planned.key]):
                same += 1
                continue
            write_change(ssm, target.stage, planned, current[planned.key])
            print(change_line(planned, current[planned.key]), flush=True)
            changed += 1
    print(f"pushed {args.file} to {target.where}: {changed} changed, {same} unchanged")
    return 0


def _validate(args: argparse.Namespace) -> int:
    plans = _checked_file(args.file, writing=False)
    if plans is None:
        return 1
    print(f"{args.file}: {len(plans)} setting{'' if len(plans) == 1 else 's'}, all valid")
    return 0


def _checked_file(path: Path, *, writing: bool) -> list[Planned] | None:
    """Every entry of a settings file, checked; None (every problem reported) when any is wrong."""
    import yaml  # cold start: only push and validate read YAML

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
            problems.append(unknown_key(repr(key)))
            continue
        try:
            plans.append(plan_change(key, _from_yaml(value)))
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
