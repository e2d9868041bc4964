"""Shared fixtures: a Stripe-like loopback server and the environment that points at it."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from usepolvo.stripe import StripeClient  # noqa: E402

from tests.servers.faults import FaultServer  # noqa: E402
from tests.servers.stripe import StripeServer  # noqa: E402
from usepolvo.core import RetryPolicy  # noqa: E402

STRIPE_ENV = ("STRIPE_API_KEY", "STRIPE_BASE_URL")

#: Retries without the real backoff, so retry tests stay fast.
FAST_RETRIES = RetryPolicy(2, initial_backoff=0.001, max_backoff=0.01)


@pytest.fixture(autouse=True)
def _no_ambient_stripe_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never let a developer's real key or base URL reach a test."""
    for name in STRIPE_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def make_stripe_server() -> Iterator[Callable[..., StripeServer]]:
    """Start Stripe-like servers with custom seeds; every one is stopped at teardown."""
    servers: list[StripeServer] = []

    def make(**kwargs: Any) -> StripeServer:
        server = StripeServer(**kwargs).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def stripe_server(make_stripe_server: Callable[..., StripeServer]) -> StripeServer:
    """A running server seeded with 25 customers and 25 charges."""
    return make_stripe_server()


@pytest.fixture
def stripe_env(monkeypatch: pytest.MonkeyPatch, stripe_server: StripeServer) -> StripeServer:
    """``STRIPE_API_KEY`` and ``STRIPE_BASE_URL`` pointing at ``stripe_server``."""
    monkeypatch.setenv("STRIPE_API_KEY", stripe_server.api_key)
    monkeypatch.setenv("STRIPE_BASE_URL", stripe_server.url)
    return stripe_server


@pytest.fixture
async def client(stripe_server: StripeServer) -> AsyncIterator[StripeClient]:
    """A client of ``stripe_server`` (fast retries), closed at teardown."""
    async with StripeClient(
        api_key=stripe_server.api_key, base_url=stripe_server.url, max_retries=FAST_RETRIES
    ) as c:
        yield c


@pytest.fixture(autouse=True)
def _transport_under_test(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite runs on both transports (``POLVO_TRANSPORT=aiohttp`` selects aiohttp);
    pytest-httpx mocks httpx's own transport, so its tests always use that one."""
    if "httpx_mock" in request.fixturenames:
        monkeypatch.delenv("POLVO_TRANSPORT", raising=False)


@pytest.fixture
def make_server() -> Iterator[Callable[..., FaultServer]]:
    """Start fault-injecting servers on 127.0.0.1 (``make_server(**options)``); all are
    stopped when the test ends."""
    servers: list[FaultServer] = []

    def make(**kwargs: Any) -> FaultServer:
        server = FaultServer(**kwargs).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def redis_server() -> Iterator[Any]:
    """A real ``redis-server`` on a free 127.0.0.1 port, no persistence, stopped after
    (``tests/_redis.py``); skips only where ``redis-server`` is not installed."""
    from tests._redis import RedisServer, redis_missing

    reason = redis_missing()
    if reason is not None:
        pytest.skip(reason)
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.close()
