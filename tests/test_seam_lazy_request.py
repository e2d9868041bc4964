"""The aiohttp fast path's lazy request (``core/_seam.py``) is the request httpx would build.

``LazyRequest`` skips httpx's URL parser and header normalization until something reads them;
these tests hold it to the same URL string, headers, body and derived values (safe URL,
log path, header lookups) as ``httpx.Request`` built the old way, and check that what a
caller changes on it is what goes on the wire.
"""

from __future__ import annotations

import asyncio
import pickle
import random
from typing import Any

import httpx
import pytest

from usepolvo.core._seam import LazyRequest, wire_parts
from usepolvo.core._urls import wire_url
from usepolvo.core._wire import header_of, path_of, safe_url_of

pytest.importorskip("aiohttp")

URLS = [
    "http://127.0.0.1:8000/v1/customers/cus_1",
    "http://127.0.0.1:80/v1/customers",
    "https://api.example.com:443/x?limit=10&starting_after=cus_1",
    "HTTPS://API.Example.COM/V1/Things?A=1",
    "http://h/a%2Fb/c%2E%2E/d?x=%20y+z",
    "http://h/a/./b",
    "http://h/a/../b",
    "http://h/a/..",
    "http://h/a/.b/..c/d.",
    "http://h/a b",
    "http://h/a?q=a b",
    "http://h/a?q=\u00e9",
    "http://h/\u00e9",
    "http://h/a#frag",
    "http://h/a?b#c",
    "http://h/a%zz?b=%",
    "http://h/a?",
    "http://h/a??b",
    "http://h/[x]/{y}/|z|/`^`",
    "http://h/a?x=[1]&y={2}&z=`|`^",
    "http://user:pw@h/a",
    "http://h:8080/a:b@c/d;e=f,g",
    "http://xn--nxasmq6b.example/a",
    "http://\u00fcber.example/a",
    "http://h",
    "http://h?x=1",
    "http://[::1]:8080/a",
]


def _random_urls(n: int) -> list[str]:
    rng = random.Random(16)
    alphabet = "aZ09-._~%/?&=+!$'()*,;:@[]|{}`^ \"<>\\#\u00e9."
    out = []
    for _ in range(n):
        rest = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))
        out.append("http://127.0.0.1:9/" + rest)
    return out


@pytest.mark.parametrize("url", URLS + _random_urls(400))
def test_wire_url_is_what_httpx_sends(url: str) -> None:
    parts = wire_url(url)
    try:
        expected = httpx.URL(url)
    except Exception:  # noqa: BLE001 - httpx refuses it: the fast path must not take it
        assert parts is None
        return
    if parts is None:
        return  # left to httpx
    text, netloc, rest = parts
    assert text == str(expected)
    assert netloc == expected.netloc.decode()
    assert rest == expected.raw_path.decode()


def _pair(url: str, headers: list[tuple[str, str]], content: bytes | None, method: str = "GET") -> Any:
    parts = wire_url(url)
    assert parts is not None
    lazy = LazyRequest(method, parts[0], parts[1], parts[2], list(headers), content, {"timeout": {}})
    real = httpx.Request(method, url, headers=headers, content=content)
    return lazy, real


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "PUT", "PATCH"])
@pytest.mark.parametrize("content", [None, b"", b'{"a": 1}'])
def test_lazy_request_builds_what_httpx_builds(method: str, content: bytes | None) -> None:
    headers = [("User-Agent", "polvo"), ("Accept", "application/json"), ("X-Dup", "1"), ("x-dup", "2")]
    url = "http://127.0.0.1:8000/v1/customers/cus%201?expand[]=a&limit=3"
    lazy, real = _pair(url, headers, content, method)
    # derived values first, while nothing is built
    assert safe_url_of(lazy) == safe_url_of(real) == "http://127.0.0.1:8000/v1/customers/cus 1"
    assert path_of(lazy) == path_of(real) == real.url.path
    for name in ("x-dup", "X-DUP", "accept", "missing", "Idempotency-Key"):
        assert header_of(lazy, name) == header_of(real, name) == real.headers.get(name)
    assert lazy._polvo_built is None  # none of the above built anything
    assert isinstance(lazy, httpx.Request)
    assert lazy.method == real.method
    assert lazy.url == real.url
    assert lazy.headers.raw == real.headers.raw
    assert lazy.content == real.content
    assert repr(lazy) == repr(real)
    assert b"".join(lazy.stream) == b"".join(real.stream)  # type: ignore[arg-type]


