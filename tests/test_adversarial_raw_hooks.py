"""Adversarial tests for issue 13 "Responses you can inspect": ``with_raw_response``,
``on_request=`` / ``on_response=`` hooks and the DEBUG line's latency and request id.

Every test talks to a small scripted HTTP/1.1 server on 127.0.0.1 started here (or to
``usepolvo.testing.MockAPI``); both transports (``POLVO_TRANSPORT=aiohttp``)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import logging
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from usepolvo.stripe import StripeClient

from usepolvo.core import (
    APIResponse,
    APIStatusError,
    APITimeoutError,
    ConfigurationError,
    PolvoError,
    RateLimitError,
    RequestEvent,
    ResponseEvent,
    ResponseValidationError,
    RetryPolicy,
    TokenAuth,
)
from usepolvo.testing import MockAPI

KEY = "sk_test_adversarialKey12345"
FAST = RetryPolicy(2, initial_backoff=0.001, max_backoff=0.01)


def customer(cid: str = "cus_1") -> dict[str, Any]:
    return {"id": cid, "object": "customer", "created": 1700000000, "livemode": False}


@dataclass
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


#: what a handler answers: (status, headers, body) or the string "reset"
Answer = Any


@dataclass
class Server:
    """A threaded HTTP/1.1 server whose answers come from ``handler(hit, n)``."""

    handler: Callable[[Hit, int], Answer]
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Server:
        outer = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: Any) -> None:
                pass

            def _any(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                hit = Hit(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with outer.lock:
                    outer.hits.append(hit)
                    count = len(outer.hits)
                answer = outer.handler(hit, count)
                if answer == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                    self.close_connection = True
                    return
                status, headers, payload = answer
                if not isinstance(payload, bytes):
                    payload = json.dumps(payload).encode()
                self.send_response(status)
                names = {k.lower() for k, _ in headers}
                for k, v in headers:
                    self.send_header(k, v)
                if "content-type" not in names:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = _any

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[Hit, int], Answer]], Server]]:
    servers: list[Server] = []

    def make(handler: Callable[[Hit, int], Answer]) -> Server:
        s = Server(handler).start()
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()


def echo_customer(hit: Hit, n: int) -> Answer:
    """A customer whose id is the path's last segment, the request id naming it."""
    cid = hit.path.split("?")[0].rsplit("/", 1)[-1]
    return 200, [("Request-Id", f"req_{cid}")], customer(cid)


def client(server: Server, **kw: Any) -> StripeClient:
    kw.setdefault("max_retries", FAST)
    kw.setdefault("rate_limit", None)
    return StripeClient(api_key=KEY, base_url=server.url, **kw)


# --------------------------------------------------------------------------- misuse


@pytest.mark.parametrize("thing", [42, None, "cus_1", b"x", [1], object()])
async def test_non_awaitables_are_configuration_errors(serve: Any, thing: Any) -> None:
    srv = serve(echo_customer)
    async with client(srv) as c:
        with pytest.raises(ConfigurationError):
            await c.with_raw_response(thing)
    assert srv.hits == []


async def test_the_method_itself_not_called_is_refused(serve: Any) -> None:
    srv = serve(echo_customer)
    async with client(srv) as c:
        with pytest.raises(ConfigurationError):
            await c.with_raw_response(c.customers.retrieve_customer)  # type: ignore[arg-type]
    assert srv.hits == []


async def test_an_already_awaited_coroutine_raises_without_sending_again(serve: Any) -> None:
    srv = serve(echo_customer)
    async with client(srv) as c:
        call = c.customers.retrieve_customer("cus_a")
        await call
        with pytest.raises((RuntimeError, ConfigurationError)):
            await c.with_raw_response(call)
        # the capture slot is gone afterwards: a plain call still works and raw works again
        raw = await c.with_raw_response(c.customers.retrieve_customer("cus_b"))
    assert raw.parsed.id == "cus_b" and raw.request_id == "req_cus_b"
    assert len(srv.hits) == 2


