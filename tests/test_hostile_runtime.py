"""The runtime under hostile conditions (issue 10), on real servers on 127.0.0.1.

Each numbered defect of the issue has its tests here, on whichever transport the suite runs
(``make test`` runs it on httpx, then on aiohttp): path values that try to climb out of their
route, creates whose answer is lost or unreadable after the server committed, servers that
never answer, dribble or stall after their head (streams included), gzip bombs and huge
bodies, one client across threads and loops, untyped errors, keys with bad characters or
echoed back, and the reopening after a server-ordered pause. Any ResourceWarning, even one
raised in a ``__del__``, fails the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import warnings
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from usepolvo.github import GitHubClient
from usepolvo.openai import OpenAIClient
from usepolvo.stripe import StripeClient

from tests.servers.faults import FaultServer, Record, Reply
from usepolvo.core import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AsyncStream,
    BaseClient,
    ConfigurationError,
    InternalServerError,
    Limiter,
    NotFoundError,
    Operation,
    PolvoError,
    ProviderConfig,
    ResponseSpec,
    ResponseTooLargeError,
    RetryPolicy,
)

pytestmark = [
    pytest.mark.filterwarnings("error::ResourceWarning"),
    pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning"),
]


@pytest.fixture(autouse=True)
def _own_garbage_only() -> Iterator[None]:
    """Collect what earlier test modules left behind, quietly, so that only this module's own
    leaks can fail its tests (the collection after the test runs under the error filter)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    yield
    gc.collect()


ROOT = Path(__file__).resolve().parent.parent
KEY = "sk_test_51HostileKeyQQ0123456789abcdefXYZ"
FAST = RetryPolicy(2, initial_backoff=0.002, max_backoff=0.01)
#: Slack on every time bound the issue sets ("within its bound + 0.5 s").
SLACK = 0.5


def stripe(server: FaultServer, **kwargs: Any) -> StripeClient:
    kwargs.setdefault("max_retries", FAST)
    kwargs.setdefault("rate_limit", None)
    return StripeClient(api_key=KEY, base_url=server.url, **kwargs)


class PlainClient(BaseClient):
    """A provider with no idempotency keys and no limits of its own."""

    _config = ProviderConfig(
        name="plain",
        client_name="PlainClient",
        spec_version="1",
        base_url="http://127.0.0.1:9",
        api_key_env=("PLAIN_API_KEY",),
        base_url_env="PLAIN_BASE_URL",
        max_concurrency=None,
    )


GET_THING = Operation("get_thing", "GET", "/things", responses={"200": ResponseSpec("json")})


# -- 1. dot segments -----------------------------------------------------------------------


async def test_dot_segments_never_change_the_route(make_server: Callable[..., FaultServer]) -> None:
    server = make_server()
    async with stripe(server) as client, GitHubClient(token="ghp_" + "x" * 36, base_url=server.url) as gh:
        for call in (
            lambda: gh.git.delete_ref("octo", "app", "../.."),
            lambda: gh.git.delete_ref("octo", "app", "heads/../../x"),
            lambda: gh.repos.get_content("octo", "app", "docs/../../../orgs"),
            lambda: gh.repos.get_content("octo", "..", "README.md"),
            lambda: client.customers.cards.delete_card("cus_1", ".."),
            lambda: client.customers.retrieve_customer("."),
        ):
            with pytest.raises(ConfigurationError, match=r"'\.' or '\.\.' segment"):
                await call()
        assert server.snapshot() == []  # refused before anything was sent
        # Anything else that means something in a URL is sent as data, on both transports.
        for value in ("%2E%2E", "a.b?c#d", "..a"):
            with pytest.raises(NotFoundError):  # reached the customer route, as data
                await client.customers.retrieve_customer(value)
    assert [r.path for r in server.snapshot()] == [
        "/v1/customers/%252E%252E",
        "/v1/customers/a.b%3Fc%23d",
        "/v1/customers/..a",
    ]


async def test_empty_trailing_multi_segment_path_is_the_root(make_server: Callable[..., FaultServer]) -> None:
    server = make_server()
    server.script(Reply(200, {}, []))
    async with GitHubClient(token="ghp_" + "x" * 36, base_url=server.url) as gh:
        assert await gh.repos.get_content("octo", "app", "") == []
        with pytest.raises(ConfigurationError, match="'repo' is empty"):
            await gh.repos.get_content("octo", "", "README.md")
    assert [(r.method, r.path) for r in server.snapshot()] == [("GET", "/repos/octo/app/contents/")]


