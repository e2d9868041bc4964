"""Benchmark of the runtime's limits and retries (a report, not a test).

    .venv/bin/python scripts/bench_limits.py [--quick]

Prints, in one run:

1. **Limiter accuracy**: achieved vs configured rate, for the limiter alone (grants on the
   event loop) and end to end through a generated ``StripeClient`` (arrivals by the fault
   server's own clock). "peak" is the most grants/arrivals in any window of one period
   (the budget is the bound); "peak-5ms" the same over windows 5 ms shorter, which
   discounts requests written at a window's edge that the server's clock sees a few ms
   off (loop turns, two processes); "sustained" is the count over the run's whole periods
   divided by their length (what a long run achieves, bursts included).
2. **Added CPU per request** of the limiter + retry layers (``BaseClient.send``) over a raw
   ``httpx.AsyncClient.send`` of the same prebuilt request on the same connection pool,
   sequentially and with 1,000 gathered calls 10 in flight (a semaphore for the raw
   client). CPU is this process's ``time.process_time()``; the server runs in its own
   process (``tests/servers/faults.py``) so its work is not counted. Rounds alternate raw
   and layered runs; the median round is reported.

Traffic goes only to the fault server on 127.0.0.1, which is stopped at the end.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src"), str(ROOT / "generated")]

import httpx  # noqa: E402
from usepolvo.stripe import StripeClient  # noqa: E402

from tests.servers.faults import max_in_window  # noqa: E402
from usepolvo.core import Limiter, Operation, ResponseSpec, RetryPolicy  # noqa: E402

KEY = "sk_test_bench_0000000000"
JITTER = 0.005  # seconds: the edge of a window the server's clock may see a request cross
PING = Operation("ping", "GET", "/v1/ping", responses={"200": ResponseSpec("json")})


# -- the server, in its own process --------------------------------------------------------


class ServerProcess:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "servers" / "faults.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://127.0.0.1:"):
            self.stop()
            raise RuntimeError(f"fault server did not start: {self.url!r}")

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()  # the server serves until stdin closes
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


async def admin(http: httpx.AsyncClient, url: str, action: str) -> list[dict[str, float]]:
    if action == "reset":
        await http.post(f"{url}/__admin/reset")
        return []
    result: list[dict[str, float]] = (await http.get(f"{url}/__admin/records")).json()
    return result


# -- 1. limiter accuracy -------------------------------------------------------------------


Rates = tuple[int, int, float]


def rates(times: list[float], period: float) -> Rates:
    """Peak count in any window of ``period`` and of ``period`` - 5 ms; rate over whole periods."""
    times = sorted(times)
    peak = max_in_window(times, period)
    short = max_in_window(times, period - JITTER)
    whole = int((times[-1] - times[0]) / period)  # complete windows from the first event
    if whole < 1:
        return peak, short, float("nan")
    end = times[0] + whole * period
    return peak, short, sum(1 for t in times if t < end) / (whole * period)


async def limiter_alone(rate: float, calls: int) -> Rates:
    limiter = Limiter(rate=rate)
    grants: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        grants.append(time.monotonic())
        limiter.release()

    await asyncio.gather(*(one() for _ in range(calls)))
    return rates(grants, 1.0)


async def end_to_end(url: str, rate: float, concurrency: int, calls: int) -> Rates:
    async with httpx.AsyncClient() as http:
        await admin(http, url, "reset")
        async with StripeClient(
            api_key=KEY, base_url=url, rate_limit=rate, max_concurrency=concurrency, max_retries=0
        ) as client:
            await asyncio.gather(*(client.request(PING) for _ in range(calls)))
        records = await admin(http, url, "records")
    return rates([r["received"] for r in records], 1.0)


# -- 2. CPU per request ------------------------------------------------------------------------


async def cpu_per_request(run: Callable[[], Awaitable[None]], calls: int) -> float:
    start = time.process_time()
    await run()
    return (time.process_time() - start) / calls * 1e6  # microseconds


async def overhead(url: str, calls: int, rounds: int) -> dict[str, tuple[float, float]]:
    client = StripeClient(
        api_key=KEY,
        base_url=url,
        max_concurrency=10,
        rate_limit=1e9,
        max_retries=RetryPolicy(2, initial_backoff=0.01),
    )
    async with client:
        http = client._client()  # the same pool for both, so only the layers differ
        request = client.build_request(PING)
        sem = asyncio.Semaphore(10)

        async def raw_one() -> None:
            (await http.send(request)).raise_for_status()

        async def raw_bounded() -> None:
            async with sem:
                await raw_one()

        async def layered_one() -> None:
            await client.send(PING, request)

        async def sequential(one: Callable[[], Awaitable[None]]) -> None:
            for _ in range(calls):
                await one()

        async def gathered(one: Callable[[], Awaitable[None]]) -> None:
            await asyncio.gather(*(one() for _ in range(calls)))

        await gathered(raw_bounded)  # warm up: connections, code paths
        await gathered(layered_one)
        out: dict[str, tuple[float, float]] = {}
        for name, raw_run, layered_run in [
            ("sequential", lambda: sequential(raw_one), lambda: sequential(layered_one)),
            ("gathered, 10 in flight", lambda: gathered(raw_bounded), lambda: gathered(layered_one)),
        ]:
            raws, layered = [], []
            for _ in range(rounds):
                raws.append(await cpu_per_request(raw_run, calls))
                layered.append(await cpu_per_request(layered_run, calls))
            out[name] = (statistics.median(raws), statistics.median(layered))
    return out


async def main(quick: bool) -> None:
    server = ServerProcess()
    try:
        scale = 0.5 if quick else 1.0
        print("1. Limiter accuracy (achieved / configured); peaks per window of 1 s and of 1 s - 5 ms")
        print(
            f"   {'setup':<44}{'peak':>6}{'ratio':>7}{'peak-5ms':>10}{'ratio':>7}{'sustained/s':>13}{'ratio':>7}"
        )
        url = server.url
        cases: list[tuple[str, float, Callable[[], Awaitable[Rates]]]] = [
            ("limiter alone, 50/s, 250 grants", 50, lambda: limiter_alone(50, int(250 * scale))),
            ("limiter alone, 1000/s, 5000 grants", 1000, lambda: limiter_alone(1000, int(5000 * scale))),
            (
                "StripeClient -> server, 50/s, 10 in flight",
                50,
                lambda: end_to_end(url, 50, 10, int(250 * scale)),
            ),
            (
                "StripeClient -> server, 200/s, 20 in flight",
                200,
                lambda: end_to_end(url, 200, 20, int(1000 * scale)),
            ),
        ]
        for label, rate, run in cases:
            peak, short, sustained = await run()
            print(
                f"   {label:<44}{peak:>6d}{peak / rate:>7.3f}{short:>10d}{short / rate:>7.3f}"
                f"{sustained:>13.1f}{sustained / rate:>7.3f}"
            )

        calls, rounds = (500, 3) if quick else (1000, 5)
        print(
            f"\n2. CPU per request, limiter + retry layers vs raw httpx ({calls} calls, median of {rounds})"
        )
        print(f"   {'pattern':<26}{'raw µs':>10}{'layered µs':>12}{'added µs':>10}{'ratio':>8}")
        for name, (raw, layered) in (await overhead(server.url, calls, rounds)).items():
            print(f"   {name:<26}{raw:>10.1f}{layered:>12.1f}{layered - raw:>10.1f}{layered / raw:>8.3f}")
    finally:
        server.stop()


if __name__ == "__main__":
    asyncio.run(main("--quick" in sys.argv[1:]))