async def test_the_same_coroutine_twice(serve: Any) -> None:
    srv = serve(echo_customer)
    async with client(srv) as c:
        call = c.customers.retrieve_customer("cus_a")
        first = await c.with_raw_response(call)
        with pytest.raises((RuntimeError, ConfigurationError)):
            await c.with_raw_response(call)
    assert first.request_id == "req_cus_a"
    assert len(srv.hits) == 1


async def test_a_task_is_refused_but_its_error_says_so(serve: Any) -> None:
    srv = serve(echo_customer)
    async with client(srv) as c:
        task = asyncio.ensure_future(c.customers.retrieve_customer("cus_t"))
        await asyncio.sleep(0)
        with pytest.raises(ConfigurationError, match="Task"):
            await c.with_raw_response(task)
        assert task.done() and task.result().id == "cus_t"


async def test_gather_future_is_refused(serve: Any) -> None:
    srv = serve(echo_customer)
    async with client(srv) as c:
        fut = asyncio.gather(c.customers.retrieve_customer("a"), c.customers.retrieve_customer("b"))
        with pytest.raises(ConfigurationError):
            await c.with_raw_response(fut)


def list_handler(hit: Hit, n: int) -> Answer:
    if hit.path.startswith("/v1/customers?") or hit.path == "/v1/customers":
        after = "starting_after=" in hit.path
        data = [customer(f"cus_{n}_{i}") for i in range(2)]
        return (
            200,
            [("Request-Id", f"req_list_{n}")],
            {
                "object": "list",
                "data": data,
                "has_more": not after,
                "url": "/v1/customers",
            },
        )
    return echo_customer(hit, n)


async def test_paginator_gives_first_page_and_async_iterator_is_refused(serve: Any) -> None:
    srv = serve(list_handler)
    async with client(srv) as c:
        raw = await c.with_raw_response(c.customers.list_customers(size=2))
        assert raw.request_id == "req_list_1" and len(raw.parsed.data) == 2
        assert raw.attempts == 1 and raw.status_code == 200
        assert "?" not in raw.url
        pager = c.customers.list_customers(size=2)
        it = pager.__aiter__()
        with pytest.raises(ConfigurationError):
            await c.with_raw_response(it)  # type: ignore[arg-type]


async def test_nested_with_raw_response(serve: Any) -> None:
    """The inner call is sent once; the outer wrapper either works (its parsed is the inner
    APIResponse) or refuses before anything is sent, never drops a sent call's result with
    "the call sent no request"."""
    srv = serve(echo_customer)
    async with client(srv) as c:
        outer = await c.with_raw_response(c.with_raw_response(c.customers.retrieve_customer("cus_n")))
    assert len(srv.hits) == 1
    assert isinstance(outer.parsed, APIResponse)
    assert outer.parsed.parsed.id == "cus_n"
    assert outer.request_id == outer.parsed.request_id == "req_cus_n"


async def test_tasks_created_inside_the_call_do_not_hijack_its_response(serve: Any) -> None:
    """A coroutine that starts a side task of the same client and returns its own call's
    result: the raw response must be the one ``parsed`` was read from."""

    def slow_side(hit: Hit, n: int) -> Answer:
        if "side" in hit.path:
            import time

            time.sleep(0.3)
        return echo_customer(hit, n)

    srv = serve(slow_side)
    async with client(srv) as c:

        async def work() -> Any:
            side = asyncio.create_task(c.customers.retrieve_customer("cus_side"))
            mine = await c.customers.retrieve_customer("cus_mine")
            await side  # finishes after mine
            return mine

        raw = await c.with_raw_response(work())
    assert raw.parsed.id == "cus_mine"
    assert raw.request_id == "req_cus_mine"


