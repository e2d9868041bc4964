"""The runtime under real network faults, against the fault server on 127.0.0.1.

Every check reads what the *server* saw (its own monotonic timestamps, its stored objects),
so a passing test means the wire behaved, not only that the client believed it did.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest
from usepolvo.stripe import StripeClient

from tests.servers.faults import TRANSIENT_FAULTS, FaultServer, Record, Reply
from usepolvo.core import (
    APIConnectionError,
    APITimeoutError,
    BadRequestError,
    BaseClient,
    InternalServerError,
    NotFoundError,
    Operation,
    ProviderConfig,
    RateLimitError,
    RequestOptions,
    ResponseSpec,
    RetryPolicy,
)

KEY = "sk_test_51FaultTestsKey0000aaaa1111"
FAST = RetryPolicy(2, initial_backoff=0.005, max_backoff=0.02)


class PlainClient(BaseClient):
    """A provider without idempotency keys: its POSTs are not safe to repeat."""

    _config = ProviderConfig(
        name="plain",
        client_name="PlainClient",
        spec_version="1",
        base_url="http://127.0.0.1:9",
        api_key_env=("PLAIN_API_KEY",),
        base_url_env="PLAIN_BASE_URL",
        max_concurrency=None,
    )


POST_THING = Operation(
    "create_thing", "POST", "/things", body="json", responses={"200": ResponseSpec("json")}
)
GET_THING = Operation("get_thing", "GET", "/things", responses={"200": ResponseSpec("json")})


def stripe(server: FaultServer, **kwargs: Any) -> StripeClient:
    kwargs.setdefault("max_retries", FAST)
    kwargs.setdefault("rate_limit", None)
    return StripeClient(api_key=KEY, base_url=server.url, **kwargs)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- 200 creates through 20% faults --------------------------------------------------------


async def test_200_gathered_creates_through_20_percent_faults_make_exactly_200_objects(
    make_server: Callable[..., FaultServer],
) -> None:
    server = make_server(
        fault_rate=0.2,
        faults=TRANSIENT_FAULTS,
        seed=2024,
        retry_after="0",
        retry_after_ms=20,
        stall_seconds=5,
    )
    emails = [f"user{i:03d}@example.com" for i in range(200)]
    policy = RetryPolicy(10, initial_backoff=0.01, max_backoff=0.2)
    async with stripe(server, max_retries=policy, timeout=0.5) as client:
        created = await asyncio.gather(*(client.customers.create_customer(email=e) for e in emails))

    records = server.snapshot()
    # The caller got 200 distinct customers, and the server holds exactly those 200.
    assert len(created) == 200
    assert len({c.id for c in created}) == 200
    assert len(server.customers) == 200
    assert {c.id: c.email for c in created} == {cid: c["email"] for cid, c in server.customers.items()}
    assert sorted(c["email"] for c in server.customers.values()) == emails
    # Faults really happened (about 20% of attempts), of every kind, and were retried.
    faulted = [r for r in records if r.fault]
    assert len(records) > 200
    assert 0.12 * len(records) <= len(faulted) <= 0.3 * len(records)
    assert {r.fault for r in faulted} == set(TRANSIENT_FAULTS)
    # Every retry of a call carried the same key and the same parameters: 200 keys in all.
    by_key: dict[str | None, list[Record]] = defaultdict(list)
    for r in records:
        by_key[r.idempotency_key].append(r)
    assert None not in by_key
    assert len(by_key) == 200
    assert all(len({r.body for r in rs}) == 1 for rs in by_key.values())
    # Some answers were lost after the object was made; the retry got the stored one back.
    assert any(r.replayed for r in records)


async def test_idempotency_key_is_the_same_on_every_retry_and_can_be_chosen(
    make_server: Callable[..., FaultServer],
) -> None:
    server = make_server()
    server.script("500", "reset_after", None, "503", None)
    async with stripe(server, max_retries=RetryPolicy(3, initial_backoff=0.001, max_backoff=0.005)) as client:
        first = await client.customers.create_customer(email="a@example.com")
        second = await client.customers.create_customer(
            email="b@example.com", request_options={"idempotency_key": "order-42"}
        )
    records = server.snapshot()
    keys = [r.idempotency_key for r in records]
    assert len(set(keys[:3])) == 1 and keys[0] is not None
    assert keys[3:] == ["order-42", "order-42"]
    assert records[2].replayed  # the object made by the reset attempt was not made twice
    assert len(server.customers) == 2
    assert {first.email, second.email} == {"a@example.com", "b@example.com"}


async def test_post_without_idempotency_key_is_not_repeated_once_sent(
    make_server: Callable[..., FaultServer],
) -> None:
    server = make_server()
    server.script("500", "reset")
    async with PlainClient(api_key=KEY, base_url=server.url, max_retries=FAST) as client:
        with pytest.raises(InternalServerError) as status_err:
            await client.request(POST_THING, body={"n": 1})
        with pytest.raises(APIConnectionError) as conn_err:
            await client.request(POST_THING, body={"n": 2})
        # A GET is safe to repeat on the same client.
        server.script("500", "reset")
        assert (await client.request(GET_THING))["object"] == "echo"
    assert status_err.value.attempts == 1
    assert conn_err.value.attempts == 1
    assert [r.method for r in server.snapshot()] == ["POST", "POST", "GET", "GET", "GET"]


async def test_post_that_never_left_is_retried_even_without_a_key() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    async with PlainClient(api_key=KEY, base_url=url, max_retries=FAST, connect_timeout=1) as client:
        started = time.monotonic()
        with pytest.raises(APIConnectionError) as err:
            await client.request(POST_THING, body={"n": 1})
    assert err.value.attempts == 3  # connection refused: nothing was sent, so safe to repeat
    assert not isinstance(err.value, APITimeoutError)
    assert time.monotonic() - started < 2


# -- server signals pause the whole client -------------------------------------------------


def _nth(n: int, reply: Reply) -> Callable[[Record], Reply | None]:
    return lambda rec: reply if rec.seq == n else None


@pytest.mark.parametrize(
    ("status", "headers"),
    [
        (429, {"Retry-After": "1"}),
        (429, {"retry-after-ms": "1000", "Retry-After": "1"}),
        (403, {"Retry-After": "1", "x-ratelimit-remaining": "0"}),  # GitHub's secondary limit
        (429, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1"}),
    ],
    ids=["retry-after", "retry-after-ms", "github-403", "ratelimit-reset"],
)
async def test_rate_limit_answer_pauses_every_call_of_the_client(
    make_server: Callable[..., FaultServer], status: int, headers: dict[str, str]
) -> None:
    server = make_server(latency=0.05)
    cid = server.add_customer()
    server.rule = _nth(10, Reply(status, headers, {"error": {"type": "rate_limit", "message": "slow down"}}))
    async with stripe(server, max_concurrency=5) as client:
        results = await asyncio.gather(*(client.customers.retrieve_customer(cid) for _ in range(40)))
    assert all(r.id == cid for r in results)

    records = server.snapshot()
    assert len(records) == 41  # 40 calls, one of them twice
    limited = next(r for r in records if r.status == status)
    assert limited.finished is not None
    t = limited.finished
    # Calls already in flight (at most max_concurrency - 1) may land just after the answer;
    # then nothing reaches the server until the second is over.
    slipped = [r for r in records if t < r.received <= t + 0.1]
    during = [r for r in records if t + 0.1 < r.received < t + 0.98]
    after = [r for r in records if r.received >= t + 0.98]
    assert len(slipped) <= 4
    assert during == []
    assert len(after) >= 20  # most calls were waiting, not only the refused one
    assert len(records) == len([r for r in records if r.received <= t]) + len(slipped) + len(after)


async def test_spent_budget_on_a_success_pauses_the_client(make_server: Callable[..., FaultServer]) -> None:
    # OpenAI reports its budget on every answer; a spent one holds the client until reset.
    server = make_server(latency=0.02)
    reply = Reply(
        200,
        {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "800ms"},
        {"object": "echo"},
    )
    server.rule = _nth(3, reply)
    async with PlainClient(api_key=KEY, base_url=server.url, max_retries=FAST, max_concurrency=2) as client:
        await asyncio.gather(*(client.request(GET_THING) for _ in range(12)))
    records = server.snapshot()
    assert len(records) == 12
    t = records[2].finished
    assert t is not None
    assert [r for r in records if t + 0.1 < r.received < t + 0.78] == []
    assert len([r for r in records if r.received >= t + 0.78]) >= 6


# -- timeouts --------------------------------------------------------------------------------


async def test_no_call_hangs_past_its_read_timeout(make_server: Callable[..., FaultServer]) -> None:
    server = make_server(rule=lambda rec: "stall")
    async with stripe(server, timeout=0.2) as client:
        started = time.monotonic()
        results = await asyncio.gather(
            *(client.customers.create_customer(email=f"{i}@x.io") for i in range(10)), return_exceptions=True
        )
        elapsed = time.monotonic() - started
    assert all(isinstance(r, APITimeoutError) and r.attempts == 3 for r in results)
    assert elapsed < 3 * 0.2 + 2 * 0.02 + 1.0
    assert len(server.snapshot()) == 30


async def test_total_timeout_bounds_the_whole_call(make_server: Callable[..., FaultServer]) -> None:
    server = make_server(rule=lambda rec: "stall")
    async with stripe(server, timeout=30) as client:
        started = time.monotonic()
        with pytest.raises(APITimeoutError) as per_call:
            await client.customers.create_customer(email="x@x.io", request_options={"total_timeout": 0.3})
        assert time.monotonic() - started < 1.0
    assert per_call.value.attempts == 1
    assert "total timeout of 0.3s" in str(per_call.value)

    async with stripe(server, timeout=30, total_timeout=0.3) as client:
        started = time.monotonic()
        results = await asyncio.gather(
            *(client.customers.create_customer(email=f"{i}@x.io") for i in range(5)), return_exceptions=True
        )
        assert time.monotonic() - started < 1.0
    assert all(isinstance(r, APITimeoutError) for r in results)


async def test_per_call_read_timeout_overrides_the_client(make_server: Callable[..., FaultServer]) -> None:
    server = make_server(rule=lambda rec: "stall")
    async with stripe(server, timeout=30, max_retries=0) as client:
        started = time.monotonic()
        with pytest.raises(APITimeoutError) as err:
            await client.customers.create_customer(email="x@x.io", request_options={"timeout": 0.2})
    assert time.monotonic() - started < 1.0
    assert "ReadTimeout" in str(err.value)


async def test_per_call_connect_and_read_timeouts_reach_the_transport(
    make_server: Callable[..., FaultServer],
) -> None:
    server = make_server()
    async with stripe(server, timeout=30, connect_timeout=5) as client:
        op = GET_THING
        options: RequestOptions = {"timeout": 0.25, "connect_timeout": 0.5}
        request = client.build_request(op, request_options=options)
        await client.send(op, request, options)
        assert request.extensions["timeout"] == {"connect": 0.5, "read": 0.25, "write": 0.25, "pool": 0.25}
        plain = client.build_request(op)
        await client.send(op, plain)
        assert plain.extensions["timeout"] == {"connect": 5, "read": 30, "write": 30, "pool": 30}


async def test_total_timeout_covers_waiting_for_a_paused_client(
    make_server: Callable[..., FaultServer],
) -> None:
    server = make_server()
    cid = server.add_customer()
    server.script(Reply(429, {"Retry-After": "30"}, {"error": {"message": "later"}}))
    async with stripe(server, max_concurrency=1) as client:
        started = time.monotonic()
        with pytest.raises(RateLimitError) as refused:
            await client.customers.retrieve_customer(cid, request_options={"total_timeout": 0.5})
        # The advised 30 s would outlast the call, so it reports the 429 at once...
        assert time.monotonic() - started < 0.4
        assert refused.value.retry_after == 30
        assert client.limiter.paused_for() > 25
        # ...and the other calls, held by the pause, give up at their own deadline.
        waited = time.monotonic()
        results = await asyncio.gather(
            *(
                client.customers.retrieve_customer(cid, request_options={"total_timeout": 0.3})
                for _ in range(3)
            ),
            return_exceptions=True,
        )
        assert 0.25 < time.monotonic() - waited < 1.0
    assert all(isinstance(r, APITimeoutError) and r.attempts == 0 for r in results)
    assert len(server.snapshot()) == 1


async def test_server_advice_longer_than_max_retry_after_is_not_waited_for(
    make_server: Callable[..., FaultServer],
) -> None:
    server = make_server()
    server.rule = lambda rec: Reply(503, {"Retry-After": "120"}, {"error": {"message": "down"}})
    async with stripe(server) as client:
        started = time.monotonic()
        with pytest.raises(InternalServerError) as err:
            await client.customers.list_customers()
        assert time.monotonic() - started < 0.5
        assert client.limiter.paused_for() <= client.retry.max_retry_after
    assert err.value.attempts == 1


# -- typed errors after the last retry ------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("503", InternalServerError),
        ("500", InternalServerError),
        ("429", RateLimitError),
        ("reset", APIConnectionError),
        ("close", APIConnectionError),
        ("truncate", APIConnectionError),
    ],
)
async def test_error_after_the_last_retry_is_typed_with_the_attempt_count(
    make_server: Callable[..., FaultServer], fault: str, error: type[Exception]
) -> None:
    server = make_server(rule=lambda rec: fault, retry_after="0")
    async with stripe(server) as client:
        with pytest.raises(error) as info:
            await client.customers.create_customer(email="x@example.com")
    assert getattr(info.value, "attempts", None) == 3
    assert "after 3 attempts" in str(info.value)
    assert len(server.snapshot()) == 3


async def test_per_call_retry_settings(make_server: Callable[..., FaultServer]) -> None:
    server = make_server(rule=lambda rec: "502")
    async with stripe(server) as client:
        with pytest.raises(InternalServerError) as none:
            await client.customers.list_customers(request_options={"max_retries": 0})
        with pytest.raises(InternalServerError) as more:
            await client.customers.list_customers(
                request_options={"max_retries": 5, "initial_backoff": 0.001, "max_backoff": 0.002}
            )
    assert none.value.attempts == 1
    assert more.value.attempts == 6
    assert len(server.snapshot()) == 7


async def test_not_found_is_not_retried(make_server: Callable[..., FaultServer]) -> None:
    server = make_server()
    async with stripe(server) as client:
        with pytest.raises(NotFoundError) as err:
            await client.customers.retrieve_customer("cus_missing")
    assert err.value.attempts == 1
    assert len(server.snapshot()) == 1


async def test_should_retry_headers_are_honoured(make_server: Callable[..., FaultServer]) -> None:
    server = make_server()
    no = Reply(500, {"Stripe-Should-Retry": "false"}, {"error": {"message": "card declined twice?"}})
    yes = Reply(400, {"x-should-retry": "true"}, {"error": {"message": "try again"}})
    server.script(no, yes, yes, None)
    async with stripe(server) as client:
        with pytest.raises(InternalServerError) as err:
            await client.customers.list_customers()
        page = await client.customers.list_customers()
    assert err.value.attempts == 1
    assert page.data == []
    assert [r.status for r in server.snapshot()] == [500, 400, 400, 200]


async def test_bad_request_with_no_verdict_is_not_retried(make_server: Callable[..., FaultServer]) -> None:
    server = make_server(rule=lambda rec: Reply(400, {}, {"error": {"message": "bad"}}))
    async with stripe(server) as client:
        with pytest.raises(BadRequestError) as err:
            await client.customers.list_customers()
    assert err.value.attempts == 1


# -- bodies ------------------------------------------------------------------------------------


async def test_truncated_and_garbled_bodies_are_retried(make_server: Callable[..., FaultServer]) -> None:
    server = make_server()
    cid = server.add_customer()
    server.script("truncate", "corrupt_gzip", None)
    async with stripe(server, max_retries=RetryPolicy(3, initial_backoff=0.001, max_backoff=0.005)) as client:
        customer = await client.customers.retrieve_customer(cid)
    assert customer.id == cid
    assert [r.fault for r in server.snapshot()] == ["truncate", "corrupt_gzip", None]


async def test_a_200_that_is_not_json_is_read_again_when_safe_else_a_typed_error_at_once(
    make_server: Callable[..., FaultServer],
) -> None:
    # Issue 10 changed this on purpose: the server may have committed, and a replayable
    # request (a GET, or a POST with an idempotency key) is simply asked again.
    server = make_server()
    cid = server.add_customer()
    server.script("corrupt")
    async with stripe(server) as client:
        customer = await client.customers.retrieve_customer(cid)
    assert customer.id == cid
    assert [r.fault for r in server.snapshot()] == ["corrupt", None]
    server.clear()
    server.script(Reply(200, {"Content-Type": "text/html"}, b"<html>proxy error</html>"))
    async with PlainClient(api_key=KEY, base_url=server.url, max_retries=FAST) as plain:
        with pytest.raises(APIConnectionError) as err:
            await plain.request(POST_THING, body={"a": 1})
    assert "JSON" in str(err.value)
    assert len(server.snapshot()) == 1


# -- cancellation --------------------------------------------------------------------------


async def _until(predicate: Callable[[], bool], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.01)
    return predicate()


async def test_cancelling_gathered_calls_releases_slots_and_connections(
    make_server: Callable[..., FaultServer],
) -> None:
    server = make_server(rule=lambda rec: "stall")
    async with stripe(server, max_concurrency=4, timeout=30) as client:
        tasks = [asyncio.ensure_future(client.customers.list_customers()) for _ in range(12)]
        gathered = asyncio.gather(*tasks)
        assert await _until(lambda: server.open_connections == 4 and len(server.snapshot()) == 4)
        assert client.limiter.in_flight == 4
        assert client.limiter.waiting == 8
        gathered.cancel()
        with pytest.raises(asyncio.CancelledError):
            await gathered
        assert all(t.cancelled() for t in tasks)
        assert client.limiter.in_flight == 0
        assert client.limiter.waiting == 0
        assert await _until(lambda: server.open_connections == 0)
        # The slots are free again: a new call goes straight through.
        server.rule = None
        page = await asyncio.wait_for(client.customers.list_customers(), 2)
        assert page.data == []
    assert len(server.snapshot()) == 5
