"""StripeClient end to end: wire format, idempotency, errors, configuration, lifecycle."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from pytest_httpx import HTTPXMock
from usepolvo.stripe import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    NotFoundError,
    PolvoError,
    RateLimitError,
    StripeClient,
)
from usepolvo.stripe.models import Charge, Customer, DeletedCustomer, Error

from tests.servers.stripe import StripeServer
from usepolvo.core import ConfigurationError, RetryPolicy

FAST_RETRIES = RetryPolicy(2, initial_backoff=0.001, max_backoff=0.01)
SECRET = "sk_test_51Secret0123456789abcdefKEY"
API = "https://api.stripe.com"


def _pairs(request: httpx.Request) -> list[tuple[str, str]]:
    return parse_qsl(request.content.decode(), keep_blank_values=True)


def _seed(kind: str, object_id: str) -> dict[str, Any]:
    """A realistic object from the test server's seed (the server need not run)."""
    server = StripeServer(customers=3, charges=3)
    found = server.customer(object_id) if kind == "customer" else server.charge(object_id)
    assert found is not None
    return found


@pytest.fixture
def mocked() -> StripeClient:
    """A client for pytest-httpx tests, with retries that do not sleep for long."""
    return StripeClient(api_key=SECRET, max_retries=FAST_RETRIES)


# -- form bodies -------------------------------------------------------------------------


async def test_create_customer_form_encodes_nested_values(
    stripe_server: StripeServer, client: StripeClient
) -> None:
    customer = await client.customers.create_customer(
        email="ada@example.com",
        name="Ada Lovelace",
        balance=-500,
        metadata={"order_id": "42", "note": "a b&c=d/é"},
        expand=["default_source", "test_clock"],
        preferred_locales=["en", "de"],
        address={"line1": "1 Analytical Way", "city": "London", "country": "GB"},
        tax_id_data=[{"type": "eu_vat", "value": "DE123456789"}, {"type": "gb_vat", "value": "GB123456789"}],
    )

    (request,) = stripe_server.requests_for("POST", "/v1/customers")
    assert request.header("Content-Type") == "application/x-www-form-urlencoded"
    assert sorted(request.form) == sorted(
        [
            ("email", "ada@example.com"),
            ("name", "Ada Lovelace"),
            ("balance", "-500"),
            ("metadata[order_id]", "42"),
            ("metadata[note]", "a b&c=d/é"),
            ("expand[]", "default_source"),
            ("expand[]", "test_clock"),
            ("preferred_locales[]", "en"),
            ("preferred_locales[]", "de"),
            ("address[line1]", "1 Analytical Way"),
            ("address[city]", "London"),
            ("address[country]", "GB"),
            ("tax_id_data[0][type]", "eu_vat"),
            ("tax_id_data[0][value]", "DE123456789"),
            ("tax_id_data[1][type]", "gb_vat"),
            ("tax_id_data[1][value]", "GB123456789"),
        ]
    )
    assert b"metadata%5Border_id%5D=42" in request.body  # brackets percent-encoded on the wire
    assert b"expand%5B%5D=default_source" in request.body

    assert isinstance(customer, Customer)
    assert customer.id == stripe_server.customer_ids[0]
    assert customer.email == "ada@example.com"
    assert customer.balance == -500
    assert customer.metadata == {"order_id": "42", "note": "a b&c=d/é"}
    assert customer.preferred_locales == ["en", "de"]
    assert customer.address is not None and customer.address.city == "London"


async def test_booleans_and_lists_of_objects(httpx_mock: HTTPXMock, mocked: StripeClient) -> None:
    httpx_mock.add_response(method="POST", url=f"{API}/v1/charges", json=_seed("charge", "ch_00001"))
    httpx_mock.add_response(
        method="POST",
        url=f"{API}/v1/subscriptions",
        status_code=400,
        json={
            "error": {
                "code": "resource_missing",
                "message": "No such price: 'price_1'",
                "param": "items[0][price]",
                "type": "invalid_request_error",
            }
        },
    )
    async with mocked:
        charge = await mocked.charges.create_charge(
            amount=2000, currency="usd", capture=False, metadata={"vip": True, "tier": 2}
        )
        with pytest.raises(BadRequestError) as info:
            await mocked.subscriptions.create_subscription(
                customer="cus_00001",
                items=[{"price": "price_1", "quantity": 2}, {"price": "price_2"}],
                off_session=True,
                expand=["latest_invoice.payment_intent"],
            )

    assert isinstance(charge, Charge)
    charge_request, subscription_request = httpx_mock.get_requests()
    assert sorted(_pairs(charge_request)) == sorted(
        [
            ("amount", "2000"),
            ("currency", "usd"),
            ("capture", "false"),
            ("metadata[vip]", "true"),
            ("metadata[tier]", "2"),
        ]
    )
    assert sorted(_pairs(subscription_request)) == sorted(
        [
            ("customer", "cus_00001"),
            ("items[0][price]", "price_1"),
            ("items[0][quantity]", "2"),
            ("items[1][price]", "price_2"),
            ("off_session", "true"),
            ("expand[]", "latest_invoice.payment_intent"),
        ]
    )
    assert info.value.error.error.param == "items[0][price]"
    assert info.value.attempts == 1


