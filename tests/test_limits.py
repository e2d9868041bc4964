"""Client-side limits: concurrency, rate, pauses, per-provider defaults, server signals.

The end-to-end bound test checks the limits from the fault server's own timestamps; the
unit tests drive a :class:`Limiter` directly on the event loop.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Callable
from typing import Any

import pytest
from usepolvo.stripe import StripeClient

from tests.servers.faults import FaultServer, max_in_flight, max_in_window
from usepolvo.core import (
    BaseClient,
    ConfigurationError,
    Limiter,
    Operation,
    ProviderConfig,
    ResponseSpec,
    RetryPolicy,
)
from usepolvo.core._retry import (
    budget_reset,
    is_rate_limited,
    parse_duration,
    retry_after,
    server_wait,
    should_retry_status,
)

KEY = "sk_test_51LimitTestsKey0000bbbb2222"


# -- the done-when test: 1,000 calls, 50/s, 10 in flight ---------------------------------


@pytest.mark.slow
async def test_1000_gathered_calls_never_exceed_50_per_second_or_10_in_flight(
    make_server: Callable[..., FaultServer],
) -> None:
    # 50-250 ms per answer: with 10 slots the client could do ~65/s, so the rate binds;
    # bursts the window lets through pile up against the slots, so the concurrency binds.
    server = make_server(latency=(0.05, 0.25), seed=7)
    cid = server.add_customer()
    async with StripeClient(
        api_key=KEY, base_url=server.url, rate_limit=50, max_concurrency=10, max_retries=0
    ) as client:
        started = time.monotonic()
        results = await asyncio.gather(*(client.customers.retrieve_customer(cid) for _ in range(1000)))
        elapsed = time.monotonic() - started
    assert len(results) == 1000 and all(r.id == cid for r in results)

    records = server.snapshot()
    assert len(records) == 1000
    received = sorted(r.received for r in records)
    # Rate: no window of one second holds more than 50 arrivals. Arrivals trail the client's
    # grants by a jitter of a few ms, so windows are checked 50 ms short of a second.
    assert max_in_window(received, 1.0 - 0.05) <= 50
    gaps = [received[i + 50] - received[i] for i in range(len(received) - 50)]
    assert min(gaps) >= 1.0 - 0.05
    # Concurrency: never more than 10 requests open at the server at one instant.
    spans = [(r.received, r.finished) for r in records if r.finished is not None]
    assert len(spans) == 1000
    assert max_in_flight(spans) <= 10
    # Both bounds were actually reached (the test is not passing vacuously)...
    assert max_in_flight(spans) == 10
    assert max_in_window(received, 1.0) >= 45
    # ...and the limiter did not throttle far below the rate: 1,000 at 50/s is ~19 s.
    assert 19.0 - 0.1 <= received[-1] - received[0] < 25.0
    assert elapsed < 30.0


# -- Limiter unit tests ------------------------------------------------------------------


async def test_waiters_are_served_first_come_first_served() -> None:
    limiter = Limiter(max_concurrency=1, rate=200)
    order: list[int] = []

    async def call(i: int) -> None:
        async with limiter:
            order.append(i)
            await asyncio.sleep(0.001)

    await asyncio.gather(*(call(i) for i in range(50)))
    assert order == list(range(50))
    assert limiter.in_flight == 0 and limiter.waiting == 0


async def test_concurrency_bound_holds_under_random_hold_times() -> None:
    import random

    rng = random.Random(1)
    limiter = Limiter(max_concurrency=7)
    current = peak = 0

    async def call() -> None:
        nonlocal current, peak
        async with limiter:
            current += 1
            peak = max(peak, current)
            await asyncio.sleep(rng.uniform(0, 0.01))
            current -= 1

    await asyncio.gather(*(call() for _ in range(300)))
    assert peak == 7
    assert limiter.in_flight == 0


async def test_rate_bound_holds_in_every_window() -> None:
    limiter = Limiter(rate=20, period=0.25)
    grants: list[float] = []

    async def call() -> None:
        await limiter.acquire()
        grants.append(time.monotonic())
        limiter.release()

    started = time.monotonic()
    await asyncio.gather(*(call() for _ in range(70)))
    grants.sort()
    # 70 calls at 20 per 0.25 s: bursts at 0, 0.25, 0.5 and 0.75 s.
    assert all(grants[i + 20] - grants[i] >= 0.25 - 0.005 for i in range(len(grants) - 20))
    assert 0.75 - 0.01 <= grants[-1] - started < 0.75 + 0.25


async def test_writes_cost_more_points() -> None:
    limiter = Limiter(rate=10, period=0.2)  # 10 points per 0.2 s; a write costs 5
    grants: list[float] = []

    async def write() -> None:
        await limiter.acquire(5)
        grants.append(time.monotonic())
        limiter.release()

    started = time.monotonic()
    await asyncio.gather(*(write() for _ in range(6)))
    assert [round((g - started) / 0.2) for g in sorted(grants)] == [0, 0, 1, 1, 2, 2]
    # A cost above the whole budget is capped at the budget instead of waiting forever.
    await asyncio.wait_for(limiter.acquire(50), 1)
    limiter.release()


async def test_fractional_rate_means_one_call_per_longer_window() -> None:
    limiter = Limiter(rate=0.5, period=0.1)  # one call per 0.2 s
    started = time.monotonic()
    for _ in range(3):
        await limiter.acquire()
        limiter.release()
    assert 0.4 - 0.01 <= time.monotonic() - started < 0.6


async def test_pause_holds_everyone_and_can_be_extended() -> None:
    limiter = Limiter(max_concurrency=3)
    limiter.pause(0.1)
    started = time.monotonic()
    grants: list[float] = []

    async def call() -> None:
        async with limiter:
            grants.append(time.monotonic() - started)

    tasks = [asyncio.ensure_future(call()) for _ in range(6)]
    await asyncio.sleep(0.05)
    limiter.pause(0.25)  # a later, longer signal extends the pause
    limiter.pause(0.01)  # a shorter one does not shorten it
    await asyncio.gather(*tasks)
    assert min(grants) >= 0.3 - 0.005
    assert max(grants) < 0.6


async def test_waiting_is_neither_polling_nor_blocking() -> None:
    calls = 0

    class Counting(Limiter):
        def _dispatch(self) -> None:
            nonlocal calls
            calls += 1
            super()._dispatch()

    limiter = Counting(max_concurrency=5, rate=1000)
    limiter.pause(0.4)
    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        for _ in range(30):
            await asyncio.sleep(0.01)
            ticks += 1

    async def call() -> None:
        async with limiter:
            pass

    beat = asyncio.ensure_future(heartbeat())
    cpu = time.thread_time()
    tasks = [asyncio.ensure_future(call()) for _ in range(500)]
    await asyncio.sleep(0.05)
    queued = calls
    await asyncio.sleep(0.3)
    assert calls - queued <= 2  # nothing woke up while the pause ran: no polling
    assert ticks >= 20  # the loop stayed free: no time.sleep
    await asyncio.gather(*tasks, beat)
    assert time.thread_time() - cpu < 0.3
    assert limiter.in_flight == 0 and limiter.waiting == 0


async def test_cancelled_waiters_leave_the_queue_and_granted_ones_give_back() -> None:
    limiter = Limiter(max_concurrency=1)
    await limiter.acquire()
    order: list[str] = []

    async def call(name: str) -> None:
        await limiter.acquire()
        order.append(name)
        limiter.release()

    a, b, c = (asyncio.ensure_future(call(n)) for n in "abc")
    await asyncio.sleep(0.01)
    assert limiter.waiting == 3
    b.cancel()
    await asyncio.sleep(0)
    assert limiter.waiting == 2
    limiter.release()
    await asyncio.gather(a, c)
    assert order == ["a", "c"]
    assert limiter.in_flight == 0

    # Granted, then cancelled before it could run: the slot must come back.
    await limiter.acquire()
    late = asyncio.ensure_future(limiter.acquire())
    await asyncio.sleep(0.01)
    limiter.release()  # hands the slot to `late`...
    late.cancel()  # ...which is cancelled before it resumes
    with pytest.raises(asyncio.CancelledError):
        await late
    assert limiter.in_flight == 0
    await asyncio.wait_for(limiter.acquire(), 1)
    limiter.release()


def test_one_limiter_serves_successive_event_loops() -> None:
    limiter = Limiter(max_concurrency=2, rate=100)

    async def burst() -> int:
        async def one() -> None:
            async with limiter:
                await asyncio.sleep(0.001)

        await asyncio.gather(*(one() for _ in range(20)))
        return limiter.in_flight

    assert asyncio.run(burst()) == 0
    assert asyncio.run(burst()) == 0


def test_limiter_rejects_nonsense() -> None:
    with pytest.raises(ConfigurationError):
        Limiter(max_concurrency=0)
    with pytest.raises(ConfigurationError):
        Limiter(rate=0)
    with pytest.raises(ConfigurationError):
        Limiter(rate=5, period=0)
    with pytest.raises(ConfigurationError):
        RetryPolicy(-1)
    assert repr(Limiter(max_concurrency=3, rate=5)) == "Limiter(max_concurrency=3, rate=5, period=1)"


# -- per-provider defaults and overrides --------------------------------------------------


def _client_class(**limits: Any) -> type[BaseClient]:
    config = ProviderConfig(
        name="demo",
        client_name="DemoClient",
        spec_version="1",
        base_url="http://127.0.0.1:9",
        api_key_env=("DEMO_API_KEY",),
        base_url_env="DEMO_BASE_URL",
        **limits,
    )
    return type("DemoClient", (BaseClient,), {"_config": config})


STRIPE_LIMITS = {
    "rate_limit": 100,
    "rate_limit_test": 25,
    "max_concurrency": 50,
    "test_key_prefixes": ("sk_test_", "rk_test_"),
}
GITHUB_LIMITS = {"rate_limit": 900, "rate_period": 60.0, "write_cost": 5, "max_concurrency": 100}


@pytest.mark.parametrize(
    ("key", "rate"),
    [("sk_live_abc123", 100), ("rk_live_abc123", 100), ("sk_test_abc123", 25), ("rk_test_abc123", 25)],
)
def test_stripe_defaults_follow_the_key_mode(key: str, rate: int) -> None:
    client = _client_class(**STRIPE_LIMITS)(api_key=key)
    assert (client.limiter.rate, client.limiter.period, client.limiter.max_concurrency) == (rate, 1.0, 50)


def test_github_defaults_are_points_per_minute() -> None:
    limiter = _client_class(**GITHUB_LIMITS)(api_key="ghp_x").limiter
    assert (limiter.rate, limiter.period, limiter.max_concurrency) == (900, 60.0, 100)


def test_user_overrides_win_over_provider_defaults() -> None:
    cls = _client_class(**STRIPE_LIMITS)
    assert cls(api_key="sk_test_a", rate_limit=7).limiter.rate == 7
    assert cls(api_key="sk_test_a", rate_limit=None).limiter.rate is None
    assert cls(api_key="sk_test_a", max_concurrency=None).limiter.max_concurrency is None
    assert cls(api_key="sk_test_a", max_concurrency=3).limiter.max_concurrency == 3
    per_minute = cls(api_key="sk_test_a", rate_limit=(600, 60)).limiter
    assert (per_minute.rate, per_minute.period) == (600, 60)
    shared = Limiter(max_concurrency=2)
    one, two = cls(api_key="sk_test_a", limiter=shared), cls(api_key="sk_live_b", limiter=shared)
    assert one.limiter is shared and two.limiter is shared
    with pytest.raises(ConfigurationError):
        cls(api_key="sk_test_a", limiter=shared, rate_limit=5)
    with pytest.raises(ConfigurationError):
        cls(api_key="sk_test_a", max_concurrency=0)


def test_generated_clients_get_a_concurrency_limit_without_configuration() -> None:
    client = StripeClient(api_key=KEY)
    assert client.limiter.max_concurrency is not None


async def test_writes_cost_more_through_the_client(make_server: Callable[..., FaultServer]) -> None:
    server = make_server()
    cls = _client_class(rate_limit=10, rate_period=0.3, write_cost=5)
    post = Operation("make", "POST", "/things", body="json", responses={"200": ResponseSpec("json")})
    get = Operation("get", "GET", "/things", responses={"200": ResponseSpec("json")})
    async with cls(api_key=KEY, base_url=server.url, max_retries=0) as client:
        await asyncio.gather(*(client.request(post, body={"n": i}) for i in range(4)))
        await asyncio.gather(*(client.request(get) for _ in range(10)))
    times = [r.received for r in server.snapshot()]
    assert times[2] - times[0] >= 0.3 - 0.02  # two writes fill a window
    assert max_in_window(times, 0.3 - 0.02) <= 10


async def test_a_reused_request_keeps_the_callers_trace(make_server: Callable[..., FaultServer]) -> None:
    # The client dates each grant by an httpx trace hook; the caller's own hook still runs,
    # and is what the request carries once the call is over.
    server = make_server()
    events: list[str] = []

    async def trace(event: str, info: dict[str, Any]) -> None:
        events.append(event)

    get = Operation("get", "GET", "/things", responses={"200": ResponseSpec("json")})
    async with _client_class(rate_limit=100)(api_key=KEY, base_url=server.url) as client:
        request = client.build_request(get)
        request.extensions["trace"] = trace
        for _ in range(3):
            await client.send(get, request)
        assert request.extensions["trace"] is trace
        assert client.limiter.in_flight == 0
    assert events.count("http11.send_request_body.complete") == 3


# -- reading the server's signals ---------------------------------------------------------


def test_retry_after_forms() -> None:
    assert retry_after({"retry-after": "3"}) == 3
    assert retry_after({"retry-after": "1.5"}) == 1.5
    assert retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    now = time.time()
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert 28 <= (retry_after({"retry-after": date}, now=now) or 0) <= 31
    assert retry_after({"retry-after": email.utils.formatdate(now - 30, usegmt=True)}, now=now) == 0
    assert retry_after({"retry-after": "soon"}) is None
    assert retry_after({}) is None


def test_rate_limit_budget_forms() -> None:
    now = 1_700_000_000.0
    github = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(now) + 42)}
    assert budget_reset(github, now=now) == 42
    assert budget_reset({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "7"}) == 7
    assert budget_reset({"x-ratelimit-remaining": "3", "x-ratelimit-reset": "7"}) is None
    openai = {
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "6m0s",
        "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-tokens": "20ms",
    }
    assert budget_reset(openai) == 360
    assert budget_reset({"ratelimit-remaining": "0", "ratelimit-reset": "12"}) == 12
    assert parse_duration("1h2m3.5s") == 3723.5
    assert parse_duration("20ms") == pytest.approx(0.02)
    assert parse_duration("later") is None
    # An error's Retry-After counts; a success's does not, but its spent budget does.
    assert server_wait(429, {"retry-after": "2"}) == 2
    assert server_wait(200, {"retry-after": "2"}) is None
    assert server_wait(200, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "4"}) == 4


def test_what_counts_as_a_rate_limit_and_as_retryable() -> None:
    assert is_rate_limited(429, {})
    assert is_rate_limited(403, {"retry-after": "60"})
    assert is_rate_limited(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "5"})
    assert not is_rate_limited(403, {"x-ratelimit-remaining": "4999", "x-ratelimit-reset": "5"})
    for status in (408, 409, 429, 500, 502, 503, 504):
        assert should_retry_status(status, {})
    for status in (400, 401, 403, 404, 422):
        assert not should_retry_status(status, {})
    assert not should_retry_status(503, {"stripe-should-retry": "false"})
    assert should_retry_status(400, {"x-should-retry": "true"})


def test_backoff_is_exponential_with_full_jitter() -> None:
    policy = RetryPolicy(10, initial_backoff=0.1, max_backoff=1.0)
    for attempt, cap in [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (9, 1.0)]:
        samples = [policy.backoff(attempt) for _ in range(400)]
        assert all(0 <= s <= cap for s in samples)
        assert min(samples) < cap * 0.1 and max(samples) > cap * 0.9  # the whole range is used
    assert policy.replace(max_retries=1).max_retries == 1
    assert policy.replace(max_backoff=2).initial_backoff == 0.1


def test_provider_defaults_from_provider_toml() -> None:
    """The generated clients carry the documented limits of their provider."""
    from usepolvo.github import GitHubClient
    from usepolvo.stripe import StripeClient

    test_mode = StripeClient(api_key="sk_test_x").limiter
    live = StripeClient(api_key="sk_live_x").limiter
    github = GitHubClient(api_key="ghp_x").limiter
    assert (test_mode.rate, test_mode.period, test_mode.max_concurrency) == (25, 1, 50)
    assert (live.rate, live.max_concurrency) == (100, 50)
    assert (github.rate, github.period, github.max_concurrency) == (900, 60, 100)
    assert StripeClient(api_key="sk_test_x", rate_limit=5).limiter.rate == 5
    assert StripeClient(api_key="sk_test_x", rate_limit=None).limiter.rate is None