# -- 2. exactly once ---------------------------------------------------------------------


async def test_unreadable_200_after_commit_is_retried_under_the_same_key(
    make_server: Callable[..., FaultServer],
) -> None:
    server = make_server()
    server.script(
        "corrupt", "truncate", Reply(200, {"Content-Type": "text/html"}, b"<html>bad gateway</html>")
    )
    async with stripe(server, max_retries=RetryPolicy(5, initial_backoff=0.001, max_backoff=0.002)) as client:
        customer = await client.customers.create_customer(email="once@example.com")
    records = server.snapshot()
    assert len(server.customers) == 1 and customer.id in server.customers
    assert len({r.idempotency_key for r in records}) == 1
    assert [r.replayed for r in records] == [False, True, False, True][: len(records)] or records[-1].replayed


async def test_every_error_carries_the_idempotency_key_it_sent(
    make_server: Callable[..., FaultServer],
) -> None:
    server = make_server(rule=lambda rec: "500")
    async with stripe(server) as client:
        with pytest.raises(InternalServerError) as status_err:
            await client.customers.create_customer(email="a@example.com")
        server.rule = lambda rec: "reset"
        with pytest.raises(APIConnectionError) as conn_err:
            await client.customers.create_customer(
                email="a@example.com", request_options={"idempotency_key": "k-1"}
            )
        server.rule = lambda rec: "stall"
        with pytest.raises(APITimeoutError) as timeout_err:
            await client.customers.create_customer(
                email="a@example.com", request_options={"timeout": 0.2, "connect_timeout": 0.1}
            )
        with pytest.raises(APITimeoutError) as get_err:  # no key sent: none reported
            await client.customers.list_customers(request_options={"timeout": 0.2, "max_retries": 0})
    keys = [r.idempotency_key for r in server.snapshot()]
    assert status_err.value.idempotency_key == keys[0] and keys[:3] == [keys[0]] * 3
    assert conn_err.value.idempotency_key == "k-1"
    assert timeout_err.value.idempotency_key == keys[-2]
    assert get_err.value.idempotency_key is None


@pytest.mark.slow
async def test_1000_creates_under_mixed_faults_make_exactly_1000_objects_and_none_raise() -> None:
    # The server runs in its own process, so that its work does not share the client's GIL.
    faults = ("reset", "reset_after", "500", "503", "429", "slow_after", "stall", "truncate", "corrupt")
    args = ["--fault-rate", "0.25", "--faults", ",".join(faults), "--seed", "10", "--latency", "0,0.003"]
    args += ["--retry-after", "0", "--retry-after-ms", "20", "--slow-seconds", "2.5", "--stall-seconds", "3"]
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "servers" / "faults.py"), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        policy = RetryPolicy(12, initial_backoff=0.005, max_backoff=0.05)
        async with StripeClient(
            api_key=KEY, base_url=url, max_retries=policy, timeout=2.0, max_concurrency=64, rate_limit=None
        ) as client:
            results = await asyncio.gather(
                *(client.customers.create_customer(email=f"u{i}@example.com") for i in range(1000)),
                return_exceptions=True,
            )
        async with httpx.AsyncClient(base_url=url) as admin:
            stored = (await admin.get("/__admin/customers")).json()
            seen = set((await admin.get("/__admin/faults")).json())
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(10)
        if server.stdout is not None:
            server.stdout.close()
    raised = [r for r in results if isinstance(r, BaseException)]
    assert raised == []  # 0 calls that raise although the object exists
    ids = [r.id for r in results]  # type: ignore[union-attr]
    assert len(set(ids)) == 1000  # 0 duplicates handed back
    assert len(stored) == 1000 and set(ids) == set(stored)  # exactly 1,000 objects
    assert set(faults) <= seen  # every fault really happened


# -- 3. time bounds ------------------------------------------------------------------------


