"""A cold Lambda container: one function of template.yaml in a fresh interpreter, with exactly
the environment template.yaml gives it, against a moto server.

On AWS every function runs in its own container, so whatever a handler needs must be set up
by that handler's own first call; one process hosting several functions (`shopflow local`,
the service tests) hides what the first call forgot. Used by tests/cold and bench/cold_start.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3

from shopflow.local.resources import Provisioned, function_environment, provision
from shopflow.local.template import Template
from tests.support import REPO

FUNCTIONS_DIR = REPO / "functions"  # Lambda's task root: CodeUri in template.yaml
REGION = "us-east-1"
_ANSWER = "cold-answer: "

# The Lambda context a probe hands the handler (sys.argv[2] names the function).
_CONTEXT = f"""
class Context:
    function_name = sys.argv[2]
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:{REGION}:123456789012:function:" + sys.argv[2]
    memory_limit_in_mb = 512
    aws_request_id = "cold-1"
    log_group_name = "/aws/lambda/" + sys.argv[2]
    log_stream_name = "cold"
    def get_remaining_time_in_millis(self):
        return 10000
"""

# Runs in the fresh interpreter: reads the event, then times importing the handler's module
# and its first call (`module.attr`), or only the import of a bare module (`boto3`).
PROBE = f"""
import json, sys, time
event = json.loads(sys.stdin.read())
started, started_cpu = time.perf_counter(), time.process_time()
import importlib
module, _, attr = sys.argv[1].partition(".")
loaded = importlib.import_module(module)

{_CONTEXT}
answer = getattr(loaded, attr)(event, Context()) if attr else None
seconds, cpu = time.perf_counter() - started, time.process_time() - started_cpu
answered = {{"answer": answer, "seconds": seconds, "cpu": cpu, "answered_at": time.time()}}
print("\\n{_ANSWER}" + json.dumps(answered, default=str), flush=True)
"""


def aws_variables(endpoint: str) -> dict[str, str]:
    """What Lambda itself adds (region, credentials), pointed at the local endpoint, and
    nothing from the developer's own AWS configuration."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


@dataclass(frozen=True)
class Invocation:
    answer: Any
    seconds: float  # import of the handler's module and its first call, inside the process
    cpu_seconds: float  # the same, in this process's CPU time (steadier on a busy machine)
    answered_at: float  # time.time() when the answer was ready (before the interpreter exits)
    output: str  # everything the function logged


@dataclass
class ColdStack:
    """template.yaml's tables and queues on an endpoint, under a Stage of their own."""

    template: Template
    provisioned: Provisioned
    endpoint: str

    @classmethod
    def provision(cls, endpoint: str, stage: str | None = None) -> ColdStack:
        # AllowedPattern of Stage: 16 characters at most.
        template = Template.load(Stage=stage or f"cold-{uuid.uuid4().hex[:8]}")
        provisioned = provision(
            template,
            dynamodb=boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION),
            sqs=boto3.client("sqs", endpoint_url=endpoint, region_name=REGION),
        )
        return cls(template, provisioned, endpoint)

    @property
    def stage(self) -> str:
        return self.template.parameters["Stage"]

    @property
    def table_name(self) -> str:
        return self.provisioned.table_name()

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION)

    def functions(self) -> list[str]:
        return list(self.template.of_type("AWS::Serverless::Function"))

    def handler(self, function: str) -> str:
        handler: str = self.template.function_properties(function)["Handler"]
        return handler

    def environment(self, function: str) -> dict[str, str]:
        """Exactly what template.yaml gives `function` (Globals and its own), plus the AWS
        variables that reach the endpoint."""
        own = function_environment(self.template, function, self.provisioned)
        return {**own, **aws_variables(self.endpoint)}

    def container_environment(self, function: str) -> dict[str, str]:
        """What `function`'s code sees in its Lambda container: `environment(function)` plus the
        variables Lambda's runtime adds to every container (its name, version, memory, runtime)."""
        properties = self.template.function_properties(function)
        return {
            **self.environment(function),
            "AWS_LAMBDA_FUNCTION_NAME": function,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(properties.get("MemorySize", 128)),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{properties['Runtime']}",
            "_HANDLER": properties["Handler"],
        }

    def snapstart_environment(self, function: str, credentials: ContainerCredentials) -> dict[str, str]:
        """`container_environment(function)` as Lambda gives it under SnapStart: the credentials
        come from the container credentials endpoint, not from variables (a snapshot outlives them)."""
        environment = {
            name: value
            for name, value in self.container_environment(function).items()
            if name not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
        }
        return {**environment, **credentials.variables(), "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start"}

    def put_setting(self, name: str, value: str, *, secure: bool = False) -> None:
        self.client("ssm").put_parameter(
            Name=f"/shopflow/{self.stage}/{name}",
            Value=value,
            Overwrite=True,
            Type="SecureString" if secure else "String",
        )

    def invoke_cold(self, function: str, event: dict[str, Any]) -> Invocation:
        """`function`'s handler called once in a fresh interpreter, as a cold container would."""
        return run_probe(self.handler(function), event, self.container_environment(function), function)