async def test_empty_string_and_none_clear_fields(httpx_mock: HTTPXMock, mocked: StripeClient) -> None:
    httpx_mock.add_response(
        method="POST", url=f"{API}/v1/customers/cus_00001", json=_seed("customer", "cus_00001")
    )
    async with mocked:
        await mocked.customers.update_customer("cus_00001", description=None, metadata="")
    (request,) = httpx_mock.get_requests()
    assert sorted(_pairs(request)) == [("description", ""), ("metadata", "")]


async def test_query_parameters_use_stripes_brackets(
    stripe_server: StripeServer, client: StripeClient
) -> None:
    await client.customers.retrieve_customer("cus_00001", expand=["default_source"])
    await client.customers.list_customers(created={"gte": 1_600_000_000, "lt": 1_700_000_000}, limit=3)
    retrieve, listing = stripe_server.requests
    assert retrieve.query == (("expand[]", "default_source"),)
    assert listing.query == (("created[gte]", "1600000000"), ("created[lt]", "1700000000"), ("limit", "3"))


# -- headers and idempotency -------------------------------------------------------------


async def test_default_headers(stripe_server: StripeServer, client: StripeClient) -> None:
    await client.customers.retrieve_customer("cus_00001")
    (request,) = stripe_server.requests
    assert request.header("Authorization") == f"Bearer {stripe_server.api_key}"
    assert request.header("Stripe-Version") == "2023-08-16"
    assert request.header("Accept") == "application/json"
    assert "usepolvo" in (request.header("User-Agent") or "")
    assert request.header("Idempotency-Key") is None


async def test_request_options_headers_and_api_version(
    stripe_server: StripeServer, client: StripeClient
) -> None:
    with pytest.warns(UserWarning, match="pinned version 2023-08-16"):  # ApiVersionWarning
        await client.customers.retrieve_customer(
            "cus_00001",
            request_options={"api_version": "2022-11-15", "headers": {"Stripe-Account": "acct_1"}},
        )
    (request,) = stripe_server.requests
    assert request.header("Stripe-Version") == "2022-11-15"
    assert request.header("Stripe-Account") == "acct_1"


async def test_post_gets_a_fresh_idempotency_key(stripe_server: StripeServer, client: StripeClient) -> None:
    await client.customers.create_customer(email="a@example.com")
    await client.customers.create_customer(email="a@example.com")
    keys = [r.header("Idempotency-Key") for r in stripe_server.requests_for("POST", "/v1/customers")]
    assert all(keys)
    assert keys[0] != keys[1]
    for key in keys:
        assert uuid.UUID(key or "").version == 4


async def test_idempotency_key_survives_retries(httpx_mock: HTTPXMock, mocked: StripeClient) -> None:
    url = f"{API}/v1/customers"
    httpx_mock.add_response(method="POST", url=url, status_code=500, json={"error": {"type": "api_error"}})
    httpx_mock.add_response(method="POST", url=url, status_code=409, json={"error": {"type": "api_error"}})
    httpx_mock.add_response(method="POST", url=url, json=_seed("customer", "cus_00002"))
    async with mocked:
        customer = await mocked.customers.create_customer(email="b@example.com")
    assert customer.id == "cus_00002"
    requests = httpx_mock.get_requests()
    assert len(requests) == 3
    keys = {r.headers["Idempotency-Key"] for r in requests}
    assert len(keys) == 1
    assert {r.content for r in requests} == {requests[0].content}


async def test_idempotency_key_override_dedupes_on_the_server(
    stripe_server: StripeServer, client: StripeClient
) -> None:
    options: Any = {"idempotency_key": "order-42"}
    before = len(stripe_server.customer_ids)
    first = await client.customers.create_customer(email="c@example.com", request_options=options)
    second = await client.customers.create_customer(email="c@example.com", request_options=options)

    assert second.id == first.id
    assert second.to_dict() == first.to_dict()
    assert len(stripe_server.customer_ids) == before + 1
    requests = stripe_server.requests_for("POST", "/v1/customers")
    assert [r.header("Idempotency-Key") for r in requests] == ["order-42", "order-42"]

    with pytest.raises(BadRequestError) as info:
        await client.customers.create_customer(email="other@example.com", request_options=options)
    assert info.value.error.error.type == "idempotency_error"
    assert len(stripe_server.customer_ids) == before + 1