def _dribbled(body: bytes, **kwargs: Any) -> Reply:
    return Reply(200, kwargs.pop("headers", {}), body, dribble=0.05, **kwargs)


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param("stall", id="never-answers"),
        pytest.param(_dribbled(json.dumps({"id": "cus_1", "pad": "x" * 400}).encode()), id="dribbles"),
        pytest.param(Reply(200, {}, {"id": "cus_1"}, hold=30), id="stalls-after-headers"),
    ],
)
async def test_every_call_ends_within_its_bound_by_default(
    make_server: Callable[..., FaultServer], reply: Any
) -> None:
    server = make_server(stall_seconds=30)
    server.rule = lambda rec: reply
    # each attempt: connect_timeout + timeout = 0.5 s, whatever the server does
    async with stripe(server, timeout=0.4, connect_timeout=0.1, max_retries=0) as client:
        server.script(None)  # warm up (the transport's imports) outside the timing
        with contextlib.suppress(NotFoundError):
            await client.customers.retrieve_customer("cus_1")
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            await client.customers.retrieve_customer("cus_1")
        assert time.monotonic() - started < 0.5 + SLACK
        # with retries, total_timeout bounds the whole call
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            await client.customers.retrieve_customer(
                "cus_1", request_options={"max_retries": 5, "total_timeout": 0.8}
            )
        assert time.monotonic() - started < 0.8 + SLACK


def _sse(n: int) -> bytes:
    chunk = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-test",
        "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}],
    }
    return b"".join(b"data: " + json.dumps(chunk).encode() + b"\n\n" for _ in range(n)) + b"data: [DONE]\n\n"


SSE = {"Content-Type": "text/event-stream"}


def _chat(client: OpenAIClient, stream: bool, **options: Any) -> Any:
    return client.chat.create_chat_completion(
        model="gpt-test",
        messages=[{"role": "user", "content": "hi"}],
        stream=stream,
        request_options=options or None,  # type: ignore[arg-type]
    )


