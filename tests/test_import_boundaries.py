"""What importing a client, building it and making one call may load (issue 16: start-up cost).

``from usepolvo.<provider> import <Client>`` loads the client class and the runtime it
subclasses, nothing else: no model, resource, params or webhook module, no transport or JSON
backend (httpx, aiohttp, orjson, attrs), and none of the standard modules a client needs
only once it sends (asyncio, logging, ssl, datetime, urllib.parse, random…). One typed GET
then loads the models index, its resource and the one model module it returns (decoded
lazily), and still no webhooks, Redis limiter, aiohttp transport, streaming or multipart.

Each step is judged by what it added to ``sys.modules`` in a fresh interpreter, so modules an
interpreter loads at start-up on some Python version or platform do not count. No timing
here: ``make bench`` measures the cost (``scripts/_bench_startup.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: provider → (client class, the call, the JSON body the local server answers)
CASES = {
    "stripe": (
        "StripeClient",
        'c.customers.retrieve_customer("cus_1")',
        {"id": "cus_1", "object": "customer", "livemode": False, "created": 1},
    ),
    "github": ("GitHubClient", 'c.issues.get("o", "r", 1)', {"id": 1, "number": 1, "title": "t"}),
    "openai": (
        "OpenAIClient",
        'c.files.retrieve_file("file-1")',
        {"id": "file-1", "object": "file", "bytes": 1, "filename": "f", "purpose": "batch"},
    ),
}

PROBE = """
import sys

before = set(sys.modules)
from usepolvo.{provider} import {cls}
imported = sorted(set(sys.modules) - before)

before = set(sys.modules)
{cls}(api_key="sk_test_probe", base_url="http://127.0.0.1:9")
built = sorted(set(sys.modules) - before)

import asyncio
import json

BODY = json.dumps({body!r}).encode()


class Answer(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.buf = transport, b""

    def data_received(self, data):
        self.buf += data
        if b"\\r\\n\\r\\n" in self.buf:
            self.buf = b""
            self.transport.write(
                b"HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\nContent-Length: "
                + str(len(BODY)).encode() + b"\\r\\n\\r\\n" + BODY
            )


async def main():
    server = await asyncio.get_running_loop().create_server(Answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    before = set(sys.modules)
    async with {cls}(api_key="sk_test_probe", base_url=f"http://127.0.0.1:{{port}}") as c:
        result = await {call}
    server.close()
    await server.wait_closed()
    return sorted(set(sys.modules) - before), type(result).__name__


called, result = asyncio.run(main())
print(json.dumps({{"imported": imported, "built": built, "called": called, "result": result}}))
"""

#: never loaded by importing a client (``usepolvo.core`` modules by their private name)
NOT_AT_IMPORT = (
    # third-party: the transports, the JSON backend, models' attrs
    "httpx",
    "httpcore",
    "anyio",
    "h11",
    "aiohttp",
    "redis",
    "jwt",
    "attr",
    "attrs",
    "orjson",
    "certifi",
    # standard modules a client needs only once it sends
    "asyncio",
    "logging",
    "ssl",
    "socket",
    "json",
    "datetime",
    "urllib.parse",
    "ipaddress",
    "random",
    "uuid",
    "email",
    "zlib",
    "importlib",
    "inspect",
    "dataclasses",
    "concurrent",
)
CORE_NOT_AT_IMPORT = (
    "_webhooks",
    "_redis_limiter",
    "_aiohttp",
    "_wire",
    "_streaming",
    "_multipart",
    "_models",
    "_validate",
    "_pagination",
    "_auth",
    "_security",
    "_hooks",
    "_raw_response",
    "_ratelimit",
)
#: never loaded by one plain GET on the default transport
CORE_NOT_FOR_A_GET = ("_webhooks", "_redis_limiter", "_aiohttp", "_streaming", "_multipart")


def _probe(provider: str) -> dict[str, Any]:
    cls, call, body = CASES[provider]
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "GITHUB_", "OPENAI_", "POLVO_"))
    }
    code = PROBE.format(provider=provider, cls=cls, call=call, body=body)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    out: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return out


def _hits(loaded: list[str], names: tuple[str, ...]) -> list[str]:
    return [m for m in loaded if any(m == n or m.startswith(n + ".") for n in names)]


@pytest.fixture(scope="module", params=sorted(CASES))
def probe(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    provider: str = request.param
    return provider, _probe(provider)


def test_client_import_loads_only_the_client(probe: tuple[str, dict[str, Any]]) -> None:
    provider, out = probe
    imported: list[str] = out["imported"]
    assert _hits(imported, NOT_AT_IMPORT) == []
    core = [f"usepolvo.core.{name}" for name in CORE_NOT_AT_IMPORT]
    assert _hits(imported, tuple(core)) == []
    package = [m for m in imported if m.startswith(f"usepolvo.{provider}.")]
    assert all(m.count(".") == 2 or m.endswith("._client") for m in package), package
    assert not [m for m in package if m.rsplit(".", 1)[-1] in ("models", "resources", "params", "webhooks")]
    assert not [
        m for m in imported if m.startswith("usepolvo.") and m.split(".")[1] not in ("core", provider)
    ]


def test_building_a_client_does_not_load_a_transport(probe: tuple[str, dict[str, Any]]) -> None:
    _, out = probe
    assert _hits(out["built"], ("httpx", "httpcore", "aiohttp", "asyncio", "ssl", "attrs", "orjson")) == []
    assert not [m for m in out["built"] if m.startswith("usepolvo.")]


def test_one_get_loads_one_resource_and_one_model(probe: tuple[str, dict[str, Any]]) -> None:
    provider, out = probe
    called: list[str] = out["called"]
    assert _hits(called, tuple(f"usepolvo.core.{name}" for name in CORE_NOT_FOR_A_GET)) == []
    assert _hits(called, ("aiohttp", "redis", "jwt")) == []
    ours = [m for m in called if m.startswith(f"usepolvo.{provider}.")]
    models = [m for m in ours if ".models." in m]
    resources = [m for m in ours if ".resources." in m]
    assert len(models) == 1, models  # the returned model's module: its nested models stay lazy
    assert len(resources) == 1, resources
    assert not [m for m in ours if m.endswith(".webhooks") or ".params" in m]
    assert out["result"] not in ("dict", "NoneType")