class ContainerCredentials:
    """Lambda's container credentials endpoint, as botocore's container provider reads it: a GET
    with the token in Authorization, answered with new temporary keys each time. The first keys
    expire in `first_lifetime` (under 10 minutes, botocore fetches new ones before their next use:
    a snapshot's keys, old by the time it is restored), later ones in `renewed_lifetime`."""

    TOKEN = "container-token"

    def __init__(self, first_lifetime: timedelta, renewed_lifetime: timedelta = timedelta(hours=6)) -> None:
        self.first_lifetime = first_lifetime
        self.renewed_lifetime = renewed_lifetime
        self.handed_out: list[str] = []  # the access key ids, in order
        self._server: ThreadingHTTPServer | None = None

    @contextmanager
    def serving(self) -> Iterator[ContainerCredentials]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.headers.get("Authorization") != owner.TOKEN:
                    self.send_response(403)
                    self.end_headers()
                    return
                key = f"ASIA{uuid.uuid4().hex[:16].upper()}"
                lifetime = owner.renewed_lifetime if owner.handed_out else owner.first_lifetime
                owner.handed_out.append(key)
                expires = (datetime.now(UTC) + lifetime).strftime("%Y-%m-%dT%H:%M:%SZ")
                body = json.dumps(
                    {"AccessKeyId": key, "SecretAccessKey": "secret", "Token": "token", "Expiration": expires}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()

    def variables(self) -> dict[str, str]:
        assert self._server is not None, "serving() first"
        host, port = self._server.server_address[:2]
        return {
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": f"http://{host}:{port}/2021-04-23/credentials",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": self.TOKEN,
        }


# Runs in the fresh interpreter: Lambda's init phase for a SnapStart version (import the handler's
# module, run the before-snapshot hooks in reverse order of registration), then, for each event,
# a container restored from that snapshot: a fork (the memory as the snapshot holds it) that runs
# the after-restore hooks in order and answers the event. Lambda restores a copy of the memory,
# not a fork: the time it takes to bring the memory back is Lambda's, outside this process.
SNAPSTART_PROBE = f"""
import json, os, sys, time
events = json.loads(sys.stdin.read())
import importlib
import snapshot_restore_py as hooks
module, _, attr = sys.argv[1].partition(".")
started_cpu = time.process_time()
loaded = importlib.import_module(module)
for function, args, kwargs in reversed(hooks._before_snapshot_registry):
    function(*args, **kwargs)
init_cpu = time.process_time() - started_cpu
snapshot_modules = set(sys.modules)

def unbuilt_models():
    # shopflow's pydantic models not built yet (pydantic builds a deferred one on first use)
    if "pydantic" not in sys.modules:
        return set()
    pending, unbuilt = list(sys.modules["pydantic"].BaseModel.__subclasses__()), set()
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        if model.__module__.startswith("shopflow") and not model.__pydantic_complete__:
            unbuilt.add(model.__module__ + "." + model.__qualname__)
    return unbuilt

{_CONTEXT}
restored = []
for event in events:
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(reader)
        started, started_cpu = time.perf_counter(), time.process_time()
        for function, args, kwargs in hooks._after_restore_registry:
            function(*args, **kwargs)
        unbuilt = unbuilt_models()
        answer = getattr(loaded, attr)(event, Context())
        seconds, cpu = time.perf_counter() - started, time.process_time() - started_cpu
        result = {{"answer": answer, "seconds": seconds, "cpu": cpu, "answered_at": time.time(),
                   "imported": sorted(set(sys.modules) - snapshot_modules),
                   "built": sorted(unbuilt - unbuilt_models())}}
        sys.stdout.flush()
        sys.stderr.flush()
        os.write(writer, json.dumps(result, default=str).encode())
        os._exit(0)
    os.close(writer)
    chunks = []
    while chunk := os.read(reader, 1 << 16):
        chunks.append(chunk)
    os.close(reader)
    os.waitpid(child, 0)
    restored.append(json.loads(b"".join(chunks)))
print("\\n{_ANSWER}" + json.dumps({{"init_cpu": init_cpu, "restored": restored}}, default=str), flush=True)
"""


@dataclass(frozen=True)
class Restored:
    """One container restored from the snapshot, and its first answer."""

    invocation: Invocation
    imported: list[str]  # modules its first answer imported that the snapshot did not hold
    built: list[str]  # shopflow's pydantic models its first answer built


def _run_fresh(probe: str, target: str, given: Any, environment: dict[str, str], name: str, how: str) -> Any:
    """Run `probe` in a fresh interpreter (Lambda's task root, exactly `environment`), `given` as
    JSON on its stdin: what it printed after its marker, and everything it wrote as "output"."""
    finished = subprocess.run(
        [sys.executable, "-c", probe, target, name],
        cwd=FUNCTIONS_DIR,
        env=environment,
        input=json.dumps(given),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = finished.stdout + finished.stderr
    if finished.returncode != 0 or _ANSWER not in finished.stdout:
        raise AssertionError(f"{name} ({target}) failed {how}:\n{output[-4000:]}")
    return {**json.loads(finished.stdout.rsplit(_ANSWER, 1)[1]), "output": output}


def run_snapstart_probe(
    target: str, events: list[dict[str, Any]], environment: dict[str, str], name: str = "probe"
) -> tuple[float, list[Restored]]:
    """Init `target`'s module with its before-snapshot hooks in a fresh interpreter, then answer
    each event in a container restored from that snapshot: (init CPU seconds, each restored one)."""
    result = _run_fresh(SNAPSTART_PROBE, target, events, environment, name, "under SnapStart")
    return result["init_cpu"], [
        Restored(
            Invocation(r["answer"], r["seconds"], r["cpu"], r["answered_at"], result["output"]),
            r["imported"],
            r["built"],
        )
        for r in result["restored"]
    ]


def run_probe(
    target: str, event: dict[str, Any], environment: dict[str, str], name: str = "probe"
) -> Invocation:
    """Import `target`'s module (and call `module.attr(event, context)`) in a fresh interpreter."""
    r = _run_fresh(PROBE, target, event, environment, name, "in a fresh interpreter")
    return Invocation(r["answer"], r["seconds"], r["cpu"], r["answered_at"], r["output"])


def rest_api_event(path: str, headers: dict[str, str], body: bytes, *, stage: str = "dev") -> dict[str, Any]:
    """A POST as API Gateway's REST (v1) proxy integration hands it to `app.app`."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": "POST",
            "requestId": str(uuid.uuid4()),
            "path": f"/{stage}{path}",
            "stage": stage,
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": body.decode(),
        "isBase64Encoded": False,
    }
