"""``on_request=`` / ``on_response=`` hooks: one pair of events per attempt (issue 13).

Against the fault server and the local GitHub/OpenAI servers on 127.0.0.1 and
``usepolvo.testing.MockAPI``; the suite runs on both transports.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from usepolvo.github import GitHubClient
from usepolvo.openai import OpenAIClient
from usepolvo.stripe import StripeClient

from tests.conftest import FAST_RETRIES
from tests.servers.faults import FaultServer, Reply
from tests.servers.github import GitHubServer
from tests.servers.openai import OpenAIServer
from usepolvo.core import (
    APIConnectionError,
    ConfigurationError,
    InternalServerError,
    RequestEvent,
    ResponseEvent,
    ResponseValidationError,
)
from usepolvo.testing import MockAPI

KEY = "sk_test_hooks_secret_987654"
CUSTOMER = {"id": "cus_1", "object": "customer", "created": 1700000000, "livemode": False}


class Metrics:
    """What a user's metrics hook looks like: counts by operation and status, latencies."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.responses: Counter[tuple[str, int | None]] = Counter()
        self.latencies: list[float] = []
        self.retried = 0

    def on_request(self, event: RequestEvent) -> None:
        self.requests[event.operation] += 1

    async def on_response(self, event: ResponseEvent) -> None:  # async hooks are awaited
        await asyncio.sleep(0)
        self.responses[(event.operation, event.status_code)] += 1
        self.latencies.append(event.elapsed)
        self.retried += event.will_retry


@pytest.fixture
def server(make_server: Callable[..., FaultServer]) -> FaultServer:
    return make_server()


async def test_counting_and_timing_through_hooks(server: FaultServer) -> None:
    metrics = Metrics()
    server.script("503", None, "503", "503", "503")
    async with StripeClient(
        api_key=KEY,
        base_url=server.url,
        max_retries=FAST_RETRIES,
        rate_limit=None,
        on_request=[metrics.on_request],
        on_response=[metrics.on_response],
    ) as stripe:
        await stripe.customers.create_customer(email="a@example.com")  # 503, then 200
        with pytest.raises(InternalServerError):
            await stripe.customers.list_customers()  # 503 three times: given up
    assert metrics.requests == Counter({"create_customer": 2, "list_customers": 3})
    assert metrics.responses == Counter(
        {("create_customer", 503): 1, ("create_customer", 200): 1, ("list_customers", 503): 3}
    )
    assert metrics.retried == 1 + 2  # the last failed attempt is not retried
    assert len(metrics.latencies) == len(server.snapshot()) == 5
    assert all(0 < t < 30 for t in metrics.latencies)


async def test_events_describe_each_attempt(server: FaultServer) -> None:
    requests: list[RequestEvent] = []
    responses: list[ResponseEvent] = []
    server.script(Reply(503, {"Request-Id": "req_a"}, {"error": {"message": "busy"}}), "reset")
    async with StripeClient(
        api_key=KEY,
        base_url=server.url,
        max_retries=FAST_RETRIES,
        rate_limit=None,
        on_request=[requests.append],
        on_response=[responses.append],
    ) as stripe:
        await stripe.customers.create_customer(email="b@example.com")
    keys = {r.idempotency_key for r in server.snapshot()}
    assert len(keys) == 1 and None not in keys
    assert [(e.attempt, e.max_attempts, e.method, e.operation) for e in requests] == [
        (1, 3, "POST", "create_customer"),
        (2, 3, "POST", "create_customer"),
        (3, 3, "POST", "create_customer"),
    ]
    assert {e.idempotency_key for e in requests} == {e.idempotency_key for e in responses} == keys
    assert all(e.provider == "stripe" and e.url == f"{server.url}/v1/customers" for e in requests)
    busy, reset, ok = responses
    assert (busy.status_code, busy.request_id, busy.will_retry, busy.is_success) == (
        503,
        "req_a",
        True,
        False,
    )
    assert isinstance(busy.error, InternalServerError) and busy.retry_in is not None
    assert reset.status_code is None and reset.headers is None and reset.request_id is None
    assert isinstance(reset.error, APIConnectionError) and reset.will_retry
    assert ok.status_code == 200 and ok.error is None and ok.is_success and not ok.will_retry
    assert ok.retry_in is None and ok.headers is not None and ok.elapsed > 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        ok.status_code = 500  # type: ignore[misc]


