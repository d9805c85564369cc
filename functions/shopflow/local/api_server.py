"""The HTTP server in front of the Chalice app in `shopflow local`, standing in for API Gateway.

Chalice's local request handler drops the connection without an answer when a request's
`Content-Length` is not a number, or when its console line fails (a request line broken by
control characters arrives before there is a path to print). API Gateway answers such requests
with a 400, and so does this server; the console line shows control characters escaped.
"""

from __future__ import annotations

import json
import queue
import re
import threading
from collections.abc import Callable
from typing import Any

from chalice.app import Chalice
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    LocalChalice,
    LocalDevServer,
    ThreadedHTTPServer,
    create_local_server,
)

# RFC 9110: Content-Length = 1*DIGIT. 15 digits is far beyond any body this server reads.
_CONTENT_LENGTH = re.compile(r"[0-9]{1,15}")
_CONSOLE_PATH_CHARS = 120


class _BadRequest(Exception):
    """A request this server cannot read as HTTP: answered 400 and the connection closed."""


def _printable(text: str) -> str:
    """Control characters escaped (a path must not move the owner's cursor or fake a line), long
    paths cut, and an unsubscribe token (it encodes the customer's address) left out."""
    if text.startswith("/unsubscribe/"):
        text = "/unsubscribe/{token}"
    if len(text) > _CONSOLE_PATH_CHARS:
        text = text[:_CONSOLE_PATH_CHARS] + "..."
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


class _ApiHTTPServer(ThreadedHTTPServer):
    """Each connection is served by a thread of its own, as before, but a thread that finished one
    waits a while for the next instead of ending. A handler thread keeps its botocore session and
    its PynamoDB clients (both per thread, as a Lambda container keeps them): with a new thread per
    connection every webhook made them again, about an eighth of the API's CPU under load
    (bench/local_runtime.py --only load)."""

    # socketserver listens with a backlog of 5: a burst of webhook deliveries (each a new
    # connection) overflowed it and senders saw connection resets instead of waiting.
    request_queue_size = 128
    idle_thread_seconds = 60.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._handed: queue.SimpleQueue[tuple[Any, Any]] = queue.SimpleQueue()
        self._idle = 0  # threads waiting on _handed that no connection was handed to yet
        self._idle_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._idle_lock:
            if self._idle:
                self._idle -= 1
                self._handed.put((request, client_address))
                return
        thread = threading.Thread(
            target=self._serve, args=(request, client_address), name="api request", daemon=True
        )
        thread.start()

    def _serve(self, request: Any, client_address: Any) -> None:
        while True:
            try:
                self.finish_request(request, client_address)
            except Exception:
                self.handle_error(request, client_address)
            finally:
                with self._idle_lock:  # waiting before its client sees the connection close
                    self._idle += 1
                self.shutdown_request(request)
            try:
                request, client_address = self._handed.get(timeout=self.idle_thread_seconds)
            except queue.Empty:
                with self._idle_lock:
                    try:  # handed one just as the wait ended: the count already left this thread out
                        request, client_address = self._handed.get_nowait()
                    except queue.Empty:
                        self._idle -= 1
                        return


class ApiRequestHandler(ChaliceRequestHandler):
    report: Callable[[str], None] = print  # the console; set per server by `api_server`
    on_request: Callable[[], None] = lambda: None  # set per server by `api_server`

    def _parse_payload(self) -> tuple[dict[str, Any], bytes | None]:
        lengths = {value.strip() for value in self.headers.get_all("Content-Length") or []}
        if len(lengths) > 1 or not all(_CONTENT_LENGTH.fullmatch(value) for value in lengths):
            raise _BadRequest("Content-Length must be one whole number of bytes")
        return super()._parse_payload()

    def _generic_handle(self) -> None:
        type(self).on_request()
        try:
            super()._generic_handle()
        except _BadRequest as exc:
            # Where this body ends is unknown, so nothing after it on this connection can be read.
            self.close_connection = True
            self._send_http_response(
                400, {"Connection": "close"}, json.dumps({"message": f"Bad request: {exc}"})
            )

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

    def log_error(self, format: str, *args: Any) -> None:
        pass  # the answer's own line follows (log_request)

    def log_message(self, format: str, *args: Any) -> None:
        # Also called for a request line that never parsed: there is no command or path then.
        command = getattr(self, "command", None) or "-"
        path = getattr(self, "path", None) or "(unreadable request line)"
        status = args[1] if len(args) > 1 else "?"
        type(self).report(f"{_printable(command)} {_printable(path)} -> {status}")


def api_server(
    app: Chalice,
    host: str,
    port: int,
    report: Callable[[str], None],
    on_request: Callable[[], None] = lambda: None,
) -> LocalDevServer:
    """A threaded server for `app` on host:port (not yet serving: run `.server.serve_forever`);
    `on_request` is called as each request arrives."""
    config = Config.create(
        chalice_stage="local", app_name="shopflow", lambda_timeout=15, lambda_memory_size=512
    )
    if not isinstance(app, LocalChalice):  # adopt the app once per process (a thread-local request)
        create_local_server(app, config, host, port).server.server_close()
    handler = type(
        "ConsoleApiRequestHandler",
        (ApiRequestHandler,),
        {"report": staticmethod(report), "on_request": staticmethod(on_request)},
    )
    return LocalDevServer(app, config, host, port, handler_cls=handler, server_cls=_ApiHTTPServer)