async def test_gather_many_each_own_response(serve: Any) -> None:
    def jitter(hit: Hit, n: int) -> Answer:
        import random
        import time

        time.sleep(random.random() / 200)
        return echo_customer(hit, n)

    srv = serve(jitter)
    async with client(srv) as c:
        raws = await asyncio.gather(
            *(c.with_raw_response(c.customers.retrieve_customer(f"cus_{i}")) for i in range(60))
        )
    for i, raw in enumerate(raws):
        assert raw.parsed.id == f"cus_{i}"
        assert raw.request_id == f"req_cus_{i}"
        assert raw.url.endswith(f"/v1/customers/cus_{i}")


async def test_cancel_midway_leaves_no_slot_taken(serve: Any) -> None:
    import time

    def slow(hit: Hit, n: int) -> Answer:
        if "slow" in hit.path:
            time.sleep(0.5)
        return echo_customer(hit, n)

    srv = serve(slow)
    gate = asyncio.Event()

    async def stall(event: ResponseEvent) -> None:
        if "stall" in event.url:
            gate.set()
            await asyncio.sleep(10)

    async with client(srv, max_concurrency=1, on_response=[stall]) as c:
        t = asyncio.create_task(c.with_raw_response(c.customers.retrieve_customer("cus_slow")))
        await asyncio.sleep(0.1)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        # cancelled inside a slow on_response hook
        t2 = asyncio.create_task(c.with_raw_response(c.customers.retrieve_customer("cus_stall")))
        await asyncio.wait_for(gate.wait(), 5)
        t2.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t2
        raw = await asyncio.wait_for(c.with_raw_response(c.customers.retrieve_customer("cus_ok")), 5)
    assert raw.request_id == "req_cus_ok"


# --------------------------------------------------------------------------- retries


def scripted(*plan: Answer) -> Callable[[Hit, int], Answer]:
    """Answers in order; after the plan, the echo customer."""

    def handler(hit: Hit, n: int) -> Answer:
        if n <= len(plan):
            return plan[n - 1]
        return echo_customer(hit, n)

    return handler


def recorder() -> tuple[list[Any], Callable[[Any], None]]:
    seen: list[Any] = []
    return seen, seen.append


async def test_5xx_then_success_counts_match_the_server(serve: Any) -> None:
    srv = serve(
        scripted(
            (500, [("Request-Id", "req_e1")], {"error": {"message": "boom"}}),
            (503, [("Request-Id", "req_e2")], {"error": {"message": "boom"}}),
        )
    )
    reqs, on_req = recorder()
    resps, on_resp = recorder()
    async with client(srv, on_request=[on_req], on_response=[on_resp]) as c:
        raw = await c.with_raw_response(c.customers.create_customer(email="a@b.c"))
    assert len(srv.hits) == 3 == raw.attempts == len(reqs) == len(resps)
    assert [e.attempt for e in reqs] == [1, 2, 3] and all(e.max_attempts == 3 for e in reqs)
    assert [e.status_code for e in resps] == [500, 503, 200]
    assert [e.request_id for e in resps] == ["req_e1", "req_e2", "req_customers"]
    assert [e.will_retry for e in resps] == [True, True, False]
    assert isinstance(resps[0].error, APIStatusError) and resps[2].error is None
    assert resps[2].is_success and not resps[0].is_success
    keys = {h.headers.get("idempotency-key") for h in srv.hits}
    assert len(keys) == 1 and None not in keys
    assert raw.idempotency_key in keys and all(e.idempotency_key == raw.idempotency_key for e in reqs)
    assert raw.total_elapsed >= raw.elapsed


async def test_connection_reset_then_success(serve: Any) -> None:
    srv = serve(scripted("reset", "reset"))
    resps, on_resp = recorder()
    async with client(srv, on_response=[on_resp]) as c:
        raw = await c.with_raw_response(c.customers.retrieve_customer("cus_r"))
    assert raw.attempts == 3 == len(srv.hits) == len(resps)
    assert resps[0].status_code is None and resps[0].headers is None and resps[0].request_id is None
    assert isinstance(resps[0].error, PolvoError) and resps[0].will_retry
    assert raw.request_id == "req_cus_r"


