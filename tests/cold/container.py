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
import uuid
from dataclasses import dataclass
from typing import Any

import boto3

from shopflow.local.resources import Provisioned, function_environment, provision
from shopflow.local.template import Template
from tests.support import REPO

FUNCTIONS_DIR = REPO / "functions"  # Lambda's task root: CodeUri in template.yaml
REGION = "us-east-1"
_ANSWER = "cold-answer: "

# Runs in the fresh interpreter: reads the event, then times importing the handler's module
# and its first call (`module.attr`), or only the import of a bare module (`boto3`).
PROBE = f"""
import json, sys, time
event = json.loads(sys.stdin.read())
started, started_cpu = time.perf_counter(), time.process_time()
import importlib
module, _, attr = sys.argv[1].partition(".")
loaded = importlib.import_module(module)

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
        }

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


def run_probe(
    target: str, event: dict[str, Any], environment: dict[str, str], name: str = "probe"
) -> Invocation:
    """Import `target`'s module (and call `module.attr(event, context)`) in a fresh interpreter."""
    finished = subprocess.run(
        [sys.executable, "-c", PROBE, target, name],
        cwd=FUNCTIONS_DIR,
        env=environment,
        input=json.dumps(event),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = finished.stdout + finished.stderr
    if finished.returncode != 0 or _ANSWER not in finished.stdout:
        raise AssertionError(f"{name} ({target}) failed in a fresh interpreter:\n{output[-4000:]}")
    result = json.loads(finished.stdout.rsplit(_ANSWER, 1)[1])
    return Invocation(result["answer"], result["seconds"], result["cpu"], result["answered_at"], output)


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