async def test_concurrent_creates_with_one_key_make_one_customer(
    make_stripe_server: Callable[..., StripeServer],
) -> None:
    # Stripe answers 409 while the first request with a key is in flight; the client retries
    # (same key, same body) and gets the saved response.
    server = make_stripe_server(write_delay=0.1)
    before = len(server.customer_ids)
    retries = RetryPolicy(20, initial_backoff=0.02, max_backoff=0.05)
    async with StripeClient(api_key=server.api_key, base_url=server.url, max_retries=retries) as client:
        customers = await asyncio.gather(
            *(
                client.customers.create_customer(
                    email="same@example.com", request_options={"idempotency_key": "burst-1"}
                )
                for _ in range(5)
            )
        )
    assert len({c.id for c in customers}) == 1
    assert len(server.customer_ids) == before + 1
    posts = server.requests_for("POST", "/v1/customers")
    assert len(posts) > 5  # some were answered 409 and retried
    assert {r.header("Idempotency-Key") for r in posts} == {"burst-1"}


def test_older_pin_sends_its_api_version(stripe_server: StripeServer) -> None:
    from usepolvo.stripe.v2022_11_15 import StripeClient as StripeClient2022

    async def fetch() -> None:
        async with StripeClient2022(api_key=stripe_server.api_key, base_url=stripe_server.url) as client:
            page = await client.customers.list_customers(size=2)
            assert len(page) == 2

    asyncio.run(fetch())
    (request,) = stripe_server.requests
    assert request.header("Stripe-Version") == "2022-11-15"


# -- errors ------------------------------------------------------------------------------


async def test_not_found_error(stripe_server: StripeServer, client: StripeClient) -> None:
    with pytest.raises(NotFoundError) as info:
        await client.customers.retrieve_customer("cus_missing")
    exc = info.value
    assert exc.status_code == 404
    assert exc.attempts == 1
    assert exc.request_id is not None and exc.request_id.startswith("req_")
    assert exc.request_id == exc.headers["Request-Id"]
    assert exc.body["error"]["message"] == "No such customer: 'cus_missing'"
    assert exc.body["error"]["code"] == "resource_missing"
    assert isinstance(exc.error, Error)
    assert exc.error.error.message == "No such customer: 'cus_missing'"
    assert exc.error.error.type == "invalid_request_error"
    assert exc.error.error.code == "resource_missing"
    assert exc.method == "GET"
    assert exc.url == f"{stripe_server.url}/v1/customers/cus_missing"
    assert "No such customer" in str(exc)
    assert exc.request_id in str(exc)
    assert len(stripe_server.requests) == 1  # a 404 is not retried


async def test_wrong_key_is_an_authentication_error(stripe_server: StripeServer) -> None:
    wrong = "sk_test_wrong0123456789abcdef"
    async with StripeClient(api_key=wrong, base_url=stripe_server.url) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.customers.list_customers(size=1)
    exc = info.value
    assert exc.status_code == 401
    assert exc.attempts == 1
    assert exc.error.error.message.startswith("Invalid API Key provided")
    assert wrong not in str(exc)
    assert wrong not in repr(exc)


async def test_server_error_after_retries(httpx_mock: HTTPXMock, mocked: StripeClient) -> None:
    httpx_mock.add_response(
        url=f"{API}/v1/customers/cus_00001",
        status_code=500,
        json={"error": {"type": "api_error", "message": "An unknown error occurred"}},
        headers={"Request-Id": "req_500"},
        is_reusable=True,
    )
    async with mocked:
        with pytest.raises(InternalServerError) as info:
            await mocked.customers.retrieve_customer("cus_00001")
    exc = info.value
    assert exc.status_code == 500
    assert exc.attempts == 3
    assert exc.request_id == "req_500"
    assert exc.error.error.type == "api_error"
    assert "after 3 attempts" in str(exc)
    assert len(httpx_mock.get_requests()) == 3


async def test_stripe_should_retry_false_is_honoured(httpx_mock: HTTPXMock, mocked: StripeClient) -> None:
    httpx_mock.add_response(
        url=f"{API}/v1/customers/cus_00001",
        status_code=500,
        json={"error": {"type": "api_error", "message": "Do not retry"}},
        headers={"Stripe-Should-Retry": "false"},
    )
    async with mocked:
        with pytest.raises(InternalServerError) as info:
            await mocked.customers.retrieve_customer("cus_00001")
    assert info.value.attempts == 1