async def test_reset_every_time_events_and_no_raw(serve: Any) -> None:
    srv = serve(lambda hit, n: "reset")
    resps, on_resp = recorder()
    async with client(srv, on_response=[on_resp]) as c:
        with pytest.raises(PolvoError):
            await c.with_raw_response(c.customers.retrieve_customer("cus_r"))
    assert len(srv.hits) == 3 == len(resps)
    assert [e.will_retry for e in resps] == [True, True, False]
    assert resps[-1].retry_in is None


async def test_429_retry_after_is_honoured_and_reported(serve: Any) -> None:
    srv = serve(scripted((429, [("Retry-After", "1"), ("Request-Id", "req_429")], {"error": {}})))
    resps, on_resp = recorder()
    async with client(srv, on_response=[on_resp], max_retries=RetryPolicy(2, initial_backoff=0.001)) as c:
        raw = await c.with_raw_response(c.customers.retrieve_customer("cus_429"))
    assert raw.attempts == 2 == len(srv.hits)
    assert resps[0].status_code == 429 and isinstance(resps[0].error, RateLimitError)
    assert resps[0].retry_in is not None and resps[0].retry_in >= 0.9
    assert raw.total_elapsed >= 0.9
    assert raw.elapsed < 0.9  # the final attempt's own time


async def test_post_without_retry_safety_counts(serve: Any) -> None:
    """A 500 on every attempt: the final event says no retry, the error is raised."""
    srv = serve(lambda hit, n: (500, [("Request-Id", f"req_{n}")], {"error": {"message": "x"}}))
    resps, on_resp = recorder()
    async with client(srv, on_response=[on_resp]) as c:
        with pytest.raises(APIStatusError) as info:
            await c.with_raw_response(c.customers.retrieve_customer("cus_x"))
    assert len(resps) == len(srv.hits) == 3
    assert info.value.request_id == "req_3"
    assert [e.request_id for e in resps] == ["req_1", "req_2", "req_3"]


# --------------------------------------------------------------------------- hooks


async def test_raising_on_request_sends_nothing_and_leaks_no_slot(serve: Any) -> None:
    srv = serve(echo_customer)
    boom = {"on": True}

    def bad(event: RequestEvent) -> None:
        if boom["on"]:
            raise KeyError("hook")

    async with client(srv, on_request=[bad], max_concurrency=1, rate_limit=1000) as c:
        for _ in range(5):
            with pytest.raises(KeyError):
                await asyncio.wait_for(c.with_raw_response(c.customers.retrieve_customer("x")), 5)
        assert srv.hits == []
        boom["on"] = False
        raw = await asyncio.wait_for(c.with_raw_response(c.customers.retrieve_customer("cus_y")), 5)
    assert raw.request_id == "req_cus_y" and len(srv.hits) == 1


async def test_raising_on_response_on_a_retry_stops_and_leaks_no_slot(serve: Any) -> None:
    srv = serve(lambda hit, n: (503, [], {"error": {}}) if n % 2 else echo_customer(hit, n))

    class Stop(Exception):
        pass

    def bad(event: ResponseEvent) -> None:
        if event.status_code == 503:
            raise Stop

    async with client(srv, on_response=[bad], max_concurrency=1) as c:
        with pytest.raises(Stop):
            await asyncio.wait_for(c.customers.retrieve_customer("cus_1"), 5)
        assert len(srv.hits) == 1
        raw = await asyncio.wait_for(c.with_raw_response(c.customers.retrieve_customer("cus_2")), 5)
    assert raw.attempts == 1


async def test_async_generator_hook_is_not_silently_ignored(serve: Any) -> None:
    """An ``async def`` with ``yield`` is callable but its result is not awaitable: the hook
    body never runs. Either refuse it at construction or run it."""
    srv = serve(echo_customer)
    ran: list[str] = []

    async def gen_hook(event: ResponseEvent) -> Any:
        ran.append(event.operation)
        yield None

    try:
        c = client(srv, on_response=[gen_hook])
    except ConfigurationError:
        return
    async with c:
        await c.customers.retrieve_customer("cus_1")
    assert ran == ["retrieve_customer"]


