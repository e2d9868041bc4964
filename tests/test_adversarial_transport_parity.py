"""Adversarial parity tests for issue 16(b): the aiohttp fast path must behave exactly like
the httpx default. Each scenario runs on both transports against a raw 127.0.0.1 socket
server whose bytes the test chooses (``tests/servers/raw.py``), and the observable outcomes
are compared."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.servers.raw import RawServer

pytest.importorskip("aiohttp")

KEY = "sk_test_SECRETparity0123456789abcdef"
CUSTOMER = b'{"id": "cus_1", "object": "customer", "created": 1700000000, "livemode": false}'

Responder = Callable[["Server", int, bytes, asyncio.StreamWriter], Awaitable[None]]


class Server(RawServer):
    """Answers the n-th request (0-based, over all connections) with
    ``respond(server, n, head, writer)``; at most 50 requests per connection."""

    def __init__(self, respond: Responder) -> None:
        super().__init__(respond, per_connection=50)

    async def answer(
        self, n: int, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await self.respond(self, n, head, writer)


def response(
    status: str = "200 OK", body: bytes = CUSTOMER, headers: bytes = b"", length: bool = True
) -> bytes:
    head = b"HTTP/1.1 " + status.encode() + b"\r\nContent-Type: application/json\r\n"
    if length:
        head += b"Content-Length: " + str(len(body)).encode() + b"\r\n"
    return head + headers + b"\r\n" + body


def stripe(url: str, transport: str, **kw: Any) -> Any:
    from usepolvo.stripe import StripeClient

    kw.setdefault("max_retries", 0)
    kw.setdefault("rate_limit", None)
    return StripeClient(api_key=KEY, base_url=url, transport=transport, **kw)


def outcome(result: Any) -> Any:
    if isinstance(result, BaseException):
        return ("error", type(result).__name__, getattr(result, "status_code", None))
    to_dict = getattr(result, "to_dict", None)
    return ("ok", to_dict() if to_dict else result)


async def run(
    respond: Responder, call: Callable[[Any], Awaitable[Any]], *, calls: int = 1, **kw: Any
) -> dict[str, Any]:
    """Run ``call`` ``calls`` times on each transport against a fresh server."""
    seen: dict[str, Any] = {}
    for transport in ("httpx", "aiohttp"):
        async with Server(respond) as srv:
            client = stripe(srv.url, transport, **kw)
            results = []
            try:
                for _ in range(calls):
                    try:
                        results.append(outcome(await asyncio.wait_for(call(client), 10)))
                    except Exception as exc:  # noqa: BLE001 - compared across transports
                        results.append(outcome(exc))
            finally:
                await client.aclose()
            seen[transport] = {
                "results": results,
                "lines": srv.lines(),
                "headers": srv.header_names(),
                "bodies": srv.bodies,
                "srv": srv,
            }
    return seen


def same(seen: dict[str, Any], *keys: str) -> None:
    for key in keys or ("results", "lines", "headers", "bodies"):
        assert seen["httpx"][key] == seen["aiohttp"][key], key


def get(c: Any) -> Any:
    return c.customers.retrieve_customer("cus_1")


def write(data: bytes, close: bool = False) -> Responder:
    async def respond(srv: Server, n: int, head: bytes, w: asyncio.StreamWriter) -> None:
        w.write(data)
        await w.drain()
        if close:
            w.close()

    return respond


# -- plain requests: same bytes on the wire ----------------------------------------------


async def test_get_post_delete_send_same_headers() -> None:
    # was a defect: aiohttp added `Content-Length: 0` to a body-less DELETE
    async def three(c: Any) -> Any:
        await c.customers.retrieve_customer("cus_1")
        await c.customers.create_customer(email="a@example.com")
        return await c.customers.delete_customer("cus_1")

    seen = await run(write(response()), three)
    same(seen)


async def test_post_without_fields_sends_same_headers() -> None:
    seen = await run(write(response()), lambda c: c.customers.create_customer())
    same(seen)


# -- response heads --------------------------------------------------------------------


@pytest.mark.parametrize("size", [10_000, 60_000])
async def test_long_header_value(size: int) -> None:
    # was a defect: aiohttp's default max_field_size (8190) refused a header httpx accepts
    seen = await run(write(response(headers=b"X-Big: " + b"a" * size + b"\r\n")), get)
    assert seen["httpx"]["results"][0][0] == "ok"
    same(seen, "results")


async def test_long_redirect_location() -> None:
    loc = "/v1/customers/cus_2?pad=" + "p" * 20_000
    seen = await run(redirect_then_ok("302 Found", location=loc), get)
    same(seen)


async def test_many_headers() -> None:
    # was a defect: aiohttp refused more than 128 header lines (max_headers)
    extra = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 50) for i in range(300))
    seen = await run(write(response(headers=extra)), get)
    same(seen, "results")


async def test_http_1_0_response_then_close() -> None:
    data = response().replace(b"HTTP/1.1", b"HTTP/1.0", 1)
    seen = await run(write(data, close=True), get, calls=2)
    same(seen, "results")


@pytest.mark.xfail(
    strict=True,
    reason="divergence: a 204/304 that carries a body poisons the kept-alive connection "
    "on httpx (the next call fails with APIConnectionError) but not on aiohttp",
)
@pytest.mark.parametrize("status", ["204 No Content", "304 Not Modified"])
async def test_bodyless_status_with_body_then_reuse(status: str) -> None:
    async def respond(srv: Server, n: int, head: bytes, w: asyncio.StreamWriter) -> None:
        if n == 0:
            w.write(b"HTTP/1.1 " + status.encode() + b"\r\nContent-Length: 5\r\n\r\nHELLO")
        else:
            w.write(response())
        await w.drain()

    async def two(c: Any) -> Any:
        first = None
        with contextlib.suppress(Exception):
            first = await c.customers.delete_customer("cus_1")
        return (outcome(first), outcome(await get(c)))

    seen = await run(respond, two)
    same(seen, "results")


async def test_chunked_with_trailers() -> None:
    body = b"%x\r\n%s\r\n0\r\nX-Trailer: yes\r\nX-Other: 1\r\n\r\n" % (len(CUSTOMER), CUSTOMER)
    data = response(length=False, headers=b"Transfer-Encoding: chunked\r\n", body=b"") + body
    seen = await run(write(data), get, calls=2)
    same(seen, "results")
    assert seen["httpx"]["results"][0][0] == "ok"


@pytest.mark.parametrize("delta", [-5, 5])
async def test_wrong_content_length(delta: int) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (
        len(CUSTOMER) + delta
    )
    seen = await run(write(head + CUSTOMER, close=True), get, calls=2)
    same(seen, "results")


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate", "gzip, gzip", "br", "bogus"])
async def test_content_encodings(encoding: str) -> None:
    if encoding == "gzip":
        body = gzip.compress(CUSTOMER)
    elif encoding == "gzip, gzip":
        body = gzip.compress(gzip.compress(CUSTOMER))
    elif encoding == "deflate":
        body = zlib.compress(CUSTOMER)
    elif encoding == "raw-deflate":
        co = zlib.compressobj(wbits=-15)
        body = co.compress(CUSTOMER) + co.flush()
        encoding = "deflate"
    elif encoding == "br":
        brotli = pytest.importorskip("brotli")
        body = brotli.compress(CUSTOMER)
    else:
        body = CUSTOMER
    data = response(body=body, headers=b"Content-Encoding: " + encoding.encode() + b"\r\n")
    seen = await run(write(data), get)
    same(seen, "results")


async def test_gzip_bomb_same_error() -> None:
    bomb = gzip.compress(b"{" + b" " * 30_000_000 + b"}")
    data = response(body=bomb, headers=b"Content-Encoding: gzip\r\n")
    seen = await run(write(data), get, max_response_bytes=1_000_000)
    same(seen, "results")
    assert seen["httpx"]["results"][0][1] == "ResponseTooLargeError"


# -- redirects -------------------------------------------------------------------------


def redirect_then_ok(status: str, location: str = "/v1/customers/cus_2", extra: bytes = b"") -> Responder:
    async def respond(srv: Server, n: int, head: bytes, w: asyncio.StreamWriter) -> None:
        if n == 0:
            w.write(
                b"HTTP/1.1 "
                + status.encode()
                + b"\r\nLocation: "
                + location.encode()
                + b"\r\n"
                + extra
                + b"Content-Length: 4\r\n\r\nmove"
            )
        else:
            w.write(response())
        await w.drain()

    return respond


@pytest.mark.parametrize(
    "status", ["301 Moved", "302 Found", "303 See Other", "307 Temporary", "308 Permanent"]
)
async def test_redirected_post_with_body(status: str) -> None:
    seen = await run(redirect_then_ok(status), lambda c: c.customers.create_customer(email="z@example.com"))
    same(seen)


async def test_redirect_sets_cookie_then_follow_up_and_next_call() -> None:
    seen = await run(redirect_then_ok("302 Found", extra=b"Set-Cookie: sid=abc; Path=/\r\n"), get, calls=2)
    same(seen)
    srv = seen["aiohttp"]["srv"]
    assert srv.header(1, "cookie") == "sid=abc"


async def test_set_cookie_then_next_call() -> None:
    async def respond(srv: Server, n: int, head: bytes, w: asyncio.StreamWriter) -> None:
        w.write(response(headers=b"Set-Cookie: n%d=v; Path=/\r\n" % n))
        await w.drain()

    seen = await run(respond, get, calls=3)
    same(seen)
    assert [seen["aiohttp"]["srv"].header(i, "cookie") for i in range(3)] == [
        seen["httpx"]["srv"].header(i, "cookie") for i in range(3)
    ]


async def test_cross_host_redirect_drops_authorization() -> None:
    async with Server(write(response())) as other:
        target = f"http://localhost:{other.port}/v1/customers/cus_9"
        seen = await run(redirect_then_ok("302 Found", location=target), get)
        same(seen, "results")


async def test_redirect_loop_too_many() -> None:
    async def respond(srv: Server, n: int, head: bytes, w: asyncio.StreamWriter) -> None:
        w.write(b"HTTP/1.1 302 Found\r\nLocation: /v1/customers/x%d\r\nContent-Length: 0\r\n\r\n" % n)
        await w.drain()

    seen = await run(respond, get)
    same(seen, "results", "lines")


async def test_redirect_to_relative_dot_path_and_query() -> None:
    seen = await run(redirect_then_ok("302 Found", location="../v1/./customers/%2E%2E/cus_3?a=%20b&c"), get)
    same(seen)


async def test_head_like_empty_body_json_op() -> None:
    data = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n"
    seen = await run(write(data), get, calls=2)
    same(seen, "results")


# -- slow servers ----------------------------------------------------------------------


async def test_slow_head_read_timeout() -> None:
    async def respond(srv: Server, n: int, head: bytes, w: asyncio.StreamWriter) -> None:
        await asyncio.sleep(1.5)
        w.write(response())
        await w.drain()

    seen = await run(respond, get, timeout=0.3)
    same(seen, "results")


async def test_slow_body_total_timeout() -> None:
    async def respond(srv: Server, n: int, head: bytes, w: asyncio.StreamWriter) -> None:
        w.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
        for _ in range(40):
            await asyncio.sleep(0.05)
            w.write(b" ")
            await w.drain()

    seen = await run(respond, get, timeout=1.0, total_timeout=0.6)
    same(seen, "results")


async def test_get_and_post_send_same_headers() -> None:
    async def two(c: Any) -> Any:
        await c.customers.retrieve_customer("cus_1")
        return await c.customers.create_customer(email="a@example.com")

    seen = await run(write(response()), two)
    same(seen)


# -- raw responses, retries, strict, logs, masking -------------------------------------


def raw_view(r: Any) -> Any:
    return (
        r.parsed.to_dict(),
        r.status_code,
        sorted((k, v) for k, v in r.headers.items() if k not in ("date",)),
        r.request_id,
        r.attempts,
        r.method,
        r.url.rsplit(":", 1)[1].split("/", 1)[1],
        r.operation,
    )


async def test_raw_response_same_with_echoed_key_and_duplicates() -> None:
    extra = (
        b"Request-Id: req_1\r\nX-Echo: Bearer " + KEY.encode() + b"\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
    )

    async def call(c: Any) -> Any:
        return raw_view(await c.with_raw_response(get(c)))

    seen = await run(write(response(headers=extra)), call)
    same(seen, "results")
    assert KEY not in repr(seen["aiohttp"]["results"])


async def test_retry_after_then_success() -> None:
    async def respond(srv: Server, n: int, head: bytes, w: asyncio.StreamWriter) -> None:
        if n < 2:
            w.write(response("503 Service Unavailable", body=b'{"error": {}}', headers=b"Retry-After: 0\r\n"))
        else:
            w.write(response(headers=b"Request-Id: req_ok\r\n"))
        await w.drain()

    async def call(c: Any) -> Any:
        return raw_view(await c.with_raw_response(c.customers.create_customer(email="r@example.com")))

    seen = await run(respond, call, max_retries=3)
    same(seen)
    assert seen["aiohttp"]["results"][0][1][4] == 3


async def test_error_echoing_key_is_masked() -> None:
    body = b'{"error": {"message": "bad key ' + KEY.encode() + b'", "type": "invalid_request_error"}}'

    async def call(c: Any) -> Any:
        try:
            await get(c)
        except Exception as exc:  # noqa: BLE001
            return (type(exc).__name__, str(exc).replace(c.base_url if hasattr(c, "base_url") else "", ""))
        return None

    seen = await run(write(response("401 Unauthorized", body=body)), call)
    for t in ("httpx", "aiohttp"):
        assert KEY not in repr(seen[t]["results"])
    assert [r[1][0] for r in seen["httpx"]["results"]] == [r[1][0] for r in seen["aiohttp"]["results"]]


async def test_strict_client_raises_at_call_not_on_read() -> None:
    bad = b'{"id": 5, "object": "customer", "created": "yesterday", "livemode": "no"}'
    seen = await run(write(response(body=bad)), get, strict=True)
    same(seen, "results")
    assert seen["aiohttp"]["results"][0][1] == "ResponseValidationError"


@pytest.mark.parametrize("version", [b"HTTP/1.1", b"HTTP/1.0"])
async def test_httpx_log_line_same(version: bytes, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    seen: dict[str, list[str]] = {}
    for transport in ("httpx", "aiohttp"):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="httpx"):
            async with Server(write(response().replace(b"HTTP/1.1", version, 1), close=True)) as srv:
                client = stripe(srv.url, transport)
                try:
                    await get(client)
                finally:
                    await client.aclose()
                seen[transport] = [
                    r.getMessage().replace(str(srv.port), "PORT") for r in caplog.records if r.name == "httpx"
                ]
    assert seen["httpx"] == seen["aiohttp"]
    assert KEY not in repr(seen)


@pytest.mark.parametrize("reason", [b"OK", b"", b"Fine \xe9t\xe9", b"\xff\xfe", b"OK  with  spaces"])
async def test_odd_reason_phrases(reason: bytes) -> None:
    async def call(c: Any) -> Any:
        r = await c.with_raw_response(get(c))
        return (r.status_code, r.parsed.id)

    data = b"HTTP/1.1 200 " + reason + response()[len(b"HTTP/1.1 200 OK") :]
    seen = await run(write(data), call)
    same(seen, "results")


async def test_http_1_0_raw_response_same() -> None:
    async def call(c: Any) -> Any:
        return raw_view(await c.with_raw_response(get(c)))

    seen = await run(write(response().replace(b"HTTP/1.1", b"HTTP/1.0", 1), close=True), call, calls=2)
    same(seen, "results")