async def test_a_raising_on_request_hook_sends_nothing_and_reaches_the_caller(server: FaultServer) -> None:
    class Refused(Exception):
        pass

    def guard(event: RequestEvent) -> None:
        if event.method == "DELETE":
            raise Refused(f"no deletes in tests ({event.operation})")

    async with StripeClient(
        api_key=KEY, base_url=server.url, max_retries=FAST_RETRIES, max_concurrency=1, on_request=[guard]
    ) as stripe:
        with pytest.raises(Refused, match="delete_customer"):
            await stripe.customers.delete_customer("cus_1")
        assert stripe.limiter.in_flight == 0  # the slot went back
        page = await stripe.customers.list_customers()  # the client goes on (one slot: not leaked)
    assert isinstance(page.data, list)
    assert [r.method for r in server.snapshot()] == ["GET"]


async def test_a_raising_on_response_hook_stops_the_call_without_retrying(server: FaultServer) -> None:
    def boom(event: ResponseEvent) -> None:
        raise RuntimeError(f"hook saw {event.status_code}")

    server.script("503")
    async with StripeClient(
        api_key=KEY, base_url=server.url, max_retries=FAST_RETRIES, rate_limit=None, on_response=[boom]
    ) as stripe:
        with pytest.raises(RuntimeError, match="hook saw 503"):
            await stripe.customers.list_customers()
        with pytest.raises(RuntimeError, match="hook saw 200"):
            await stripe.customers.list_customers()
    assert len(server.snapshot()) == 2  # one attempt each: no retry after the hook raised


async def test_a_raising_hook_closes_an_opened_stream() -> None:
    server = OpenAIServer()
    with server:
        opened: list[ResponseEvent] = []

        def boom(event: ResponseEvent) -> None:
            opened.append(event)
            raise RuntimeError("stop")

        async with OpenAIClient(api_key="sk-test", base_url=server.url, on_response=[boom]) as ai:
            with pytest.raises(RuntimeError):
                await ai.chat.create_chat_completion(
                    model="hold-open", messages=[{"role": "user", "content": "hi"}], stream=True
                )
        assert opened and opened[0].status_code == 200
        assert server.client_closed.wait(5), "the held-open stream was not closed"


async def test_events_carry_no_secret() -> None:
    seen: list[Any] = []
    with MockAPI() as api:
        api.get(
            "/v1/customers", status=500, times=1, headers={"X-Echo": KEY}, json={"error": {"message": KEY}}
        )
        api.get(
            "/v1/customers",
            headers={"Request-Id": f"req {KEY}"},
            json={"object": "list", "data": [], "has_more": False, "url": "/v1/customers"},
        )
        async with StripeClient(
            api_key=KEY, max_retries=FAST_RETRIES, on_request=[seen.append], on_response=[seen.append]
        ) as stripe:
            await stripe.customers.list_customers(request_options={"query": {"token": KEY}})
    assert len(seen) == 4
    for event in seen:
        assert KEY not in repr(event), event
        assert "?" not in event.url  # no query string, which may carry a key
    assert seen[-1].request_id == "req ***"


async def test_gathered_calls_each_get_a_pair_of_events() -> None:
    pairs: Counter[str] = Counter()

    async def answer(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.001)
        cid = request.url.path.rsplit("/", 1)[-1]
        return httpx.Response(200, json={**CUSTOMER, "id": cid}, headers={"Request-Id": f"req_{cid}"})

    def started(event: RequestEvent) -> None:
        pairs[event.url.rsplit("/", 1)[-1]] += 1

    def ended(event: ResponseEvent) -> None:
        assert event.request_id == "req_" + event.url.rsplit("/", 1)[-1]
        pairs[event.url.rsplit("/", 1)[-1]] += 10

    with MockAPI() as api:
        api.get(re.compile(r"/v1/customers/cus_\d+"), handler=answer)
        async with StripeClient(api_key=KEY, on_request=[started], on_response=[ended]) as stripe:
            await asyncio.gather(*(stripe.customers.retrieve_customer(f"cus_{i}") for i in range(50)))
    assert pairs == Counter({f"cus_{i}": 11 for i in range(50)})


