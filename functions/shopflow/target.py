"""Which shopflow the owner's commands talk to: a deployed stage on AWS, or `shopflow local`.

A running `shopflow local` writes its endpoints to `<data dir>/local.json` (`LocalSession`);
`--local` reads them. On AWS, the profile and region come from the usual boto3 places
unless given. Every command builds its clients through `Target.client`, and PynamoDB
(which has no client to pass) through `Target.apply_environment`.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shopflow.bootstrap import DEFAULT_STAGE

DEFAULT_DATA_DIR = Path(".shopflow")
SESSION_FILE = "local.json"
LOCAL_STAGE = "local"
LOCAL_REGION = "us-east-1"
# moto and DynamoDB Local check no credentials, but botocore needs some to sign with.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "shopflow-local", "AWS_SECRET_ACCESS_KEY": "shopflow-local"}


def endpoint_variable(service: str) -> str:
    """botocore's per-service endpoint variable: named after the service id, not the client name."""
    service_id = {"dynamodbstreams": "DYNAMODB_STREAMS"}.get(service, service.upper())
    return f"AWS_ENDPOINT_URL_{service_id}"


class TargetError(RuntimeError):
    """The target cannot be reached (no running `shopflow local`, ...); the message says why."""


@dataclass(frozen=True)
class LocalSession:
    """What a running `shopflow local` tells the commands that talk to it."""

    pid: int
    stage: str
    region: str
    table_name: str
    api_url: str
    control_url: str
    endpoints: dict[str, str]  # botocore service name -> URL
    queues: dict[str, str] = field(default_factory=dict)  # logical id -> queue URL
    dynamodb_backend: str = "dynamodb-local"  # or "moto" (--in-memory, no Java)

    def write(self, data_dir: Path) -> Path:
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / SESSION_FILE
        scratch = path.with_suffix(".tmp")
        scratch.write_text(json.dumps(asdict(self), indent=2))
        scratch.replace(path)  # a reader never sees half a file
        return path

    @classmethod
    def read(cls, data_dir: Path) -> LocalSession:
        path = data_dir / SESSION_FILE
        try:
            document: dict[str, Any] = json.loads(path.read_text())
            session = cls(**document)
        except FileNotFoundError:
            raise TargetError(
                f"no running `shopflow local` (no {path}): start it in another terminal first"
            ) from None
        except (ValueError, TypeError) as exc:
            raise TargetError(
                f"{path} is not a shopflow local session file ({exc}): restart shopflow local"
            ) from exc
        if not _alive(session.pid):
            raise TargetError(
                f"`shopflow local` (pid {session.pid}, from {path}) is not running: start it again"
            )
        return session

    @staticmethod
    def remove(data_dir: Path) -> None:
        (data_dir / SESSION_FILE).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A killed process nobody reaped yet (a zombie) still answers kill(pid, 0).
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): kill(pid, 0) is all there is
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


@dataclass(frozen=True)
class Target:
    stage: str
    region: str | None = None
    profile: str | None = None
    endpoints: Mapping[str, str] = field(default_factory=dict)
    table_name: str | None = None
    local: LocalSession | None = None

    @property
    def table(self) -> str:
        return self.table_name or f"shopflow-{self.stage}"

    @property
    def where(self) -> str:
        """How the owner would name this target in a message."""
        if self.local is not None:
            return f"shopflow local (stage {self.stage})"
        return f"AWS stage {self.stage}" + (f" in {self.region}" if self.region else "")

    def client(self, service: str) -> Any:
        import boto3  # cold start: only a command that calls AWS loads it

        if self.local is not None:
            return boto3.session.Session(
                aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                region_name=self.region,
            ).client(service, endpoint_url=self.endpoints.get(service))
        session = boto3.session.Session(profile_name=self.profile, region_name=self.region)
        return session.client(service)

    def apply_environment(self) -> None:
        """Point this process's default clients (PynamoDB's too) at the target (decision 9)."""
        if self.profile:
            os.environ["AWS_PROFILE"] = self.profile
        if self.region:
            os.environ["AWS_DEFAULT_REGION"] = self.region
        if self.local is not None:
            os.environ.update(LOCAL_CREDENTIALS)
            for service, url in self.endpoints.items():
                os.environ[endpoint_variable(service)] = url

    def bind_table(self) -> None:
        """Point this process at the target and PynamoDB's models at its table (commands that read it)."""
        from shopflow.store.models import bind_table  # cold start: only such a command loads PynamoDB

        self.apply_environment()
        bind_table(self.table, region=self.region)


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_argument_group("where to act (default: AWS, from your AWS profile)")
    where.add_argument("--local", action="store_true", help="talk to a running `shopflow local`")
    where.add_argument(
        "--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="the local instance's data dir (.shopflow)"
    )
    where.add_argument("--stage", default=None, help=f"deployed stage (default {DEFAULT_STAGE})")
    where.add_argument("--profile", default=None, help="AWS profile")
    where.add_argument("--region", default=None, help="AWS region")


def target_from_args(args: argparse.Namespace) -> Target:
    if args.local:
        if args.profile or args.region or args.stage:
            raise TargetError("--local talks to shopflow local: leave out --profile, --region and --stage")
        session = LocalSession.read(args.data_dir)
        return Target(
            stage=session.stage,
            region=session.region,
            endpoints=session.endpoints,
            table_name=session.table_name,
            local=session,
        )
    stage = args.stage or os.environ.get("SHOPFLOW_STAGE", DEFAULT_STAGE)
    return Target(stage=stage, region=args.region, profile=args.profile)
