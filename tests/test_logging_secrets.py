"""One DEBUG line per attempt on the ``usepolvo`` logger, and no secret anywhere.

The secret scan drives the client through successes, retries, every kind of failure and a
server that echoes the key back, then searches every log record (of every logger: httpx
and httpcore included), every repr and every exception message for the key.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from usepolvo.stripe import StripeClient

from tests.servers.faults import FaultServer, Reply
from usepolvo.core import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
    RetryPolicy,
)
from usepolvo.core._logging import redact

KEY = "sk_test_51SecretScanKeyZZ9876543210abcdef"
FAST = RetryPolicy(2, initial_backoff=0.001, max_backoff=0.005)


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer(retry_after="0") as srv:
        yield srv


def _usepolvo(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "usepolvo"]


async def test_one_debug_line_per_attempt(server: FaultServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="usepolvo")
    server.script("500", "reset", None)
    async with StripeClient(api_key=KEY, base_url=server.url, max_retries=FAST, rate_limit=None) as client:
        await client.customers.create_customer(email="a@example.com")
    records = _usepolvo(caplog)
    assert len(records) == len(server.snapshot()) == 3
    assert [r.levelno for r in records] == [logging.DEBUG] * 3
    facts = [(r.method, r.path, r.status, r.attempt) for r in records]  # type: ignore[attr-defined]
    assert facts == [
        ("POST", "/v1/customers", 500, 1),
        ("POST", "/v1/customers", "ReadError", 2),
        ("POST", "/v1/customers", 200, 3),
    ]
    waits = [r.wait for r in records]  # type: ignore[attr-defined]
    assert waits[0] is not None and waits[1] is not None and waits[2] is None
    # each line has the attempt's latency (issue 13), and the request id when one was sent
    assert re.fullmatch(
        r"POST /v1/customers -> 500 in \d+\.\dms \(attempt 1/3, retry in \S+s\)", records[0].getMessage()
    )
    assert re.fullmatch(r"POST /v1/customers -> 200 in \d+\.\dms \(attempt 3/3\)", records[2].getMessage())


async def test_last_failed_attempt_says_it_gives_up(
    server: FaultServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="usepolvo")
    server.rule = lambda rec: "503"
    async with StripeClient(api_key=KEY, base_url=server.url, max_retries=FAST, rate_limit=None) as client:
        with pytest.raises(InternalServerError):
            await client.customers.list_customers()
    messages = [r.getMessage() for r in _usepolvo(caplog)]
    assert len(messages) == 3
    assert re.fullmatch(r"GET /v1/customers -> 503 in \d+\.\dms \(attempt 3/3, giving up\)", messages[-1])


async def test_logging_is_silent_unless_debug_is_enabled(
    server: FaultServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="usepolvo")
    async with StripeClient(api_key=KEY, base_url=server.url, rate_limit=None) as client:
        await client.customers.list_customers()
    assert _usepolvo(caplog) == []


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _texts_of(exc: BaseException) -> list[str]:
    texts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts += [str(current), repr(current), *map(str, current.args)]
        current = current.__cause__ or current.__context__
    return texts


async def test_no_secret_in_any_log_line_repr_or_exception_message(
    server: FaultServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: usepolvo, httpx, httpcore, asyncio
    basic = base64.b64encode(f"{KEY}:".encode()).decode()
    echo = f"Invalid API Key provided: {KEY}; you sent 'Authorization: Bearer {KEY}'"
    cid = server.add_customer()
    server.script(
        "500",
        None,  # a retried create
        Reply(401, {}, {"error": {"type": "invalid_request_error", "message": echo}}),
        Reply(400, {}, {"error": {"message": f"bad header Bearer {KEY} / Basic {basic}"}}),
        Reply(400, {}, f"plain text error echoing {KEY}".encode()),
        Reply(429, {"Retry-After": "0"}, {"error": {"message": f"slow down, {KEY}"}}),
        Reply(429, {"Retry-After": "0"}, {"error": {"message": f"slow down, {KEY}"}}),
        Reply(429, {"Retry-After": "0"}, {"error": {"message": f"slow down, {KEY}"}}),
        "stall",
    )
    errors: list[BaseException] = []
    client = StripeClient(api_key=KEY, base_url=server.url, max_retries=FAST, rate_limit=None, timeout=0.3)
    async with client:
        await client.customers.create_customer(email="a@example.com")
        for call, kind in [
            (lambda: client.customers.list_customers(), AuthenticationError),
            (lambda: client.customers.list_customers(), BadRequestError),
            (lambda: client.customers.list_customers(), BadRequestError),
            (lambda: client.customers.retrieve_customer(cid), RateLimitError),
            (lambda: client.customers.list_customers(request_options={"max_retries": 0}), APITimeoutError),
            (lambda: client.customers.retrieve_customer("cus_missing"), NotFoundError),
        ]:
            with pytest.raises(kind) as info:
                await call()
            errors.append(info.value)
    offline = StripeClient(api_key=KEY, base_url=f"http://127.0.0.1:{_closed_port()}", max_retries=FAST)
    async with offline:
        with pytest.raises(APIConnectionError) as info:
            await offline.customers.list_customers()
        errors.append(info.value)

    # The key really was on the wire and in the answers, so the scan below means something.
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in server.snapshot())
    # (issue 10: the client's own key is masked in the error bodies it keeps, too)
    assert any("***" in str(getattr(e, "body", "")) for e in errors)

    assert {"usepolvo", "httpx"} <= {r.name for r in caplog.records}
    if os.environ.get("POLVO_TRANSPORT", "httpx") == "httpx":  # aiohttp's wire layer logs nothing
        assert any(r.name.startswith("httpcore") for r in caplog.records)
    texts: list[str] = []
    for record in caplog.records:
        texts.append(record.getMessage())
        texts.append(logging.Formatter("%(name)s %(message)s %(exc_info)s").format(record))
        texts.extend(str(v) for v in vars(record).values())
    for exc in errors:
        assert isinstance(exc, APIError)
        texts.extend(_texts_of(exc))
    texts += [repr(client), str(client), repr(client.limiter), repr(client.retry), repr(client._config)]
    assert texts
    leaks = [t for t in texts if KEY in t or basic in t or KEY[8:] in t]
    assert leaks == []
    assert any("sk_test_***" in t or "***" in t for t in texts)  # masked, not dropped


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ("Authorization: Bearer sk_live_51AbCdEf123", "Authorization: Bearer ***"),
        ("key sk_test_4eC39HqLyjWDarjtT1zdp7dc here", "key sk_test_*** here"),
        ("rk_live_abcdef123456", "rk_live_***"),
        ("token ghp_16C7e42F292c6912E7710c838347Ae178B4a", "token ***"),
        ("github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "gith***"),
        ("sk-proj-AbCdEfGhIjKlMnOpQrStUv", "sk-p***"),
        ("whsec_abcdefghijklmnop", "whse***"),
        ("No such customer: 'cus_123'", "No such customer: 'cus_123'"),
        ("an invalid token was provided", "an invalid token was provided"),
    ],
)
def test_redact_masks_credential_shapes(text: str, clean: str) -> None:
    assert redact(text) == clean


def test_redact_masks_the_exact_key_whatever_its_shape() -> None:
    assert redact("opaque-key-0123 leaked", "opaque-key-0123") == "*** leaked"
    assert redact("ab is short", "ab") == "ab is short"  # too short to mask blindly


def test_reprs_never_show_the_key() -> None:
    client = StripeClient(api_key=KEY)
    shown: list[Any] = [client, client.limiter, client.retry]
    assert all(KEY not in repr(x) and KEY not in str(x) for x in shown)


async def test_concurrent_failures_each_log_their_own_attempts(
    server: FaultServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="usepolvo")
    server.fault_rate = 0.3
    server.faults = ("500", "503", "reset")
    async with StripeClient(
        api_key=KEY,
        base_url=server.url,
        rate_limit=None,
        max_retries=RetryPolicy(8, initial_backoff=0.001, max_backoff=0.005),
    ) as client:
        await asyncio.gather(*(client.customers.create_customer(email=f"{i}@x.io") for i in range(30)))
    assert len(_usepolvo(caplog)) == len(server.snapshot())
    assert all(KEY not in r.getMessage() for r in caplog.records)
