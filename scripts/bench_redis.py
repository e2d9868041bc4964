"""Benchmark: the cost of a shared acquire (a report, not a test).

    .venv/bin/python scripts/bench_redis.py [--quick]

Starts its own ``redis-server`` on a free 127.0.0.1 port (no persistence; stopped at the
end) and times one grant cycle — ``acquire``, ``mark_sent``, ``release`` — on the
in-memory :class:`~usepolvo.core.Limiter` and on a :class:`~usepolvo.core.RedisLimiter`
with the same bounds (a rate and a slot cap that never bind, so only the bookkeeping is
measured):

- **sequential**: one caller at a time, the latency a lone request pays (a Redis round trip
  for the grant; the report goes out in the background);
- **gathered**: 1,000 callers at once, 10 slots: Redis grants queued callers in batches and
  settles the reports of many attempts in one script call.

"wall µs" is elapsed time per cycle; "CPU µs" this process's ``time.process_time()`` per
cycle (the Redis server's own work is not counted). The median of the rounds is reported.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src"), str(ROOT / "generated")]

from tests._redis import RedisServer, redis_missing  # noqa: E402
from usepolvo.core import Limiter, LimiterProtocol, RedisLimiter  # noqa: E402

RATE = 1e9  # points per second: never binds


async def cycle(limiter: LimiterProtocol) -> None:
    grant = await limiter.acquire()
    limiter.mark_sent(grant)
    limiter.release()


async def sequential(limiter: LimiterProtocol, calls: int) -> None:
    for _ in range(calls):
        await cycle(limiter)


async def gathered(limiter: LimiterProtocol, calls: int) -> None:
    await asyncio.gather(*(cycle(limiter) for _ in range(calls)))


async def measure(run: Awaitable[None], calls: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    await run
    return (time.perf_counter() - wall) / calls * 1e6, (time.process_time() - cpu) / calls * 1e6


async def main(quick: bool) -> None:
    url = server.url
    calls = 300 if quick else 2000
    rounds = 3 if quick else 5
    local = Limiter(max_concurrency=10, rate=RATE)
    shared = RedisLimiter.from_url(url, key="bench", max_concurrency=10, rate=RATE)
    await cycle(shared)  # connect and load the scripts outside the timing
    print("Shared acquire: one grant cycle (acquire + mark_sent + release), median of rounds")
    print(
        f"   {'pattern':<14}{'local µs':>10}{'redis µs':>10}{'added µs':>10}{'local CPU':>11}{'redis CPU':>11}"
    )
    for name, pattern in (("sequential", sequential), ("gathered", gathered)):
        results: dict[str, list[tuple[float, float]]] = {"local": [], "redis": []}
        for _ in range(rounds):
            for label, limiter in (("local", local), ("redis", shared)):
                results[label].append(await measure(pattern(limiter, calls), calls))
            await asyncio.sleep(0.05)  # let the last reports settle
        lw = statistics.median(w for w, _ in results["local"])
        rw = statistics.median(w for w, _ in results["redis"])
        lc = statistics.median(c for _, c in results["local"])
        rc = statistics.median(c for _, c in results["redis"])
        print(f"   {name:<14}{lw:>10.1f}{rw:>10.1f}{rw - lw:>10.1f}{lc:>11.1f}{rc:>11.1f}")
    await shared.aclose()


if __name__ == "__main__":
    reason = redis_missing()
    if reason is not None:
        print(f"bench_redis: skipped, {reason}")
        raise SystemExit(0)
    server = RedisServer().start()
    try:
        asyncio.run(main("--quick" in sys.argv))
    finally:
        server.close()
