"""``make bench``: polvo against raw httpx (and raw aiohttp) in one run, as ratios.

A canned-payload server runs in its own process on 127.0.0.1 (its CPU share is printed).
Each figure is client-process CPU time (``time.process_time``) per request or per item,
median of several interleaved rounds, so raw and polvo see the same machine state. Polvo
runs with auth, retries and its limiter on (a rate limit high enough not to throttle).
Import and generation figures come from ``scripts/bench_generate.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent
N_GET = int(os.environ.get("BENCH_N", "1000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
KEY = "sk_live_bench"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _cpu(fn: Callable[[], Awaitable[object]], n: int) -> float:
    """CPU microseconds per call of ``fn`` over ``n`` sequential calls."""
    t0 = time.process_time()
    for _ in range(n):
        await fn()
    return (time.process_time() - t0) / n * 1e6


async def _median(fn: Callable[[], Awaitable[float]]) -> float:
    return statistics.median([await fn() for _ in range(ROUNDS)])


async def main() -> dict[str, object]:
    import httpx
    from usepolvo.github import GitHubClient
    from usepolvo.openai import OpenAIClient
    from usepolvo.stripe import StripeClient

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "_bench_server.py"), str(port)], stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    server.stdout.readline()
    base = f"http://127.0.0.1:{port}"
    results: dict[str, dict[str, float]] = {}
    try:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=100)
        raw = httpx.AsyncClient(limits=limits, headers={"Authorization": f"Bearer {KEY}"})
        stripe = StripeClient(api_key=KEY, base_url=base, rate_limit=1_000_000)
        stripe_aio = StripeClient(api_key=KEY, base_url=base, rate_limit=1_000_000, transport="aiohttp")
        github = GitHubClient(api_key="ghp_bench", base_url=base, rate_limit=1_000_000)
        openai = OpenAIClient(api_key="sk-bench", base_url=base, rate_limit=1_000_000)
        try:
            import aiohttp
        except ImportError:  # pragma: no cover - optional
            aiohttp = None  # type: ignore[assignment]
        session = aiohttp.ClientSession(headers={"Authorization": f"Bearer {KEY}"}) if aiohttp else None

        async def raw_get() -> object:
            return (await raw.get(f"{base}/v1/customers/cus_000001")).json()

        async def aio_get() -> object:
            assert session is not None
            async with session.get(f"{base}/v1/customers/cus_000001") as r:
                return json.loads(await r.read())

        async def polvo_get() -> object:
            return await stripe.customers.retrieve_customer("cus_000001")

        async def aio_polvo_get() -> object:
            return await stripe_aio.customers.retrieve_customer("cus_000001")

        async def aio_polvo_create() -> object:
            return await stripe_aio.customers.create_customer(
                email="a@example.com", metadata={"plan": "pro", "n": "1"}
            )

        async def aio_polvo_list() -> object:
            return (await stripe_aio.customers.list_customers(size=100)).data

        async def raw_create() -> object:
            form = {"email": "a@example.com", "metadata[plan]": "pro", "metadata[n]": "1"}
            return (await raw.post(f"{base}/v1/customers", data=form)).json()

        async def polvo_create() -> object:
            return await stripe.customers.create_customer(
                email="a@example.com", metadata={"plan": "pro", "n": "1"}
            )

        async def raw_list() -> object:
            return (await raw.get(f"{base}/v1/customers", params={"limit": 100})).json()["data"]

        async def polvo_list() -> object:
            return (await stripe.customers.list_customers(size=100)).data

        async def polvo_list_iter() -> object:
            return [c async for c in stripe.customers.list_customers(size=100)]

        async def raw_gh() -> object:
            return (await raw.get(f"{base}/repos/o/hello")).json()

        async def polvo_gh() -> object:
            return await github.repos.get("o", "hello")

        async def raw_models() -> object:
            return (await raw.get(f"{base}/models")).json()

        async def polvo_models() -> object:
            return await openai.models.list_models()

        pairs: dict[
            str, tuple[Callable[[], Awaitable[object]], Callable[[], Awaitable[object]], int, int]
        ] = {
            "stripe GET (µs/request)": (raw_get, polvo_get, N_GET, 1),
            "stripe GET, aiohttp transport": (raw_get, aio_polvo_get, N_GET, 1),
            "stripe create (µs/object)": (raw_create, polvo_create, N_GET, 1),
            "stripe create, aiohttp transport": (raw_create, aio_polvo_create, N_GET, 1),
            "stripe list, await page (µs/item)": (raw_list, polvo_list, max(20, N_GET // 50), 100),
            "stripe list, aiohttp (µs/item)": (raw_list, aio_polvo_list, max(20, N_GET // 50), 100),
            "stripe list, async for (µs/item)": (raw_list, polvo_list_iter, max(20, N_GET // 50), 100),
            "github GET repo (µs/request)": (raw_gh, polvo_gh, N_GET, 1),
            "openai list models (µs/request)": (raw_models, polvo_models, N_GET, 1),
        }
        for fn in (
            raw_get,
            polvo_get,
            raw_create,
            polvo_create,
            raw_list,
            polvo_list,
            raw_gh,
            polvo_gh,
            aio_polvo_get,
            aio_polvo_create,
            aio_polvo_list,
        ):
            for _ in range(20):  # warm up connections, imports and caches
                await fn()
        if session is not None:
            for _ in range(20):
                await aio_get()
        for name, (raw_fn, polvo_fn, n, per) in pairs.items():
            raw_us = await _median(lambda f=raw_fn, n=n: _cpu(f, n))  # type: ignore[misc]
            polvo_us = await _median(lambda f=polvo_fn, n=n: _cpu(f, n))  # type: ignore[misc]
            results[name] = {"raw_httpx": raw_us / per, "polvo": polvo_us / per, "ratio": polvo_us / raw_us}
        if session is not None:
            aio = await _median(lambda: _cpu(aio_get, N_GET))
            base_raw = results["stripe GET (µs/request)"]["raw_httpx"]
            results["raw aiohttp GET (µs/request)"] = {
                "raw_httpx": base_raw,
                "polvo": aio,
                "ratio": aio / base_raw,
            }

        async def throughput(fn: Callable[[], Awaitable[object]]) -> float:
            total = N_GET * 2
            t0 = time.perf_counter()
            for _ in range(total // 64):
                await asyncio.gather(*(fn() for _ in range(64)))
            return (total // 64) * 64 / (time.perf_counter() - t0)

        await throughput(raw_get)  # warm up: open the pools' connections
        await throughput(polvo_get)
        await throughput(aio_polvo_get)
        raw_rps = statistics.median([await throughput(raw_get) for _ in range(3)])
        polvo_rps = statistics.median([await throughput(polvo_get) for _ in range(3)])
        aio_rps = statistics.median([await throughput(aio_polvo_get) for _ in range(3)])
        results["64 in flight (requests/s)"] = {
            "raw_httpx": raw_rps,
            "polvo": polvo_rps,
            "ratio": polvo_rps / raw_rps,
        }
        results["64 in flight, aiohttp (req/s)"] = {
            "raw_httpx": raw_rps,
            "polvo": aio_rps,
            "ratio": aio_rps / raw_rps,
        }
        await raw.aclose()
        await stripe.aclose()
        await stripe_aio.aclose()
        await github.aclose()
        await openai.aclose()
        if session is not None:
            await session.close()
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=10)
    server_cpu = float(out.split()[-1]) if out.strip() else float("nan")
    client_cpu = time.process_time()
    print(f"{'measure':<36} {'raw httpx':>10} {'polvo':>10} {'ratio':>7}")
    for name, r in results.items():
        label = "raw aiohttp" if name.startswith("raw aiohttp") else "polvo"
        print(f"{name:<36} {r['raw_httpx']:>10.1f} {r['polvo']:>10.1f} {r['ratio']:>6.2f}x  ({label})")
    print(
        f"server CPU {server_cpu:.1f}s vs client CPU {client_cpu:.1f}s ({server_cpu / client_cpu:.0%} of the client's)"
    )
    return {"results": results, "server_cpu_s": server_cpu, "client_cpu_s": client_cpu}


if __name__ == "__main__":
    data = asyncio.run(main())
    print(json.dumps(data))
