"""RedisLimiter against a real ``redis-server``, in one process: several limiters on one key
stand for several processes (each has its own token, queue and connections)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from usepolvo.github import GitHubClient
from usepolvo.stripe import StripeClient

from tests._redis import RedisServer
from tests.servers.faults import max_in_window
from usepolvo.core import (
    ConfigurationError,
    Limiter,
    LimiterProtocol,
    LimiterUnavailableError,
    RedisLimiter,
)

KEY = "sk_test_51RedisLimiterTests0000cccc"


def shared(server: RedisServer, key: str = "t", **options: Any) -> RedisLimiter:
    return RedisLimiter.from_url(server.url, key=key, **options)


async def hold(limiter: RedisLimiter, seconds: float, log: list[tuple[float, str]], tag: str) -> None:
    grant = await limiter.acquire()
    log.append((time.monotonic(), tag))
    await asyncio.sleep(seconds)
    limiter.mark_sent(grant)
    limiter.release()


# -- the three shared bounds ----------------------------------------------------------------


async def test_two_limiters_on_one_key_share_the_rate(redis_server: RedisServer) -> None:
    a, b = shared(redis_server, rate=10), shared(redis_server, rate=10)
    log: list[tuple[float, str]] = []
    await asyncio.gather(
        *(hold(a, 0.0, log, "a") for _ in range(15)), *(hold(b, 0.0, log, "b") for _ in range(15))
    )
    times = sorted(t for t, _ in log)
    assert max_in_window(times, 1.0) <= 10
    assert times[-1] - times[0] >= 2.0  # 30 grants at 10/s: three windows
    order = "".join(tag for _, tag in sorted(log))
    assert "a" in order[:15] and "b" in order[:15]  # they take turns, neither goes first alone
    await a.aclose()
    await b.aclose()


async def test_other_keys_have_their_own_budget(redis_server: RedisServer) -> None:
    a, b = shared(redis_server, key="acct_a", rate=5), shared(redis_server, key="acct_b", rate=5)
    started = time.monotonic()
    for _ in range(5):
        for lim in (a, b):
            await lim.acquire()
            lim.release()
    assert time.monotonic() - started < 0.5
    await a.aclose()
    await b.aclose()


async def test_writes_cost_more_points_in_the_shared_window(redis_server: RedisServer) -> None:
    a, b = shared(redis_server, rate=10), shared(redis_server, rate=10)
    log: list[float] = []

    async def write(lim: RedisLimiter) -> None:
        grant = await lim.acquire(5)
        log.append(time.monotonic())
        lim.mark_sent(grant)
        lim.release()

    await asyncio.gather(*(write(a) for _ in range(3)), *(write(b) for _ in range(3)))
    assert max_in_window(log, 1.0) <= 2  # 10 points a second, 5 a write
    await a.aclose()
    await b.aclose()


async def test_slots_are_shared_and_released(redis_server: RedisServer) -> None:
    a, b = shared(redis_server, max_concurrency=2), shared(redis_server, max_concurrency=2)
    await a.acquire()
    await a.acquire()
    waiting = asyncio.ensure_future(b.acquire())
    await asyncio.sleep(0.2)
    assert not waiting.done()  # both slots are A's
    a.release()
    await asyncio.wait_for(waiting, 1.0)
    assert a.in_flight == 1 and b.in_flight == 1
    a.release()
    b.release()
    await a.aclose()
    await b.aclose()


async def test_a_pause_in_one_limiter_holds_the_others(redis_server: RedisServer) -> None:
    a, b = shared(redis_server, rate=100), shared(redis_server, rate=100)
    await b.acquire()  # connected
    b.release()
    await a.acquire()
    a.release()
    a.pause(0.6)
    started = time.monotonic()
    await asyncio.sleep(0.05)
    await b.acquire()
    assert time.monotonic() - started >= 0.55
    b.release()
    a.pause(0.3)
    a.pause(0.05)  # a shorter pause does not cut a longer one short
    started = time.monotonic()
    await asyncio.sleep(0.05)
    await b.acquire()
    assert time.monotonic() - started >= 0.25
    b.release()
    await a.aclose()
    await b.aclose()


async def test_slots_of_a_dead_process_expire_with_their_lease(redis_server: RedisServer) -> None:
    dead, alive = shared(redis_server, max_concurrency=2, lease=0.5), shared(redis_server, max_concurrency=2)
    await dead.acquire()
    await dead.acquire()
    await dead.aclose()  # gone without releasing, like a SIGKILLed process
    started = time.monotonic()
    await alive.acquire()
    await alive.acquire()
    assert 0.3 <= time.monotonic() - started <= 1.0
    await alive.aclose()


async def test_a_live_process_renews_its_leases(redis_server: RedisServer) -> None:
    a, b = shared(redis_server, max_concurrency=1, lease=0.45), shared(redis_server, max_concurrency=1)
    grant = await a.acquire()
    waiting = asyncio.ensure_future(b.acquire())
    await asyncio.sleep(1.2)  # well past the lease: A's keeper renewed it
    assert not waiting.done()
    a.mark_sent(grant)
    a.release()
    await asyncio.wait_for(waiting, 1.0)
    b.release()
    await a.aclose()
    await b.aclose()


async def test_cancelled_waiters_leave_and_granted_ones_give_back(redis_server: RedisServer) -> None:
    a, b = shared(redis_server, max_concurrency=1), shared(redis_server, max_concurrency=1)
    await a.acquire()
    queued = asyncio.ensure_future(b.acquire())
    await asyncio.sleep(0.1)
    queued.cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued
    assert b.waiting == 0 and b.in_flight == 0
    a.release()
    await asyncio.wait_for(b.acquire(), 1.0)  # B's queue place did not block B itself
    b.release()
    await asyncio.sleep(0.1)
    await asyncio.wait_for(a.acquire(), 1.0)  # and nothing was leaked
    a.release()
    await a.aclose()
    await b.aclose()


# -- Redis slow or down ------------------------------------------------------------------


async def test_fail_closed_raises_a_typed_error_then_resumes(redis_server: RedisServer) -> None:
    lim = shared(redis_server, rate=100, on_unavailable="fail", redis_timeout=0.3, retry_interval=0.2)
    await lim.acquire()
    lim.release()
    redis_server.stop()
    started = time.monotonic()
    with pytest.raises(LimiterUnavailableError, match="not sent"):
        await lim.acquire()
    assert time.monotonic() - started < 0.5
    assert not lim.shared
    redis_server.start()
    await asyncio.sleep(0.3)
    grant = await asyncio.wait_for(lim.acquire(), 1.0)
    assert grant.shared and lim.shared
    lim.release()
    await lim.aclose()


async def test_a_frozen_redis_falls_back_to_the_local_limiter_within_the_timeout(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    lim = shared(redis_server, rate=100, max_concurrency=5, redis_timeout=0.2, retry_interval=0.3)
    await lim.acquire()
    lim.release()
    redis_server.freeze()  # SIGSTOP: Redis accepts nothing and answers nothing
    try:
        with caplog.at_level(logging.WARNING, logger="usepolvo"):
            started = time.monotonic()
            grants = [await lim.acquire() for _ in range(3)]
            assert time.monotonic() - started < 0.2 + 0.3
        assert [g.shared for g in grants] == [False, False, False]
        assert "unavailable" in caplog.text and "limiting this process alone" in caplog.text
        for _ in grants:
            lim.release()
        assert lim.in_flight == 0
    finally:
        redis_server.thaw()
    await asyncio.sleep(0.4)
    grant = await asyncio.wait_for(lim.acquire(), 1.0)
    assert grant.shared
    lim.release()
    await lim.aclose()


async def test_a_call_redis_runs_after_we_gave_up_grants_nothing(redis_server: RedisServer) -> None:
    # A frozen Redis still has the timed-out request in its socket and runs it when thawed:
    # that late grant must not take the only slot for a whole lease.
    a = shared(redis_server, max_concurrency=1, lease=30, redis_timeout=0.2, retry_interval=0.2)
    b = shared(redis_server, max_concurrency=1)
    grant = await a.acquire()
    a.mark_sent(grant)
    a.release()
    await asyncio.sleep(0.1)
    redis_server.freeze()
    try:
        fallback = await a.acquire()  # times out, then the local limiter grants
        assert not fallback.shared
    finally:
        redis_server.thaw()
    a.mark_sent(fallback)
    a.release()
    await asyncio.wait_for(b.acquire(), 1.0)
    b.release()
    await a.aclose()
    await b.aclose()


async def test_a_release_during_an_outage_is_sent_when_redis_answers(redis_server: RedisServer) -> None:
    a = shared(redis_server, max_concurrency=1, lease=30, redis_timeout=0.2, retry_interval=0.2)
    b = shared(redis_server, max_concurrency=1)
    held = await a.acquire()
    redis_server.freeze()
    try:
        local = await a.acquire()  # learns that Redis is down
        assert not local.shared
        a.mark_sent(held)
        a.release()  # Redis cannot hear it now
        a.mark_sent(local)
        a.release()
    finally:
        redis_server.thaw()
    await asyncio.sleep(0.3)
    again = await asyncio.wait_for(a.acquire(), 1.0)  # back: the kept release went first
    assert again.shared
    a.mark_sent(again)
    a.release()
    await asyncio.wait_for(b.acquire(), 1.0)  # and the slot was not held for the lease
    b.release()
    await a.aclose()
    await b.aclose()


async def test_a_key_holding_something_else_counts_as_unavailable(redis_server: RedisServer) -> None:
    import redis.asyncio as aioredis

    r = aioredis.Redis.from_url(redis_server.url)
    await r.set("polvo:{clash}:win", "not a sorted set")
    lim = RedisLimiter(r, key="clash", rate=10, on_unavailable="fail")
    with pytest.raises(LimiterUnavailableError, match="ResponseError"):
        await lim.acquire()
    await lim.aclose()
    await r.aclose()


# -- through a client ----------------------------------------------------------------------


def test_a_client_fills_unset_bounds_and_the_lease() -> None:
    lim = RedisLimiter.from_url("redis://127.0.0.1:1/0", key="stripe:acct_1")
    client = StripeClient(api_key=KEY, limiter=lim, timeout=5, connect_timeout=2)
    assert client.limiter is lim
    assert "rate=25" in repr(lim) and "period=1.0" in repr(lim)  # Stripe's test-mode budget
    assert lim.lease == 5 + 2 + 1
    mine = RedisLimiter.from_url("redis://127.0.0.1:1/0", key="gh", rate=10, lease=3)
    GitHubClient(token="ghp_" + "a" * 36, limiter=mine)
    assert "rate=10" in repr(mine) and mine.lease == 3
    with pytest.raises(ConfigurationError, match="not both"):
        StripeClient(api_key=KEY, limiter=lim, rate_limit=5)


async def test_a_client_on_a_shared_limiter_sends_through_it(
    redis_server: RedisServer, make_server: Any
) -> None:
    server = make_server()
    cid = server.add_customer()
    lim = shared(redis_server, key="stripe:acct_client", rate=20, max_concurrency=4)
    async with StripeClient(api_key=KEY, base_url=server.url, limiter=lim) as client:
        started = time.monotonic()
        await asyncio.gather(*(client.customers.retrieve_customer(cid) for _ in range(30)))
    assert time.monotonic() - started >= 0.45  # 30 at 20/s: the second window
    assert lim.in_flight == 0
    times = [r.received for r in server.snapshot()]
    assert len(times) == 30 and max_in_window(times, 1.0) <= 20
    await lim.aclose()


def test_the_environment_selects_a_shared_limiter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLVO_LIMITER_URL", "redis://:hunter2@127.0.0.1:1/0")
    client = StripeClient(api_key=KEY, max_concurrency=3)
    lim = client.limiter
    assert isinstance(lim, RedisLimiter)
    assert lim.key.startswith("stripe:") and KEY not in lim.key and KEY not in repr(lim)
    assert "hunter2" not in repr(lim) and "max_concurrency=3" in repr(lim)
    assert StripeClient(api_key=KEY).limiter.key == lim.key  # one account, one budget
    assert StripeClient(api_key=KEY + "x").limiter.key != lim.key
    monkeypatch.setenv("POLVO_LIMITER_KEY", "stripe:main")
    monkeypatch.setenv("POLVO_LIMITER_ON_UNAVAILABLE", "fail")
    lim = StripeClient(api_key=KEY).limiter
    assert isinstance(lim, RedisLimiter) and lim.key == "stripe:main" and lim.on_unavailable == "fail"
    monkeypatch.setenv("POLVO_LIMITER_ON_UNAVAILABLE", "maybe")
    with pytest.raises(ConfigurationError, match="POLVO_LIMITER_ON_UNAVAILABLE"):
        StripeClient(api_key=KEY)
    monkeypatch.delenv("POLVO_LIMITER_URL")
    assert isinstance(StripeClient(api_key=KEY).limiter, Limiter)


# -- set-up mistakes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"url": "http://localhost:6379"}, "redis://"),
        ({"url": "redis://x", "key": ""}, "key"),
        ({"url": "redis://x", "key": "a{b}"}, "braces"),
        ({"url": "redis://x", "on_unavailable": "maybe"}, "on_unavailable"),
        ({"url": "redis://x", "redis_timeout": 0}, "redis_timeout"),
        ({"url": "redis://x", "lease": -1}, "lease"),
        ({"url": "redis://x", "batch": 0}, "batch"),
        ({"url": "redis://x", "rate": 0}, "rate"),
        ({"url": "redis://x", "max_concurrency": 0}, "max_concurrency"),
        ({}, "exactly one"),
    ],
)
def test_bad_settings_are_named(kwargs: dict[str, Any], match: str) -> None:
    kwargs.setdefault("key", "k")
    with pytest.raises(ConfigurationError, match=match):
        RedisLimiter(**kwargs)


def test_the_password_never_shows() -> None:
    lim = RedisLimiter.from_url("redis://user:s3cret@example.invalid:6379/2", key="k")
    assert "s3cret" not in repr(lim) and "user:***@example.invalid:6379" in repr(lim)
    with pytest.raises(ConfigurationError) as info:
        RedisLimiter.from_url("http://user:s3cret@host/", key="k")
    assert "s3cret" not in str(info.value)


def test_both_limiters_satisfy_the_protocol() -> None:
    assert isinstance(Limiter(rate=1), LimiterProtocol)
    assert isinstance(RedisLimiter.from_url("redis://127.0.0.1:1", key="k"), LimiterProtocol)


def test_one_limiter_serves_successive_event_loops(redis_server: RedisServer) -> None:
    lim = shared(redis_server, rate=100, max_concurrency=2)

    async def twice() -> bool:
        grants = [await lim.acquire(), await lim.acquire()]
        for grant in grants:
            lim.mark_sent(grant)
            lim.release()
        return all(g.shared for g in grants)

    assert asyncio.run(twice())
    started = time.monotonic()
    # A new loop: new connections; the releases the first loop ended before sending go
    # first, so the slots are free at once rather than after the lease (71 s by default).
    assert asyncio.run(twice())
    assert time.monotonic() - started < 5

    async def close() -> None:
        await lim.aclose()

    asyncio.run(close())


async def test_negative_costs_hand_back_nothing(redis_server: RedisServer) -> None:
    a, b = shared(redis_server, rate=2), shared(redis_server, rate=2)
    for _ in range(2):
        grant = await a.acquire()
        a.mark_sent(grant)
        a.release()
    grant = await a.acquire(-50)  # costs nothing, gives nothing back
    a.release()
    waiting = asyncio.ensure_future(b.acquire())
    await asyncio.sleep(0.3)
    assert not waiting.done()  # the window is still full
    waiting.cancel()
    await a.aclose()
    await b.aclose()


async def test_the_limiter_is_an_async_context_manager(redis_server: RedisServer) -> None:
    lim = shared(redis_server, max_concurrency=1)
    async with lim:
        assert lim.in_flight == 1
    assert lim.in_flight == 0
    await lim.aclose()
