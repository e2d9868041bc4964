"""The transport switch: httpx's own (default) or aiohttp behind the same interface."""

from __future__ import annotations

import pytest
from usepolvo.stripe import StripeClient

from tests.servers.stripe import StripeServer
from usepolvo.core import ConfigurationError
from usepolvo.core._aiohttp import AiohttpTransport


async def test_aiohttp_transport_is_used_and_works(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POLVO_TRANSPORT", raising=False)
    with StripeServer(customers=30, api_key="sk_test_x") as server:
        async with StripeClient(api_key="sk_test_x", base_url=server.url, transport="aiohttp") as client:
            page = await client.customers.list_customers(size=10)
            created = await client.customers.create_customer(email="a@example.com", metadata={"k": "v"})
            assert isinstance(client._http._transport, AiohttpTransport)  # type: ignore[union-attr]
        assert len(page) == 10 and created.email == "a@example.com"
        posted = server.requests_for("POST", "/v1/customers")
        assert posted and posted[-1].header("Authorization") == "Bearer sk_test_x"
        assert dict(posted[-1].form)["metadata[k]"] == "v"


async def test_env_selects_the_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLVO_TRANSPORT", "aiohttp")
    assert StripeClient(api_key="sk_test_x").transport == "aiohttp"
    monkeypatch.setenv("POLVO_TRANSPORT", "httpx")
    assert StripeClient(api_key="sk_test_x").transport == "httpx"


def test_unknown_transport_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match="transport must be 'httpx' or 'aiohttp'"):
        StripeClient(api_key="sk_test_x", transport="curl")
