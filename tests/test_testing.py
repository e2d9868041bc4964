"""usepolvo.testing: the SDK mocked in a user's tests, on both transports, without a
client-side rate limit; POLVO_RATE_LIMIT=off for clients built elsewhere."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator

import httpx
import pytest
from usepolvo.github import GitHubClient
from usepolvo.openai import OpenAIClient
from usepolvo.stripe import NotFoundError, StripeClient
from usepolvo.stripe.models import Customer

from tests.conftest import FAST_RETRIES
from tests.servers.stripe import StripeServer
from usepolvo.core import ConfigurationError, _testhooks
from usepolvo.testing import MockAPI, UnmatchedRequestError

CUSTOMER = {"id": "cus_1", "object": "customer", "created": 1700000000, "livemode": False}
EMPTY_LIST = {"object": "list", "url": "/v1/customers", "data": [], "has_more": False}


@pytest.fixture(autouse=True)
def _no_leftover_mock() -> Iterator[None]:
    yield
    assert _testhooks.interceptor is None, "a MockAPI stayed active after its test"


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
async def test_mock_answers_on_either_transport(transport: str) -> None:
    with MockAPI() as api:
        listed = api.get("/v1/customers", json={**EMPTY_LIST, "data": [CUSTOMER]})
        created = api.post("/v1/customers", json=CUSTOMER)
        async with StripeClient(api_key="sk_test_x", transport=transport) as stripe:
            page = await stripe.customers.list_customers(size=10)
            customer = await stripe.customers.create_customer(email="a@example.com")
    assert [c.id for c in page.data] == ["cus_1"] and isinstance(customer, Customer)
    (sent,) = listed.calls
    assert sent.url.params["limit"] == "10"
    assert sent.headers["authorization"] == "Bearer sk_test_x"
    assert "Stripe-Version" in sent.headers
    assert created.calls[0].content == b"email=a%40example.com"
    assert [r.method for r in api.requests] == ["GET", "POST"]


async def test_errors_are_typed_and_retries_replay_against_the_mock() -> None:
    async with MockAPI() as api:
        api.get("/v1/customers/cus_404", status=404, json={"error": {"type": "invalid_request_error"}})
        flaky = api.get("/v1/customers/cus_1", status=503, json={}, times=1)
        ok = api.get("/v1/customers/cus_1", json=CUSTOMER)
        async with StripeClient(api_key="sk_test_x", max_retries=FAST_RETRIES) as stripe:
            with pytest.raises(NotFoundError) as info:
                await stripe.customers.retrieve_customer("cus_404")
            customer = await stripe.customers.retrieve_customer("cus_1")
    assert info.value.status_code == 404
    assert customer.id == "cus_1"
    assert len(flaky.calls) == 1 and len(ok.calls) == 1


async def test_regex_paths_query_params_and_async_handlers() -> None:
    async def echo(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)
        return httpx.Response(200, json={**CUSTOMER, "id": request.url.path.rsplit("/", 1)[-1]})

    with MockAPI() as api:
        api.get(re.compile(r"/v1/customers/cus_\w+"), handler=echo)
        zen = api.get("/zen", content="Keep it logically awesome.", headers={"content-type": "text/plain"})
        after = api.get("/v1/models", params={"after": "m1"}, json={"object": "list", "data": []})
        async with StripeClient(api_key="sk_test_x") as stripe, GitHubClient(api_key="ghp_x") as gh:
            customer = await stripe.customers.retrieve_customer("cus_42")
            text = await gh.meta.get_zen()
            async with OpenAIClient(api_key="sk-x") as ai:
                with pytest.raises(UnmatchedRequestError, match=r"GET https://api\.openai\.com/v1/models"):
                    await ai.models.list_models()
                await ai.models.list_models(request_options={"query": {"after": "m1"}})
    assert customer.id == "cus_42"
    assert text == "Keep it logically awesome." and zen.called
    assert after.calls[0].headers["authorization"] == "Bearer sk-x"


async def test_unmatched_requests_raise_and_uncalled_routes_fail_the_block() -> None:
    with pytest.raises(AssertionError, match="never called"), MockAPI() as api:
        api.get("/v1/charges", json=EMPTY_LIST)
        async with StripeClient(api_key="sk_test_x") as stripe:
            with pytest.raises(UnmatchedRequestError, match="/v1/customers"):
                await stripe.customers.list_customers()
    assert _testhooks.interceptor is None
    with MockAPI(assert_all_called=False) as api:
        api.get("/v1/charges", json=EMPTY_LIST)
    with pytest.raises(ValueError, match="starting with '/'"):
        MockAPI().get("v1/charges")
    with pytest.raises(RuntimeError, match="already active"), MockAPI(), MockAPI():
        pass


async def test_clients_built_inside_a_mock_have_no_default_rate_limit() -> None:
    with MockAPI() as api:
        api.get("/v1/customers", json=EMPTY_LIST)
        stripe = StripeClient(api_key="sk_test_x")  # sk_test_: 25 req/s for real
        assert stripe.limiter.rate is None
        await asyncio.gather(*(stripe.customers.list_customers() for _ in range(100)))
        assert StripeClient(api_key="sk_test_x", rate_limit=5).limiter.rate == 5  # explicit wins
        assert len(api.requests) == 100
    with MockAPI(rate_limit=True):
        assert StripeClient(api_key="sk_test_x").limiter.rate == 25
    assert StripeClient(api_key="sk_test_x").limiter.rate == 25


def test_polvo_rate_limit_off_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLVO_RATE_LIMIT", "off")
    client = StripeClient(api_key="sk_test_x")
    assert client.limiter.rate is None
    assert client.limiter.max_concurrency == 50  # only the rate goes
    monkeypatch.setenv("POLVO_RATE_LIMIT", "0ff")
    with pytest.raises(ConfigurationError, match="POLVO_RATE_LIMIT"):
        StripeClient(api_key="sk_test_x")


async def test_a_user_http_client_is_mocked_too_and_real_pools_survive(stripe_server: StripeServer) -> None:
    async with StripeClient(api_key=stripe_server.api_key, base_url=stripe_server.url) as real:
        before = await real.customers.list_customers(size=1)
        async with httpx.AsyncClient() as own:
            mine = StripeClient(api_key="sk_test_x", http_client=own)
            with MockAPI() as api:
                api.get("/v1/customers", json=EMPTY_LIST)
                assert (await mine.customers.list_customers()).data == []
                assert (await real.customers.list_customers()).data == []  # mocked too
            after = await real.customers.list_customers(size=1)
    assert before.data[0].id == after.data[0].id == "cus_00001"


async def test_streams_and_simulated_network_failures() -> None:
    chunk = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}],
    }
    events = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()

    def flaky(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("simulated", request=request)

    with MockAPI() as api:
        api.post("/v1/chat/completions", content=events, headers={"content-type": "text/event-stream"})
        down = api.get("/v1/models", handler=flaky, times=1)
        api.get("/v1/models", json={"object": "list", "data": []})
        async with OpenAIClient(api_key="sk-x", max_retries=FAST_RETRIES) as ai:
            stream = await ai.chat.create_chat_completion(model="m", messages=[], stream=True)
            texts = [c.choices[0].delta.content async for c in stream]
            page = await ai.models.list_models()  # a connection error, retried
    assert texts == ["hi"]
    assert down.called and page.data == []
