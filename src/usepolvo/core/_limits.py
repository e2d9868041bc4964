"""Client-side limits shared by every request of one client.

A :class:`Limiter` bounds requests in flight (``max_concurrency``) and their rate
(``rate`` requests per ``period`` seconds, checked over a sliding window), and can be
paused as a whole when the server signals a rate limit, so that every caller waits, not
only the one that was refused. Waiting is async and first-come first-served.
"""

from __future__ import annotations

import asyncio
import collections
import time

__all__ = ["Limiter"]


class Limiter:
    """Concurrency and rate limit for one client; safe to share between clients."""

    def __init__(
        self, *, max_concurrency: int | None = None, rate: float | None = None, period: float = 1.0
    ) -> None:
        if max_concurrency is not None and max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1 (or None for no limit)")
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive (or None for no limit)")
        self.max_concurrency = max_concurrency
        self.rate = rate
        self.period = period
        self._sem = asyncio.Semaphore(max_concurrency) if max_concurrency else None
        self._capacity = max(1, int(rate * period)) if rate else 0
        self._sent: collections.deque[float] = collections.deque()
        self._next_free = 0.0
        self._paused_until = 0.0

    def __repr__(self) -> str:
        return f"Limiter(max_concurrency={self.max_concurrency}, rate={self.rate}, period={self.period})"

    def pause(self, seconds: float) -> None:
        """Hold every new attempt of this client for ``seconds`` from now."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    async def acquire(self) -> None:
        """Wait for a free slot, the end of any pause and room in the rate window."""
        if self._sem is not None:
            await self._sem.acquire()
        try:
            await self._wait_pause()
            if self._capacity:
                await self._wait_rate()
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        if self._sem is not None:
            self._sem.release()

    async def _wait_pause(self) -> None:
        while True:
            wait = self._paused_until - time.monotonic()
            if wait <= 0:
                return
            await asyncio.sleep(wait)

    async def _wait_rate(self) -> None:
        # Reserve a send time synchronously (no await between reading and writing the
        # window), so callers are served in arrival order without a lock.
        now = time.monotonic()
        sent = self._sent
        while sent and sent[0] <= now - self.period:
            sent.popleft()
        at = now
        if len(sent) >= self._capacity:
            at = sent[-self._capacity] + self.period
        at = max(at, self._next_free)
        sent.append(at)
        self._next_free = at
        if at > now:
            await asyncio.sleep(at - now)
