"""The lifecycle shared by the loopback test servers: a ``ThreadingHTTPServer`` on
127.0.0.1 (a free port) in a daemon thread, started by ``start()`` or ``with``, always shut
down and joined by ``stop()``."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

__all__ = ["ThreadedServer"]


class ThreadedServer:
    """Base of a server object; subclasses say which handler serves it (its ``owner``
    attribute is set to the server object)."""

    _httpd: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>`` of the running server."""
        assert self._httpd is not None, "the server is not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        owner: Any = self

        class Handler(self._handler_class()):  # type: ignore[misc]
            pass

        Handler.owner = owner  # type: ignore[attr-defined]
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
