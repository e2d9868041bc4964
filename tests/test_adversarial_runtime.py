# ruff: noqa: SIM117
"""Adversarial tests for issue 10 (hostile servers, hostile inputs) and issue 13's fail-fast
configuration, on whichever transport ``POLVO_TRANSPORT`` selects.

Every server here is a raw asyncio socket server on 127.0.0.1 (``tests/servers/raw.py``) that
answers each request with bytes chosen by the test; it records the request heads it saw."""

from __future__ import annotations

import asyncio
import gzip
import logging
import math
import os
import threading
import traceback
import zlib
from collections.abc import Awaitable
from typing import Any

import pytest

from tests.servers.raw import RawServer, Responder
from usepolvo.core import (
    APIError,
    APITimeoutError,
    ConfigurationError,
    PolvoError,
    ResponseTooLargeError,
)

KEY = "sk_test_SECRETsecret0123456789abcdef"
TRANSPORT = os.environ.get("POLVO_TRANSPORT") or None

CUSTOMER = b'{"id": "cus_1", "object": "customer", "created": 1700000000, "livemode": false}'


def ok(body: bytes = CUSTOMER, extra: bytes = b"") -> Responder:
    async def respond(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n"
            + extra
            + b"\r\n"
            + body
        )
        await writer.drain()

    return respond


