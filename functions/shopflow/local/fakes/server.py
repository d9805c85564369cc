"""What every fake shop's HTTP side shares: a ThreadingHTTPServer on 127.0.0.1 in a daemon thread,
stopped and started again on the same port (a shop going down and coming back)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = "127.0.0.1"


class LocalServer:
    def __init__(self, name: str, port: int = 0) -> None:
        self.name = name
        self.port = port  # 0: a free one, chosen at the first start and kept for later ones
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self, handler: type[BaseHTTPRequestHandler]) -> None:
        server = ThreadingHTTPServer((HOST, self.port), handler)
        server.daemon_threads = True
        self._server, self.port = server, server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.name, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
