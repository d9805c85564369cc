"""End to end: `shopflow local` started as a user starts it, driven over HTTP and through the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from shopflow.local.ports import free_port
from shopflow.target import LocalSession, Target

SHOPFLOW = [sys.executable, "-m", "shopflow.cli"]
READY = "shopflow local ready"


@dataclass
class Instance:
    """One running `shopflow local` process tree and what it printed."""

    data_dir: Path
    port: int
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if text in line:
                    return line
            if self.process.poll() is not None:
                time.sleep(0.2)  # let the reader thread take the last lines
                raise AssertionError(f"shopflow local exited ({self.process.returncode}):\n{self.output}")
            time.sleep(0.05)
        raise AssertionError(f"no {text!r} within {timeout} s:\n{self.output}")

    @property
    def session(self) -> LocalSession:
        return LocalSession.read(self.data_dir)

    @property
    def target(self) -> Target:
        s = self.session
        return Target(stage=s.stage, region=s.region, endpoints=s.endpoints, table_name=s.table_name, local=s)

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - http to localhost
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, "--local", "--data-dir", str(self.data_dir))

    def cli_plain(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A command that takes only --data-dir (`local advance`, `local status`)."""
        return run_cli(*args, "--data-dir", str(self.data_dir))

    def stop(self) -> int:
        """Ctrl-C, as a user stops it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode

    def crash(self) -> None:
        """SIGKILL to the runtime process alone, as `kill -9 <pid>` or the OOM killer would."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        # Its DynamoDB Local gets SIGTERM from the kernel (parent death) and shuts down.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if not _processes_mentioning(str(self.data_dir)):
                return
            time.sleep(0.1)
        raise AssertionError(f"DynamoDB Local for {self.data_dir} still runs after its parent was killed")

    def kill(self) -> None:
        """SIGKILL to the whole process tree (Java too): a crash, nothing gets to clean up."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue  # gone meanwhile
    return found


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SHOPFLOW, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env or os.environ.copy(),
        check=False,
    )


def start(
    data_dir: Path, *extra: str, port: int | None = None, env: dict[str, str] | None = None, wait: bool = True
) -> Instance:
    port = port or free_port()
    process = subprocess.Popen(
        [*SHOPFLOW, "local", "--port", str(port), "--data-dir", str(data_dir), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env or os.environ.copy(),
        start_new_session=True,  # its own process group: kill() takes Java down with it
    )
    instance = Instance(data_dir, port, process)

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            instance.lines.append(line.rstrip("\n"))

    threading.Thread(target=read, daemon=True).start()
    if wait:
        instance.wait_for(READY)
    return instance


def user_env() -> dict[str, str]:
    """The user's environment, without the test suite's fake AWS settings."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SHOPFLOW_STAGE", "SHOPFLOW_TABLE"))
    }
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def local_env() -> dict[str, str]:
    return user_env()


@pytest.fixture
def launch(tmp_path: Path, local_env: dict[str, str]) -> Iterator[Any]:
    started: list[Instance] = []

    def launch_one(*extra: str, data_dir: Path | None = None, **kwargs: Any) -> Instance:
        kwargs.setdefault("env", local_env)
        instance = start(data_dir or tmp_path / "data", *extra, **kwargs)
        started.append(instance)
        return instance

    yield launch_one
    for instance in started:
        instance.stop()
