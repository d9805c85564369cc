"""`shopflow local`: the whole backend on one machine, from template.yaml.

One process runs the handlers (the same `app.*` functions Lambda runs) with their event
sources; DynamoDB Local (Java) is its child process; moto serves SQS, SSM, SES and SNS on a
thread. Everything lives in the data dir (`.shopflow/` by default):

    dynamodb/          DynamoDB Local's files: every order survives a restart
    parameters.json    the SSM parameters (moto keeps them in memory), restored at start
    clock.json         where the local clock was, so a restart never moves time back
    journal.jsonl      which outbox items each queue's consumer completed (see below)
    outbox_check.json  before which time every outbox item is known completed (see below)
    outbox/            every email (.eml) and SMS (.txt) sent
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
from shopflow.clock import ScaledClock
from shopflow.config.settings import Settings, SettingsLoader
from shopflow.local.dynamodb_local import DynamoDBLocal, DynamoDBLocalError
from shopflow.local.instance_lock import InstanceLock
from shopflow.local.mail import ACCOUNT, OutboxWriter
from shopflow.local.outbox_check import OUTBOX_CHECK_FILE, Journal, LiveStream, OutboxCheck
from shopflow.local.ports import HOST, port_in_use
from shopflow.local.resources import Provisioned, function_environment, provision
from shopflow.local.sources import (
    QueueOutcome,
    QueueSource,
    Schedule,
    ScheduleSource,
    Source,
    StreamSource,
    stop_all,
)
from shopflow.local.streams import StreamReader, filter_patterns
from shopflow.local.template import Template, default_template_path
from shopflow.target import LOCAL_CREDENTIALS, LOCAL_REGION, LOCAL_STAGE, LocalSession, endpoint_variable

MOTO_SERVICES = ("sqs", "ssm", "ses", "sesv2", "sns", "events", "scheduler", "sts")
PARAMETERS_FILE = "parameters.json"
CLOCK_FILE = "clock.json"
JOURNAL_FILE = "journal.jsonl"
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


class _Periodic(Source):
    def __init__(self, name: str, work: Callable[[], object], interval: float, report: Callable[[str], None]):
        super().__init__(name, report)
        self._work = work
        self.poll_pause = interval

    def poll(self) -> bool:
        self._work()
        return False


class _SettingsOnWrite(SettingsLoader):
    """The handlers' settings, read from SSM again only after a parameter was written.

    On AWS a container re-reads SSM at most once a minute; locally a change must show at once,
    and reading all parameters (six GetParametersByPath pages) on every invocation was half of
    the runtime's CPU per order (bench/local_runtime.py --only load). moto runs in this process
    and every SSM write goes through it, so a count of writes says exactly when there is something
    new to read (decision 48)."""

    def __init__(self, stage: str, ssm_client: Any, writes: Callable[[], int]) -> None:
        super().__init__(stage, ssm_client=ssm_client, max_age_seconds=0)
        self._writes = writes
        self._read: tuple[int, Settings] | None = None

    def load(self) -> Settings:
        writes = self._writes()  # before reading: a write during the read makes the next load read again
        read = self._read
        if read is not None and read[0] == writes:
            return read[1]
        settings = super().load()
        self._read = (writes, settings)
        return settings


class LocalRuntime:
    def __init__(self, options: LocalOptions, report: Callable[[str], None] = print) -> None:
        self.options = options
        self.report = report
        self.data_dir = options.data_dir.resolve()
        self.clock = ScaledClock(options.clock_speed, self._saved_clock() or options.clock_start)
        self.sources: list[Source] = []
        self.session: LocalSession | None = None
        self.outbox: OutboxWriter | None = None
        self.dead_letters: dict[str, int] = {}
        self.ready_seconds: float | None = None
        self._dynamodb: DynamoDBLocal | None = None
        self._moto: Any = None
        self._api: Any = None
        self._control: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._parameters_seen: str | None = None
        # Bumped after every SSM write moto takes (`_count_parameter_writes`): until it moves,
        # the handlers' settings and the parameters snapshot have nothing new to read.
        self.parameter_writes = 0
        self._parameter_writes_saved = -1
        self._stopped = threading.Event()
        self.outbox_check: OutboxCheck | None = None
        self._lock = InstanceLock(self.data_dir)
        self.failure: str | None = None  # why the runtime stopped on its own (`wait` returns)
        self._dynamodb_restarted: float | None = None

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

    def _start_servers(self) -> tuple[dict[str, str], str]:
        from moto.server import ThreadedMotoServer

        # moto's werkzeug server logs every request line; the console is for the owner.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._moto = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
        self._moto.start()
        self._count_parameter_writes()
        moto_url = "http://{}:{}".format(*self._moto.get_host_and_port())
        endpoints = dict.fromkeys(MOTO_SERVICES, moto_url)
        dynamodb_url, backend = self._start_dynamodb(moto_url)
        endpoints["dynamodb"] = endpoints["dynamodbstreams"] = dynamodb_url
        return endpoints, backend

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
        present = {p["Name"] for p in self._parameters(ssm, root)}
        defaults = yaml.safe_load((template_root() / "infra" / "parameters.yaml").read_text())
        generated: list[str] = []
        for key, spec in defaults.items():
            name = f"{root}/{key_to_name(key)}"
            if name in present:
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
        self._snapshot_parameters()

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
        from shopflow import bootstrap

        built = bootstrap.reset(self.clock)
        built.settings = _SettingsOnWrite(built.stage, built.client("ssm"), lambda: self.parameter_writes)
        bootstrap.build_models()  # before any handler thread: decision 15
        app_module = importlib.import_module("app")
        journal = Journal(self.data_dir / JOURNAL_FILE).load()
        live = LiveStream()
        consumers: dict[str, QueueSource] = {}
        stream_sources: list[StreamSource] = []
        for logical_id, resource in template.of_type("AWS::Serverless::Function").items():
            properties = template.function_properties(logical_id)
            handler = getattr(app_module, str(properties["Handler"]).split(".", 1)[1])
            timeout = int(properties.get("Timeout", 3))
            for event_name, event in (resource["Properties"].get("Events") or {}).items():
                kind, props = event["Type"], event.get("Properties", {})
                if kind == "SQS":
                    queue = self._queue_source(
                        template, provisioned, logical_id, handler, timeout, props, journal
                    )
                    consumers[queue.queue_url] = queue
                    self.sources.append(queue)
                elif kind == "DynamoDB":
                    stream = self._stream_source(
                        template, provisioned, logical_id, handler, timeout, props, live
                    )
                    stream_sources.append(stream)
                    self.sources.append(stream)
                elif kind in ("Schedule", "ScheduleV2"):
                    expression = props.get("Schedule") or props.get("ScheduleExpression")
                    self.sources.append(
                        ScheduleSource(
                            function_name=logical_id,
                            handler=handler,
                            schedule=Schedule(str(expression)),
                            rule_name=f"{logical_id}-{event_name}",
                            clock=self.clock,
                            report=self.report,
                            timeout_seconds=timeout,
                        )
                    )
                elif kind != "Api":
                    raise LocalError(f"{logical_id}.{event_name}: event type {kind} is not run locally yet")
        self.outbox = OutboxWriter(self.data_dir / "outbox", LOCAL_REGION, self.report)
        self._write_mail_as_sent(self.outbox)
        for stream in stream_sources:
            stream.open()  # from here on: what was written before is the outbox check's
        self.outbox_check = self._outbox_check(provisioned, journal, consumers, stream_sources, live)
        self._start_api(app_module.app)
        self.sources += [
            _Periodic("parameters snapshot", self._snapshot_parameters, 1.0, self.report),
            _Periodic("clock save", self._save_clock, 5.0, self.report),
            _Periodic("DynamoDB Local watch", self._watch_dynamodb, 0.5, self.report),
            _Periodic(
                "dead-letter watch", lambda: self._watch_dead_letters(template, provisioned), 0.5, self.report
            ),
        ]
        for source in self.sources:
            source.start()
        self._start_control()
        if self.outbox_check is not None:
            thread = threading.Thread(target=self._run_outbox_check, name="outbox check", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _count_parameter_writes(self) -> None:
        """Every SSM write moto takes (`shopflow config set|unset --local`, the start's restore)
        bumps `parameter_writes` before its answer, so the next handler reads the new value."""
        from moto.ssm.models import ssm_backends

        ssm = ssm_backends[ACCOUNT][LOCAL_REGION]
        for name in ("put_parameter", "delete_parameter", "delete_parameters"):
            original = getattr(ssm, name)

            def counted(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
                try:
                    return _original(*args, **kwargs)
                finally:
                    self.parameter_writes += 1

            setattr(ssm, name, counted)

    @staticmethod
    def _write_mail_as_sent(outbox: OutboxWriter) -> None:
        """Every email and SMS moto accepts is in .shopflow/outbox/ before SES or SNS answers, so a
        message recorded as SENT always has its file, even if this process is killed right after.
        Locally every sender address counts as verified (on AWS: verify the domain in SES)."""
        from moto.ses.models import ses_backends
        from moto.sns.models import sns_backends

        ses = ses_backends[ACCOUNT][LOCAL_REGION]
        setattr(ses, "_is_verified_address", lambda source: True)  # noqa: B010 - an instance, not the class
        sns = sns_backends[ACCOUNT][LOCAL_REGION]
        for backend, name in ((ses, "send_raw_email"), (ses, "send_email"), (sns, "publish")):
            original = getattr(backend, name)

            def written_at_once(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
                answer = _original(*args, **kwargs)
                outbox.collect()
                return answer

            setattr(backend, name, written_at_once)

    def _queue_source(
        self,
        template: Template,
        provisioned: Provisioned,
        function: str,
        handler: Any,
        timeout: int,
        props: dict[str, Any],
        journal: Journal,
    ) -> QueueSource:
        queue_id = props["Queue"]["Fn::GetAtt"][0]
        queue_props = template.resources[queue_id].get("Properties", {})
        redrive = queue_props.get("RedrivePolicy") or {}

        def on_outcome(outcome: QueueOutcome) -> None:
            for _, message in outcome.completed:
                outbox_id = message.get("MessageAttributes", {}).get("outbox_id", {}).get("StringValue")
                if outbox_id:
                    journal.record(queue_id, outbox_id, "consumed")

        return QueueSource(
            function_name=function,
            handler=handler,
            sqs=self.client("sqs"),
            queue_url=provisioned.refs[queue_id],
            queue_arn=provisioned.attributes[(queue_id, "Arn")],
            batch_size=int(props.get("BatchSize", 10)),
            report_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
            visibility_timeout=int(queue_props.get("VisibilityTimeout", 30)),
            max_receive_count=int(redrive["maxReceiveCount"]) if redrive else None,
            clock=self.clock,
            report=self.report,
            on_outcome=on_outcome,
            timeout_seconds=timeout,
        )

    def _stream_source(
        self,
        template: Template,
        provisioned: Provisioned,
        function: str,
        handler: Any,
        timeout: int,
        props: dict[str, Any],
        live: LiveStream,
    ) -> StreamSource:
        stream_arn = template.resolve(props["Stream"], provisioned.refs, provisioned.attributes)
        destination = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        failure_queue = None
        if destination is not None:
            failure_queue = provisioned.refs[destination["Fn::GetAtt"][0]]
        sqs = self.client("sqs")

        def on_failure(metadata: dict[str, Any]) -> None:
            if failure_queue is not None:
                sqs.send_message(QueueUrl=failure_queue, MessageBody=json.dumps(metadata))

        def seen_then_handled(event: dict[str, Any], context: Any) -> Any:
            live.saw(event["Records"])  # the outbox check leaves these to the live stream
            return handler(event, context)

        return StreamSource(
            function_name=function,
            handler=seen_then_handled,
            # From now on only: what was written before is the outbox check's (module doc).
            reader=StreamReader(self.client("dynamodbstreams"), str(stream_arn), start="LATEST"),
            patterns=filter_patterns(props),
            batch_size=int(props.get("BatchSize", 100)),
            maximum_retry_attempts=int(props.get("MaximumRetryAttempts", 10)),
            report_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
            on_failure=on_failure,
            report=self.report,
            timeout_seconds=timeout,
        )

    def _outbox_check(
        self,
        provisioned: Provisioned,
        journal: Journal,
        consumers: dict[str, QueueSource],
        streams: list[StreamSource],
        live: LiveStream,
    ) -> OutboxCheck | None:
        """The check of outbox items no consumer completed, run once the API answers (module doc)."""
        from shopflow import bootstrap
        from shopflow.store.orders import iso

        if not streams or not consumers:
            return None  # nothing reads the stream, or no queue has a consumer: nothing was lost
        queue_ids = {url: logical_id for logical_id, url in provisioned.refs.items() if url in consumers}
        dispatcher = bootstrap.runtime().dispatcher

        def consumed_queues_for(event_type: str) -> set[str]:
            # Only the queues dispatch sends this event to; an unroutable one is dispatch's to report.
            return {queue_ids[url] for url in dispatcher.queue_urls_for(event_type) if url in queue_ids}

        def deliver(records: list[dict[str, Any]]) -> None:
            for stream in streams:
                for first in range(0, len(records), stream.batch_size):
                    stream.deliver(records[first : first + stream.batch_size])

        live.empty_reads = lambda: min(stream.empty_reads for stream in streams)
        return OutboxCheck(
            dynamodb=self.client("dynamodb"),
            table_name=provisioned.table_name(),
            journal=journal,
            queues_for=consumed_queues_for,
            deliver=deliver,
            live=live,
            state_path=self.data_dir / OUTBOX_CHECK_FILE,
            started_at=iso(self.clock.now()),
            report=self.report,
        )

    def _run_outbox_check(self) -> None:
        check = self.outbox_check
        if check is None:
            return
        try:
            check.run()
        except Exception as exc:  # the instance keeps serving; the next start checks again
            if not check.stopping.is_set():
                self.report(f"outbox check failed: {exc} (it runs again at the next start)")

    def _watch_dead_letters(self, template: Template, provisioned: Provisioned) -> None:
        sqs = self.client_cached("sqs")
        for queue_id, resource in template.of_type("AWS::SQS::Queue").items():
            target = (resource.get("Properties", {}).get("RedrivePolicy") or {}).get("deadLetterTargetArn")
            if not isinstance(target, dict):
                continue
            dlq_id = target["Fn::GetAtt"][0]
            url = provisioned.refs[dlq_id]
            attributes = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            count = sum(int(v) for v in attributes.values())
            if count > self.dead_letters.get(dlq_id, 0):
                self.report(
                    f"dead-letter queue {dlq_id} now holds {count} message(s) from {queue_id}: "
                    "see them with `aws sqs receive-message --endpoint-url "
                    f"{os.environ['AWS_ENDPOINT_URL_SQS']} --queue-url {url}`"
                )
            self.dead_letters[dlq_id] = count

    def _start_api(self, app: Any) -> None:
        from shopflow.local.api_server import api_server

        self._api = api_server(app, HOST, self.options.port, self.report)
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
                if self.path != "/status":
                    self._answer(404, {"error": "unknown path"})
                    return
                self._answer(200, runtime.status())

            def do_POST(self) -> None:
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

    def status(self) -> dict[str, Any]:
        return {
            "now": self.clock.now().isoformat(),
            "clock_speed": self.clock.speed,
            "dead_letters": dict(self.dead_letters),
            "messages_written": len(self.outbox.written) if self.outbox else 0,
            "invocations": {s.name: getattr(s, "invocations", None) for s in self.sources},
        }

    # --- stop ----------------------------------------------------------------------------------

    def wait(self) -> None:
        self._stopped.wait()

    def stop(self) -> None:
        """Stop everything; safe to call twice and after a failed start."""
        if self.outbox_check is not None:
            self.outbox_check.stopping.set()
        stop_all(self.sources)
        if self.outbox is not None:
            self.outbox.collect()
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
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
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
