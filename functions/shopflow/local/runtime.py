"""`shopflow local`: the whole backend on one machine, from template.yaml.

This process serves the API (the Chalice app, as API Gateway would) and looks after the rest,
each in a child process so that none waits on another's GIL (decision 52): the event sources
with their handlers (the same `app.*` functions Lambda runs; `worker.py`, at a lower CPU
priority), moto for SQS, SSM, SES and SNS (`moto_process.py`) and DynamoDB Local (Java).
Everything lives in the data dir (`.shopflow/` by default):

    dynamodb/          DynamoDB Local's files: every order survives a restart
    parameters.json    the SSM parameters (moto keeps them in memory), restored at start
    clock.json         where the local clock was, so a restart never moves time back
    journal.jsonl      which outbox items each queue's consumer completed (see below)
    outbox_check.json  before which time every outbox item is known completed (see below)
    outbox/            every email (.eml) and SMS (.txt) sent
    fake_channels.json what the fake Shopify and WooCommerce shops list and show (`fake_channels.py`)
    dead-letters/      messages moved to a dead-letter queue, one JSON file each
    local.json         endpoints of the running instance, for `--local` commands
    local.lock         held by the running instance (`instance_lock.py`): one per data dir

moto's queues live in memory, so a message in flight when the runtime is killed would be
lost. The runtime reads the stream only from its start on and, once the API answers, sends
again in the background every outbox item that no consumer completed (the journal says
which; `outbox_check.py`); consumers deduplicate on `outbox_id` (decision 7), so an item is
delivered once (decisions 17 and 34).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import secrets
import shutil
import threading
import time
from base64 import b64encode
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from shopflow.bootstrap import SETTINGS_MAX_AGE_VARIABLE
from shopflow.local.dynamodb_local import DynamoDBLocal, DynamoDBLocalError
from shopflow.local.fake_channels import FakeChannels, FakeChannelsError
from shopflow.local.instance_lock import InstanceLock
from shopflow.local.moto_process import MotoProcess, MotoProcessError
from shopflow.local.ports import HOST, port_in_use
from shopflow.local.resources import Provisioned, function_environment, provision
from shopflow.local.shared import ApiActivity, SettingsOnWrite, SharedClock, SharedMemory, WriteCount
from shopflow.local.sources import Source, stop_all
from shopflow.local.template import Template, default_template_path
from shopflow.local.worker import Worker, WorkerError
from shopflow.target import LOCAL_CREDENTIALS, LOCAL_REGION, LOCAL_STAGE, LocalSession, endpoint_variable

MOTO_SERVICES = ("sqs", "ssm", "ses", "sesv2", "sns", "events", "scheduler", "sts")
PARAMETERS_FILE = "parameters.json"
CLOCK_FILE = "clock.json"
# A fresh instance sends email from here (its emails only ever reach .shopflow/outbox/), so a
# newcomer sees the confirmation of their first order; on AWS the owner names a verified sender.
LOCAL_EMAIL_SENDER = "orders@shopflow-local.example"
# A DynamoDB Local that dies again this soon after a restart would only die again: stop instead.
DYNAMODB_MIN_LIFE_SECONDS = 30.0
EMAIL_SENDER_KEY = "notify.email.sender"


class LocalError(RuntimeError):
    """`shopflow local` cannot start; the message says why and what to do."""


@dataclass(frozen=True)
class LocalOptions:
    data_dir: Path = Path(".shopflow")
    port: int = 8000
    in_memory: bool = False
    clock_speed: float = 1.0
    clock_start: datetime | None = None  # a fresh data dir's first moment (the demo's morning)
    stage: str = LOCAL_STAGE
    template: Path | None = None
    verbose: bool = False
    fake_channels: bool = True  # a fake Shopify and WooCommerce shop, channels of a fresh data dir


class _Periodic(Source):
    def __init__(self, name: str, work: Callable[[], object], interval: float, report: Callable[[str], None]):
        super().__init__(name, report)
        self._work = work
        self.poll_pause = interval

    def poll(self) -> bool:
        self._work()
        return False


class LocalRuntime:
    def __init__(self, options: LocalOptions, report: Callable[[str], None] = print) -> None:
        self.options = options
        self.report = report
        self.data_dir = options.data_dir.resolve()
        # Shared with the event sources' process: `advance` moves every handler's clock at once.
        self.clock = SharedClock(
            options.clock_speed, self._saved_clock() or options.clock_start, memory=SharedMemory()
        )
        self._writes = WriteCount(SharedMemory())
        self._api_activity = ApiActivity(SharedMemory())
        self.worker: Worker | None = None
        self.sources: list[Source] = []
        self.session: LocalSession | None = None
        self.outbox: MotoProcess | None = None  # moto's process; `.written`: every message sent
        self.dead_letters: dict[str, int] = {}
        self.ready_seconds: float | None = None
        self._dynamodb: DynamoDBLocal | None = None
        self._api: Any = None
        self._control: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._parameters_seen: str | None = None
        self._parameter_writes_saved = -1
        self._stopped = threading.Event()
        self._lock = InstanceLock(self.data_dir)
        self.failure: str | None = None  # why the runtime stopped on its own (`wait` returns)
        self._dynamodb_restarted: float | None = None
        self.fake_channels: FakeChannels | None = None

    # --- start ---------------------------------------------------------------------------------

    def start(self) -> LocalSession:
        started = time.monotonic()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._refuse_second_instance()
        try:
            if port_in_use(self.options.port):
                raise LocalError(
                    f"port {self.options.port} is already in use: stop what listens there "
                    f"(`ss -ltnp 'sport = :{self.options.port}'`) or pick another with --port"
                )
            endpoints, backend = self._start_servers()
            if self.options.fake_channels:
                self.fake_channels = FakeChannels(self.data_dir, self.report).start()
            self._configure_process(endpoints)
            template = Template.load(
                self.options.template or default_template_path(), Stage=self.options.stage
            )
            provisioned = self._provision(template)
            self._load_parameters(template)
            self._set_function_environment(template, provisioned)
            self._start_handlers(template, provisioned)
            session = LocalSession(
                pid=os.getpid(),
                stage=self.options.stage,
                region=LOCAL_REGION,
                table_name=provisioned.table_name(),
                api_url=f"http://{HOST}:{self.options.port}",
                control_url=f"http://{HOST}:{self._control.server_address[1] if self._control else 0}",
                endpoints=endpoints,
                queues={k: v for k, v in provisioned.refs.items() if v.startswith("http")},
                dynamodb_backend=backend,
            )
        except BaseException:
            self.stop()
            raise
        session.write(self.data_dir)
        self.session = session
        self.ready_seconds = time.monotonic() - started
        return session

    def _refuse_second_instance(self) -> None:
        """Take the data dir's lock, or say who holds it. A crashed instance (even an unreaped
        zombie) holds nothing, so its leftover local.json is simply replaced."""
        from shopflow.target import TargetError

        if self._lock.supported:
            if self._lock.acquire():
                return
            raise LocalError(
                f"shopflow local is already running on this data dir (pid {self._lock.holder()}); "
                "stop it first or pass another --data-dir"
            )
        try:
            running = LocalSession.read(self.data_dir)
        except TargetError:
            return
        raise LocalError(
            f"shopflow local is already running on this data dir (pid {running.pid}, API {running.api_url}); "
            "stop it first or pass another --data-dir"
        )

    @property
    def parameter_writes(self) -> int:
        """SSM writes moto took so far: until it moves, the handlers' settings and the parameters
        snapshot have nothing new to read."""
        return self._writes()

    def _start_servers(self) -> tuple[dict[str, str], str]:
        # moto starts in its process while DynamoDB Local's JVM starts: both take seconds.
        self.outbox = MotoProcess(self.data_dir / "outbox", LOCAL_REGION, self._writes, self.report)
        self.outbox.start()
        if self.options.in_memory or shutil.which("java") is None:
            moto_url = self._moto_url()
            dynamodb_url, backend = self._start_dynamodb(moto_url)
        else:
            dynamodb_url, backend = self._start_dynamodb("")
            moto_url = self._moto_url()
        endpoints = dict.fromkeys(MOTO_SERVICES, moto_url)
        endpoints["dynamodb"] = endpoints["dynamodbstreams"] = dynamodb_url
        return endpoints, backend

    def _moto_url(self) -> str:
        assert self.outbox is not None
        try:
            return self.outbox.wait_ready()
        except MotoProcessError as exc:
            raise LocalError(str(exc)) from exc

    def _start_dynamodb(self, moto_url: str) -> tuple[str, str]:
        if self.options.in_memory:
            self.report("DynamoDB: moto, in memory (--in-memory): orders are gone when this stops")
            return moto_url, "moto"
        if shutil.which("java") is None:
            self.report(
                "DynamoDB: Java is not installed, so DynamoDB Local cannot run; using moto in memory "
                "instead: orders are gone when this stops. Install Java 17 to keep them "
                "(apt-get install openjdk-17-jre-headless / brew install openjdk@17)."
            )
            return moto_url, "moto"
        self._dynamodb = DynamoDBLocal(data_dir=self.data_dir / "dynamodb")
        try:
            self._dynamodb.start()
        except DynamoDBLocalError as exc:
            raise LocalError(
                f"DynamoDB Local did not start: {exc}\n(--in-memory runs on moto instead)"
            ) from exc
        self.report(f"DynamoDB: DynamoDB Local, data in {self.data_dir / 'dynamodb'}")
        return self._dynamodb.endpoint, "dynamodb-local"

    def _watch_dynamodb(self) -> None:
        """DynamoDB Local died on its own (killed, out of memory): start it again on the same port
        and data dir, or stop with the reason. Meanwhile the API answers 503 with Retry-After."""
        database = self._dynamodb
        if database is None or database.running or self._stopped.is_set():
            return
        said = f"DynamoDB Local exited (code {database.exit_code})"
        if database.data_dir is None:
            self._fail(f"{said}; it kept its data in memory, so every order is gone. Start again.")
            return
        restarted = self._dynamodb_restarted
        if restarted is not None and time.monotonic() - restarted < DYNAMODB_MIN_LIFE_SECONDS:
            self._fail(
                f"{said} again {time.monotonic() - restarted:.0f} s after it was restarted; "
                f"its output ends with:\n{database.output_tail(800)}"
            )
            return
        self.report(f"{said}: the API answers 503 until it is back; restarting it on {database.data_dir}")
        began = time.monotonic()
        try:
            database.restart()
        except DynamoDBLocalError as exc:
            self._fail(f"{said} and could not be restarted: {exc}")
            return
        self._dynamodb_restarted = time.monotonic()
        took = self._dynamodb_restarted - began
        self.report(f"DynamoDB Local is back after {took:.1f} s: orders are accepted again")

    def _fail(self, why: str) -> None:
        self.failure = why
        self.report(f"shopflow local stops: {why}")
        self._stopped.set()

    def _configure_process(self, endpoints: dict[str, str]) -> None:
        # Every botocore client the handlers make (PynamoDB's too) comes here (decision 9).
        os.environ.update(LOCAL_CREDENTIALS)
        os.environ["AWS_DEFAULT_REGION"] = LOCAL_REGION
        os.environ.pop("AWS_PROFILE", None)
        for service, url in endpoints.items():
            os.environ[endpoint_variable(service)] = url
        if not self.options.verbose:
            os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
            from shopflow.observability import logger

            logger.setLevel(logging.WARNING)  # it may have been made (at INFO) before this

    def client(self, service: str) -> Any:
        import boto3

        return boto3.session.Session(region_name=LOCAL_REGION).client(service)

    def _provision(self, template: Template) -> Provisioned:
        try:
            return provision(template, dynamodb=self.client("dynamodb"), sqs=self.client("sqs"))
        except Exception as exc:
            raise LocalError(f"could not create template.yaml's resources locally: {exc}") from exc

    # --- settings ------------------------------------------------------------------------------

    def _load_parameters(self, template: Template) -> None:
        """Restore the parameters of the last run, then add defaults and local secrets where unset."""
        from shopflow.config.settings import ssm_path
        from shopflow.config.spec import BY_KEY, key_to_name

        ssm = self.client("ssm")
        root = ssm_path(self.options.stage)
        saved = self.data_dir / PARAMETERS_FILE
        if saved.exists():
            for name, entry in json.loads(saved.read_text()).items():
                ssm.put_parameter(Name=name, Value=entry["value"], Type=entry["type"], Overwrite=True)
        stored = {p["Name"]: p["Value"] for p in self._parameters(ssm, root)}
        present = set(stored)
        defaults = yaml.safe_load((template_root() / "infra" / "parameters.yaml").read_text())
        generated: list[str] = []
        for key, spec in defaults.items():
            name = f"{root}/{key_to_name(key)}"
            if (
                name in present or key not in BY_KEY
            ):  # a group's member (`channels.<name>.kind`): no default to load
                continue
            value = _raw_default(spec.get("default"))
            if value is None and BY_KEY[key].secure and key.endswith(".secret"):
                value = _local_secret(key)
                generated.append(key)
            if value is None and key == EMAIL_SENDER_KEY:
                value = LOCAL_EMAIL_SENDER
                self.report(
                    f"emails are sent from {value} on this instance (into the outbox folder); "
                    f"`shopflow config set {EMAIL_SENDER_KEY} ADDRESS --local` names your own"
                )
            if value is None or value == "":
                continue
            ssm.put_parameter(
                Name=name,
                Value=value,
                Type="SecureString" if spec.get("secure") else "String",
                Overwrite=False,
            )
        if generated:
            self.report(
                "secrets generated for this instance: "
                + ", ".join(generated)
                + " (shopflow config get KEY --local --reveal)"
            )
        self._point_channels_at_fakes(ssm, root, stored)
        self._snapshot_parameters()

    def _point_channels_at_fakes(self, ssm: Any, root: str, stored: dict[str, str]) -> None:
        """A data dir without channels sells on the fake shops; the owner's channels stay as set."""
        from shopflow.config.spec import key_to_name, setting_for

        fakes = self.fake_channels
        if fakes is None:
            return
        if not any(name.startswith(f"{root}/channels/") for name in stored):
            for key, value in fakes.settings().items():
                setting = setting_for(key)
                secure = setting is not None and setting.secure
                ssm.put_parameter(
                    Name=f"{root}/{key_to_name(key)}",
                    Value=value,
                    Type="SecureString" if secure else "String",
                    Overwrite=False,
                )
            self.report(
                "sales channels of this instance: "
                + ", ".join(f"{name} ({url})" for name, url in fakes.urls.items())
                + ", a fake Shopify and a fake WooCommerce shop; `shopflow local channels` shows what "
                "they show, `shopflow local channels --add SKU` lists a SKU on both"
            )
            return
        for channel, url in fakes.urls.items():  # a restart whose shop could not get its port back
            name = f"{root}/{key_to_name(f'channels.{channel}.url')}"
            before = fakes.previous_urls.get(channel)
            if before and before != url and stored.get(name) == before:
                ssm.put_parameter(Name=name, Value=url, Type="String", Overwrite=True)
                self.report(
                    f"fake channel {channel} moved from {before} to {url}; channels.{channel}.url follows"
                )

    def email_sender(self) -> str | None:
        """The sender every email goes out with now (None: no email is sent)."""
        from shopflow.config.settings import ssm_path
        from shopflow.config.spec import key_to_name

        name = f"{ssm_path(self.options.stage)}/{key_to_name(EMAIL_SENDER_KEY)}"
        try:
            value: str = self.client_cached("ssm").get_parameter(Name=name)["Parameter"]["Value"]
        except Exception:  # unset (ParameterNotFound), or moto is gone
            return None
        return value

    @staticmethod
    def _parameters(ssm: Any, root: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for page in ssm.get_paginator("get_parameters_by_path").paginate(
            Path=root, Recursive=True, WithDecryption=True
        ):
            found.extend(page["Parameters"])
        return found

    def _snapshot_parameters(self) -> None:
        from shopflow.config.settings import ssm_path

        writes = self.parameter_writes
        if writes == self._parameter_writes_saved:
            return
        parameters = self._parameters(self.client_cached("ssm"), ssm_path(self.options.stage))
        document = json.dumps(
            {p["Name"]: {"value": p["Value"], "type": p["Type"]} for p in parameters},
            indent=2,
            sort_keys=True,
        )
        if document == self._parameters_seen:
            self._parameter_writes_saved = writes
            return
        path = self.data_dir / PARAMETERS_FILE
        scratch = path.with_suffix(".tmp")
        scratch.write_text(document)
        scratch.chmod(0o600)  # it holds the local webhook secrets
        scratch.replace(path)
        self._parameters_seen = document
        self._parameter_writes_saved = writes

    _clients: dict[str, Any]

    def client_cached(self, service: str) -> Any:
        if not hasattr(self, "_clients"):
            self._clients = {}
        if service not in self._clients:
            self._clients[service] = self.client(service)
        return self._clients[service]

    # --- clock ---------------------------------------------------------------------------------

    def _saved_clock(self) -> datetime | None:
        path = self.options.data_dir / CLOCK_FILE
        try:
            saved = datetime.fromisoformat(json.loads(path.read_text())["now"])
        except (FileNotFoundError, ValueError, KeyError):
            return None
        return max(saved, datetime.now(UTC))

    def _save_clock(self) -> None:
        path = self.data_dir / CLOCK_FILE
        scratch = path.with_suffix(".tmp")
        scratch.write_text(json.dumps({"now": self.clock.now().isoformat(), "speed": self.clock.speed}))
        scratch.replace(path)

    def advance(self, delta: timedelta) -> datetime:
        moved = self.clock.advance(delta)
        self._save_clock()
        self.report(f"clock advanced by {delta}: now {moved:%Y-%m-%d %H:%M:%S} UTC")
        return moved

    # --- handlers and their event sources ------------------------------------------------------

    def _set_function_environment(self, template: Template, provisioned: Provisioned) -> None:
        merged: dict[str, str] = {}
        for logical_id in template.of_type("AWS::Serverless::Function"):
            for name, value in function_environment(template, logical_id, provisioned).items():
                if name in merged and merged[name] != value:
                    raise LocalError(f"{name} differs between functions; one local process cannot hold both")
                merged[name] = value
        if not self.options.verbose:
            merged["POWERTOOLS_LOG_LEVEL"] = "WARNING"
        merged[SETTINGS_MAX_AGE_VARIABLE] = "0"  # `shopflow config set --local` takes effect at once
        if "SHOPFLOW_API_URL" in merged:  # the API is this process's Chalice server
            merged["SHOPFLOW_API_URL"] = f"http://{HOST}:{self.options.port}"
        os.environ.update(merged)

    def _start_handlers(self, template: Template, provisioned: Provisioned) -> None:
        """The event sources in their process (`worker.py`), then the API here, then upkeep."""
        from shopflow import bootstrap

        self.worker = Worker(self.report, on_exit=self._fail)
        self.worker.start(
            {
                "data_dir": str(self.data_dir),
                "template": str(self.options.template or default_template_path()),
                "stage": self.options.stage,
                "refs": provisioned.refs,
                "attributes": [[*key, value] for key, value in provisioned.attributes.items()],
                "clock": self.clock.plan(),
                "writes_fd": self._writes.memory.fd,
                "api_fd": self._api_activity.memory.fd,
            },
            pass_fds=(self.clock.memory.fd, self._writes.memory.fd, self._api_activity.memory.fd),
        )
        built = bootstrap.reset(self.clock)
        built.settings = SettingsOnWrite(built.stage, built.client("ssm"), self._writes)
        bootstrap.build_models()  # before any handler thread: decision 15
        app_module = importlib.import_module("app")
        try:
            self.worker.wait_ready()  # the stream positions are fixed: the API may take orders
        except WorkerError as exc:
            raise LocalError(str(exc)) from exc
        self._start_api(app_module.app)
        self.sources += [
            _Periodic("parameters snapshot", self._snapshot_parameters, 1.0, self.report),
            _Periodic("clock save", self._save_clock, 5.0, self.report),
            *(
                [_Periodic("fake channels save", self.fake_channels.save, 1.0, self.report)]
                if self.fake_channels
                else []
            ),
            _Periodic("DynamoDB Local watch", self._watch_dynamodb, 0.5, self.report),
            _Periodic(
                "dead-letter watch", lambda: self._watch_dead_letters(template, provisioned), 0.5, self.report
            ),
        ]
        for source in self.sources:
            source.start()
        self._start_control()
        self.worker.api_up()  # the outbox check runs from now on, beside the API

    def _watch_dead_letters(self, template: Template, provisioned: Provisioned) -> None:
        assert self.outbox is not None
        held = self.outbox.dead_letters  # moto's process says what each DLQ holds (no request)
        for queue_id, resource in template.of_type("AWS::SQS::Queue").items():
            target = (resource.get("Properties", {}).get("RedrivePolicy") or {}).get("deadLetterTargetArn")
            if not isinstance(target, dict):
                continue
            dlq_id = target["Fn::GetAtt"][0]
            url = provisioned.refs[dlq_id]
            count = held.get(url.rsplit("/", 1)[-1], 0)
            if count > self.dead_letters.get(dlq_id, 0):
                self.report(
                    f"dead-letter queue {dlq_id} now holds {count} message(s) from {queue_id}: "
                    "see them with `aws sqs receive-message --endpoint-url "
                    f"{os.environ['AWS_ENDPOINT_URL_SQS']} --queue-url {url}`"
                )
            self.dead_letters[dlq_id] = count

    def _start_api(self, app: Any) -> None:
        from shopflow.local.api_server import api_server

        self._api = api_server(app, HOST, self.options.port, self.report, self._api_activity.request)
        thread = threading.Thread(target=self._api.server.serve_forever, name="api", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _start_control(self) -> None:
        runtime = self

        class Control(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # the console is for the owner
                pass

            def _answer(self, status: int, document: dict[str, Any]) -> None:
                body = json.dumps(document, default=str).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path == "/channels":
                    self._answer(*runtime.fake_channels_shown())
                    return
                if self.path != "/status":
                    self._answer(404, {"error": "unknown path"})
                    return
                self._answer(200, runtime.status())

            def do_POST(self) -> None:
                if self.path in ("/channels/add", "/channels/fault"):
                    try:
                        length = int(self.headers.get("Content-Length", "0"))
                        document = json.loads(self.rfile.read(length))
                        self._answer(*runtime.fake_channels_change(self.path, document))
                    except (ValueError, KeyError, TypeError, FakeChannelsError) as exc:
                        self._answer(400, {"error": str(exc)})
                    return
                if self.path != "/advance":
                    self._answer(404, {"error": "unknown path"})
                    return
                try:
                    length = int(self.headers.get("Content-Length", "0"))
                    seconds = float(json.loads(self.rfile.read(length))["seconds"])
                    moved = runtime.advance(timedelta(seconds=seconds))
                except (ValueError, KeyError, TypeError) as exc:
                    self._answer(400, {"error": f"expected {{'seconds': N}} with N >= 0: {exc}"})
                    return
                self._answer(200, {"now": moved.isoformat()})

        self._control = ThreadingHTTPServer((HOST, 0), Control)
        thread = threading.Thread(target=self._control.serve_forever, name="control", daemon=True)
        thread.start()
        self._threads.append(thread)

    def fake_channels_shown(self) -> tuple[int, dict[str, Any]]:
        fakes = self.fake_channels
        if fakes is None:
            return 404, {"error": "this instance runs without fake channels (--no-fake-channels)"}
        return 200, {
            "channels": fakes.urls,
            "down": sorted(fakes.down()),
            "listings": [row.as_json() for row in fakes.shown()],
            "pushes": fakes.pushes(),
            "traffic": fakes.traffic(),
        }

    def fake_channels_change(self, path: str, document: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """`/channels/add` {"sku", "quantity"?}: list a SKU on both fake shops; `/channels/fault`
        {"channel", "fault", "times"?, "sku"?}: make one misbehave (`fake_channels.FAULTS`)."""
        fakes = self.fake_channels
        if fakes is None:
            return self.fake_channels_shown()
        if path == "/channels/add":
            quantity = int(document.get("quantity", 0))
            return 200, {"sku": document["sku"], "listings": fakes.add(str(document["sku"]), quantity)}
        done = fakes.fault(
            str(document["channel"]),
            str(document["fault"]),
            times=int(document.get("times", 1)),
            sku=None if document.get("sku") is None else str(document["sku"]),
        )
        status, shown = self.fake_channels_shown()
        return status, {**shown, **done}

    def status(self) -> dict[str, Any]:
        return {
            "now": self.clock.now().isoformat(),
            "clock_speed": self.clock.speed,
            "dead_letters": dict(self.dead_letters),
            "messages_written": len(self.outbox.written) if self.outbox else 0,
            "invocations": {
                **(self.worker.invocations if self.worker else {}),
                **{s.name: getattr(s, "invocations", None) for s in self.sources},
            },
        }

    # --- stop ----------------------------------------------------------------------------------

    def wait(self) -> None:
        self._stopped.wait()

    def stop(self) -> None:
        """Stop everything; safe to call twice and after a failed start."""
        if self.worker is not None:
            self.worker.stop()  # first: its handlers may still need the API, moto and the store
        stop_all(self.sources)
        for server in (self._api.server if self._api else None, self._control):
            if server is not None:
                server.shutdown()
                server.server_close()
        self._api = self._control = None
        if self.session is not None:
            try:
                self._snapshot_parameters()
            except Exception as exc:
                self.report(f"could not save parameters: {exc}")
            self._save_clock()
            LocalSession.remove(self.data_dir)
            self.session = None
        if self._dynamodb is not None:
            self._dynamodb.stop()
            self._dynamodb = None
        if self.fake_channels is not None:
            self.fake_channels.stop()
            self.fake_channels = None
        if self.outbox is not None:
            self.outbox.stop()  # `outbox.written` stays readable
        self.clock.memory.close()
        self._writes.memory.close()
        self._api_activity.memory.close()
        self._lock.release()
        self._stopped.set()


def template_root() -> Path:
    return default_template_path().parent


def _raw_default(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def _local_secret(key: str) -> str:
    if key.startswith("webhooks.events."):
        return "whsec_" + b64encode(secrets.token_bytes(32)).decode()
    return "local_" + secrets.token_urlsafe(24)