async def test_strict_validation_failure_is_reported_to_hooks() -> None:
    seen: list[ResponseEvent] = []
    with MockAPI() as api:
        api.get("/v1/customers/cus_1", json=[1, 2])  # an array where the spec says object
        async with StripeClient(api_key=KEY, on_response=[seen.append]) as stripe:
            with pytest.raises(ResponseValidationError):
                await stripe.customers.retrieve_customer("cus_1")
    (event,) = seen
    assert event.status_code == 200 and isinstance(event.error, ResponseValidationError)
    assert not event.will_retry and not event.is_success


@pytest.fixture
def github_server() -> Iterator[GitHubServer]:
    with GitHubServer(issues=3, token="ghp_test") as srv:
        yield srv


async def test_generated_clients_with_their_own_keywords_take_hooks(github_server: GitHubServer) -> None:
    seen: list[ResponseEvent] = []
    async with GitHubClient(token="ghp_test", base_url=github_server.url, on_response=[seen.append]) as gh:
        await gh.repos.get("o", "r")
    (event,) = seen
    assert event.provider == "github" and event.operation == "get" and event.request_id == "ABCD:1234"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"on_request": "print"}, "on_request must be a list of callables"),
        ({"on_response": [print, 3]}, r"on_response\[1\] is a int, not a callable"),
        ({"on_request": 42}, "on_request must be a list of callables"),
    ],
)
def test_hooks_that_are_not_callables_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        StripeClient(api_key=KEY, **kwargs)


def test_a_single_callable_is_accepted() -> None:
    client = StripeClient(api_key=KEY, on_request=print)  # type: ignore[arg-type]
    assert client._hooks is not None and client._hooks.on_request == (print,)
    assert StripeClient(api_key=KEY, on_request=[], on_response=None)._hooks is None


async def test_the_debug_line_has_latency_and_request_id(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="usepolvo")
    with MockAPI() as api:
        api.get("/v1/customers/cus_1", status=503, times=1, headers={"Request-Id": "req_fail"})
        api.get("/v1/customers/cus_1", json=CUSTOMER, headers={"Request-Id": "req_ok"})
        async with StripeClient(api_key=KEY, max_retries=FAST_RETRIES) as stripe:
            await stripe.customers.retrieve_customer("cus_1")
    lines = [r for r in caplog.records if r.name == "usepolvo"]
    first, second = (r.getMessage() for r in lines)
    assert re.fullmatch(
        r"GET /v1/customers/cus_1 -> 503 in \d+\.\dms, request id req_fail \(attempt 1/3, retry in \S+\)",
        first,
    ), first
    assert re.fullmatch(
        r"GET /v1/customers/cus_1 -> 200 in \d+\.\dms, request id req_ok \(attempt 2/3\)", second
    )
    assert lines[1].request_id == "req_ok" and lines[1].elapsed_ms >= 0  # type: ignore[attr-defined]


async def test_unreadable_bodies_and_timeouts_are_attempts_too(server: FaultServer) -> None:
    seen: list[ResponseEvent] = []
    async with StripeClient(
        api_key=KEY,
        base_url=server.url,
        max_retries=FAST_RETRIES,
        rate_limit=None,
        timeout=0.3,
        connect_timeout=0.3,
        on_response=[seen.append],
    ) as stripe:
        server.script("corrupt", "truncate")  # a 200 that is not JSON, then one cut short
        created = await stripe.with_raw_response(stripe.customers.create_customer(email="c@example.com"))
        server.script("stall", None)
        await stripe.customers.list_customers()
    assert created.attempts == 3
    corrupt, truncated, ok, stalled, listed = seen
    for event in (corrupt, truncated):  # the head came (200), the body could not be read
        assert event.status_code == 200 and isinstance(event.error, APIConnectionError) and event.will_retry
    assert ok.is_success and ok.attempt == 3
    assert stalled.status_code is None and stalled.error is not None and stalled.will_retry
    assert stalled.elapsed >= 0.3 and listed.is_success