async def test_sync_and_async_hooks_in_order(serve: Any) -> None:
    srv = serve(echo_customer)
    order: list[str] = []

    def s1(e: RequestEvent) -> None:
        order.append("s1")

    async def a1(e: RequestEvent) -> None:
        await asyncio.sleep(0)
        order.append("a1")

    class Callable_:
        async def __call__(self, e: ResponseEvent) -> None:
            order.append("c")

    async with client(srv, on_request=[s1, a1, s1], on_response=[Callable_()]) as c:
        await c.customers.retrieve_customer("cus_1")
    assert order == ["s1", "a1", "s1", "c"]


@pytest.mark.parametrize("where", ["on_request", "on_response"])
async def test_slow_hook_counts_against_total_timeout(serve: Any, where: str) -> None:
    """A hook that outlasts ``total_timeout``: no request leaves after the deadline (aiohttp
    used to write attempt 2 on a pooled connection before the expired timeout fired)."""
    srv = serve(scripted((503, [], {"error": {}})))
    calls: list[int] = []

    async def slow(e: Any) -> None:
        calls.append(e.attempt)
        if (e.attempt == 1 and where == "on_response") or e.attempt == 2:
            await asyncio.sleep(0.6)

    async with client(srv, total_timeout=0.3, **{where: [slow]}) as c:
        with pytest.raises(APITimeoutError):
            await asyncio.wait_for(c.customers.retrieve_customer("cus_1"), 5)
    assert len(srv.hits) == 1


async def test_on_response_hook_calling_the_same_client_with_one_slot(serve: Any) -> None:
    """Docs warn only about ``on_request``: an ``on_response`` hook that makes a call of the
    same client must not deadlock a client of one slot."""
    srv = serve(echo_customer)
    inner: list[str] = []

    async def follow_up(event: ResponseEvent) -> None:
        if event.url.endswith("cus_outer"):
            got = await c.customers.retrieve_customer("cus_inner")
            inner.append(got.id)

    c = client(srv, on_response=[follow_up], max_concurrency=1)
    async with c:
        raw = await asyncio.wait_for(c.with_raw_response(c.customers.retrieve_customer("cus_outer")), 5)
    assert inner == ["cus_inner"]
    assert raw.parsed.id == "cus_outer" and raw.request_id == "req_cus_outer"


async def test_on_request_hook_calling_the_client_keeps_raw_response_right(serve: Any) -> None:
    srv = serve(echo_customer)

    async def pre(event: RequestEvent) -> None:
        if event.url.endswith("cus_outer"):
            await other.customers.retrieve_customer("cus_pre")

    async with client(srv) as other, client(srv, on_request=[pre]) as c:
        raw = await c.with_raw_response(c.customers.retrieve_customer("cus_outer"))
    assert raw.request_id == "req_cus_outer" and raw.operation == "retrieve_customer"


@pytest.mark.parametrize("bad", [{"x": 1}, {print}, "print", 3, [print, 3]])
def test_bad_hook_arguments(bad: Any) -> None:
    with pytest.raises(ConfigurationError):
        StripeClient(api_key=KEY, on_request=bad)
    with pytest.raises(ConfigurationError):
        StripeClient(api_key=KEY, on_response=bad)


# --------------------------------------------------------------------------- secrets


def echo_secrets(hit: Hit, n: int) -> Answer:
    auth = hit.headers.get("authorization", "")
    return (
        200,
        [
            ("Request-Id", f"req_{auth}"),
            ("X-Echo-Auth", auth),
            ("X-Echo-Path", hit.path),
            ("X-Echo-B64", base64.b64encode(auth.encode()).decode()),
        ],
        customer(),
    )


