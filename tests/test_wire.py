"""The fast send path (``_wire``): the same requests and the same pool behaviour as httpx's."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import pytest
from usepolvo.stripe import StripeClient

from usepolvo.core._wire import build

SHAPES: list[tuple[str, str, dict[str, str], bytes | None]] = [
    ("GET", "http://127.0.0.1:1/v1/customers/c%2E?a=1&b=%20", {}, None),
    (
        "POST",
        "http://h/x",
        {"Content-Type": "application/x-www-form-urlencoded", "accept": "text/plain"},
        b"a=1",
    ),
    ("POST", "http://h/x", {}, None),
    ("DELETE", "https://h:8443/x", {"X-A": "1"}, b""),
    ("GET", "http://h/a/%2E%2E/b?x=%2E%2E", {"USER-AGENT": "y", "Accept": "a", "accept": "b"}, None),
    ("PUT", "http://h/x", {"Content-Length": "5"}, b"abc"),
]


@pytest.mark.parametrize(("method", "url", "headers", "content"), SHAPES)
def test_build_makes_the_request_httpx_would(
    method: str, url: str, headers: dict[str, str], content: bytes | None
) -> None:
    pool = httpx.AsyncClient(
        headers={"User-Agent": "u", "Accept": "application/json", "Authorization": "Bearer k"},
        timeout=httpx.Timeout(60, connect=10),
    )
    theirs = pool.build_request(method, url, headers=headers or None, content=content)
    ours = build(pool, method, url, headers, content)
    assert ours is not None
    assert (ours.method, str(ours.url), ours.url.raw_path) == (
        theirs.method,
        str(theirs.url),
        theirs.url.raw_path,
    )
    assert ours.headers.raw == theirs.headers.raw
    assert ours.extensions == theirs.extensions
    assert ours.read() == theirs.read()


def test_build_leaves_cookies_to_httpx() -> None:
    pool = httpx.AsyncClient()
    pool.cookies.set("session", "s", domain="h")
    assert build(pool, "GET", "http://h/x", {}, None) is None


class _CookieHandler(BaseHTTPRequestHandler):
    seen: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        type(self).seen.append(self.headers.get("Cookie"))
        body = b'{"id": "cus_1", "object": "customer", "created": 1, "livemode": false}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Set-Cookie", "route=a1; Path=/")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def cookie_server() -> Iterator[str]:
    _CookieHandler.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CookieHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
async def test_a_cookie_the_server_sets_is_sent_back_on_both_transports(
    cookie_server: str, transport: str
) -> None:
    async with StripeClient(api_key="sk_test_x", base_url=cookie_server, transport=transport) as client:
        await client.customers.retrieve_customer("cus_1")
        await client.customers.retrieve_customer("cus_1")
    assert _CookieHandler.seen == [None, "route=a1"]