async def test_streaming_operations_are_bounded_while_opening_and_iterating(
    make_server: Callable[..., FaultServer],
) -> None:
    server = make_server()
    async with OpenAIClient(api_key="sk-" + "q" * 40, base_url=server.url, max_retries=0) as client:
        server.script(Reply(200, {}, {"id": "warm-up"}))  # the transport's imports, outside the timing
        with contextlib.suppress(PolvoError):
            await _chat(client, False)
        # a JSON answer (no stream=True) dribbled: the per-attempt bound
        server.script(_dribbled(json.dumps({"id": "x", "pad": "y" * 400}).encode()))
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            await _chat(client, False, timeout=0.4, connect_timeout=0.1)
        assert time.monotonic() - started < 0.5 + SLACK
        # no head at all: the per-attempt bound covers opening the stream
        server.script("stall")
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            await _chat(client, True, timeout=0.4, connect_timeout=0.1)
        assert time.monotonic() - started < 0.5 + SLACK
        # a head, then silence: the read timeout ends the iteration, as a typed error
        server.script(Reply(200, SSE, _sse(3), hold=30, chunked=True))
        started = time.monotonic()
        stream = await _chat(client, True, timeout=0.5)
        with pytest.raises(APITimeoutError):
            async for _ in stream:
                pass
        assert time.monotonic() - started < 0.5 + SLACK
        # an event stream dribbling forever: total_timeout covers the iteration
        server.script(Reply(200, SSE, _sse(500), chunked=True, dribble=0.01))
        started = time.monotonic()
        stream = await _chat(client, True, total_timeout=1.0)
        assert isinstance(stream, AsyncStream)
        with pytest.raises(APITimeoutError, match="total timeout"):
            async for _ in stream:
                pass
        assert time.monotonic() - started < 1.0 + SLACK
        assert stream.closed
        # a healthy chunked stream still reads to its end through the same reader
        server.script(Reply(200, SSE, _sse(2), chunked=True))
        chunks = [c async for c in await _chat(client, True)]
        assert len(chunks) == 2
        # a truncated stream: a typed error, not httpx.RemoteProtocolError
        body = _sse(5)
        server.script(Reply(200, SSE, body[: len(body) // 2], length=len(body)))
        with pytest.raises(APIConnectionError) as err:  # on opening (aiohttp) or while iterating
            async for _ in await _chat(client, True):
                pass
        assert err.value.__cause__ is None and err.value.__context__ is None


# -- 5. size bounds ------------------------------------------------------------------------


def _gzip_bomb(gib: int = 1) -> bytes:
    """~1 MB of gzip that inflates to ``gib`` GiB of zeros (blocks repeated after full flushes;
    the trailer's checksum is not that of the whole, which a bounded reader never reaches)."""
    zeros = bytes(1 << 20)
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    head = z.compress(zeros) + z.flush(zlib.Z_FULL_FLUSH)
    block = z.compress(zeros) + z.flush(zlib.Z_FULL_FLUSH)
    return head + block * (1024 * gib - 1) + z.flush()


async def test_big_bodies_stop_early_with_a_typed_error(make_server: Callable[..., FaultServer]) -> None:
    server = make_server()
    big = b'{"pad": "' + b"x" * (2 << 20) + b'"}'
    async with PlainClient(
        api_key=KEY, base_url=server.url, max_retries=FAST, max_response_bytes=1 << 20
    ) as client:
        for reply in (
            Reply(200, {}, big),  # announced too long: refused before reading
            Reply(200, {}, big, chunked=True),  # no length: counted while reading
            Reply(200, {"Content-Encoding": "gzip"}, _gzip_bomb()),  # small, inflates to 1 GiB
        ):
            server.script(reply)
            with pytest.raises(ResponseTooLargeError) as err:
                await client.request(GET_THING)
            assert err.value.limit == 1 << 20 and err.value.attempts == 1  # not retried
        server.script(Reply(200, {}, big))
        body = await client.request(GET_THING, request_options={"max_response_bytes": None})
        assert len(body["pad"]) == 2 << 20
        # a redirect's body, which httpx reads itself before following, is bounded too
        server.script(Reply(302, {"Location": "/things", "Content-Encoding": "gzip"}, _gzip_bomb()))
        with pytest.raises(ResponseTooLargeError):
            await client.request(GET_THING)
    assert len(server.snapshot()) == 5


@pytest.mark.slow
def test_a_gzip_bomb_stays_under_100_mb_of_rss(make_server: Callable[..., FaultServer]) -> None:
    server = make_server()
    server.rule = lambda rec: Reply(200, {"Content-Encoding": "gzip"}, _gzip_bomb())
    script = textwrap.dedent(
        f"""
        import asyncio
        from usepolvo.stripe import StripeClient
        from usepolvo.core import ResponseTooLargeError

        async def main():
            async with StripeClient(api_key="sk_test_x", base_url="{server.url}", max_retries=0) as client:
                try:
                    await client.customers.retrieve_customer("cus_1")
                except ResponseTooLargeError:
                    pass
                else:
                    raise SystemExit("no error")

        asyncio.run(main())
        # VmHWM: this process's peak RSS since exec (ru_maxrss would include the RSS of the
        # forking parent, the whole test session)
        with open("/proc/self/status") as status:
            print(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT, check=True
    )
    peak_mb = int(out.stdout.split()[-1]) / 1024
    assert peak_mb < 100, f"peak RSS {peak_mb:.0f} MB"


# -- 4. loops and threads ------------------------------------------------------------------


def test_two_threads_sharing_a_client_finish_or_get_the_documented_error_at_once(
    make_server: Callable[..., FaultServer],
) -> None:
    server = make_server(latency=0.02)
    cid = server.add_customer()
    client = stripe(server, max_concurrency=4)
    outcomes: dict[str, Any] = {}
    spent: dict[str, float] = {}

    def worker(name: str) -> None:
        async def calls() -> list[Any]:
            return await asyncio.gather(*(client.customers.retrieve_customer(cid) for _ in range(20)))

        started = time.monotonic()
        try:
            outcomes[name] = asyncio.run(calls())
        except BaseException as exc:  # noqa: BLE001 - recorded for the asserts
            outcomes[name] = exc
        spent[name] = time.monotonic() - started

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
    for name, outcome in outcomes.items():
        if isinstance(outcome, BaseException):
            assert isinstance(outcome, ConfigurationError) and "another event loop or thread" in str(outcome)
            assert spent[name] < 1.0
        else:
            assert [c.id for c in outcome] == [cid] * 20
    assert any(not isinstance(o, BaseException) for o in outcomes.values())
    asyncio.run(client.aclose())


def _run_script(body: str, *, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``body`` in a fresh interpreter where every ResourceWarning is an error."""
    return subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error::ResourceWarning", "-c", textwrap.dedent(body)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


def test_loops_leak_nothing_and_a_closed_client_says_so(make_server: Callable[..., FaultServer]) -> None:
    server = make_server()
    cid = server.add_customer()
    out = _run_script(
        f"""
        import asyncio, gc, threading
        from usepolvo.stripe import StripeClient
        from usepolvo.core import ConfigurationError

        client = StripeClient(api_key="sk_test_x", base_url="{server.url}", rate_limit=None)

        async def burst():
            await asyncio.gather(*(client.customers.retrieve_customer("{cid}") for _ in range(40)))

        asyncio.run(burst())   # a pool per loop, closed when its loop shuts down
        asyncio.run(burst())
        gc.collect()

        # aclose() from another loop closes the pool of a loop running in another thread
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever)
        thread.start()
        asyncio.run_coroutine_threadsafe(burst(), loop).result(10)
        pool = [p.http for p in client._pools.values()][-1]
        asyncio.run(client.aclose())
        assert pool.is_closed, "the other loop's pool is still open"
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()

        try:
            asyncio.run(client.customers.retrieve_customer("{cid}"))
        except ConfigurationError as exc:
            assert "closed by aclose()" in str(exc)
        else:
            raise SystemExit("a closed client sent a request")
        gc.collect()
        print("ok")
        """
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]
    assert "ResourceWarning" not in out.stderr and "Exception ignored" not in out.stderr, out.stderr[-3000:]


# -- 7. no untyped errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"timeout": "5"}, "timeout must be a number of seconds"),
        ({"timeout": -1}, "timeout must be positive"),
        ({"connect_timeout": float("nan")}, "connect_timeout must be positive"),
        ({"total_timeout": [1]}, "total_timeout must be a number"),
        ({"base_url": "api.stripe.com"}, "absolute http:// or https:// URL"),
        ({"base_url": "http://[::1"}, "absolute http:// or https:// URL"),
        ({"base_url": "https://api.stripe.com\r\nX: y"}, "absolute http:// or https:// URL"),
        ({"max_response_bytes": 0}, "max_response_bytes must be a positive integer"),
        ({"default_headers": {"X-Trace": "a\r\nInjected: 1"}}, "header 'X-Trace'"),
    ],
)
def test_bad_configuration_fails_at_construction(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        StripeClient(api_key=KEY, **kwargs)


async def test_bad_call_arguments_fail_before_any_request(make_server: Callable[..., FaultServer]) -> None:
    server = make_server()
    nested: dict[str, Any] = {}
    node = nested
    for _ in range(2000):
        node["k"] = {}
        node = node["k"]
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    bad: Any = {"timeout": "5"}  # what a caller without a type checker may pass
    async with stripe(server) as client:
        calls: list[tuple[Callable[[], Any], str]] = [
            (lambda: client.customers.list_customers(request_options=bad), "timeout must be"),
            (
                lambda: client.customers.list_customers(request_options=dict(tiemout=5)),  # type: ignore[arg-type]
                "unknown request_options",
            ),
            (
                lambda: client.customers.list_customers(request_options={"headers": {"X": "a\nb"}}),
                "header 'X'",
            ),
            (lambda: client.customers.list_customers(request_options={"headers": {"X": "é"}}), "header 'X'"),
            (lambda: client.customers.create_customer(metadata=nested), "nests more than"),
            (lambda: client.customers.create_customer(metadata=cyclic), "nests more than"),
            (
                lambda: client.customers.retrieve_customer(bad.get("id")),
                "must be a string",
            ),
        ]
        for call, match in calls:
            with pytest.raises(ConfigurationError, match=match):
                await call()
        async with OpenAIClient(api_key="sk-" + "q" * 40, base_url=server.url) as openai:
            with pytest.raises(ConfigurationError, match="nests more than"):
                await openai.chat.create_chat_completion(model="m", messages=[nested])
    assert server.snapshot() == []


async def test_no_raw_transport_exception_reaches_the_caller(make_server: Callable[..., FaultServer]) -> None:
    server = make_server()
    url = server.url.replace("http://", "ftp://")
    client = PlainClient(api_key=KEY, base_url=server.url, max_retries=FAST)
    async with client:
        request = client.build_request(GET_THING)
        request.url = httpx.URL(url + "/things")
        with pytest.raises(APIConnectionError) as err:
            await client.send(GET_THING, request)
        assert err.value.__context__ is None and err.value.__cause__ is None
        request = client.build_request(GET_THING)
        request.headers["X-Bad"] = "ok"
        request.headers._list[-1] = (b"X-Bad", b"x-bad", b"a\r\nInjected: yes")  # bypassing our checks
        with pytest.raises(APIConnectionError) as err:
            await client.send(GET_THING, request)
        assert err.value.attempts == 1  # a request that cannot be sent is not retried as "connection failed"
    assert server.snapshot() == [] or all("injected" not in r.headers for r in server.snapshot())


# -- 8. secrets ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [KEY + "\n", KEY + "\r\nX-Evil: 1", KEY[:-1] + "é", " " + KEY, KEY + "\x00"],
    ids=["lf", "crlf", "non-ascii", "space", "nul"],
)
def test_a_key_that_cannot_be_sent_is_refused_without_showing_it(bad: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        StripeClient(api_key=bad)
    assert KEY[8:20] not in str(err.value) and err.value.__context__ is None


def _reachable_texts(exc: BaseException) -> list[str]:
    """str/repr of the exception, its traceback and everything reachable from its attributes."""
    import traceback

    texts = ["".join(traceback.format_exception(exc))]
    seen: set[int] = set()

    def walk(obj: Any, depth: int = 0) -> None:
        if id(obj) in seen or depth > 6:
            return
        seen.add(id(obj))
        try:
            texts.append(repr(obj))
            texts.append(str(obj))
        except Exception:  # noqa: BLE001 - a repr that fails shows nothing
            return
        if isinstance(obj, (str, bytes, int, float, bool, type(None))):
            return
        if isinstance(obj, BaseException):
            for link in (obj.__cause__, obj.__context__, *obj.args):
                walk(link, depth + 1)
        if isinstance(obj, dict):
            items: list[Any] = [*obj.keys(), *obj.values()]
        elif isinstance(obj, (list, tuple, set)):
            items = list(obj)
        elif isinstance(obj, httpx.Headers):
            items = list(obj.multi_items())
        else:
            items = list(getattr(obj, "__dict__", {}).values())
            items += [getattr(obj, s, None) for s in getattr(type(obj), "__slots__", ())]
            to_dict = getattr(obj, "to_dict", None)
            if callable(to_dict):
                with contextlib.suppress(Exception):
                    items.append(to_dict())
        for item in items:
            walk(item, depth + 1)

    walk(exc)
    return texts


async def test_secret_scan_over_every_failure_mode(
    make_server: Callable[..., FaultServer], caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)  # usepolvo, httpx, httpcore, aiohttp, asyncio
    server = make_server(stall_seconds=5)
    echo = {
        "error": {"message": f"Invalid API Key provided: {KEY}", "type": "invalid_request_error", "key": KEY}
    }
    errors: list[BaseException] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with stripe(server, timeout=0.3, connect_timeout=0.1, max_response_bytes=1 << 16) as client:
            scripted: list[Any] = [
                Reply(401, {"X-Echo": KEY}, echo),  # the key echoed in body, error model and header
                Reply(400, {}, f"plain text echoing Bearer {KEY}".encode()),
                "reset",
                "truncate",
                "corrupt_gzip",
                "stall",
                _dribbled(b'{"id": "cus_1"}'),
                Reply(200, {}, b"x" * (1 << 17)),  # too large
                Reply(200, {"Content-Encoding": "br"}, b"???"),  # an encoding never asked for
                Reply(200, {}, b"<html>not json</html>"),
                Reply(429, {"Retry-After": "0"}, echo),
                Reply(503, {}, echo),
            ]
            for fault in scripted:
                server.rule = lambda rec, f=fault: f
                try:
                    await client.customers.create_customer(
                        email="a@example.com", request_options={"max_retries": 0}
                    )
                except PolvoError as exc:
                    errors.append(exc)
            server.rule = None
            unknown: Any = {"bogus": KEY}
            bad_calls: list[Callable[[], Any]] = [
                lambda: client.customers.list_customers(request_options={"headers": {"X": f"{KEY}\n"}}),
                lambda: client.customers.list_customers(request_options=unknown),
            ]
            for bad in bad_calls:
                try:
                    await bad()
                except PolvoError as exc:
                    errors.append(exc)
        for bad_key in (KEY + "\n", KEY + "é"):
            try:
                StripeClient(api_key=bad_key)
            except PolvoError as exc:
                errors.append(exc)
        # a stream broken halfway, with the key in the request's own headers
        server.rule = lambda rec: Reply(200, SSE, _sse(4)[:100], length=2000)
        async with OpenAIClient(api_key=KEY, base_url=server.url, max_retries=0) as openai:
            try:
                async for _ in await _chat(openai, True):
                    pass
            except PolvoError as exc:
                errors.append(exc)
    assert len(errors) == len(scripted) + 5
    assert all(isinstance(e, (APIError, ConfigurationError)) for e in errors)
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in server.snapshot())  # it was on the wire
    texts: list[str] = []
    for error in errors:
        texts.extend(_reachable_texts(error))
    for record in caplog.records:
        texts.append(logging.Formatter("%(name)s %(message)s %(exc_info)s").format(record))
        texts.extend(str(v) for v in vars(record).values())
    texts.extend(str(w.message) for w in caught)
    secret_parts = (KEY, KEY[8:], KEY[-16:])
    leaks = [t[:200] for t in texts if any(p in t for p in secret_parts)]
    assert leaks == []


# -- 9. half-open reopening ----------------------------------------------------------------


async def test_reopening_after_a_pause_sends_one_probe_then_the_rest(
    make_server: Callable[..., FaultServer],
) -> None:
    limited_until = [0.0]

    def rule(rec: Record) -> Reply | None:
        if not limited_until[0]:
            limited_until[0] = rec.received + 0.7
        if rec.received < limited_until[0]:
            return Reply(429, {"Retry-After": "0.2"}, {"error": {"message": "slow down"}})
        return None

    server = make_server(rule=rule, latency=0.01)
    cid = server.add_customer()
    policy = RetryPolicy(20, initial_backoff=0.01, max_backoff=0.05)
    async with stripe(server, max_concurrency=10, max_retries=policy) as client:
        results = await asyncio.gather(*(client.customers.retrieve_customer(cid) for _ in range(30)))
    assert all(r.id == cid for r in results)
    limited = [r for r in server.snapshot() if r.status == 429]
    first_wave = [r for r in limited if r.received < limited[0].received + 0.1]
    later = [r for r in limited if r not in first_wave]
    # each 0.2 s reopening inside the 0.7 s burst lets one probe through (not a wave of 10)
    assert len(first_wave) <= 10
    assert len(later) <= 5, [round(r.received - limited[0].received, 2) for r in later]


async def test_limiter_half_open_unit() -> None:
    limiter = Limiter(max_concurrency=5)
    limiter.pause(0.05)
    order: list[str] = []

    async def call(name: str, hold: float) -> None:
        async with limiter:
            order.append(f"start {name}")
            await asyncio.sleep(hold)
            order.append(f"end {name}")

    await asyncio.gather(call("probe", 0.05), *(call(f"n{i}", 0.0) for i in range(3)))
    assert order[:2] == ["start probe", "end probe"]  # nobody else started while it was out
    assert sorted(order[2:]) == sorted([f"start n{i}" for i in range(3)] + [f"end n{i}" for i in range(3)])


# -- user http_client keeps the SDK's timeouts ---------------------------------------------


async def test_a_given_http_client_keeps_the_sdk_timeouts_unless_it_has_its_own(
    make_server: Callable[..., FaultServer],
) -> None:
    server = make_server(rule=lambda rec: "stall", stall_seconds=10)
    async with httpx.AsyncClient() as http:  # httpx's default 5 s: not the user's choice
        client = StripeClient(api_key=KEY, base_url=server.url, http_client=http, timeout=0.3, max_retries=0)
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            await client.customers.list_customers()
        assert time.monotonic() - started < 0.3 + SLACK
    async with httpx.AsyncClient(timeout=0.2) as http:  # the user's own: kept
        client = StripeClient(api_key=KEY, base_url=server.url, http_client=http, max_retries=0)
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            await client.customers.list_customers()
        assert time.monotonic() - started < 0.2 + SLACK
