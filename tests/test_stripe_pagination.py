"""Stripe list calls: one page when awaited, every item when iterated, cursors on the wire."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable

import pytest
from pytest_httpx import HTTPXMock
from usepolvo.stripe import APIConnectionError, BadRequestError, NotFoundError, Page, PolvoError, StripeClient
from usepolvo.stripe.models import Charge, Customer

from tests.servers.stripe import StripeServer
from usepolvo.core import ConfigurationError, ResponseValidationError


@pytest.fixture
def big_server(make_stripe_server: Callable[..., StripeServer]) -> StripeServer:
    return make_stripe_server(customers=250, charges=30)


@pytest.fixture
async def big_client(big_server: StripeServer) -> AsyncIterator[StripeClient]:
    async with StripeClient(api_key=big_server.api_key, base_url=big_server.url) as c:
        yield c


def _ids(first: int, last: int) -> list[str]:
    return [f"cus_{n:05d}" for n in range(first, last + 1)]


def _list_queries(server: StripeServer, path: str = "/v1/customers") -> list[dict[str, str]]:
    return [r.query_dict for r in server.requests_for("GET", path)]


async def test_async_for_walks_every_page_in_order(
    big_client: StripeClient, big_server: StripeServer
) -> None:
    ids = [c.id async for c in big_client.customers.list_customers(size=100)]

    assert ids == big_server.customer_ids == _ids(1, 250)
    assert len(set(ids)) == 250
    assert _list_queries(big_server) == [
        {"limit": "100"},
        {"limit": "100", "starting_after": "cus_00100"},
        {"limit": "100", "starting_after": "cus_00200"},
    ]


async def test_await_gives_one_typed_page(big_client: StripeClient, big_server: StripeServer) -> None:
    page = await big_client.customers.list_customers(size=10)

    assert isinstance(page, Page)
    assert len(page) == 10
    assert page.has_more is True
    assert [c.id for c in page.data] == _ids(1, 10)
    assert page.items is page.data
    assert page.raw["url"] == "/v1/customers"
    assert page.response.status_code == 200
    for customer in page.data:
        assert isinstance(customer, Customer)
        assert isinstance(customer.created, dt.datetime)
        assert customer.created.tzinfo is not None
        assert customer.created.utcoffset() == dt.timedelta(0)
    assert page[0].created == dt.datetime(2023, 8, 15, 23, 0, tzinfo=dt.timezone.utc)
    assert _list_queries(big_server) == [{"limit": "10"}]


async def test_page_number_walks_the_cursor(big_client: StripeClient, big_server: StripeServer) -> None:
    page = await big_client.customers.list_customers(page=3, size=10)

    assert [c.id for c in page] == _ids(21, 30)
    assert page.has_more is True
    assert _list_queries(big_server) == [
        {"limit": "10"},
        {"limit": "10", "starting_after": "cus_00010"},
        {"limit": "10", "starting_after": "cus_00020"},
    ]


async def test_page_past_the_end_is_empty(make_stripe_server: Callable[..., StripeServer]) -> None:
    server = make_stripe_server(customers=25)
    async with StripeClient(api_key=server.api_key, base_url=server.url) as client:
        page = await client.customers.list_customers(page=5, size=10)
        assert len(page) == 0
        assert page.has_more is False
        assert await page.next_page() is None
    assert len(server.requests) == 3  # pages 1-3; page 3 says has_more false


async def test_next_page(big_client: StripeClient, big_server: StripeServer) -> None:
    first = await big_client.customers.list_customers(size=10)
    second = await first.next_page()

    assert second is not None
    assert [c.id for c in second] == _ids(11, 20)
    assert _list_queries(big_server)[-1] == {"limit": "10", "starting_after": "cus_00010"}


async def test_next_page_of_the_last_page_is_none(stripe_server: StripeServer, client: StripeClient) -> None:
    page = await client.customers.list_customers(page=3, size=10)  # 25 customers: 10, 10, 5
    assert [c.id for c in page] == _ids(21, 25)
    assert page.has_more is False
    assert await page.next_page() is None
    assert len(stripe_server.requests) == 3


async def test_breaking_out_early_fetches_no_more_pages(
    big_client: StripeClient, big_server: StripeServer
) -> None:
    seen = []
    async for customer in big_client.customers.list_customers(size=10):
        seen.append(customer.id)
        if len(seen) == 10:  # the last item of the first page
            break
    assert seen == _ids(1, 10)
    assert _list_queries(big_server) == [{"limit": "10"}]


async def test_ending_before_walks_backwards(big_client: StripeClient, big_server: StripeServer) -> None:
    ids = [c.id async for c in big_client.customers.list_customers(ending_before="cus_00031", size=10)]

    assert ids == _ids(21, 30) + _ids(11, 20) + _ids(1, 10)
    assert _list_queries(big_server) == [
        {"ending_before": "cus_00031", "limit": "10"},
        {"ending_before": "cus_00021", "limit": "10"},
        {"ending_before": "cus_00011", "limit": "10"},
    ]


async def test_explicit_limit_and_starting_after(big_client: StripeClient, big_server: StripeServer) -> None:
    page = await big_client.customers.list_customers(limit=5, starting_after="cus_00245")
    assert [c.id for c in page] == _ids(246, 250)
    assert page.has_more is False
    assert _list_queries(big_server) == [{"limit": "5", "starting_after": "cus_00245"}]


async def test_default_page_size_is_the_servers(big_client: StripeClient, big_server: StripeServer) -> None:
    page = await big_client.customers.list_customers()
    assert len(page) == 10
    assert _list_queries(big_server) == [{}]


async def test_charges_are_typed(big_client: StripeClient, big_server: StripeServer) -> None:
    charges = [c async for c in big_client.charges.list_charges(size=100)]

    assert [c.id for c in charges] == big_server.charge_ids
    assert all(isinstance(c, Charge) for c in charges)
    assert {c.status for c in charges} == {"succeeded", "failed"}
    assert _list_queries(big_server, "/v1/charges") == [{"limit": "100"}]


async def test_list_filters_reach_the_server(big_client: StripeClient, big_server: StripeServer) -> None:
    charges = [c async for c in big_client.charges.list_charges(customer="cus_00003", size=100)]
    assert [c.id for c in charges] == ["ch_00003"]
    assert _list_queries(big_server, "/v1/charges") == [{"customer": "cus_00003", "limit": "100"}]


@pytest.mark.parametrize("size", [0, -1, True, 2.5, "10"])
async def test_bad_size_is_rejected_before_sending(
    stripe_server: StripeServer, client: StripeClient, size: object
) -> None:
    with pytest.raises(ConfigurationError, match="size"):
        client.customers.list_customers(size=size)  # type: ignore[arg-type]
    assert stripe_server.requests == []


async def test_size_above_stripes_maximum_is_a_bad_request(
    stripe_server: StripeServer, client: StripeClient
) -> None:
    with pytest.raises(BadRequestError) as info:
        await client.customers.list_customers(size=101)
    assert info.value.status_code == 400
    assert info.value.error.error.param == "limit"
    assert len(stripe_server.requests) == 1  # a 400 is not retried


async def test_unknown_cursor_is_not_found(stripe_server: StripeServer, client: StripeClient) -> None:
    with pytest.raises(NotFoundError, match="No such customer: 'cus_nope'"):
        await client.customers.list_customers(starting_after="cus_nope")


async def test_concurrent_first_pages(stripe_server: StripeServer, client: StripeClient) -> None:
    import asyncio

    customers, charges = await asyncio.gather(
        client.customers.list_customers(page=1, size=10), client.charges.list_charges(page=1, size=10)
    )
    assert len(customers) == len(charges) == 10
    assert isinstance(customers[0], Customer)
    assert isinstance(charges[0], Charge)


# -- bodies that are not a Stripe list ---------------------------------------------------

LIST_URL = "https://api.stripe.com/v1/customers?limit=10"


async def test_a_bad_item_is_read_leniently_and_rejected_in_strict_mode(httpx_mock: HTTPXMock) -> None:
    # issue 11: lenient by default (the item is read as sent), strict on request
    body = {"object": "list", "data": [{"id": "cus_1"}], "has_more": False, "url": "/v1/customers"}
    httpx_mock.add_response(url=LIST_URL, json=body)
    httpx_mock.add_response(url=LIST_URL, json=body)
    async with StripeClient(api_key="sk_test_x") as client:
        page = await client.customers.list_customers(size=10)
        assert page.data[0].id == "cus_1" and page.data[0].created is None
        with pytest.raises(ResponseValidationError, match=r"Customer\.created: required field is missing"):
            await client.customers.list_customers(size=10, request_options={"strict": True})


async def test_non_json_single_object_is_a_connection_error(httpx_mock: HTTPXMock) -> None:
    # The reference behaviour for the list cases below.
    httpx_mock.add_response(url="https://api.stripe.com/v1/customers/cus_1", content=b"<html>502</html>")
    # (issue 10: an unreadable 200 is read again when that is safe; no retries here)
    async with StripeClient(api_key="sk_test_x", max_retries=0) as client:
        with pytest.raises(APIConnectionError, match="not valid JSON"):
            await client.customers.retrieve_customer("cus_1")


async def test_non_json_list_body_is_a_polvo_error(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=LIST_URL, content=b"<html>502</html>")
    async with StripeClient(api_key="sk_test_x") as client:
        with pytest.raises(PolvoError):
            await client.customers.list_customers(size=10)


async def test_non_object_list_body_is_a_validation_error(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=LIST_URL, json=[{"id": "cus_1"}])
    async with StripeClient(api_key="sk_test_x") as client:
        with pytest.raises(ResponseValidationError):
            await client.customers.list_customers(size=10)