async def test_rate_limit_is_retried(httpx_mock: HTTPXMock, mocked: StripeClient) -> None:
    url = f"{API}/v1/customers/cus_00001"
    httpx_mock.add_response(
        url=url,
        status_code=429,
        json={"error": {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many"}},
        headers={"Retry-After": "0"},
    )
    httpx_mock.add_response(url=url, json=_seed("customer", "cus_00001"))
    async with mocked:
        customer = await mocked.customers.retrieve_customer("cus_00001")
    assert customer.id == "cus_00001"
    assert len(httpx_mock.get_requests()) == 2


async def test_rate_limit_error_when_retries_run_out(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=f"{API}/v1/customers/cus_00001",
        status_code=429,
        json={"error": {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many"}},
        headers={"Retry-After": "0"},
    )
    async with StripeClient(api_key=SECRET, max_retries=0) as client:
        with pytest.raises(RateLimitError) as info:
            await client.customers.retrieve_customer("cus_00001")
    assert info.value.retry_after == 0.0
    assert info.value.attempts == 1


async def test_connection_error(make_stripe_server: Callable[..., StripeServer]) -> None:
    server = make_stripe_server()
    url = server.url
    server.stop()  # nothing listens on the port any more
    async with StripeClient(api_key=SECRET, base_url=url, max_retries=FAST_RETRIES) as client:
        with pytest.raises(APIConnectionError) as info:
            await client.customers.retrieve_customer("cus_00001")
    assert info.value.attempts == 3
    assert SECRET not in str(info.value)


@pytest.mark.httpx_mock(should_mock=lambda request: request.url.host != "127.0.0.1")
async def test_errors_never_contain_the_key(
    make_stripe_server: Callable[..., StripeServer], httpx_mock: HTTPXMock
) -> None:
    server = make_stripe_server(api_key=SECRET)
    httpx_mock.add_response(status_code=500, json={"error": {"message": "boom"}}, is_reusable=True)
    errors: list[PolvoError] = []
    async with StripeClient(api_key=SECRET, max_retries=FAST_RETRIES) as client:
        with pytest.raises(InternalServerError) as info:
            await client.customers.retrieve_customer("cus_00001")
        errors.append(info.value)
    for key in (SECRET, SECRET + "x"):  # the right key (404) and a wrong one (401)
        async with StripeClient(api_key=key, base_url=server.url) as client:
            with pytest.raises(PolvoError) as caught:
                await client.customers.retrieve_customer("cus_missing")
            errors.append(caught.value)
    with pytest.raises(ConfigurationError) as bad_path:
        await StripeClient(api_key=SECRET).customers.retrieve_customer("")
    errors.append(bad_path.value)

    assert [type(e) for e in errors] == [
        InternalServerError,
        NotFoundError,
        AuthenticationError,
        ConfigurationError,
    ]
    for error in errors:
        assert SECRET not in str(error)
        assert SECRET not in repr(error)
        assert all(SECRET not in str(arg) for arg in error.args)


# -- configuration -----------------------------------------------------------------------


def test_missing_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="STRIPE_API_KEY"):
        StripeClient()
    with pytest.raises(ConfigurationError, match="STRIPE_API_KEY"):
        StripeClient(api_key="")


async def test_key_and_base_url_from_the_environment(stripe_env: StripeServer) -> None:
    async with StripeClient() as client:
        assert client.base_url == stripe_env.url
        customer = await client.customers.retrieve_customer("cus_00001")
    assert isinstance(customer, Customer)
    (request,) = stripe_env.requests
    assert request.header("Authorization") == f"Bearer {stripe_env.api_key}"


def test_repr_hides_the_key() -> None:
    client = StripeClient(api_key=SECRET, base_url="http://127.0.0.1:9")
    assert SECRET not in repr(client)
    assert SECRET not in str(client)
    assert "***" in repr(client)
    assert "StripeClient" in repr(client)


async def test_empty_path_parameter_is_rejected_before_sending(
    stripe_server: StripeServer, client: StripeClient
) -> None:
    with pytest.raises(ConfigurationError, match="customer"):
        await client.customers.retrieve_customer("")
    with pytest.raises(ConfigurationError, match="customer"):
        await client.customers.delete_customer("")
    with pytest.raises(ConfigurationError, match="customer"):
        await client.customers.retrieve_customer(None)  # type: ignore[arg-type]
    assert stripe_server.requests == []


async def test_path_parameters_are_percent_encoded(stripe_server: StripeServer, client: StripeClient) -> None:
    with pytest.raises(NotFoundError, match="No such customer: 'a/b c'"):
        await client.customers.retrieve_customer("a/b c")
    (request,) = stripe_server.requests
    assert request.path == "/v1/customers/a%2Fb%20c"


# -- resources and lifecycle -------------------------------------------------------------


async def test_retrieve_and_delete(stripe_server: StripeServer, client: StripeClient) -> None:
    customer = await client.customers.retrieve_customer("cus_00002")
    # models decode lazily (issue 16): until first use ``type()`` is Customer's lazy twin, a
    # subclass of the same name; any use, ``__class__`` included, makes it the class itself
    assert isinstance(customer, Customer)
    assert customer.__class__ is Customer
    assert customer.to_dict() == stripe_server.customer("cus_00002")

    deleted = await client.customers.delete_customer("cus_00002")
    assert deleted.__class__ is DeletedCustomer
    assert (deleted.id, deleted.object, deleted.deleted) == ("cus_00002", "customer", True)
    assert "cus_00002" not in stripe_server.customer_ids

    again = await client.customers.retrieve_customer("cus_00002")  # Stripe answers 200 with a stub
    assert again.__class__ is DeletedCustomer

    with pytest.raises(NotFoundError):
        await client.customers.delete_customer("cus_00002")
    assert [(r.method, r.path) for r in stripe_server.requests] == [
        ("GET", "/v1/customers/cus_00002"),
        ("DELETE", "/v1/customers/cus_00002"),
        ("GET", "/v1/customers/cus_00002"),
        ("DELETE", "/v1/customers/cus_00002"),
    ]


async def test_async_with_closes_the_connection_pool(stripe_server: StripeServer) -> None:
    async with StripeClient(api_key=stripe_server.api_key, base_url=stripe_server.url) as client:
        await client.customers.retrieve_customer("cus_00001")
        http = client._http
        assert http is not None and not http.is_closed
    assert http.is_closed


async def test_a_given_http_client_is_left_open(stripe_server: StripeServer) -> None:
    async with httpx.AsyncClient() as http:
        async with StripeClient(
            api_key=stripe_server.api_key, base_url=stripe_server.url, http_client=http
        ) as client:
            await client.customers.retrieve_customer("cus_00001")
        assert not http.is_closed
        await client.aclose()
        assert not http.is_closed


def test_one_client_across_event_loops(stripe_server: StripeServer) -> None:
    # The seed snippet's pattern: a module-level client used from asyncio.run().
    client = StripeClient(api_key=stripe_server.api_key, base_url=stripe_server.url)

    async def fetch(customer_id: str) -> str:
        customer = await client.customers.retrieve_customer(customer_id)
        await asyncio.sleep(0)
        return customer.id

    assert asyncio.run(fetch("cus_00001")) == "cus_00001"
    assert asyncio.run(fetch("cus_00002")) == "cus_00002"


def test_aclose_after_the_loop_is_gone(stripe_server: StripeServer) -> None:
    # The pool belongs to a finished loop: aclose() from a new loop must not raise.
    client = StripeClient(api_key=stripe_server.api_key, base_url=stripe_server.url)
    asyncio.run(client.customers.retrieve_customer("cus_00001"))
    asyncio.run(client.aclose())


# -- the test server itself --------------------------------------------------------------


def test_server_rejects_missing_and_wrong_credentials(stripe_server: StripeServer) -> None:
    with httpx.Client(base_url=stripe_server.url) as http:
        missing = http.get("/v1/customers")
        wrong = http.get("/v1/customers", headers={"Authorization": "Bearer sk_test_nope"})
        basic = http.get("/v1/customers", auth=(stripe_server.api_key, ""))
        unknown = http.get("/v1/nothing", headers={"Authorization": f"Bearer {stripe_server.api_key}"})
    assert missing.status_code == wrong.status_code == 401
    assert "did not provide an API key" in missing.json()["error"]["message"]
    assert wrong.json()["error"]["type"] == "invalid_request_error"
    assert basic.status_code == 200
    assert unknown.status_code == 404
    assert unknown.headers["Request-Id"].startswith("req_")
    assert [r.path for r in stripe_server.requests] == ["/v1/customers"] * 3 + ["/v1/nothing"]


def test_server_only_binds_loopback() -> None:
    with pytest.raises(ValueError, match="loopback"):
        StripeServer(host="0.0.0.0")
    with StripeServer(customers=0, charges=0) as server:
        assert server.url.startswith("http://127.0.0.1:")
    with pytest.raises(RuntimeError):
        _ = server.port  # stopped
