"""A raw asyncio HTTP/1.1 server on 127.0.0.1 whose answer bytes each test chooses.

The adversarial tests (``tests/test_adversarial_runtime.py``, ``tests/test_adversarial_transport_parity.py``)
need a server that can answer anything at all — malformed heads, endless bodies, bombs,
stalls — so this one parses only what it must (the head, and a ``Content-Length`` body) and
hands every request to ``respond(head, reader, writer)``, which writes whatever it likes (and
may close the connection). It records each request's head and body, in arrival order over all
connections. Start and stop it with ``async with`` on the loop of the test (port 0: a free
port, so it is safe under pytest-xdist).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, Self

__all__ = ["RawServer", "Responder"]

#: ``respond(head, reader, writer)``: answers one request (its head, the body already read).
Responder = Callable[[bytes, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RawServer:
    """Answers every request with ``respond``; ``per_connection`` bounds the requests served
    on one connection (``None``: until the client closes it)."""

    def __init__(self, respond: Any, *, per_connection: int | None = None) -> None:
        self.respond = respond
        self.per_connection = per_connection
        #: every request's head (request line and headers, up to the blank line), in arrival order
        self.heads: list[bytes] = []
        #: the body of ``heads[i]`` (``b""`` without one, or until it has been read)
        self.bodies: list[bytes] = []
        self.server: asyncio.base_events.Server | None = None
        self.port = 0

    @property
    def requests(self) -> list[bytes]:
        """The heads seen so far (the name the runtime tests use)."""
        return self.heads

    async def answer(
        self, n: int, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Answer request ``n`` (0-based, over all connections); a subclass may call
        ``respond`` another way."""
        await self.respond(head, reader, writer)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served = 0
        try:
            while self.per_connection is None or served < self.per_connection:
                served += 1
                head = await reader.readuntil(b"\r\n\r\n")
                n = len(self.heads)
                self.heads.append(head)
                self.bodies.append(b"")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    self.bodies[n] = await reader.readexactly(length)
                await self.answer(n, head, reader, writer)
                if writer.is_closing():
                    return
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> Self:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for w in list(getattr(self.server, "_clients", ()) or ()):
            w.close()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.server.wait_closed(), 1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def lines(self) -> list[str]:
        """Each request line (``GET /v1/customers HTTP/1.1``)."""
        return [h.split(b"\r\n", 1)[0].decode("latin-1") for h in self.heads]

    def paths(self) -> list[str]:
        """Each request's target (path and query)."""
        return [h.split(b"\r\n", 1)[0].split(b" ")[1].decode("latin-1") for h in self.heads]

    def header_names(self) -> list[list[str]]:
        """Each request's header names, lower-cased and sorted."""
        out = []
        for h in self.heads:
            names = sorted(
                line.split(b":", 1)[0].decode("latin-1").lower()
                for line in h.split(b"\r\n")[1:]
                if b":" in line
            )
            out.append(names)
        return out

    def header(self, n: int, name: str) -> str | None:
        """The value of header ``name`` (lower-case) in request ``n``, or ``None``."""
        for line in self.heads[n].split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == name.encode():
                return v.strip().decode("latin-1")
        return None
