"""moto (SQS, SSM, SES, SNS) for `shopflow local`, in a process of its own.

In the runtime's process moto took half of the time the one GIL was held during a burst of
orders (bench/local_runtime.py --only load), so the API waited on emulated AWS. Here it has its
own interpreter (decision 52). What the runtime needs from moto's insides crosses over:

* every email and SMS moto accepts is written to the outbox folder here, before SES or SNS
  answers (decision 23), and announced to the runtime as a JSON line on a pipe of its own
  (stdout stays the console);
* every SSM write bumps a count in memory shared with the other processes (`shared.py`) before
  moto answers, so a handler's next invocation reads the new settings (decision 48);
* it stops when the runtime closes its stdin, and (Linux) is sent SIGTERM when the runtime dies,
  even by SIGKILL: it never outlives `shopflow local`.

    python -m shopflow.local.moto_process OUTBOX_DIR REGION COUNTER_FD MESSAGES_FD
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from shopflow.local.mail import ACCOUNT, OutboxWriter, Written
from shopflow.local.ports import HOST
from shopflow.local.shared import SharedMemory, WriteCount, wait_for_child
from shopflow.observability import mask


class MotoProcessError(RuntimeError):
    pass


class MotoProcess:
    """The runtime's handle on its moto process: its endpoint and the messages it wrote."""

    def __init__(
        self, outbox_dir: Path, region: str, writes: WriteCount, report: Callable[[str], None]
    ) -> None:
        self._outbox_dir = outbox_dir
        self._region = region
        self._writes = writes
        self._report = report
        self._process: subprocess.Popen[bytes] | None = None
        self._ready = threading.Event()
        self._port: int | None = None
        self.written: list[Written] = []  # every email and SMS, in the order moto took them
        # Messages in each dead-letter queue (by queue name; visible and in flight), as moto's
        # process last said: read from its memory there, so watching them costs no requests.
        self.dead_letters: dict[str, int] = {}

    def start(self) -> None:
        """Launch it (returns at once: `wait_ready` gives its endpoint)."""
        from shopflow.local.dynamodb_local import _terminate_with_parent

        fd = self._writes.memory.fd
        messages, theirs = os.pipe()
        try:
            self._process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
                [sys.executable, "-m", __name__, str(self._outbox_dir), self._region, str(fd), str(theirs)],
                stdin=subprocess.PIPE,
                pass_fds=(fd, theirs),
                preexec_fn=_terminate_with_parent,
            )
        finally:
            os.close(theirs)
        reader = threading.Thread(
            target=self._read, args=(os.fdopen(messages, "rb"),), name="moto", daemon=True
        )
        reader.start()

    def wait_ready(self, timeout: float = 120.0) -> str:
        """moto's endpoint once it answers; raises if it exited or took too long."""
        wait_for_child(
            self._ready, self._process, timeout, lambda why: MotoProcessError(f"moto did not start ({why})")
        )
        return f"http://{HOST}:{self._port}"

    def _read(self, messages: IO[bytes]) -> None:
        for line in messages:
            document = json.loads(line)
            if "ready" in document:
                self._port = int(document["ready"])
                self._ready.set()
            elif "dead_letters" in document:
                self.dead_letters = {str(k): int(v) for k, v in document["dead_letters"].items()}
            elif "written" in document:
                fields = document["written"]
                item = Written(Path(fields["path"]), fields["channel"], fields["to"], fields["summary"])
                self.written.append(item)
                self._report(f"{item.channel} to {mask(item.to)}: {item.summary} -> {item.path}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.stdin is not None:
                process.stdin.close()  # its signal to stop
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --- the process itself ----------------------------------------------------------------------


_messages: IO[str] | None = None  # the pipe to the runtime
_messages_lock = threading.Lock()


def _say(document: dict[str, Any]) -> None:
    with _messages_lock:
        assert _messages is not None
        _messages.write(json.dumps(document) + "\n")
        _messages.flush()


def _count_parameter_writes(region: str, writes: WriteCount) -> None:
    from moto.ssm.models import ssm_backends

    lock = threading.Lock()
    ssm = ssm_backends[ACCOUNT][region]
    for name in ("put_parameter", "delete_parameter", "delete_parameters"):
        original = getattr(ssm, name)

        def counted(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            try:
                return _original(*args, **kwargs)
            finally:
                with lock:
                    writes.bump()

        setattr(ssm, name, counted)


def _write_mail_as_sent(outbox: OutboxWriter, region: str) -> None:
    """Every email and SMS moto accepts is in the outbox folder before SES or SNS answers, so a
    message recorded as SENT always has its file, even if the runtime is killed right after.
    Locally every sender address counts as verified (on AWS: verify the domain in SES)."""
    from moto.ses.models import ses_backends
    from moto.sns.models import sns_backends

    ses = ses_backends[ACCOUNT][region]
    setattr(ses, "_is_verified_address", lambda source: True)  # noqa: B010 - an instance, not the class
    sns = sns_backends[ACCOUNT][region]
    for backend, name in ((ses, "send_raw_email"), (ses, "send_email"), (sns, "publish")):
        original = getattr(backend, name)

        def written_at_once(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            answer = _original(*args, **kwargs)
            for item in outbox.collect():
                _say(
                    {
                        "written": {
                            "path": str(item.path),
                            "channel": item.channel,
                            "to": item.to,
                            "summary": item.summary,
                        }
                    }
                )
            return answer

        setattr(backend, name, written_at_once)


def _cheap_sqs_clock() -> None:
    """moto's SQS asks the time for every message on every receive (visible? delayed?) through
    naive datetimes: with a few hundred messages queued that was a fifth of the runtime's CPU.
    The same milliseconds since the epoch, from time.time()."""
    import moto.sqs.models as sqs_models

    exact = getattr(sqs_models, "unix_time")  # noqa: B009 - not re-exported for type checkers

    def unix_time(dt: Any = None) -> float:
        return time.time() if dt is None else exact(dt)

    def unix_time_millis(dt: Any = None) -> float:
        return time.time() * 1000.0 if dt is None else exact(dt) * 1000.0

    setattr(sqs_models, "unix_time", unix_time)  # noqa: B010
    setattr(sqs_models, "unix_time_millis", unix_time_millis)  # noqa: B010


def _cheap_dispatch() -> None:
    """What moto's server works out again on every request, worked out once: the services (it
    lists its own package folder, listdir and isdir per entry: a tenth of its CPU under load),
    the methods of a response class (inspect.getmembers) and the snake_case of a name. None of
    them changes while it runs."""
    import functools

    import moto.backends as backends
    import moto.core.responses as responses
    import moto.sqs.models as sqs_models

    listed = tuple(backends.list_of_moto_modules())
    setattr(backends, "list_of_moto_modules", lambda: listed)  # noqa: B010
    methods = functools.cache(getattr(responses, "method_names_from_class"))  # noqa: B009 - not exported
    setattr(responses, "method_names_from_class", methods)  # noqa: B010
    for module in (responses, sqs_models):
        snake_case = functools.lru_cache(maxsize=4096)(getattr(module, "camelcase_to_underscores"))  # noqa: B009
        setattr(module, "camelcase_to_underscores", snake_case)  # noqa: B010


DEAD_LETTERS_EVERY_SECONDS = 0.5


def _watch_dead_letters(region: str, stopping: threading.Event) -> None:
    """Say how many messages each dead-letter queue holds whenever that changes, read from moto's
    memory: the runtime polled GetQueueAttributes for every DLQ twice a second, a fifth of the
    API process's CPU (bench/local_runtime.py --only load)."""
    from moto.sqs.models import sqs_backends

    sqs = sqs_backends[ACCOUNT][region]
    said: dict[str, int] | None = None
    while not stopping.wait(DEAD_LETTERS_EVERY_SECONDS):
        try:
            queues = list(sqs.queues.values())
            held = {q.dead_letter_queue for q in queues if q.dead_letter_queue is not None}
            counts = {
                dlq.name: dlq.approximate_number_of_messages + dlq.approximate_number_of_messages_not_visible
                for dlq in held
            }
        except RuntimeError:  # a queue created or a message moved while reading: next round
            continue
        if counts != said:
            _say({"dead_letters": counts})
            said = counts


def main(argv: list[str]) -> int:
    # Ctrl-C reaches the whole process group: the runtime decides when moto stops (stdin closed).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _messages
    outbox_dir, region, counter_fd = Path(argv[0]), argv[1], int(argv[2])
    _messages = os.fdopen(int(argv[3]), "w")
    writes = WriteCount(SharedMemory(counter_fd))
    from moto.server import ThreadedMotoServer

    # moto's werkzeug server logs every request line; the console is for the owner.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    _cheap_sqs_clock()
    _cheap_dispatch()
    server = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
    server.start()
    _count_parameter_writes(region, writes)
    _write_mail_as_sent(OutboxWriter(outbox_dir, region, report=lambda line: None), region)
    threading.Thread(
        target=_watch_dead_letters, args=(region, threading.Event()), name="dead letters", daemon=True
    ).start()
    _say({"ready": server.get_host_and_port()[1]})
    sys.stdin.buffer.read()  # until the runtime closes it (or dies)
    os._exit(0)  # moto's request threads may be mid-answer; nothing here needs flushing


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
