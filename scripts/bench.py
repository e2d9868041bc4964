"""``make bench``: every figure of issue 16, as a ratio to raw ``httpx`` + ``.json()``, in one run.

    .venv/bin/python scripts/bench.py

Payloads: realistic bodies synthesized from each pinned spec's schemas (every field filled,
nested objects present: ``_bench_payloads.py``), plus the small canned ones of earlier
runs. A server process on 127.0.0.1 answers from prebuilt bytes (its CPU is printed).

Each per-request / per-item figure is client-process CPU (``time.process_time``) over
``BENCH_N`` sequential calls (lists: ``BENCH_N_LIST`` pages of 100 items, each item's ``id``
touched), taken in ``BENCH_ROUNDS`` rounds that interleave every measure, raw and polvo
side by side, so they see the same machine state; a ratio is the median of the per-round
ratios. Polvo runs with auth, retries and its limiter on (a rate limit high enough not to
throttle, 64 in flight). Requests/s at 64 in flight are wall-clock, also interleaved.
Import + client + first call and client import are medians of fresh subprocesses
(``_bench_startup.py``: byte-code cached, interpreter start-up apart, raw httpx alongside);
generation of all pinned specs with ``--force`` is one subprocess (``BENCH_GENERATE=0``
skips it). Every figure is printed in the table with its target and ✓/✗, then as one JSON
line per figure.

Scale down on a busy machine: ``BENCH_N=100 BENCH_N_LIST=3 BENCH_ROUNDS=3``.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _bench_payloads import TARGETS, describe  # noqa: E402

N_GET = int(os.environ.get("BENCH_N", "400"))
N_LIST = int(os.environ.get("BENCH_N_LIST", "6"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
IN_FLIGHT = 64
GENERATE = os.environ.get("BENCH_GENERATE", "1") != "0"
KEY = "sk_live_bench"
PROVIDERS = ("stripe", "github", "openai")
TIMES = "\u00d7"  # the ratio sign in the table
Fn = Callable[[], Awaitable[object]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _cpu(fn: Fn, n: int) -> float:
    """CPU microseconds per call of ``fn`` over ``n`` sequential calls."""
    t0 = time.process_time()
    for _ in range(n):
        await fn()
    return (time.process_time() - t0) / n * 1e6


async def _rps(fn: Fn, total: int) -> float:
    """Requests per second with ``IN_FLIGHT`` calls gathered at a time (wall clock)."""
    batches = max(1, total // IN_FLIGHT)
    t0 = time.perf_counter()
    for _ in range(batches):
        await asyncio.gather(*(fn() for _ in range(IN_FLIGHT)))
    return batches * IN_FLIGHT / (time.perf_counter() - t0)


@dataclass
class Figure:
    """One row of the table: a measure per provider against its baseline, with a target."""

    name: str
    target: str = ""  # "<=1.05", ">=6", "" (reported, no target)
    unit: str = "x"  # "x" (ratio to the baseline), "ms", "s", "MB"
    cells: dict[str, dict[str, Any]] = field(default_factory=dict)

    def ok(self, value: float) -> bool | None:
        if not self.target:
            return None
        bound = float(self.target[2:])
        return value <= bound if self.target.startswith("<=") else value >= bound

    def add(self, provider: str, value: float, **extra: Any) -> None:
        self.cells[provider] = {"value": value, "ok": self.ok(value), **extra}


def _med(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


# -- the in-process measures ---------------------------------------------------------------


async def _wire(base: str) -> tuple[list[Figure], dict[str, Any]]:
    import httpx
    from usepolvo.github import GitHubClient
    from usepolvo.openai import OpenAIClient
    from usepolvo.stripe import StripeClient

    try:
        import aiohttp
    except ImportError:  # pragma: no cover - the aiohttp extra is a dev dependency
        aiohttp = None  # type: ignore[assignment]
    try:
        import githubkit  # type: ignore[import-not-found]
    except ImportError:
        githubkit = None

    limits = httpx.Limits(max_connections=None, max_keepalive_connections=100)
    raw = httpx.AsyncClient(limits=limits, headers={"Authorization": f"Bearer {KEY}"})
    session = aiohttp.ClientSession(headers={"Authorization": f"Bearer {KEY}"}) if aiohttp else None
    opts: dict[str, Any] = {"base_url": base, "rate_limit": 1_000_000, "max_concurrency": IN_FLIGHT}
    clients: dict[str, dict[str, Any]] = {}
    for transport in ("httpx", "aiohttp"):
        clients[transport] = {
            "stripe": StripeClient(api_key=KEY, transport=transport, **opts),
            "github": GitHubClient(api_key="ghp_bench", transport=transport, **opts),
            "openai": OpenAIClient(api_key="sk-bench", transport=transport, **opts),
        }

    def raw_httpx_get(path: str) -> Fn:
        async def fn() -> object:
            return (await raw.get(base + path)).json()

        return fn

    def raw_aio_get(path: str) -> Fn:
        async def fn() -> object:
            assert session is not None
            async with session.get(base + path) as r:
                return json.loads(await r.read())

        return fn

    def items_of(body: Any) -> list[Any]:
        return body if isinstance(body, list) else body["data"]

    def raw_httpx_list(path: str) -> Fn:
        async def fn() -> object:
            items = items_of((await raw.get(base + path, params={"limit": 100})).json())
            return [i["id"] for i in items]

        return fn

    def raw_aio_list(path: str) -> Fn:
        async def fn() -> object:
            assert session is not None
            async with session.get(base + path, params={"limit": "100"}) as r:
                items = items_of(json.loads(await r.read()))
            return [i["id"] for i in items]

        return fn

    def polvo_get(transport: str, provider: str) -> Fn:
        c = clients[transport][provider]
        if provider == "stripe":
            return lambda: c.customers.retrieve_customer("cus_bench")  # type: ignore[no-any-return]
        if provider == "github":
            return lambda: c.issues.get("o", "r", 1)  # type: ignore[no-any-return]
        return lambda: c.files.retrieve_file("file-bench")  # type: ignore[no-any-return]

    def polvo_list(transport: str, provider: str) -> Fn:
        c = clients[transport][provider]
        if provider == "stripe":
            call = lambda: c.customers.list_customers(size=100)  # noqa: E731
        elif provider == "github":
            call = lambda: c.issues.list_for_repo("o", "r", size=100)  # noqa: E731
        else:
            call = lambda: c.files.list_files(limit=100)  # noqa: E731

        async def fn() -> object:
            return [i.id for i in (await call()).data]

        return fn

    # name → (fn, calls per measure, items per call)
    measures: dict[str, tuple[Fn, int, int]] = {}
    for p in PROVIDERS:
        _, get_path, list_path, _ = TARGETS[p]
        measures[f"raw_get/{p}"] = (raw_httpx_get(get_path), N_GET, 1)
        measures[f"polvo_get/{p}"] = (polvo_get("httpx", p), N_GET, 1)
        measures[f"aio_get/{p}"] = (polvo_get("aiohttp", p), N_GET, 1)
        measures[f"raw_list/{p}"] = (raw_httpx_list(list_path), N_LIST, 100)
        measures[f"polvo_list/{p}"] = (polvo_list("httpx", p), N_LIST, 100)
        measures[f"aio_list/{p}"] = (polvo_list("aiohttp", p), N_LIST, 100)
        if session is not None:
            measures[f"rawaio_get/{p}"] = (raw_aio_get(get_path), N_GET, 1)
            measures[f"rawaio_list/{p}"] = (raw_aio_list(list_path), N_LIST, 100)
    try:  # the httpx-aiohttp package, for comparison with our transport (not a dependency)
        import httpx_aiohttp  # type: ignore[import-not-found]
    except ImportError:
        httpx_aiohttp = None
    if httpx_aiohttp is not None:
        from usepolvo.core._aiohttp import AiohttpTransport

        pkg = httpx.AsyncClient(transport=httpx_aiohttp.AiohttpTransport())
        ours = httpx.AsyncClient(transport=AiohttpTransport())
        extra_pools = [pkg, ours]

        def via(pool: httpx.AsyncClient, path: str) -> Fn:
            async def fn() -> object:
                return (await pool.get(base + path)).json()

            return fn

        for p in PROVIDERS:
            measures[f"pkg_get/{p}"] = (via(pkg, TARGETS[p][1]), N_GET, 1)
            measures[f"ours_get/{p}"] = (via(ours, TARGETS[p][1]), N_GET, 1)
    else:
        extra_pools = []
    if githubkit is not None:
        gk = githubkit.GitHub("ghp_bench", base_url=base)

        async def gk_list() -> object:
            resp = await gk.rest.issues.async_list_for_repo("o", "r", per_page=100)
            return [i.id for i in resp.parsed_data]

        measures["githubkit_list/github"] = (gk_list, N_LIST, 100)

    # the canned payloads of earlier runs (small bodies, a create with a form body)
    s_httpx, s_aio = clients["httpx"]["stripe"], clients["aiohttp"]["stripe"]

    async def raw_create() -> object:
        form = {"email": "a@example.com", "metadata[plan]": "pro", "metadata[n]": "1"}
        return (await raw.post(f"{base}/v1/customers", data=form)).json()

    def create(c: Any) -> Fn:
        return lambda: c.customers.create_customer(email="a@example.com", metadata={"plan": "pro", "n": "1"})  # type: ignore[no-any-return]

    canned: dict[str, tuple[Fn, int, int]] = {
        "raw_get/canned": (raw_httpx_get("/v1/customers/cus_000001"), N_GET, 1),
        "polvo_get/canned": (lambda: s_httpx.customers.retrieve_customer("cus_000001"), N_GET, 1),
        "aio_get/canned": (lambda: s_aio.customers.retrieve_customer("cus_000001"), N_GET, 1),
        "raw_create/canned": (raw_create, N_GET, 1),
        "polvo_create/canned": (create(s_httpx), N_GET, 1),
        "aio_create/canned": (create(s_aio), N_GET, 1),
        "raw_repo/canned": (raw_httpx_get("/repos/o/hello"), N_GET, 1),
        "polvo_repo/canned": (lambda: clients["httpx"]["github"].repos.get("o", "hello"), N_GET, 1),
        "raw_models/canned": (raw_httpx_get("/models"), N_GET, 1),
        "polvo_models/canned": (lambda: clients["httpx"]["openai"].models.list_models(), N_GET, 1),
    }
    measures.update(canned)

    for fn, _, _ in measures.values():  # warm up connections, imports and caches
        for _ in range(10):
            await fn()
    samples: dict[str, list[float]] = {name: [] for name in measures}
    for _ in range(ROUNDS):
        for name, (fn, n, per) in measures.items():
            samples[name].append(await _cpu(fn, n) / per)

    def ratio(num: str, den: str) -> tuple[float, float, float]:
        """Median of the per-round ratios, and the median µs of each side."""
        if num not in samples or den not in samples:
            return float("nan"), float("nan"), float("nan")
        per_round = [a / b for a, b in zip(samples[num], samples[den], strict=True)]
        return _med(per_round), _med(samples[num]), _med(samples[den])

    figures: list[Figure] = []

    def row(name: str, num: str, den: str, target: str = "", cols: tuple[str, ...] = PROVIDERS) -> None:
        fig = Figure(name, target)
        for p in cols:
            r, us, base_us = ratio(f"{num}/{p}", f"{den}/{p}")
            if r == r:  # not NaN
                fig.add(p, r, us=round(us, 1), baseline_us=round(base_us, 1))
        figures.append(fig)

    row("per typed GET, polvo (httpx)", "polvo_get", "raw_get", "<=1.05")
    row("per listed typed item, polvo (httpx)", "polvo_list", "raw_list", "<=1.3")
    row("per typed GET, polvo aiohttp", "aio_get", "raw_get", "<=0.45")
    row("per listed item, polvo aiohttp", "aio_list", "raw_list")
    row("raw aiohttp + json, per GET (floor)", "rawaio_get", "raw_get")
    row("raw aiohttp + json, per item (floor)", "rawaio_list", "raw_list")
    row("polvo aiohttp GET / raw aiohttp GET", "aio_get", "rawaio_get", "<=1.6")
    row("httpx + httpx-aiohttp package, per GET", "pkg_get", "raw_get")
    row("httpx + polvo's AiohttpTransport, per GET", "ours_get", "raw_get")
    row("githubkit per GitHub item", "githubkit_list", "raw_list", cols=("github",))
    for label, num, den in (
        ("canned: stripe GET, polvo (httpx)", "polvo_get", "raw_get"),
        ("canned: stripe GET, polvo aiohttp", "aio_get", "raw_get"),
        ("canned: stripe create, polvo (httpx)", "polvo_create", "raw_create"),
        ("canned: stripe create, polvo aiohttp", "aio_create", "raw_create"),
        ("canned: github GET repo, polvo (httpx)", "polvo_repo", "raw_repo"),
        ("canned: openai list models, polvo (httpx)", "polvo_models", "raw_models"),
    ):
        fig = Figure(label)
        r, us, base_us = ratio(f"{num}/canned", f"{den}/canned")
        fig.add(
            "stripe" if "stripe" in label else "github" if "github" in label else "openai",
            r,
            us=round(us, 1),
            baseline_us=round(base_us, 1),
        )
        figures.append(fig)

    # requests/s at 64 in flight (the Stripe customer GET), interleaved rounds
    _, get_path, _, _ = TARGETS["stripe"]
    flight: dict[str, Fn] = {
        "raw": raw_httpx_get(get_path),
        "polvo": polvo_get("httpx", "stripe"),
        "aio": polvo_get("aiohttp", "stripe"),
    }
    if session is not None:
        flight["rawaio"] = raw_aio_get(get_path)
    total = max(IN_FLIGHT, N_GET * 2)
    for fn in flight.values():
        await _rps(fn, IN_FLIGHT * 2)  # open the pools' connections
    rps: dict[str, list[float]] = {k: [] for k in flight}
    for _ in range(3):
        for k, fn in flight.items():
            rps[k].append(await _rps(fn, total))
    for label, key, target in (
        ("req/s at 64 in flight, polvo (httpx)", "polvo", ""),
        ("req/s at 64 in flight, polvo aiohttp", "aio", ">=6"),
        ("req/s at 64 in flight, raw aiohttp", "rawaio", ""),
    ):
        if key in rps:
            fig = Figure(label, target)
            per_round = [a / b for a, b in zip(rps[key], rps["raw"], strict=True)]
            fig.add(
                "stripe", _med(per_round), rps=round(_med(rps[key])), baseline_rps=round(_med(rps["raw"]))
            )
            figures.append(fig)

    await raw.aclose()
    for pool in extra_pools:
        await pool.aclose()
    for group in clients.values():
        for c in group.values():
            await c.aclose()
    if session is not None:
        await session.close()
    return figures, {}


# -- the subprocess measures -----------------------------------------------------------------


def _startup_figures(base: str) -> list[Figure]:
    """Start-up figures from ``_bench_startup`` (its docstring says exactly what is measured):
    CPU of fresh interpreters with byte-code cached, interpreter start-up reported apart, raw
    httpx doing the same GET on the same payload alongside, rounds interleaved."""
    from _bench_startup import CLIENTS, measure  # scripts/ is on sys.path: run as a script

    res = measure(base)
    first = Figure("import + client + first call (CPU)", "<=120", "ms")
    ratio = Figure("  (ratio to raw httpx doing the same)", "", "x")
    raw = Figure("  (raw httpx: import + client + first call)", "", "ms")
    imp = Figure("client import (CPU)", "<=40", "ms")
    boot = Figure("  (interpreter start-up, not in the above)", "", "ms")
    for p in CLIENTS:
        polvo, baseline = res[f"first:{p}"], res[f"raw:{p}"]
        first.add(p, polvo["cpu"], wall_ms=round(polvo["wall"], 1), raw_httpx_ms=round(baseline["cpu"], 1))
        ratio.add(p, res[f"ratio:{p}"]["cpu"])
        raw.add(p, baseline["cpu"], wall_ms=round(baseline["wall"], 1))
        imp.add(p, res[f"import:{p}"]["cpu"], wall_ms=round(res[f"import:{p}"]["wall"], 1))
    boot.add("all", res["empty"]["startup"])
    cold = max(int(r.get("cold", 0)) for r in res.values())
    if cold:
        print(f"warning: {cold} module(s) were compiled from source in a measured run", file=sys.stderr)
    return [first, ratio, raw, imp, boot]


def _generate_figures() -> list[Figure]:
    """All pinned specs with ``--force`` in one subprocess, caches as a developer has them:
    seconds and peak RSS (MB), measured by ``bench_generate`` (which also times a cold run)."""
    from bench_generate import _generate_all  # scripts/ is on sys.path: run as a script

    seconds, _cpu, rss = _generate_all(dict(os.environ))
    gen = Figure("generate all pins --force", "<=5", "s")
    gen.add("all", seconds)
    mem = Figure("generate all pins, peak RSS", "<=200", "MB")
    mem.add("all", rss)
    return [gen, mem]


# -- output ------------------------------------------------------------------------------------


def _print(figures: list[Figure]) -> None:
    cols = ("stripe", "github", "openai")
    print(f"\n{'figure':<44}" + "".join(f"{c:>13}" for c in cols) + f"{'target':>10}")
    for fig in figures:
        cells = []
        for c in cols:
            cell = fig.cells.get(c) or (fig.cells.get("all") if c == "stripe" else None)
            if cell is None:
                cells.append(f"{'':>13}")
                continue
            mark = {True: " ✓", False: " ✗", None: "  "}[cell["ok"]]
            unit = TIMES if fig.unit == "x" else fig.unit
            cells.append(
                f"{cell['value']:>9.2f}{unit:<2}{mark}"
                if unit == TIMES
                else f"{cell['value']:>8.1f}{unit:<3}{mark}"
            )
        target = fig.target.replace("<=", "≤ ").replace(">=", "≥ ") if fig.target else ""
        unit = TIMES if fig.unit == "x" else fig.unit
        print(f"{fig.name:<44}" + "".join(cells) + f"{target + (unit if target else ''):>10}")


def main() -> None:
    sizes = describe()  # synthesizes (and caches) the realistic payloads before the server reads them
    print("payloads (bytes):", json.dumps(sizes))
    figures: list[Figure] = []
    if GENERATE:
        figures += _generate_figures()
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, str(HERE / "_bench_server.py"), str(port)], stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    server.stdout.readline()
    base = f"http://127.0.0.1:{port}"
    cpu0 = time.process_time()
    try:
        wire, _ = asyncio.run(_wire(base))
        client_cpu = time.process_time() - cpu0
        startup = _startup_figures(base)
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=10)
    figures = wire + startup + figures
    server_cpu = float(out.split()[-1]) if out.strip() else float("nan")
    _print(figures)
    print(
        f"server CPU {server_cpu:.1f}s vs client CPU {client_cpu:.1f}s (in-process measures); "
        f"N={N_GET} gets, {N_LIST} pages of 100, {ROUNDS} rounds; machine load {os.getloadavg()[0]:.1f}"
    )
    for fig in figures:
        for provider, cell in fig.cells.items():
            print(
                json.dumps(
                    {
                        "figure": fig.name,
                        "provider": provider,
                        "unit": fig.unit,
                        "target": fig.target or None,
                        **cell,
                    }
                )
            )


if __name__ == "__main__":
    main()