def raw(data: bytes, close: bool = True, then_sleep: float = 0.0) -> Responder:
    async def respond(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        await writer.drain()
        if then_sleep:
            await asyncio.sleep(then_sleep)
        if close:
            writer.close()

    return respond


def stripe(url: str, **kw: Any) -> Any:
    from usepolvo.stripe import StripeClient

    kw.setdefault("max_retries", 0)
    kw.setdefault("rate_limit", None)
    return StripeClient(api_key=KEY, base_url=url, transport=TRANSPORT, **kw)


def github(url: str, **kw: Any) -> Any:
    from usepolvo.github import GitHubClient

    kw.setdefault("max_retries", 0)
    kw.setdefault("rate_limit", None)
    return GitHubClient(token=KEY, base_url=url, transport=TRANSPORT, **kw)


# -- secret scan --------------------------------------------------------------------------


def _reachable_text(exc: BaseException) -> str:
    """str/repr/args/attributes of the exception and of its cause/context chain, and the
    formatted traceback."""
    seen: set[int] = set()
    parts: list[str] = []

    def walk(obj: Any, depth: int) -> None:
        if id(obj) in seen or depth > 4:
            return
        seen.add(id(obj))
        try:
            parts.append(repr(obj))
            parts.append(str(obj))
        except Exception:  # noqa: BLE001
            pass
        if isinstance(obj, BaseException):
            for a in obj.args:
                walk(a, depth + 1)
            for c in (obj.__cause__, obj.__context__):
                if c is not None:
                    walk(c, depth + 1)
        attrs = getattr(obj, "__dict__", None)
        if isinstance(attrs, dict):
            for v in attrs.values():
                walk(v, depth + 1)
        if isinstance(obj, dict):
            for k, v in obj.items():
                walk(k, depth + 1)
                walk(v, depth + 1)
        if isinstance(obj, (list, tuple)):
            for v in obj:
                walk(v, depth + 1)

    walk(exc, 0)
    parts.append("".join(traceback.format_exception(exc)))
    return "\n".join(parts)


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(record.getMessage())
        except Exception:  # noqa: BLE001
            self.lines.append(repr(record.msg) + repr(record.args))


@pytest.fixture()
def logs() -> Any:
    cap = _Capture()
    loggers = [logging.getLogger(n) for n in ("usepolvo", "httpx", "httpcore", "aiohttp", "asyncio")]
    old = [(lg.level, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.addHandler(cap)
    yield cap
    for lg, (level, _prop) in zip(loggers, old, strict=True):
        lg.removeHandler(cap)
        lg.setLevel(level)


def assert_no_secret(exc: BaseException, logs: _Capture) -> None:
    text = _reachable_text(exc)
    assert KEY not in text, text
    assert KEY[8:] not in text, text
    joined = "\n".join(logs.lines)
    assert KEY not in joined, joined
    assert KEY[8:] not in joined


async def expect_error(coro: Awaitable[Any], kind: type[BaseException], logs: _Capture) -> BaseException:
    with pytest.raises(kind) as info:
        await coro
    assert isinstance(info.value, PolvoError), type(info.value)
    assert_no_secret(info.value, logs)
    return info.value


# -- path parameters ----------------------------------------------------------------------

HOSTILE_IDS = [
    "%2e%2e",
    "%2E%2E",
    "..%2f",
    "..%2F..",
    ".%2e",
    "cus_1/..",
    "..\\..",
    "\\..\\",
    "\u2024\u2024",  # one dot leader, twice
    "\uff0e\uff0e",  # fullwidth full stops
    "cus_1?expand=x",
    "cus_1#frag",
    "cus 1",
    "cus_1;x=y",
    "a" * 5000,
    "..;",
    ".. ",
    " ..",
    "%00",
    "cus_\u00e9",
]


@pytest.mark.parametrize("value", HOSTILE_IDS, ids=range(len(HOSTILE_IDS)))
async def test_path_value_never_changes_route(value: str, logs: _Capture) -> None:
    async with RawServer(ok()) as srv:
        async with stripe(srv.url) as c:
            try:
                await c.customers.retrieve_customer(value)
            except ConfigurationError as err:
                assert_no_secret(err, logs)
                assert srv.requests == []
                return
        [path] = srv.paths()
        assert path.startswith("/v1/customers/"), path
        rest = path[len("/v1/customers/") :]
        assert rest and "/" not in rest and "?" not in rest and "#" not in rest, path
        assert rest not in (".", "..") and rest.lower() not in ("%2e", "%2e%2e"), path


@pytest.mark.parametrize("value", [None, "", 1.5, True, b"cus_1", ["a"], {"a": 1}, object()])
async def test_path_value_wrong_type_is_refused_before_request(value: Any, logs: _Capture) -> None:
    async with RawServer(ok()) as srv:
        async with stripe(srv.url) as c:
            await expect_error(c.customers.retrieve_customer(value), ConfigurationError, logs)
        assert srv.requests == []


MULTI = [
    "a/../..",
    "a/./b",
    "../x",
    "a/%2e%2e/b",
    "a\\..\\..",
    "a/b?ref=evil",
    "a/b#x",
    "a//b",
    "/a",
    "a/",
    "a/..%2f..",
]


@pytest.mark.parametrize("value", MULTI, ids=range(len(MULTI)))
async def test_multi_segment_path_stays_under_contents(value: str, logs: _Capture) -> None:
    body = b'{"type": "file", "name": "x", "path": "x", "sha": "1", "size": 1}'
    async with RawServer(ok(body)) as srv:
        async with github(srv.url) as gh:
            try:
                await gh.repos.get_content("octo", "app", value)
            except ConfigurationError as err:
                assert_no_secret(err, logs)
                assert srv.requests == []
                return
            except APIError:
                pass
        [path] = srv.paths()
        assert path.startswith("/repos/octo/app/contents/"), path
        rest = path.split("?", 1)[0][len("/repos/octo/app/contents/") :]
        assert ".." not in rest.split("/") and "." not in rest.split("/"), path
        assert "?" not in path and "#" not in path, path


# -- header / key values ------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["sk_test_a\r\nX-Evil: 1", "sk_test_\u00e9\u00e9", "sk_test_a\x00b", "sk_test_a\tb", "sk_test_\x7f", ""],
)
def test_bad_keys_refused_at_construction(key: str) -> None:
    from usepolvo.stripe import StripeClient

    with pytest.raises(ConfigurationError) as info:
        StripeClient(api_key=key, base_url="http://127.0.0.1:9", transport=TRANSPORT)
    if key:
        assert key not in _reachable_text(info.value)
        assert key[8:] not in _reachable_text(info.value)


@pytest.mark.parametrize("value", ["a\r\nX-Evil: 1", "\u00e9", "a\x00", "a\nb"])
async def test_bad_header_values_in_request_options(value: str, logs: _Capture) -> None:
    async with RawServer(ok()) as srv:
        async with stripe(srv.url) as c:
            await expect_error(
                c.customers.retrieve_customer("cus_1", request_options={"headers": {"X-Thing": value}}),
                ConfigurationError,
                logs,
            )
            await expect_error(
                c.customers.create_customer(request_options={"idempotency_key": value}),
                ConfigurationError,
                logs,
            )
        assert srv.requests == []


@pytest.mark.parametrize("name", ["X Bad", "X:Bad", "X\r\nBad", "", "X-\u00e9"])
async def test_bad_header_names_in_request_options(name: str, logs: _Capture) -> None:
    async with RawServer(ok()) as srv:
        async with stripe(srv.url) as c:
            await expect_error(
                c.customers.retrieve_customer("cus_1", request_options={"headers": {name: "v"}}),
                ConfigurationError,
                logs,
            )
        assert srv.requests == []


# -- configuration fail fast (issue 13) ---------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["127.0.0.1:9", "localhost", "ftp://127.0.0.1", "//127.0.0.1", "http://", "http:// x", "file:///etc"],
)
def test_base_url_without_http_scheme(url: str) -> None:
    from usepolvo.stripe import StripeClient

    with pytest.raises(ConfigurationError):
        StripeClient(api_key=KEY, base_url=url, transport=TRANSPORT)


BAD_TIMEOUTS: list[Any] = [0, -1, -0.0, math.nan, math.inf, -math.inf, 10**400, True, False, "5", [5], 1j]


@pytest.mark.parametrize("name", ["timeout", "connect_timeout", "total_timeout"])
@pytest.mark.parametrize("value", BAD_TIMEOUTS, ids=repr)
def test_bad_timeouts_at_construction(name: str, value: Any) -> None:
    from usepolvo.stripe import StripeClient

    with pytest.raises(ConfigurationError):
        StripeClient(api_key=KEY, base_url="http://127.0.0.1:9", transport=TRANSPORT, **{name: value})


@pytest.mark.parametrize("name", ["timeout", "total_timeout"])
@pytest.mark.parametrize("value", BAD_TIMEOUTS, ids=repr)
async def test_bad_timeouts_per_call(name: str, value: Any, logs: _Capture) -> None:
    async with RawServer(ok()) as srv:
        async with stripe(srv.url) as c:
            await expect_error(
                c.customers.retrieve_customer("cus_1", request_options={name: value}),
                ConfigurationError,
                logs,
            )
        assert srv.requests == []


@pytest.mark.parametrize("value", [1e300, 10**12, 1e-300, 2**64])
@pytest.mark.parametrize("name", ["timeout", "connect_timeout", "total_timeout"])
async def test_extreme_but_accepted_timeouts_work(name: str, value: Any, logs: _Capture) -> None:
    """A timeout the client accepts at construction must give a working call (or a typed
    error), never a raw OverflowError/ValueError from the socket layer."""
    from usepolvo.stripe import StripeClient

    try:
        c = StripeClient(api_key=KEY, base_url="http://127.0.0.1:9", transport=TRANSPORT, **{name: value})
    except ConfigurationError:
        return
    await c.aclose()
    async with RawServer(ok()) as srv, stripe(srv.url, **{name: value}) as c:
        try:
            got = await asyncio.wait_for(c.customers.retrieve_customer("cus_1"), 3)
        except PolvoError as err:
            assert_no_secret(err, logs)
            assert value == 1e-300, repr(err)
            return
        assert got.id == "cus_1"
        try:
            got = await asyncio.wait_for(
                c.customers.retrieve_customer("cus_1", request_options={name: value}), 3
            )
        except PolvoError as err:
            assert_no_secret(err, logs)
            assert value == 1e-300, repr(err)
            return


@pytest.mark.parametrize("value", [0, -1, True, 1.5, "10", math.nan])
def test_bad_max_response_bytes(value: Any) -> None:
    from usepolvo.stripe import StripeClient

    with pytest.raises(ConfigurationError):
        StripeClient(
            api_key=KEY, base_url="http://127.0.0.1:9", transport=TRANSPORT, max_response_bytes=value
        )


@pytest.mark.parametrize("value", [0, -1, True, 1.5, "10"])
async def test_bad_max_response_bytes_per_call(value: Any, logs: _Capture) -> None:
    async with RawServer(ok()) as srv:
        async with stripe(srv.url) as c:
            await expect_error(
                c.customers.retrieve_customer("cus_1", request_options={"max_response_bytes": value}),
                ConfigurationError,
                logs,
            )
        assert srv.requests == []


@pytest.mark.parametrize(
    "opts", [{"timeot": 5}, {"Timeout": 5}, {"headers": "x"}, {"max_retries": -1}, {"max_retries": "2"}]
)
async def test_bad_request_options(opts: dict[str, Any], logs: _Capture) -> None:
    async with RawServer(ok()) as srv:
        async with stripe(srv.url) as c:
            await expect_error(
                c.customers.retrieve_customer("cus_1", request_options=opts), ConfigurationError, logs
            )
        assert srv.requests == []


async def test_request_options_not_a_mapping(logs: _Capture) -> None:
    async with RawServer(ok()) as srv:
        async with stripe(srv.url) as c:
            await expect_error(
                c.customers.retrieve_customer("cus_1", request_options=[("timeout", 5)]),  # type: ignore[arg-type]
                ConfigurationError,
                logs,
            )


async def test_user_http_client_keeps_sdk_timeouts(logs: _Capture) -> None:
    import httpx

    if TRANSPORT == "aiohttp":
        pytest.skip("http_client= is an httpx client")
    async with (
        RawServer(raw(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{", close=False, then_sleep=5)) as srv,
        httpx.AsyncClient() as mine,
    ):
        c = stripe(srv.url, http_client=mine, timeout=0.3)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await expect_error(c.customers.retrieve_customer("cus_1"), APITimeoutError, logs)
        assert loop.time() - t0 < 2
        await c.aclose()
        assert not mine.is_closed


# -- hostile servers ----------------------------------------------------------------------

HOSTILE: dict[str, Responder] = {
    "cl-too-long": raw(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n" + CUSTOMER
    ),
    "cl-negative": raw(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: -5\r\n\r\n" + CUSTOMER
    ),
    "cl-garbage": raw(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n" + CUSTOMER
    ),
    "cl-double": raw(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\nContent-Length: 80\r\n\r\n"
        + CUSTOMER
    ),
    "chunk-garbage": raw(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"
    ),
    "chunk-truncated": raw(
        b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{"id": '
    ),
    "gzip-lie": raw(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: "
        + str(len(CUSTOMER)).encode()
        + b"\r\n\r\n"
        + CUSTOMER
    ),
    "deflate-lie": raw(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: deflate\r\nContent-Length: 4\r\n\r\nabcd"
    ),
    "br-lie": raw(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: br\r\nContent-Length: 4\r\n\r\nabcd"
    ),
    "zstd-lie": raw(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: zstd\r\nContent-Length: 4\r\n\r\nabcd"
    ),
    "unknown-encoding": raw(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: x-weird\r\nContent-Length: 4\r\n\r\nabcd"
    ),
    "gzip-truncated": raw(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: 20\r\n\r\n"
        + gzip.compress(CUSTOMER)[:20]
    ),
    "reset-after-headers": raw(
        b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 80\r\n\r\n{"id'
    ),
    "not-http": raw(b"SSH-2.0-OpenSSH_9.0\r\n\r\n"),
    "empty-close": raw(b""),
    "bad-status": raw(b"HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n"),
    "status-999": raw(b"HTTP/1.1 999 Weird\r\nContent-Length: 2\r\n\r\n{}"),
    "header-no-colon": raw(b"HTTP/1.1 200 OK\r\nGarbage\r\nContent-Length: 2\r\n\r\n{}"),
    "huge-header": raw(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 200_000 + b"\r\nContent-Length: 2\r\n\r\n{}"),
    "sse-on-plain": raw(
        b'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 20\r\n\r\ndata: {"id": 1}\n\n\n\n'
    ),
    "html-200": raw(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 13\r\n\r\n<html></html>"),
    "json-list": raw(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]"),
    "json-null": raw(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\nnull"),
    "json-nan": raw(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 3\r\n\r\nNaN"),
    "json-deep": raw(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n"
        + b"[" * 100_000
        + b"]" * 100_000
    ),
    "json-bad-utf8": raw(
        b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\n"\xff\xfe"'
    ),
    "echo-key-500": raw(
        b"HTTP/1.1 500 Oops\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(b'{"error": {"message": "bad key Bearer ' + KEY.encode() + b'"}}')).encode()
        + b"\r\n\r\n"
        + b'{"error": {"message": "bad key Bearer '
        + KEY.encode()
        + b'"}}'
    ),
    "echo-key-header": raw(
        b"HTTP/1.1 400 Bad\r\nX-Echo: "
        + KEY.encode()
        + b"\r\nContent-Type: text/plain\r\nContent-Length: "
        + str(len(KEY)).encode()
        + b"\r\n\r\n"
        + KEY.encode()
    ),
    "redirect-other-host": raw(
        b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.2:9/x\r\nContent-Length: 0\r\n\r\n"
    ),
    "redirect-self-loop": raw(
        b"HTTP/1.1 302 Found\r\nLocation: /v1/customers/cus_1\r\nContent-Length: 0\r\n\r\n", close=False
    ),
    "early-hints": raw(
        b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(CUSTOMER)).encode() + b"\r\n\r\n" + CUSTOMER
    ),
    "continue-then-200": raw(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(CUSTOMER)).encode() + b"\r\n\r\n" + CUSTOMER
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_hostile_server_gives_typed_error_without_secret(name: str, logs: _Capture) -> None:
    async with RawServer(HOSTILE[name]) as srv:
        async with stripe(srv.url, total_timeout=5) as c:
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            try:
                result = await c.customers.retrieve_customer("cus_1")
            except PolvoError as err:
                assert_no_secret(err, logs)
                if name.startswith("redirect"):
                    # a redirect loop ends (httpx and aiohttp stop after 20 hops)
                    assert len(srv.requests) <= 21
            except BaseException as err:  # noqa: BLE001
                pytest.fail(f"untyped {type(err).__module__}.{type(err).__name__}: {err!r}")
            else:
                assert (
                    name in ("early-hints", "continue-then-200", "cl-double", "status-999")
                    or getattr(result, "id", None) == "cus_1"
                ), (name, result)
                assert getattr(result, "id", None) == "cus_1" or name == "status-999", (name, result)
            assert loop.time() - t0 < 5.5
        assert "\n".join(logs.lines).count(KEY) == 0


async def test_create_with_echoed_key_in_400_redacted(logs: _Capture) -> None:
    async with RawServer(HOSTILE["echo-key-500"]) as srv, stripe(srv.url) as c:
        err = await expect_error(c.customers.create_customer(email="a@b.c"), APIError, logs)
        assert getattr(err, "idempotency_key", None)


# -- sizes --------------------------------------------------------------------------------


async def test_gzip_bomb_stops_at_bound(logs: _Capture) -> None:
    bomb = gzip.compress(b"{" + b" " * (64 * 1024 * 1024) + b"}", compresslevel=9)
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: "
        + str(len(bomb)).encode()
        + b"\r\n\r\n"
    )
    async with RawServer(raw(head + bomb)) as srv, stripe(srv.url, max_response_bytes=1024 * 1024) as c:
        await expect_error(c.customers.retrieve_customer("cus_1"), ResponseTooLargeError, logs)


async def test_deflate_bomb_stops_at_bound(logs: _Capture) -> None:
    bomb = zlib.compress(b"{" + b" " * (32 * 1024 * 1024) + b"}", 9)
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: deflate\r\nContent-Length: "
        + str(len(bomb)).encode()
        + b"\r\n\r\n"
    )
    async with RawServer(raw(head + bomb)) as srv, stripe(srv.url) as c:
        await expect_error(
            c.customers.retrieve_customer("cus_1", request_options={"max_response_bytes": 1000}),
            ResponseTooLargeError,
            logs,
        )


async def test_max_response_bytes_exact_boundary(logs: _Capture) -> None:
    n = len(CUSTOMER)
    async with RawServer(ok()) as srv, stripe(srv.url) as c:
        got = await c.customers.retrieve_customer("cus_1", request_options={"max_response_bytes": n})
        assert got.id == "cus_1"
        await expect_error(
            c.customers.retrieve_customer("cus_1", request_options={"max_response_bytes": n - 1}),
            ResponseTooLargeError,
            logs,
        )
        got = await c.customers.retrieve_customer("cus_1", request_options={"max_response_bytes": None})
        assert got.id == "cus_1"


async def test_chunked_endless_body_bounded(logs: _Capture) -> None:
    async def respond(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"a" * 65536
        for _ in range(1000):
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
        writer.close()

    async with RawServer(respond) as srv:
        async with stripe(srv.url, max_response_bytes=200_000, total_timeout=10) as c:
            await expect_error(c.customers.retrieve_customer("cus_1"), ResponseTooLargeError, logs)


# -- time ---------------------------------------------------------------------------------


async def test_dribbling_server_bounded_by_total_timeout(logs: _Capture) -> None:
    async def respond(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
        for _ in range(100):
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(0.1)

    async with RawServer(respond) as srv, stripe(srv.url, total_timeout=0.7) as c:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await expect_error(c.customers.retrieve_customer("cus_1"), APITimeoutError, logs)
        assert loop.time() - t0 < 1.2


async def test_endless_sse_line_on_plain_op_bounded(logs: _Capture) -> None:
    async def respond(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        for _ in range(2000):
            writer.write(b"400\r\n" + b"d" * 1024 + b"\r\n")
            await writer.drain()
        writer.close()

    async with RawServer(respond) as srv:
        async with stripe(srv.url, max_response_bytes=100_000, total_timeout=5) as c:
            with pytest.raises(PolvoError) as info:
                await c.customers.retrieve_customer("cus_1")
            assert_no_secret(info.value, logs)


async def test_cancel_mid_body_then_reuse(logs: _Capture) -> None:
    async def respond(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if head.startswith(b"GET /v1/customers/slow"):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
            await writer.drain()
            await asyncio.sleep(3)
            writer.close()
            return
        await ok()(head, reader, writer)

    async with RawServer(respond) as srv, stripe(srv.url) as c:
        task = asyncio.ensure_future(c.customers.retrieve_customer("slow"))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        got = await asyncio.wait_for(c.customers.retrieve_customer("cus_1"), 2)
        assert got.id == "cus_1"


# -- lifecycle ----------------------------------------------------------------------------


async def test_use_after_aclose_refused(logs: _Capture) -> None:
    async with RawServer(ok()) as srv:
        c = stripe(srv.url)
        assert (await c.customers.retrieve_customer("cus_1")).id == "cus_1"
        await c.aclose()
        await c.aclose()  # twice is fine
        await expect_error(c.customers.retrieve_customer("cus_1"), ConfigurationError, logs)
        assert len(srv.requests) == 1


async def test_aclose_before_any_call_then_use(logs: _Capture) -> None:
    async with RawServer(ok()) as srv:
        c = stripe(srv.url)
        await c.aclose()
        await expect_error(c.customers.retrieve_customer("cus_1"), ConfigurationError, logs)
        assert srv.requests == []


def test_client_across_asyncio_run_calls() -> None:
    import warnings

    box: dict[str, Any] = {}

    async def start() -> None:
        srv = RawServer(ok())
        await srv.__aenter__()
        box["srv"] = srv

    # server in its own thread loop so it survives the asyncio.run calls
    ready = threading.Event()
    loop = asyncio.new_event_loop()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    ready.wait(5)
    try:
        c = stripe(box["srv"].url)
        with warnings.catch_warnings():
            warnings.simplefilter("error", ResourceWarning)
            for _ in range(3):
                got = asyncio.run(c.customers.retrieve_customer("cus_1"))
                assert got.id == "cus_1"
            asyncio.run(c.aclose())
    finally:
        fut = asyncio.run_coroutine_threadsafe(box["srv"].__aexit__(None, None, None), loop)
        fut.result(5)
        loop.call_soon_threadsafe(loop.stop)
        th.join(5)
        loop.close()


def test_two_threads_share_client() -> None:
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    box: dict[str, Any] = {}

    async def slow(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.3)
        await ok()(head, reader, writer)

    async def start() -> None:
        srv = RawServer(slow)
        await srv.__aenter__()
        box["srv"] = srv

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    ready.wait(5)
    c = stripe(box["srv"].url)
    results: list[Any] = []

    def worker() -> None:
        async def go() -> Any:
            return await asyncio.gather(
                *(c.customers.retrieve_customer("cus_1") for _ in range(5)), return_exceptions=True
            )

        results.extend(asyncio.run(go()))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(5)
        assert not any(t.is_alive() for t in threads), "a thread hung"
        assert len(results) == 10
        for r in results:
            assert getattr(r, "id", None) == "cus_1" or isinstance(r, ConfigurationError), repr(r)
    finally:
        fut = asyncio.run_coroutine_threadsafe(box["srv"].__aexit__(None, None, None), loop)
        fut.result(5)
        loop.call_soon_threadsafe(loop.stop)
        th.join(5)
        loop.close()


# -- MockAPI ------------------------------------------------------------------------------


async def test_mockapi_path_regex_and_hostile_ids(logs: _Capture) -> None:
    from usepolvo.testing import MockAPI

    with MockAPI(assert_all_called=False) as api:
        route = api.get("/v1/customers/cus%2F1", json={"id": "cus/1", "object": "customer"})
        async with StripeClientCtx() as c:
            got = await c.customers.retrieve_customer("cus/1")
            assert got.id == "cus/1"
            assert len(route.calls) == 1
            from usepolvo.testing import UnmatchedRequestError

            with pytest.raises(UnmatchedRequestError) as unmatched:
                await c.customers.retrieve_customer("other")
            assert KEY not in _reachable_text(unmatched.value)
            # a route written decoded never answers an id holding '/' (it is not a sub-path)
            api.get("/v1/customers/cus/2", json={"id": "wrong", "object": "customer"})
            with pytest.raises(UnmatchedRequestError):
                await c.customers.retrieve_customer("cus/2")


async def test_mockapi_handler_raising_arbitrary_exception(logs: _Capture) -> None:
    from usepolvo.testing import MockAPI

    def handler(request: Any) -> Any:
        raise ValueError("handler bug")

    with MockAPI() as api:
        api.get("/v1/customers/cus_1", handler=handler)
        async with StripeClientCtx() as c:
            with pytest.raises(Exception) as info:
                await c.customers.retrieve_customer("cus_1")
            assert_no_secret(info.value, logs)


async def test_mockapi_retries_replay_and_key_redacted(logs: _Capture) -> None:
    import httpx

    from usepolvo.testing import MockAPI

    def boom(request: Any) -> Any:
        raise httpx.ConnectError("nope")

    with MockAPI() as api:
        api.post("/v1/customers", handler=boom, times=1)
        created = api.post("/v1/customers", json={"id": "cus_1", "object": "customer"})
        async with StripeClientCtx(max_retries=2) as c:
            got = await c.customers.create_customer(email="a@b.c")
            assert got.id == "cus_1"
        keys = {r.headers.get("Idempotency-Key") for r in api.requests}
        assert len(keys) == 1 and None not in keys
        assert len(created.calls) == 1


def StripeClientCtx(**kw: Any) -> Any:
    from usepolvo.stripe import StripeClient

    kw.setdefault("max_retries", 0)
    return StripeClient(api_key=KEY, transport=TRANSPORT, **kw)


# -- redirects across origins, enum path values, endless event streams ----------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirect_to_other_origin_never_carries_the_key(status: int, logs: _Capture) -> None:
    async with RawServer(ok()) as other:
        target = f"{other.url}/v1/customers/cus_1".encode()
        hop = raw(
            b"HTTP/1.1 %d Moved\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n" % (status, target), close=False
        )
        async with RawServer(hop) as srv:
            async with stripe(srv.url) as c:
                for call in (
                    c.customers.retrieve_customer("cus_1"),
                    c.customers.create_customer(email="a@b.c"),
                ):
                    try:
                        await call
                    except PolvoError as err:
                        assert_no_secret(err, logs)
        for head in other.requests:
            assert KEY.encode() not in head, head
            assert b"authorization" not in head.lower(), head


async def test_enum_path_value_sends_its_value(logs: _Capture) -> None:
    import enum

    class Which(str, enum.Enum):
        ONE = "cus_1"

    class Num(enum.IntEnum):
        SEVEN = 7

    async with RawServer(ok()) as srv:
        async with stripe(srv.url) as c:
            for value in (Which.ONE, Num.SEVEN):
                try:
                    await c.customers.retrieve_customer(value)
                except ConfigurationError:
                    continue
        for path in srv.paths():
            assert path in ("/v1/customers/cus_1", "/v1/customers/7"), path


@pytest.mark.parametrize(
    "body",
    [
        b"data: " + b"x" * 4096,  # one endless line, no newline ever
        b"\r" * 4096,  # bare CRs: a line terminator in SSE, many empty events
        b": comment\n" * 400,  # comments only, no event ever
    ],
    ids=["no-newline", "bare-cr", "comments"],
)
async def test_endless_event_stream_is_bounded(body: bytes, logs: _Capture) -> None:
    from usepolvo.openai import OpenAIClient

    async def respond(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        for _ in range(400):
            writer.write(b"%x\r\n%s\r\n" % (len(body), body))
            await writer.drain()
            await asyncio.sleep(0)
        writer.close()

    async with RawServer(respond) as srv:
        ai = OpenAIClient(
            api_key=KEY,
            base_url=srv.url + "/v1",
            transport=TRANSPORT,
            max_retries=0,
            rate_limit=None,
            max_response_bytes=100_000,
            total_timeout=5,
        )
        async with ai:
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            try:
                stream = await ai.chat.create_chat_completion(model="m", messages=[], stream=True)
                async for _ in stream:
                    pass
            except PolvoError as err:
                assert_no_secret(err, logs)
            except BaseException as err:  # noqa: BLE001
                pytest.fail(f"untyped {type(err).__name__}: {err!r}")
            assert loop.time() - t0 < 5.5
    assert KEY not in "\n".join(logs.lines)


# -- paging against a server that never moves on -------------------------------------------


def _page(ids: list[str], has_more: bool) -> bytes:
    import json

    data = [{"id": i, "object": "customer", "created": 1700000000, "livemode": False} for i in ids]
    return json.dumps({"object": "list", "url": "/v1/customers", "has_more": has_more, "data": data}).encode()


@pytest.mark.parametrize(
    "pages",
    [
        [_page(["cus_1"], True)],  # the same page forever
        [_page(["cus_1", "cus_2"], True), _page(["cus_3", "cus_2"], True)],  # cycles between two cursors
        [_page([], True)],  # has_more with no items: no cursor at all
        [_page(["cus_1"], True), _page(["cus_2"], True), _page(["cus_1"], True)],  # an old cursor comes back
    ],
    ids=["same", "two-cycle", "empty", "old-cursor"],
)
async def test_paging_server_that_never_moves_on_ends(pages: list[bytes], logs: _Capture) -> None:
    from usepolvo.core import PaginationLoopError

    count = {"n": 0}

    async def respond(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        body = pages[min(count["n"], len(pages) - 1) if len(pages) > 2 else count["n"] % len(pages)]
        count["n"] += 1
        await ok(body)(head, reader, writer)

    async with RawServer(respond) as srv:
        async with stripe(srv.url) as c:
            seen = 0
            try:
                async for _ in c.customers.list_customers():
                    seen += 1
                    assert seen < 1000, "paging never ended"
            except (PaginationLoopError, APIError) as err:
                assert_no_secret(err, logs)
            assert count["n"] < 50, count


# -- exactly once: a committed create whose answer is unreadable ---------------------------

UNREADABLE = {
    "html": b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 6\r\n\r\n<html>",
    "truncated": b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 90\r\n\r\n{"id": "cus_1"',
    "bad-gzip": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
    b"Content-Length: 4\r\n\r\nabcd",
    "list": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]",
}


@pytest.mark.parametrize("name", sorted(UNREADABLE))
async def test_unreadable_committed_create_is_retried_under_same_key(name: str, logs: _Capture) -> None:
    count = {"n": 0}

    async def respond(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        count["n"] += 1
        if count["n"] == 1:
            await raw(UNREADABLE[name])(head, reader, writer)
        else:
            await ok()(head, reader, writer)

    async with RawServer(respond) as srv:
        async with stripe(srv.url, max_retries=2) as c:
            try:
                got = await c.customers.create_customer(email="a@b.c", request_options={"initial_backoff": 0})
            except PolvoError as err:
                assert_no_secret(err, logs)
                assert getattr(err, "idempotency_key", None), f"the key sent must be on the error: {err!r}"
                assert name == "list", repr(err)  # a wrong-kind body is not a transport fault
                return
            assert got.id == "cus_1"
        keys = {
            line.split(b":", 1)[1].strip()
            for head in srv.requests
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"idempotency-key:")
        }
        assert len(srv.requests) == 2 and len(keys) == 1, srv.requests


@pytest.mark.parametrize("depth", [33, 200, 5000])
async def test_deep_form_body_refused_before_request(depth: int, logs: _Capture) -> None:
    nested: Any = "x"
    for _ in range(depth):
        nested = {"k": nested}
    async with RawServer(ok()) as srv:
        async with stripe(srv.url) as c:
            await expect_error(c.customers.create_customer(metadata=nested), ConfigurationError, logs)
        assert srv.requests == []
