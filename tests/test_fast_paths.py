"""The per-call shortcuts of the httpx path give exactly what the long way gives.

``_urls.parsed_url`` (an ``httpx.URL`` without httpx's parser), ``read_body`` without a
decoder for plain bodies, ``Limiter.try_acquire`` / ``mark_sent`` re-dating in place, and the
shared fields of hook events and raw responses.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import AsyncIterator

import httpx
import pytest

from usepolvo.core import APIResponse, Limiter, RequestEvent, ResponseEvent, ResponseTooLargeError
from usepolvo.core._body import read_body
from usepolvo.core._urls import parsed_url, wire_url

_ORIGINS = [
    "https://api.stripe.com",
    "http://127.0.0.1:8080",
    "HTTPS://API.GitHub.com",
    "https://api.openai.com:443",
    "http://example.com:80",
    "http://[::1]:9000",
    "https://xn--mller-kva.de",
    "https://müller.de",
    "https://user:pw@example.com",
    "http://example.com:notaport",
]
_PIECES = [
    "/v1/customers/cus_1",
    "/repos/o/r/issues/1",
    "/a%2Fb",
    "/a%zz",
    "/a b",
    "/a/./b",
    "/a/../b",
    "/..",
    "/a.b/c..d",
    "/é",
    "/a?b=1&c=%20",
    "/a?b=1#frag",
    "/a?",
    "/a?x=y?z",
    "/{x}",
    "/a`b",
    "/a\tb",
    "/a|b",
    "/a?q='\"'",
    "/a?q=<>",
    "",
    "/",
    "//double",
    "/~user/x;y=z",
]


def _same(url: str) -> None:
    try:
        expected = httpx.URL(url)
    except httpx.InvalidURL:
        expected = None
    fast = parsed_url(url)
    wire = wire_url(url)
    # one decision for both transports: the httpx URL and the aiohttp path's text agree
    assert (fast is None) == (wire is None), url
    if fast is None or wire is None:
        return  # httpx parses it, as before
    assert wire[0] == str(fast), url
    assert wire[1] == fast.netloc.decode("ascii"), url
    assert expected is not None, url
    assert fast._uri_reference == expected._uri_reference, url
    assert str(fast) == str(expected)
    assert fast.raw_path == expected.raw_path
    assert httpx.Request("GET", fast).url == httpx.Request("GET", url).url


@pytest.mark.parametrize("origin", _ORIGINS)
@pytest.mark.parametrize("rest", _PIECES)
def test_parsed_url_is_httpx_own(origin: str, rest: str) -> None:
    _same(origin + rest)


def test_parsed_url_random_paths_match_httpx() -> None:
    rng = random.Random(16)
    alphabet = "abcXYZ019-._~!$&'()*+,;=:@/%?#[]{}`^|\\\"<> é\t"
    for _ in range(3000):
        rest = "/" + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        _same(rng.choice(_ORIGINS[:6]) + rest)


def test_parsed_url_takes_the_common_case() -> None:
    assert parsed_url("https://api.stripe.com/v1/customers/cus_1?expand%5B%5D=x") is not None
    assert parsed_url("https://api.stripe.com/v1/../x") is None
    assert parsed_url("https://u:p@api.stripe.com/v1") is None
    assert parsed_url("https://api.stripe.com/" + "a" * 70000) is None


class _Chunks(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk

    async def aclose(self) -> None:
        self.closed = True


def _response(chunks: list[bytes], headers: dict[str, str] | None = None) -> tuple[httpx.Response, _Chunks]:
    stream = _Chunks(chunks)
    request = httpx.Request("GET", "http://127.0.0.1/x")
    return httpx.Response(200, headers=headers or {}, stream=stream, request=request), stream


@pytest.mark.parametrize("chunks", [[], [b""], [b"abc"], [b"ab", b"", b"cd"], [b"x" * 10, b"y" * 10]])
async def test_plain_body_read_whole_and_closed(chunks: list[bytes]) -> None:
    response, stream = _response(chunks)
    content = await read_body(response, 100)
    assert content == b"".join(chunks)
    assert response.content == content
    assert stream.closed and response.is_closed


async def test_plain_body_bounded_even_when_content_length_lies() -> None:
    # a transport that sends more than its Content-Length still stops at the bound
    response, stream = _response([b"x" * 60, b"x" * 60], {"content-length": "10"})
    with pytest.raises(ResponseTooLargeError):
        await read_body(response, 100)
    assert stream.closed
    response, _ = _response([b"x" * 100])
    assert await read_body(response, 100) == b"x" * 100
    response, _ = _response([b"x" * 101])
    with pytest.raises(ResponseTooLargeError):
        await read_body(response, 100)
    response, _ = _response([b"x" * 500])
    assert len(await read_body(response, None)) == 500


async def test_encoded_body_still_decoded() -> None:
    import gzip

    response, _ = _response([gzip.compress(b"hello")], {"content-encoding": "gzip"})
    assert await read_body(response, 100) == b"hello"
    response, _ = _response([b"plain"], {"content-encoding": "identity"})
    assert await read_body(response, 100) == b"plain"


async def test_try_acquire_grants_like_acquire() -> None:
    loop = asyncio.get_running_loop()
    limiter = Limiter(max_concurrency=2, rate=3)
    assert limiter.try_acquire(1.0, loop) is False  # not yet serving this loop: acquire() adopts it
    first = await limiter.acquire()
    assert first is not None
    second = limiter.try_acquire(1.0, loop)
    assert second is not False
    assert limiter.try_acquire(1.0, loop) is False  # both slots taken: the caller awaits
    limiter.release()
    third = limiter.try_acquire(1.0, loop)
    assert third is not False
    limiter.release()
    assert limiter.try_acquire(1.0, loop) is False  # 3 points spent in this second
    limiter.release()
    assert limiter.in_flight == 0
    plain = Limiter()
    await plain.acquire()  # (serving this loop now)
    assert plain.try_acquire(1.0, loop) is None  # no rate limit: no place in a window


async def test_try_acquire_leaves_another_loop_to_acquire() -> None:
    limiter = Limiter(max_concurrency=1)
    other = asyncio.new_event_loop()
    try:
        assert limiter.try_acquire(1.0, other) is False
    finally:
        other.close()
    grant = await limiter.acquire()
    assert limiter.try_acquire(1.0, asyncio.get_running_loop()) is False
    limiter.mark_sent(grant)
    limiter.release()


async def test_mark_sent_in_place_keeps_the_window() -> None:
    limiter = Limiter(rate=2, period=0.3)
    grant = await limiter.acquire()
    assert grant is not None
    await asyncio.sleep(0.01)
    limiter.mark_sent(grant)  # the newest entry: re-dated where it is
    assert len(limiter._window) == 1 and limiter._used == 1.0
    other = await limiter.acquire()
    assert other is not None
    await asyncio.sleep(0.01)
    limiter.mark_sent(grant)  # no longer the newest: moved to the end, as before
    assert [e[1] for e in limiter._window] == [0.0, 1.0, 1.0] and limiter._used == 2.0
    assert limiter._window[-1] is grant.entry
    limiter.release()
    limiter.release()


def test_event_fields_and_equality_unchanged() -> None:
    common = ("provider", "operation", "method", "url", "attempt", "max_attempts", "idempotency_key")
    assert tuple(f.name for f in dataclasses.fields(RequestEvent)) == common
    assert tuple(f.name for f in dataclasses.fields(ResponseEvent)) == (
        *common, "status_code", "headers", "request_id", "elapsed", "will_retry", "retry_in", "error",
    )  # fmt: skip

    def request(attempt: int = 1) -> RequestEvent:
        return RequestEvent("stripe", "op", "GET", "https://x/y", attempt, 3, None)

    def response() -> ResponseEvent:
        return ResponseEvent(
            "stripe", "op", "GET", "https://x/y", 1, 3, None, 200, None, None, 0.1, False, None, None
        )

    assert request() == request() and hash(request()) == hash(request())
    assert request() != request(2)
    event = response()
    assert event == event and event != response()  # compared by identity
    assert not isinstance(event, RequestEvent)
    assert not hasattr(event, "__dict__") and not hasattr(request(), "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.url = "x"  # type: ignore[misc]


async def test_raw_response_fields_come_from_one_place() -> None:
    from usepolvo.stripe import StripeClient

    from usepolvo.testing import MockAPI

    async with MockAPI() as api:
        api.get(
            "/v1/customers/cus_1", json={"id": "cus_1", "object": "customer"}, headers={"Request-Id": "req_9"}
        )
        client = StripeClient(api_key="sk_test_fast")
        resp = await client.with_raw_response(client.customers.retrieve_customer("cus_1"))
        assert isinstance(resp, APIResponse)
        assert resp.parsed.id == "cus_1"
        assert (resp.status_code, resp.request_id, resp.attempts, resp.method) == (200, "req_9", 1, "GET")
        assert resp.operation == "retrieve_customer" and resp.url.endswith("/v1/customers/cus_1")
        nested = await client.with_raw_response(
            client.with_raw_response(client.customers.retrieve_customer("cus_1"))
        )
        assert isinstance(nested.parsed, APIResponse) and nested.request_id == "req_9"
        assert nested.parsed.parsed.id == "cus_1"
        await client.aclose()
