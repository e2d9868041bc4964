"""The README's seed snippet, run unchanged against the local Stripe-like server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.servers.stripe import StripeServer

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

SNIPPET = """\
import asyncio
from usepolvo.stripe import StripeClient
client = StripeClient()
async def fetch_customers_and_charges():
    customers_future = client.customers.list_customers(page=1, size=10)
    charges_future = client.charges.list_charges(page=1, size=10)
    customers, charges = await asyncio.gather(customers_future, charges_future)
    return customers, charges
customers, charges = asyncio.run(fetch_customers_and_charges())
"""


def _env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("STRIPE_API_KEY", "STRIPE_BASE_URL")}
    env.update(overrides)
    return env


def _run(script: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_snippet_file_is_verbatim() -> None:
    text = (EXAMPLES / "seed_snippet.py").read_text()
    assert text.startswith(SNIPPET)
    assert text[len(SNIPPET) :].strip() in ("", "print(len(customers), len(charges))")


def test_snippet_runs_unchanged_against_local_server(stripe_server: StripeServer) -> None:
    result = _run(
        EXAMPLES / "seed_snippet.py",
        _env(STRIPE_API_KEY=stripe_server.api_key, STRIPE_BASE_URL=stripe_server.url),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["10", "10"]

    requests = stripe_server.requests
    assert sorted((r.method, r.path) for r in requests) == [("GET", "/v1/charges"), ("GET", "/v1/customers")]
    for request in requests:
        assert request.query == (("limit", "10"),)
        assert request.header("Authorization") == f"Bearer {stripe_server.api_key}"
        assert request.header("Stripe-Version") == "2023-08-16"
        assert request.header("Idempotency-Key") is None  # only POSTs carry one


def test_seed_runner_without_key_uses_local_server() -> None:
    result = _run(EXAMPLES / "seed.py", _env())
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["10", "10"]
    assert "local" in lines[1]
    assert "STRIPE_API_KEY" in lines[1]
    assert "STRIPE_BASE_URL" in lines[1]


def test_seed_runner_with_key_runs_snippet_as_is(stripe_server: StripeServer) -> None:
    # STRIPE_BASE_URL keeps this run off the real API while taking the "key is set" branch.
    result = _run(
        EXAMPLES / "seed.py",
        _env(STRIPE_API_KEY=stripe_server.api_key, STRIPE_BASE_URL=stripe_server.url),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["10", "10"]
    assert len(stripe_server.requests) == 2
