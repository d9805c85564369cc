"""`shopflow local`'s HTTP server answers every request it cannot read with a 400, over a real socket."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from app import app
from shopflow.local.api_server import api_server
from shopflow.local.ports import HOST, free_port
from tests.service.conftest import Stack


@pytest.fixture
def served(stack: Stack) -> Iterator[tuple[int, list[str]]]:
    console: list[str] = []
    port = free_port()
    server = api_server(app, HOST, port, console.append)
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield port, console
    server.server.shutdown()
    server.server.server_close()


def _exchange(port: int, raw: bytes) -> bytes:
    """Send raw bytes, read until the server closes the connection (every request here asks it to)."""
    with socket.create_connection((HOST, port), timeout=10) as connection:
        connection.sendall(raw)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    return received


def _request(path: bytes, *headers: bytes, body: bytes = b"", method: bytes = b"GET") -> bytes:
    lines = [method + b" " + path + b" HTTP/1.1", b"Host: localhost", b"Connection: close", *headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


@pytest.mark.parametrize(
    "raw",
    [
        _request(b"/unsubscribe/a\x1fb"),  # a control character that splits the request line
        _request(b"/unsubscribe/a\x0bb\x0cc"),
        _request(b"/unsubscribe/a b"),
        _request(b"/webhooks/events", b"Content-Length: abc", body=b"{}", method=b"POST"),
        _request(b"/webhooks/events", b"Content-Length: -2", body=b"{}", method=b"POST"),
        _request(b"/webhooks/events", b"Content-Length: 2.0", body=b"{}", method=b"POST"),
        _request(b"/webhooks/events", b"Content-Length: \xd9\xa2", body=b"{}", method=b"POST"),  # Arabic 2
        _request(b"/webhooks/events", b"Content-Length: 2", b"Content-Length: 9", body=b"{}", method=b"POST"),
        _request(b"/unsubscribe/x.y", b"Content-Length: 1_0", body=b"x" * 10, method=b"POST"),
    ],
    ids=[
        "unit-separator",
        "vt-ff",
        "space",
        "letters",
        "negative",
        "decimal",
        "unicode",
        "two-lengths",
        "digit-group",
    ],
)
def test_an_unreadable_request_gets_a_400_not_a_dropped_connection(
    served: tuple[int, list[str]], raw: bytes
) -> None:
    port, console = served

    answer = _exchange(port, raw)

    assert answer.startswith(b"HTTP/1.1 400") or answer.startswith(b"HTTP/1.0 400"), answer[:200]
    assert console and all(line.isprintable() for line in console)


def test_control_characters_in_a_path_reach_the_page_and_the_console_shows_them_escaped(
    served: tuple[int, list[str]],
) -> None:
    port, console = served

    answer = _exchange(port, _request(b"/unsubscribe/\x1b[2J\x01x.y"))

    assert answer.startswith(b"HTTP/1.1 400") and b"This link does not work" in answer
    assert console == ["GET /unsubscribe/{token} -> 400"]
    assert _exchange(port, _request(b"/webhooks/events", body=b"", method=b"POST")).startswith(
        b"HTTP/1.1 401"
    )  # the server goes on serving


@pytest.fixture
def served_app() -> Iterator[int]:
    """A small app on the local server: which thread served each request, and two that must overlap."""
    from chalice.app import Chalice

    small = Chalice(app_name="threads")
    both_in = threading.Barrier(2, timeout=10)

    @small.route("/thread")
    def thread() -> dict[str, int]:
        return {"thread": threading.get_ident()}

    @small.route("/together")
    def together() -> dict[str, bool]:
        both_in.wait()  # answers only when another request is being served at the same time
        return {"together": True}

    port = free_port()
    server = api_server(small, HOST, port, lambda line: None)
    thread_ = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread_.start()
    yield port
    server.server.shutdown()
    server.server.server_close()


def _answer_of(port: int, path: bytes) -> bytes:
    return _exchange(port, _request(path)).split(b"\r\n\r\n", 1)[1]


def test_a_new_connection_is_served_by_a_thread_that_served_one_before(served_app: int) -> None:
    # The handler's thread keeps its botocore session and clients, as a Lambda container does:
    # a webhook sender opens a connection per delivery, and a thread per connection made them anew.
    threads = {_answer_of(served_app, b"/thread") for _ in range(5)}

    assert len(threads) == 1


def test_connections_at_the_same_time_are_still_served_at_the_same_time(served_app: int) -> None:
    _answer_of(served_app, b"/thread")  # one thread waiting for the next connection
    answers: list[bytes] = []

    def call() -> None:
        answers.append(_answer_of(served_app, b"/together"))

    callers = [threading.Thread(target=call) for _ in range(2)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(20)

    assert answers == [b'{"together":true}'] * 2
