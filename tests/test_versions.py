"""Pinned spec versions side by side: own version header, the default, laziness, overrides."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
import tomllib
import usepolvo.stripe
from usepolvo.stripe.v2022_11_15 import StripeClient as Stripe20221115
from usepolvo.stripe.v2023_08_16 import StripeClient as Stripe20230816

from tests.servers.stripe import StripeServer
from usepolvo.core import ApiVersionWarning

ROOT = Path(__file__).resolve().parent.parent


def _default() -> str:
    return str(tomllib.loads((ROOT / "specs" / "stripe" / "provider.toml").read_text())["default"])


async def test_both_versions_in_one_process_send_their_own_header(stripe_server: StripeServer) -> None:
    old = Stripe20221115(api_key=stripe_server.api_key, base_url=stripe_server.url)
    new = Stripe20230816(api_key=stripe_server.api_key, base_url=stripe_server.url)
    async with old, new:
        page_old = await old.customers.list_customers(limit=3)
        page_new = await new.customers.list_customers(limit=3)
        await old.customers.list_customers(limit=1)
    assert len(page_old.data) == len(page_new.data) == 3
    # the two versions are distinct module trees, each with its own models
    assert type(page_old.data[0]).__module__.startswith("usepolvo.stripe.v2022_11_15.models")
    assert type(page_new.data[0]).__module__.startswith("usepolvo.stripe.v2023_08_16.models")
    sent = [r.header("Stripe-Version") for r in stripe_server.requests_for("GET", "/v1/customers")]
    assert sent == ["2022-11-15", "2023-08-16", "2022-11-15"]


def test_default_is_the_provider_toml_default() -> None:
    default = _default()
    module = __import__(f"usepolvo.stripe.v{default.replace('-', '_')}", fromlist=["StripeClient"])
    assert usepolvo.stripe.StripeClient is module.StripeClient
    assert usepolvo.stripe.StripeClient._config.api_version == default
    assert Stripe20221115._config.api_version == "2022-11-15"
    assert Stripe20221115 is not Stripe20230816
    # the runtime is shared, not copied per version
    assert Stripe20221115.__mro__[1] is Stripe20230816.__mro__[1]


def test_importing_both_versions_loads_no_models() -> None:
    probe = textwrap.dedent(
        """
        import json, sys
        from usepolvo.stripe.v2022_11_15 import StripeClient as A
        from usepolvo.stripe.v2023_08_16 import StripeClient as B
        import usepolvo.stripe
        loaded = sorted(m for m in sys.modules if m.startswith("usepolvo.stripe."))
        print(json.dumps(loaded))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRIPE_")}
    proc = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout)
    assert [m for m in loaded if ".models" in m or ".resources." in m] == []
    assert {"usepolvo.stripe.v2022_11_15._client", "usepolvo.stripe.v2023_08_16._client"} <= set(loaded)


async def test_per_call_version_override_warns(stripe_server: StripeServer) -> None:
    async with Stripe20230816(api_key=stripe_server.api_key, base_url=stripe_server.url) as client:
        with pytest.warns(ApiVersionWarning, match=r"pinned version 2023-08-16") as caught:
            await client.customers.list_customers(limit=1, request_options={"api_version": "2024-04-10"})
        message = str(caught[0].message)
        assert "Stripe-Version: 2024-04-10" in message and "StripeClient" in message
        # the pinned version itself is no override: no warning
        with warnings.catch_warnings():
            warnings.simplefilter("error", ApiVersionWarning)
            await client.customers.list_customers(limit=1, request_options={"api_version": "2023-08-16"})
            await client.customers.list_customers(limit=1)
    sent = [r.header("Stripe-Version") for r in stripe_server.requests_for("GET", "/v1/customers")]
    assert sent == ["2024-04-10", "2023-08-16", "2023-08-16"]
    assert issubclass(ApiVersionWarning, UserWarning)


async def test_no_warning_without_a_version_header() -> None:
    from usepolvo.openai import OpenAIClient

    client = OpenAIClient(api_key="sk-test", base_url="http://127.0.0.1:9")
    if client._config.version_header:
        pytest.skip("OpenAI now has a version header")
    from usepolvo.openai.v2_3_0.resources.models import _OP_LIST_MODELS

    with warnings.catch_warnings():
        warnings.simplefilter("error", ApiVersionWarning)
        request = client.build_request(_OP_LIST_MODELS, request_options={"api_version": "2099-01-01"})
    assert "2099-01-01" not in str(request.headers)
