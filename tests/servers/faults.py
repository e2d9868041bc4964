"""A fault-injecting HTTP/1.1 server on 127.0.0.1, for runtime tests and benchmarks.

It speaks just enough of Stripe's customers API to run a generated client against it
(``POST /v1/customers`` form bodies, ``GET``/``DELETE /v1/customers/{id}``,
``GET /v1/customers``; any other path answers a small JSON echo), dedupes ``POST``\\ s by
``Idempotency-Key`` the way Stripe does (the first result that started executing is stored
and replayed; a key still executing answers 409; a key reused with other parameters answers
400), and, per attempt, can misbehave:

==============  ====================================================================
``reset``       drop the connection with a TCP RST before doing anything
``close``       close the connection (FIN) without answering
``reset_after`` execute the request (create the object), then RST: the answer is lost
``500``         answer 500 (``502``, ``503`` likewise) without executing
``429``         answer 429 with ``Retry-After`` (and ``retry-after-ms`` when set)
``stall``       say nothing until the client gives up (or ``stall_seconds`` pass)
``truncate``    execute, then send half the body of a full-length answer and close
``corrupt``     execute, then answer 200 with a body that is not JSON
``corrupt_gzip`` execute, then answer 200 ``Content-Encoding: gzip`` with a garbled body
``slow_after``  execute, then wait ``slow_seconds`` before answering (the client may give
                up first: the object exists, the answer comes late or never)
==============  ====================================================================

A :class:`Reply` can also misbehave on the wire: ``hold`` seconds of silence after its
head, ``dribble`` seconds between single body bytes, ``chunked`` transfer encoding (a body
of no announced length, e.g. an event stream) and ``length`` to announce another
``Content-Length`` than the body has.

Which attempt misbehaves: first the scripted queue (:meth:`FaultServer.script`, consumed in
arrival order; ``None`` means behave, a :class:`Reply` is sent as given), then ``rule``
(a callable of the :class:`Record`), then, with probability ``fault_rate``, a fault drawn
from ``faults`` by a ``random.Random(seed)``. Every request is recorded with the server's
own ``time.monotonic()`` timestamps: ``received`` (request fully read) and ``finished``
(answer written, or the connection dropped), so tests can check client-side limits from
the server's point of view.

The server runs its own event loop in a background thread (so its clock does not depend
on the client's loop), binds 127.0.0.1 only, and :meth:`FaultServer.stop` cancels every
connection and joins the thread. ``python tests/servers/faults.py`` serves until stdin
closes and prints its URL first (for benchmarks that keep the server out of the measured
process); ``GET /__admin/records`` then returns each request's timestamps, status, fault
and query string, ``GET /__admin/customers`` the stored customers' ids, ``GET
/__admin/faults`` each request's fault, and ``POST /__admin/reset`` forgets the records.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import json
import random
import socket
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = [
    "FAULTS",
    "TRANSIENT_FAULTS",
    "FaultServer",
    "Record",
    "Reply",
    "max_in_flight",
    "max_in_window",
]

FAULTS = (
    "reset",
    "close",
    "reset_after",
    "500",
    "502",
    "503",
    "429",
    "stall",
    "truncate",
    "corrupt",
    "corrupt_gzip",
    "slow_after",
)
#: Faults a client can recover from by retrying (everything but a non-JSON 200).
TRANSIENT_FAULTS = (
    "reset",
    "close",
    "reset_after",
    "500",
    "502",
    "503",
    "429",
    "stall",
    "truncate",
    "corrupt_gzip",
)
_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
_MAX_HEAD = 64 * 1024
_MAX_BODY = 8 * 1024 * 1024


@dataclass
class Reply:
    """A scripted answer, sent as given (the request is not executed)."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None  # JSON-able, or bytes sent as they are
    hold: float = 0.0  # silence between the head and the body
    dribble: float = 0.0  # seconds between single body bytes
    chunked: bool = False  # Transfer-Encoding: chunked instead of Content-Length
    length: int | None = None  # the Content-Length announced (default: the body's)


