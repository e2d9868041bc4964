"""``client.with_raw_response(call)``: any call's parsed result next to its response (issue 13).

Against the local Stripe, GitHub and OpenAI servers and ``usepolvo.testing.MockAPI``; the
suite runs on both transports (``POLVO_TRANSPORT=aiohttp`` for the second run).
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from usepolvo.github import GitHubClient
from usepolvo.openai import OpenAIClient
from usepolvo.stripe import NotFoundError, StripeClient
from usepolvo.stripe.models import Customer

from tests.conftest import FAST_RETRIES
from tests.servers.faults import FaultServer, Reply
from tests.servers.github import OCTOCAT, GitHubServer
from tests.servers.openai import SPEECH, OpenAIServer
from tests.servers.stripe import StripeServer
from usepolvo.core import APIResponse, AsyncStream, ConfigurationError, Page
from usepolvo.core._capture import CAPTURE
from usepolvo.testing import MockAPI

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
KEY = "sk_test_raw_response_key_123"


@pytest.fixture
def github_server() -> Iterator[GitHubServer]:
    with GitHubServer(issues=45, token="ghp_test") as srv:
        yield srv


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    with OpenAIServer(files=5) as srv:
        yield srv


async def test_retrieve_gives_status_headers_request_id_and_the_parsed_model(
    stripe_server: StripeServer,
) -> None:
    async with StripeClient(api_key=stripe_server.api_key, base_url=stripe_server.url) as stripe:
        resp = await stripe.with_raw_response(
            stripe.customers.retrieve_customer("cus_00003", expand=["default_source"])
        )
        plain = await stripe.customers.retrieve_customer("cus_00003")
    assert isinstance(resp, APIResponse)
    assert isinstance(resp.parsed, Customer) and isinstance(plain, Customer)
    assert resp.parsed.to_dict() == plain.to_dict()
    (first, _) = stripe_server.requests_for("GET", "/v1/customers/cus_00003")
    assert resp.status_code == 200
    assert resp.request_id is not None and resp.request_id.startswith("req_")
    assert resp.headers["request-id"] == resp.request_id  # Stripe's Request-Id, case-insensitive
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.method == "GET" and resp.operation == "retrieve_customer"
    assert resp.url == f"{stripe_server.url}/v1/customers/cus_00003"  # no query string
    assert "expand" in first.query_dict or first.query  # the query was sent, just not reported
    assert resp.attempts == 1 and resp.idempotency_key is None
    assert 0 < resp.elapsed <= resp.total_elapsed < 30
    assert "req_" in repr(resp) and KEY not in repr(resp)


async def test_a_create_reports_the_idempotency_key_it_sent(stripe_server: StripeServer) -> None:
    async with StripeClient(api_key=stripe_server.api_key, base_url=stripe_server.url) as stripe:
        resp = await stripe.with_raw_response(stripe.customers.create_customer(email="raw@example.com"))
    (sent,) = stripe_server.requests_for("POST", "/v1/customers")
    assert resp.method == "POST" and resp.status_code == 200
    assert resp.idempotency_key is not None and resp.idempotency_key == sent.header("idempotency-key")
    assert isinstance(resp.parsed, Customer) and resp.parsed.email == "raw@example.com"


async def test_a_list_call_gives_its_first_page_or_page_n(stripe_server: StripeServer) -> None:
    async with StripeClient(api_key=stripe_server.api_key, base_url=stripe_server.url) as stripe:
        first = await stripe.with_raw_response(stripe.customers.list_customers(size=10))
        third = await stripe.with_raw_response(stripe.customers.list_customers(size=10, page=3))
    assert isinstance(first.parsed, Page)
    assert [c.id for c in first.parsed.data][:2] == ["cus_00001", "cus_00002"]
    assert first.parsed.has_more and first.operation == "list_customers"
    assert first.request_id == first.parsed.response.headers["request-id"]
    # page=3 walks three requests: the response is the one page 3 was read from
    assert third.parsed.data[0].id == "cus_00021"
    assert third.request_id == third.parsed.response.headers["request-id"]
    assert third.request_id != first.request_id


async def test_retries_are_counted_and_the_final_attempt_is_reported(
    make_server: type[FaultServer],
) -> None:
    server = make_server()
    server.script("503", Reply(429, {"Retry-After": "0"}, {"error": {"message": "slow down"}}))
    async with StripeClient(
        api_key=KEY, base_url=server.url, max_retries=FAST_RETRIES, rate_limit=None
    ) as stripe:
        resp = await stripe.with_raw_response(stripe.customers.create_customer(email="r@example.com"))
    records = server.snapshot()
    assert len(records) == 3 and resp.attempts == 3 and resp.status_code == 200
    assert {r.idempotency_key for r in records} == {resp.idempotency_key}
    assert resp.total_elapsed >= resp.elapsed


async def test_every_gathered_call_gets_its_own_response() -> None:
    async def answer(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(random.random() / 100)  # finish out of order
        cid = request.url.path.rsplit("/", 1)[-1]
        return httpx.Response(
            200,
            json={"id": cid, "object": "customer", "created": 1700000000, "livemode": False},
            headers={"Request-Id": f"req_{cid}"},
        )

    import re

    with MockAPI() as api:
        api.get(re.compile(r"/v1/customers/cus_\d+"), handler=answer)
        async with StripeClient(api_key=KEY) as stripe:
            results = await asyncio.gather(
                *(
                    stripe.with_raw_response(stripe.customers.retrieve_customer(f"cus_{i}"))
                    for i in range(40)
                ),
                *(
                    stripe.customers.retrieve_customer(f"cus_{i}") for i in range(40, 50)
                ),  # plain calls mixed in
            )
    raw = results[:40]
    for i, resp in enumerate(raw):
        assert isinstance(resp, APIResponse)
        assert isinstance(resp.parsed, Customer) and resp.parsed.id == f"cus_{i}"
        assert resp.request_id == f"req_cus_{i}"
        assert resp.url.endswith(f"/v1/customers/cus_{i}")
    assert CAPTURE.get() is None  # nothing leaks into the caller's context


async def test_github_request_id_and_a_download(github_server: GitHubServer) -> None:
    async with GitHubClient(token="ghp_test", base_url=github_server.url) as gh:
        repo = await gh.with_raw_response(gh.repos.get("octocat", "hello-world"))
        art = await gh.with_raw_response(gh.meta.get_octocat())
        issues = await gh.with_raw_response(gh.issues.list_for_repo("o", "r", per_page=20))
    assert repo.request_id == "ABCD:1234"  # X-GitHub-Request-Id
    assert repo.parsed.full_name == "octocat/hello-world"
    assert repo.headers["x-ratelimit-limit"] == "5000"
    assert art.parsed == OCTOCAT.encode() and art.status_code == 200
    assert art.headers["content-type"] == "application/octocat-stream"
    assert len(issues.parsed.data) == 20 and issues.parsed.has_more
    assert issues.request_id == "ABCD:1234"


async def test_openai_stream_and_binary(openai_server: OpenAIServer) -> None:
    async with OpenAIClient(api_key="sk-test", base_url=openai_server.url, max_retries=0) as ai:
        chat = await ai.with_raw_response(
            ai.chat.create_chat_completion(model="gpt-test", messages=[{"role": "user", "content": "hi"}])
        )
        assert chat.request_id == "req_test"  # x-request-id
        assert chat.parsed.choices[0].message.content == "Hello there"
        resp = await ai.with_raw_response(
            ai.chat.create_chat_completion(
                model="gpt-test", messages=[{"role": "user", "content": "hi"}], stream=True
            )
        )
        assert isinstance(resp.parsed, AsyncStream)
        assert resp.status_code == 200 and resp.elapsed > 0  # the stream's head; events read later
        assert resp.headers["content-type"].startswith("text/event-stream")
        text = "".join(
            [c.choices[0].delta.content or "" async for c in resp.parsed if c.choices and c.choices[0].delta]
        )
        assert text == "Hello there"
        speech = await ai.with_raw_response(
            ai.audio.create_speech(model="tts-test", input="hi", voice="alloy")
        )
    assert speech.parsed == SPEECH
    assert speech.headers["content-type"] == "audio/mpeg"


async def test_errors_still_carry_their_response(stripe_server: StripeServer) -> None:
    async with StripeClient(api_key=stripe_server.api_key, base_url=stripe_server.url) as stripe:
        with pytest.raises(NotFoundError) as info:
            await stripe.with_raw_response(stripe.customers.retrieve_customer("cus_missing"))
    assert info.value.status_code == 404 and info.value.request_id is not None
    assert CAPTURE.get() is None


async def test_a_key_a_server_echoes_is_masked_in_the_headers() -> None:
    with MockAPI() as api:
        api.get(
            "/v1/customers/cus_1",
            json={"id": "cus_1", "object": "customer"},
            headers={"X-Echo": f"you sent {KEY}", "Request-Id": KEY},
        )
        async with StripeClient(api_key=KEY) as stripe:
            resp = await stripe.with_raw_response(stripe.customers.retrieve_customer("cus_1"))
    assert KEY not in str(resp.headers) and KEY not in repr(resp) and KEY not in str(resp.request_id)
    assert resp.headers["x-echo"] == "you sent ***"


async def test_misuse_is_a_clear_configuration_error() -> None:
    async def not_a_polvo_call() -> int:
        return 1

    with MockAPI() as api:
        api.get("/v1/customers/cus_1", json={"id": "cus_1", "object": "customer"})
        async with StripeClient(api_key=KEY) as stripe:
            with pytest.raises(ConfigurationError, match="not awaited"):
                await stripe.with_raw_response(Customer())  # type: ignore[arg-type]
            with pytest.raises(ConfigurationError, match="sent no request"):
                await stripe.with_raw_response(not_a_polvo_call())
            task = asyncio.ensure_future(stripe.customers.retrieve_customer("cus_1"))  # its own context
            with pytest.raises(ConfigurationError, match="not a Task"):
                await stripe.with_raw_response(task)


async def test_nested_calls_each_get_their_own_response() -> None:
    with MockAPI() as api:
        api.get(
            "/v1/customers/cus_1", json={"id": "cus_1", "object": "customer"}, headers={"Request-Id": "req_1"}
        )
        api.get(
            "/v1/customers/cus_2", json={"id": "cus_2", "object": "customer"}, headers={"Request-Id": "req_2"}
        )
        async with StripeClient(api_key=KEY) as stripe:

            async def both() -> tuple[APIResponse[object], object]:
                inner = await stripe.with_raw_response(stripe.customers.retrieve_customer("cus_1"))
                after = await stripe.customers.retrieve_customer("cus_2")
                return inner, after

            outer = await stripe.with_raw_response(both())
    inner, _ = outer.parsed
    assert inner.request_id == "req_1"
    assert outer.request_id == "req_2"  # the last request the outer call sent itself


TYPED = textwrap.dedent(
    """
    from __future__ import annotations

    from typing import assert_type

    from usepolvo.core import APIResponse, AsyncStream, Page, RequestEvent, ResponseEvent
    from usepolvo.github import GitHubClient
    from usepolvo.github.models import FullRepository, Issue
    from usepolvo.openai import OpenAIClient
    from usepolvo.openai.models import CreateChatCompletionResponse, CreateChatCompletionStreamResponse
    from usepolvo.stripe import StripeClient
    from usepolvo.stripe.models import Customer, DeletedCustomer


    async def main(stripe: StripeClient, gh: GitHubClient, ai: OpenAIClient) -> None:
        customer = await stripe.with_raw_response(stripe.customers.retrieve_customer("cus_1"))
        reveal_type(customer.parsed)
        assert_type(customer, APIResponse[Customer | DeletedCustomer])
        page = await stripe.with_raw_response(stripe.customers.list_customers(size=3))
        assert_type(page.parsed, Page[Customer])
        repo = await gh.with_raw_response(gh.repos.get("o", "r"))
        reveal_type(repo.parsed)
        assert_type(repo.parsed, FullRepository)
        issues = await gh.with_raw_response(gh.issues.list_for_repo("o", "r"))
        assert_type(issues.parsed, Page[Issue])
        art = await gh.with_raw_response(gh.meta.get_octocat())
        assert_type(art.parsed, bytes)
        chat = await ai.with_raw_response(ai.chat.create_chat_completion(model="m", messages=[]))
        reveal_type(chat.parsed)
        assert_type(chat.parsed, CreateChatCompletionResponse)
        stream = await ai.with_raw_response(
            ai.chat.create_chat_completion(model="m", messages=[], stream=True)
        )
        assert_type(stream.parsed, AsyncStream[CreateChatCompletionStreamResponse])
        status: int = customer.status_code
        request_id: str | None = repo.request_id
        seconds: float = chat.elapsed + chat.total_elapsed
        attempts: int = stream.attempts
        print(status, request_id, seconds, attempts)


    def sync_hook(event: RequestEvent) -> None:
        print(event.url, event.attempt, event.idempotency_key)


    async def async_hook(event: ResponseEvent) -> None:
        print(event.status_code, event.request_id, event.elapsed, event.will_retry, event.error)


    def hooked() -> StripeClient:
        return StripeClient(api_key="sk_test_x", on_request=[sync_hook], on_response=[async_hook, print])
    """
)

#: a response hook given as a request hook: mypy must say so
BAD = textwrap.dedent(
    """
    from __future__ import annotations

    from usepolvo.core import ResponseEvent
    from usepolvo.stripe import StripeClient


    def on_response(event: ResponseEvent) -> None:
        print(event.status_code)


    client = StripeClient(api_key="sk_test_x", on_request=[on_response])
    """
)


@pytest.mark.skipif(
    os.environ.get("POLVO_TRANSPORT") == "aiohttp",
    reason="typing does not depend on the transport: checked in the default (httpx) run",
)
@pytest.mark.slow  # mypy/pyright over a generated provider: minutes cold
def test_parsed_and_hooks_are_typed_under_mypy_strict(tmp_path: Path) -> None:
    program, bad = tmp_path / "raw_typed.py", tmp_path / "bad_hooks.py"
    program.write_text(TYPED)
    bad.write_text(BAD)
    proc = subprocess.run(
        [str(BIN / "mypy"), str(program), str(bad)],  # the project's settings (strict = true)
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    out = proc.stdout + proc.stderr
    lines = out.splitlines()
    assert [line for line in lines if "raw_typed.py" in line and "Revealed type is" not in line] == [], out[
        -3000:
    ]
    errors = [line for line in out.splitlines() if "error:" in line]
    assert len(errors) == 1 and "bad_hooks.py:12:" in errors[0] and "RequestEvent" in errors[0], out[-3000:]
    revealed = [
        line.split("Revealed type is ", 1)[1] for line in out.splitlines() if "Revealed type is" in line
    ]
    assert len(revealed) == 3, out[-3000:]
    assert "Customer" in revealed[0] and "DeletedCustomer" in revealed[0]
    assert revealed[1].endswith('FullRepository"')
    assert revealed[2].endswith('CreateChatCompletionResponse"')