def test_changes_to_a_lazy_request_are_what_is_read() -> None:
    lazy, _ = _pair("http://127.0.0.1:8000/a?x=1", [("Accept", "a")], None)
    assert wire_parts(lazy)[1] is not None  # untouched: the parts as given
    lazy.headers["Authorization"] = "Bearer t"
    assert wire_parts(lazy)[1] is None  # read (and changed): the transport reads the built ones
    assert header_of(lazy, "authorization") == "Bearer t"
    lazy.url = httpx.URL("http://127.0.0.1:8001/b/c%20d?y=2")
    assert wire_parts(lazy)[0] == "http://127.0.0.1:8001/b/c%20d?y=2"
    assert safe_url_of(lazy) == "http://127.0.0.1:8001/b/c d"
    assert path_of(lazy) == "/b/c d"
    copy = pickle.loads(pickle.dumps(lazy))
    assert copy.url == lazy.url and copy.headers.raw == lazy.headers.raw


async def test_a_changed_lazy_request_is_sent_as_changed() -> None:
    from usepolvo.core._aiohttp import AiohttpTransport

    heads: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                heads.append(await reader.readuntil(b"\r\n\r\n"))
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport = AiohttpTransport()
    try:
        for touch in (False, True):
            lazy, _ = _pair(f"http://127.0.0.1:{port}/a%2Fb?x=1", [("X-A", "1")], None)
            if touch:
                lazy.headers["X-B"] = "2"
                lazy.url = httpx.URL(f"http://127.0.0.1:{port}/other")
            response = await transport.handle_async_request(lazy)
            await response.aread()
            await response.aclose()
    finally:
        await transport.aclose()
        server.close()
        await server.wait_closed()
    first, second = (h.decode().lower() for h in heads)
    assert first.startswith("get /a%2fb?x=1 http/1.1") and "x-a: 1" in first and "x-b" not in first
    assert second.startswith("get /other http/1.1") and "x-a: 1" in second and "x-b: 2" in second


@pytest.mark.parametrize("method", ["GET", "DELETE", "POST", "PUT"])
@pytest.mark.parametrize("content", [None, b"", b"{}"])
async def test_body_framing_is_httpx_s(method: str, content: bytes | None) -> None:
    """``Content-Length`` on the aiohttp wire exactly when httpx sends one (none on a
    body-less DELETE, ``0`` for an empty body given)."""
    from usepolvo.core._aiohttp import AiohttpTransport

    heads: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                heads.append(head)
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        await reader.readexactly(int(line.split(b":")[1]))
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def framing(head: bytes) -> list[bytes]:
        return sorted(
            line.lower()
            for line in head.split(b"\r\n")
            if line.lower().startswith((b"content-length", b"transfer-encoding"))
        )

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/a"
    ours = AiohttpTransport()
    theirs = httpx.AsyncHTTPTransport()
    try:
        lazy, plain = _pair(url, [("X-A", "1")], content, method)
        for transport, request in ((theirs, plain), (ours, plain), (ours, lazy)):
            response = await transport.handle_async_request(request)
            await response.aread()
            await response.aclose()
    finally:
        await ours.aclose()
        await theirs.aclose()
        server.close()
        await server.wait_closed()
    expected, *got = (framing(h) for h in heads)
    assert got == [expected, expected]