@dataclass
class Record:
    """One request as the server saw it."""

    seq: int
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    connection: int
    received: float
    finished: float | None = None
    fault: str | None = None
    status: int | None = None
    replayed: bool = False

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))


@dataclass
class _Stored:
    fingerprint: tuple[str, bytes]
    answer: tuple[int, dict[str, str], bytes] | None = None


Fault = str | Reply | None


class FaultServer:
    """See the module docstring. Use as ``with FaultServer(...) as server:``."""

    def __init__(
        self,
        *,
        fault_rate: float = 0.0,
        faults: Sequence[str] = TRANSIENT_FAULTS,
        seed: int = 0,
        latency: float | tuple[float, float] = 0.0,
        stall_seconds: float = 30.0,
        slow_seconds: float = 1.0,
        retry_after: str | None = "1",
        retry_after_ms: int | None = None,
        rule: Callable[[Record], Fault] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError("the fault server binds loopback only")
        unknown = set(faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}")
        self.fault_rate = fault_rate
        self.faults = tuple(faults)
        self.latency = latency
        self.stall_seconds = stall_seconds
        self.slow_seconds = slow_seconds
        self.retry_after = retry_after
        self.retry_after_ms = retry_after_ms
        self.rule = rule
        self.host = host
        self.port = port
        self.records: list[Record] = []
        self.customers: dict[str, dict[str, Any]] = {}
        self._rng = random.Random(seed)
        self._latency_rng = random.Random(seed + 1)
        self._script: deque[Fault] = deque()
        self._stored: dict[str, _Stored] = {}
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self._conn_ids = itertools.count(1)
        self._open = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FaultServer:
        if self._thread is not None:
            return self
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-server", daemon=True)
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=10)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            if self._server is not None:
                asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            if not thread.is_alive():
                loop.close()
            self._loop = self._thread = self._server = None

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, backlog=2048, limit=_MAX_HEAD
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        # A connection accepted just before close() gets its transport and then its _serve
        # task a few loop turns later (Python 3.11's wait_closed() does not wait for them):
        # give those turns, so that every accepted socket is closed here and none is left
        # to the garbage collector (a ResourceWarning in whichever test runs next).
        idle = 0
        while idle < 5:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            idle = 0 if tasks else idle + 1
            await asyncio.sleep(0)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), 5)

    # -- configuration and inspection (any thread) -------------------------------------

    def script(self, *items: Fault) -> None:
        """Queue what the next requests (in arrival order) get: a fault name, a Reply or None."""
        with self._lock:
            self._script.extend(items)

    def clear(self) -> None:
        """Forget records, scripted faults and stored idempotent results (keep customers)."""
        with self._lock:
            self.records.clear()
            self._script.clear()
            self._stored.clear()

    def snapshot(self) -> list[Record]:
        with self._lock:
            return list(self.records)

    @property
    def open_connections(self) -> int:
        return self._open

    def add_customer(self, email: str = "seed@example.com") -> str:
        with self._lock:
            return str(self._create_customer({"email": email})["id"])

    # -- connections -------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._open += 1
        conn = next(self._conn_ids)
        keep = True
        try:
            while keep:
                request = await _read_request(reader)
                if request is None:
                    break
                keep = await self._answer(request, conn, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        except asyncio.CancelledError:
            keep = False
        finally:
            self._open -= 1
            self._tasks.discard(task)
            if not writer.transport.is_closing():
                writer.transport.abort()

    async def _answer(
        self,
        request: tuple[str, str, dict[str, str], bytes],
        conn: int,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        method, target, headers, body = request
        parts = urlsplit(target)
        if parts.path.startswith("/__admin/"):
            status, payload = self._admin(method, parts.path)
            await _write(writer, status, _json(payload), {})
            return True
        rec = Record(
            seq=next(self._seq),
            method=method,
            path=parts.path,
            query=parts.query,
            headers=headers,
            body=body,
            connection=conn,
            received=time.monotonic(),
        )
        with self._lock:
            self.records.append(rec)
        fault = self._choose(rec)
        try:
            return await self._misbehave(rec, fault, reader, writer)
        finally:
            if rec.finished is None:
                rec.finished = time.monotonic()

    def _choose(self, rec: Record) -> Fault:
        with self._lock:
            if self._script:
                return self._script.popleft()
        if self.rule is not None:
            return self.rule(rec)
        if self.fault_rate and self._rng.random() < self.fault_rate:
            return self._rng.choice(self.faults)
        return None

    async def _misbehave(
        self, rec: Record, fault: Fault, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        if isinstance(fault, Reply):
            rec.fault = "reply"
            await self._delay()
            raw = fault.body if isinstance(fault.body, bytes) else _json(fault.body)
            rec.status = fault.status
            if not (fault.hold or fault.dribble or fault.chunked):
                await _write(writer, fault.status, raw, dict(fault.headers), length=fault.length)
                rec.finished = time.monotonic()
                if fault.length is not None and fault.length != len(raw):
                    writer.close()  # a body cut short: the connection ends with it
                    return False
                return True
            await _write_slowly(writer, fault, raw)
            rec.finished = time.monotonic()
            return False
        rec.fault = fault
        if fault == "reset":
            _reset(writer)
            return False
        if fault == "close":
            writer.close()
            return False
        if fault == "stall":
            # Hold the connection until the client gives up (EOF) or stall_seconds pass.
            with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
                await asyncio.wait_for(reader.read(1), self.stall_seconds)
            rec.finished = time.monotonic()
            writer.close()
            return False
        if fault in ("500", "502", "503", "429"):
            await self._delay()
            status = int(fault)
            extra: dict[str, str] = {}
            if status == 429:
                if self.retry_after is not None:
                    extra["Retry-After"] = self.retry_after
                if self.retry_after_ms is not None:
                    extra["retry-after-ms"] = str(self.retry_after_ms)
                err = {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many requests"}
            else:
                err = {"type": "api_error", "message": f"Injected {status}"}
            rec.status = status
            await _write(writer, status, _json({"error": err}), extra)
            rec.finished = time.monotonic()
            return True
        status, headers, raw = await self._execute(rec)
        rec.status = status
        if fault == "reset_after":
            _reset(writer)
            return False
        if fault == "slow_after":
            await asyncio.sleep(self.slow_seconds)
        if fault == "truncate":
            await _write(writer, status, raw[: len(raw) // 2], headers, length=len(raw))
            rec.finished = time.monotonic()
            writer.close()
            return False
        if fault == "corrupt":
            raw = b'{"id": "cus_\xff\xfe' + b"#" * max(0, len(raw) - 14) + b"}"
        elif fault == "corrupt_gzip":
            headers = {**headers, "Content-Encoding": "gzip"}
            raw = b"\x1f\x8b\x08\x00garbled" + raw[:16]
        await _write(writer, status, raw, headers)
        rec.finished = time.monotonic()
        return True

    async def _delay(self) -> None:
        latency = self.latency
        if isinstance(latency, tuple):
            latency = self._latency_rng.uniform(*latency)
        if latency > 0:
            await asyncio.sleep(latency)

    # -- the fake API ------------------------------------------------------------------

    async def _execute(self, rec: Record) -> tuple[int, dict[str, str], bytes]:
        """Run the request (with Stripe's idempotency rules) and return its answer."""
        key = rec.idempotency_key if rec.method == "POST" else None
        if key is None:
            await self._delay()
            return self._route(rec)
        fingerprint = (rec.path, rec.body)
        with self._lock:
            stored = self._stored.get(key)
            if stored is None:
                stored = self._stored[key] = _Stored(fingerprint)
                fresh = True
            else:
                fresh = False
        if not fresh:
            await self._delay()
            if stored.fingerprint != fingerprint:
                return _error(
                    400,
                    "idempotency_error",
                    "Keys for idempotent requests can only be used "
                    "with the same parameters they were first used with.",
                )
            if stored.answer is None:
                return _error(
                    409,
                    "idempotency_error",
                    "There is currently another in-progress request using this Idempotent Key.",
                    code="idempotency_key_in_use",
                )
            rec.replayed = True
            status, headers, raw = stored.answer
            return status, {**headers, "Idempotent-Replayed": "true"}, raw
        await self._delay()  # the key is taken while the request executes
        answer = self._route(rec)
        stored.answer = answer
        return answer

    def _route(self, rec: Record) -> tuple[int, dict[str, str], bytes]:
        segments = [s for s in rec.path.split("/") if s]
        if segments[:2] == ["v1", "customers"]:
            with self._lock:
                if len(segments) == 2 and rec.method == "POST":
                    return 200, {}, _json(self._create_customer(_form(rec.body)))
                if len(segments) == 2 and rec.method == "GET":
                    data = list(self.customers.values())
                    return (
                        200,
                        {},
                        _json({"object": "list", "url": "/v1/customers", "has_more": False, "data": data}),
                    )
                if len(segments) == 3 and segments[2] != "search":
                    cus = self.customers.get(segments[2])
                    if cus is None:
                        return _error(
                            404,
                            "invalid_request_error",
                            f"No such customer: '{segments[2]}'",
                            code="resource_missing",
                        )
                    if rec.method == "DELETE":
                        del self.customers[segments[2]]
                        return 200, {}, _json({"id": cus["id"], "object": "customer", "deleted": True})
                    if rec.method == "POST":
                        cus.update(_form(rec.body))
                    return 200, {}, _json(cus)
        return 200, {}, _json({"object": "echo", "method": rec.method, "path": rec.path, "seq": rec.seq})

    def _create_customer(self, form: dict[str, Any]) -> dict[str, Any]:
        cid = f"cus_{len(self.customers) + 1:08d}"
        while cid in self.customers:
            cid += "x"
        cus: dict[str, Any] = {
            "id": cid,
            "object": "customer",
            "created": int(time.time()),
            "livemode": False,
            "email": form.get("email"),
            "name": form.get("name"),
            "description": form.get("description"),
            "metadata": form.get("metadata", {}),
        }
        self.customers[cid] = cus
        return cus

    def _admin(self, method: str, path: str) -> tuple[int, Any]:
        if path == "/__admin/records":
            return 200, [
                {
                    "received": r.received,
                    "finished": r.finished,
                    "status": r.status,
                    "fault": r.fault,
                    "query": r.query,
                }
                for r in self.snapshot()
            ]
        if path == "/__admin/customers":
            with self._lock:
                return 200, sorted(self.customers)
        if path == "/__admin/faults":
            return 200, [r.fault for r in self.snapshot()]
        if path == "/__admin/reset" and method == "POST":
            self.clear()
            return 200, {"ok": True}
        return 404, {"error": {"message": "no such admin route"}}


# -- HTTP/1.1 plumbing -------------------------------------------------------------------


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str], bytes] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = b""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        size_total = 0
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            size_total += size
            if size_total > _MAX_BODY:
                raise ValueError("body too large")
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            chunks.append(chunk[:-2])
        body = b"".join(chunks)
    elif "content-length" in headers:
        length = int(headers["content-length"])
        if length > _MAX_BODY:
            raise ValueError("body too large")
        body = await reader.readexactly(length)
    return method, target, headers, body


async def _write(
    writer: asyncio.StreamWriter,
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    *,
    length: int | None = None,
) -> None:
    head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
    names = {k.lower() for k in headers}
    if "content-type" not in names:
        head.append("Content-Type: application/json")
    head.append(f"Content-Length: {len(body) if length is None else length}")
    head.extend(f"{k}: {v}" for k, v in headers.items())
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
    await writer.drain()


async def _write_slowly(writer: asyncio.StreamWriter, reply: Reply, body: bytes) -> None:
    """A head, then (after ``hold`` seconds) the body byte by byte, ``dribble`` apart."""
    head = [f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}"]
    names = {k.lower() for k in reply.headers}
    if "content-type" not in names:
        head.append("Content-Type: application/json")
    if reply.chunked:
        head.append("Transfer-Encoding: chunked")
    else:
        head.append(f"Content-Length: {len(body) if reply.length is None else reply.length}")
    head.extend(f"{k}: {v}" for k, v in reply.headers.items())
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
    await writer.drain()
    if reply.hold:
        await asyncio.sleep(reply.hold)
    step = 1 if reply.dribble else max(1, len(body))
    for i in range(0, len(body), step):
        piece = body[i : i + step]
        writer.write(b"%x\r\n%s\r\n" % (len(piece), piece) if reply.chunked else piece)
        await writer.drain()
        if reply.dribble:
            await asyncio.sleep(reply.dribble)
    if reply.chunked:
        writer.write(b"0\r\n\r\n")
        await writer.drain()
    writer.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Drop the connection with an RST (SO_LINGER 0), not a polite FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def _error(
    status: int, kind: str, message: str, *, code: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    err: dict[str, Any] = {"type": kind, "message": message}
    if code:
        err["code"] = code
    return status, {}, _json({"error": err})


def _form(body: bytes) -> dict[str, Any]:
    """Flat form pairs, with one level of ``name[key]=value`` nesting (Stripe's metadata)."""
    out: dict[str, Any] = {}
    for name, value in parse_qsl(body.decode(), keep_blank_values=True):
        if "[" in name and name.endswith("]"):
            outer, _, inner = name[:-1].partition("[")
            nested = out.setdefault(outer, {})
            if isinstance(nested, dict):
                nested[inner] = value
        else:
            out[name] = value
    return out


# -- analysis helpers --------------------------------------------------------------------


def max_in_flight(intervals: Iterable[tuple[float, float]]) -> int:
    """The largest number of [start, end] intervals open at one instant."""
    events = sorted(
        itertools.chain.from_iterable(((start, 1), (end, -1)) for start, end in intervals),
        key=lambda e: (e[0], e[1]),  # at a tie, an end comes before a start
    )
    peak = current = 0
    for _, step in events:
        current += step
        peak = max(peak, current)
    return peak


def max_in_window(times: Iterable[float], window: float) -> int:
    """The largest number of timestamps inside any half-open window of ``window`` seconds."""
    ordered = sorted(times)
    peak = 0
    lo = 0
    for hi, t in enumerate(ordered):
        while ordered[lo] <= t - window:
            lo += 1
        peak = max(peak, hi - lo + 1)
    return peak


def _main(argv: Sequence[str]) -> int:
    """Serve until stdin closes; print the URL first. Options: ``--latency S`` (or ``A,B``),
    ``--fault-rate P``, ``--faults a,b,c``, ``--seed N``, ``--slow-seconds S``,
    ``--stall-seconds S``, ``--retry-after V``, ``--retry-after-ms N``."""
    args = dict(zip(argv[::2], argv[1::2], strict=False))
    latency_arg = args.get("--latency", "0")
    latency: float | tuple[float, float]
    if "," in latency_arg:
        low, high = latency_arg.split(",", 1)
        latency = (float(low), float(high))
    else:
        latency = float(latency_arg)
    server = FaultServer(
        latency=latency,
        fault_rate=float(args.get("--fault-rate", 0)),
        faults=tuple(args["--faults"].split(",")) if "--faults" in args else TRANSIENT_FAULTS,
        seed=int(args.get("--seed", 0)),
        slow_seconds=float(args.get("--slow-seconds", 1.0)),
        stall_seconds=float(args.get("--stall-seconds", 30.0)),
        retry_after=args.get("--retry-after", "1"),
        retry_after_ms=int(args["--retry-after-ms"]) if "--retry-after-ms" in args else None,
    )
    with server:
        print(server.url, flush=True)
        for _ in sys.stdin:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