def all_text(*objs: Any) -> str:
    parts = []
    for o in objs:
        parts.append(repr(o))
        parts.append(str(o))
        for name in getattr(type(o), "__slots__", ()) or getattr(o, "__dataclass_fields__", {}):
            value = getattr(o, name, None)
            parts.append(repr(value))
            if hasattr(value, "multi_items"):
                parts.extend(f"{k}: {v}" for k, v in value.multi_items())
    return "\n".join(parts)


@pytest.mark.parametrize("how", ["api_key", "token_auth"])
async def test_echoed_credentials_never_in_events_raw_or_logs(
    serve: Any, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    srv = serve(echo_secrets)
    reqs, on_req = recorder()
    resps, on_resp = recorder()
    kw: dict[str, Any] = {"on_request": [on_req], "on_response": [on_resp], "max_retries": FAST}
    if how == "api_key":
        c = StripeClient(api_key=KEY, base_url=srv.url, rate_limit=None, **kw)
    else:
        c = StripeClient(auth=TokenAuth(KEY), base_url=srv.url, rate_limit=None, **kw)
    caplog.set_level(logging.DEBUG, logger="usepolvo")
    async with c:
        raw = await c.with_raw_response(c.customers.retrieve_customer("cus_1"))
    assert srv.hits[0].headers["authorization"].endswith(KEY)  # it was sent
    text = all_text(raw, *reqs, *resps) + "\n".join(r.getMessage() for r in caplog.records)
    text += "\n".join(json.dumps(getattr(r, "request_id", None)) for r in caplog.records)
    assert KEY not in text
    assert KEY[8:] not in text


async def test_userinfo_in_base_url_not_in_events_or_raw(serve: Any) -> None:
    srv = serve(echo_customer)
    reqs, on_req = recorder()
    base = srv.url.replace("http://", "http://user:hunter2pass@")
    try:
        c = StripeClient(api_key=KEY, base_url=base, rate_limit=None, on_request=[on_req])
    except ConfigurationError:
        return
    async with c:
        raw = await c.with_raw_response(c.customers.retrieve_customer("cus_1"))
    assert "hunter2pass" not in all_text(raw, *reqs)


async def test_error_in_event_does_not_expose_request_headers(serve: Any) -> None:
    srv = serve(
        lambda hit, n: (401, [], {"error": {"message": f"bad key {hit.headers.get('authorization')}"}})
    )
    resps, on_resp = recorder()
    async with client(srv, on_response=[on_resp]) as c:
        with pytest.raises(PolvoError):
            await c.customers.retrieve_customer("cus_1")
    err = resps[-1].error
    text = repr(err) + str(err) + repr(vars(err) if hasattr(err, "__dict__") else "")
    for name in dir(err):
        if not name.startswith("__"):
            with contextlib.suppress(AttributeError, TypeError, ValueError):
                text += repr(getattr(err, name))
    assert KEY not in text


# --------------------------------------------------------------------------- request ids


async def test_request_id_absent_duplicated_huge(serve: Any, caplog: pytest.LogCaptureFixture) -> None:
    def handler(hit: Hit, n: int) -> Answer:
        if "absent" in hit.path:
            return 200, [], customer()
        if "dup" in hit.path:
            return 200, [("Request-Id", "req_a"), ("Request-Id", "req_b")], customer()
        return 200, [("Request-Id", "r" * 8000)], customer()  # aiohttp: 8190 a line

    srv = serve(handler)
    caplog.set_level(logging.DEBUG, logger="usepolvo")
    _, on_resp = recorder()
    async with client(srv, on_response=[on_resp]) as c:
        absent = await c.with_raw_response(c.customers.retrieve_customer("absent"))
        dup = await c.with_raw_response(c.customers.retrieve_customer("dup"))
        huge = await c.with_raw_response(c.customers.retrieve_customer("huge"))
    assert absent.request_id is None and "request_id" not in repr(absent)
    assert dup.request_id in ("req_a", "req_b", "req_a, req_b")
    assert dup.headers.get_list("Request-Id") == ["req_a", "req_b"]
    assert huge.request_id == "r" * 8000
    assert len(repr(huge)) < 9000
    lines = [r.getMessage() for r in caplog.records if r.name == "usepolvo"]
    assert len(lines) == 3
    assert "request id" not in lines[0]
    assert all(len(line) < 500 for line in lines)


async def test_debug_line_has_latency_request_id_and_attempts(
    serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    srv = serve(scripted((503, [("Request-Id", "req_first")], {"error": {}})))
    caplog.set_level(logging.DEBUG, logger="usepolvo")
    async with client(srv) as c:
        await c.customers.retrieve_customer("cus_1")
    lines = [r.getMessage() for r in caplog.records if r.name == "usepolvo"]
    assert len(lines) == 2
    assert "503" in lines[0] and "request id req_first" in lines[0] and "attempt 1/3" in lines[0]
    assert "ms" in lines[1] and "request id req_cus_1" in lines[1] and "attempt 2/3" in lines[1]


# --------------------------------------------------------------------------- strict, mock, stream


async def test_strict_failure_is_an_attempt_with_error(serve: Any) -> None:
    srv = serve(lambda hit, n: (200, [("Request-Id", "req_s")], {"id": 5, "object": "customer"}))
    resps, on_resp = recorder()
    async with client(srv, strict=True, on_response=[on_resp]) as c:
        with pytest.raises(ResponseValidationError) as info:
            await c.with_raw_response(c.customers.retrieve_customer("cus_1"))
    assert len(srv.hits) == 1
    assert len(resps) == 1
    assert resps[0].status_code == 200 and isinstance(resps[0].error, ResponseValidationError)
    assert not resps[0].is_success and not resps[0].will_retry
    assert getattr(info.value, "request_id", "req_s") == "req_s"


async def test_mockapi_raw_and_hooks() -> None:
    reqs, on_req = recorder()
    with MockAPI() as api:
        api.get("/v1/customers/cus_m", status=503, json={"error": {}}, times=1)
        api.get("/v1/customers/cus_m", json=customer("cus_m"), headers={"Request-Id": "req_mock"})
        async with StripeClient(api_key=KEY, max_retries=FAST, on_request=[on_req]) as c:
            raw = await c.with_raw_response(c.customers.retrieve_customer("cus_m"))
    assert raw.request_id == "req_mock" and raw.attempts == 2 and len(reqs) == 2
    assert raw.parsed.id == "cus_m" and raw.status_code == 200
    assert raw.url.endswith("/v1/customers/cus_m")


async def test_hash_and_eq_by_identity() -> None:
    with MockAPI() as api:
        api.get("/v1/customers/cus_m", json=customer("cus_m"))
        async with StripeClient(api_key=KEY) as c:
            raw = await c.with_raw_response(c.customers.retrieve_customer("cus_m"))
    assert raw == raw and len({raw}) == 1
    with pytest.raises(dataclass_frozen_errors()):
        raw.status_code = 1  # type: ignore[misc]


def dataclass_frozen_errors() -> tuple[type[BaseException], ...]:
    import dataclasses

    return (dataclasses.FrozenInstanceError, AttributeError)


async def test_counter_independent_ids() -> None:
    counter = itertools.count()

    def handler(request: Any) -> Any:
        import httpx

        i = next(counter)
        return httpx.Response(200, json=customer(f"cus_{i}"), headers={"Request-Id": f"req_{i}"})

    with MockAPI() as api:
        api.get("/v1/customers/x", handler=handler, times=None)
        async with StripeClient(api_key=KEY) as c:
            raws = await asyncio.gather(
                *(c.with_raw_response(c.customers.retrieve_customer("x")) for _ in range(50))
            )
    assert sorted(r.parsed.id for r in raws) == sorted(f"cus_{i}" for i in range(50))
    assert all(r.request_id == "req_" + r.parsed.id[4:] for r in raws)
