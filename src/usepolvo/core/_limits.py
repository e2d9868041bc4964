"""Client-side limits shared by every request of one client.

A :class:`Limiter` bounds three things, for all resources of a client at once:

- **concurrency**: at most ``max_concurrency`` attempts in flight;
- **rate**: at most ``rate`` points in *any* window of ``period`` seconds (a request costs
  one point, or more: GitHub counts a write as five). The window is a sliding log of grant
  times, so the bound holds for every window, not only for aligned ones, while a short
  burst up to the budget still goes out at once;
- **pauses**: :meth:`Limiter.pause` holds every new attempt until the server's window
  reopens, so a rate-limit answer to one call stops all of them, not only the one refused.

Waiting is async and first-come first-served: callers queue on futures in arrival order,
and a single timer (``loop.call_later``) wakes the head of the queue when its time comes.
Nothing polls and nothing calls ``time.sleep``. A caller cancelled while queued leaves the
queue; one cancelled after its grant gives the slot back (``release`` in ``finally``).

Each grant takes a place in the window, dated when its caller resumes and, in a client,
moved to the end of its attempt (:meth:`Limiter.mark_sent`, called by the client once the
answer's head is in or the attempt failed). When a thousand calls are gathered the event
loop is busy, and tens of milliseconds can pass between a grant and its bytes leaving;
dating by the grant would let that delay push part of a burst into the next window as the
server sees it. Dating by the end of the attempt is never earlier than the server saw the
request, and places only ever move later, so the bound holds for the final dates.

After a server-ordered pause the limiter reopens **half-open**: one request (the probe)
goes first, and the rest only once an attempt has come back without ordering a new pause,
so a server still over its limit sees one more request per reopening, not a full wave of
``max_concurrency``.

One limiter may be shared by several clients (pass ``limiter=``). It serves **one event loop
at a time**: used from a second loop or thread while it has requests in flight or queued in
the first, :meth:`Limiter.acquire` raises :class:`~usepolvo.core.ConfigurationError` at once
(use one client per thread or event loop); once idle, or once its loop has closed, the next
loop takes it over (a script calling ``asyncio.run`` twice just works).
"""

from __future__ import annotations

import _thread
import collections
import time
from types import TracebackType
from typing import TYPE_CHECKING, Literal

from ._errors import ConfigurationError
from ._lazy import lazy_module

if TYPE_CHECKING:
    import asyncio
else:
    asyncio = lazy_module("asyncio", globals())

__all__ = ["Grant", "Limiter"]

_EPS = 1e-9


class Grant:
    """A granted attempt's handle on its place in the rate window (see :meth:`Limiter.mark_sent`)."""

    __slots__ = ("cost", "entry")

    def __init__(self, entry: list[float]) -> None:
        self.entry = entry  # [since, cost]; cost 0 once expired or moved
        self.cost = entry[1]


class Limiter:
    """Concurrency, rate and pause limits of one client (or of several sharing it).

    ``Limiter(max_concurrency=10, rate=50)`` allows 10 requests in flight and 50 per
    second; ``Limiter(rate=900, period=60)`` allows 900 points per minute. ``None`` turns a
    bound off.
    """

    __slots__ = (
        "_capacity",
        "_half_open",
        "_in_flight",
        "_lock",
        "_loop",
        "_paused_until",
        "_probing",
        "_timer",
        "_timer_at",
        "_used",
        "_waiters",
        "_window",
        "max_concurrency",
        "period",
        "rate",
    )

    def __init__(
        self, *, max_concurrency: int | None = None, rate: float | None = None, period: float = 1.0
    ) -> None:
        if max_concurrency is not None and (isinstance(max_concurrency, bool) or max_concurrency < 1):
            raise ConfigurationError("max_concurrency must be at least 1 (or None for no limit)")
        if rate is not None and not rate > 0:
            raise ConfigurationError("rate must be positive (or None for no limit)")
        if not period > 0:
            raise ConfigurationError("period must be positive")
        self.max_concurrency = max_concurrency
        self.rate = rate
        self.period = float(period)
        # A budget below one request (rate=0.5 per second) is one request per longer window.
        if rate is not None and rate < 1:
            self.period = period / rate
            rate = 1.0
        self._capacity = float(rate) if rate is not None else 0.0
        self._window: collections.deque[list[float]] = collections.deque()
        self._used = 0.0
        self._in_flight = 0
        self._waiters: collections.deque[tuple[asyncio.Future[Grant | None], float]] = collections.deque()
        self._paused_until = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = _thread.allocate_lock()  # guards only the hand-over to another loop
        self._half_open = False  # a pause ended: one probe first, then the rest
        self._probing = False  # the probe is out

    def __repr__(self) -> str:
        return f"Limiter(max_concurrency={self.max_concurrency}, rate={self.rate}, period={self.period:g})"

    # -- state -------------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """Attempts granted and not yet released."""
        return self._in_flight

    @property
    def waiting(self) -> int:
        """Callers queued for a grant."""
        return sum(1 for fut, _ in self._waiters if not fut.done())

    def paused_for(self) -> float:
        """Seconds left of the current pause (0 when not paused)."""
        return max(0.0, self._paused_until - time.monotonic())

    # -- server signals ----------------------------------------------------------------

    def pause(self, seconds: float) -> None:
        """Hold every new attempt for ``seconds`` from now (a longer running pause stays).

        When the pause ends, one attempt goes first (half-open); the others follow once an
        attempt is released without a new pause having been ordered meanwhile.
        """
        if seconds > 0:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)
            self._half_open = True
            self._probing = False  # a probe that drew this pause is spent

    # -- acquire / release -------------------------------------------------------------

    async def acquire(self, cost: float = 1.0) -> Grant | None:
        """Wait (in FIFO order) for a free slot, the end of any pause and room in the window.

        Returns the grant's place in the rate window (``None`` without a rate limit), for
        :meth:`mark_sent`. Every successful ``acquire`` needs one :meth:`release`.
        """
        if self._capacity and cost > self._capacity:
            cost = self._capacity
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._adopt(loop)
        grant = self.try_acquire(cost, loop)
        if grant is not False:
            return grant
        fut: asyncio.Future[Grant | None] = loop.create_future()
        self._waiters.append((fut, cost))
        self._dispatch()
        try:
            grant = await fut
        except BaseException:
            if fut.done() and not fut.cancelled():
                self.release()  # granted, but our caller was cancelled meanwhile
            else:
                fut.cancel()
                self._dispatch()  # we may have been the head the timer was set for
            raise
        self.mark_sent(grant)  # we resume a loop turn (or more) after the grant
        return grant

    def try_acquire(self, cost: float, loop: asyncio.AbstractEventLoop) -> Grant | Literal[False] | None:
        """:meth:`acquire` when it would not wait (nobody queued, a slot free, room in the
        window): the grant at once, without a coroutine; ``False`` when the caller must
        ``await acquire()`` instead (also on another event loop than the limiter's)."""
        if self._loop is not loop or self._waiters:
            return False
        if self._capacity and cost > self._capacity:
            cost = self._capacity
        now = time.monotonic()
        if self._ready(now, cost) > 0:
            return False
        grant = self._grant(now, cost)
        if self._loop is not loop:  # another thread took the limiter over meanwhile
            self.release()
            raise ConfigurationError(_BUSY)
        return grant

    def mark_sent(self, grant: Grant | None) -> None:
        """The granted request goes out now: count it in the window from now on.

        Moves the grant's place later (never earlier); harmless to call more than once.
        """
        if grant is None:
            return
        entry = grant.entry
        now = time.monotonic()
        if now - entry[0] < 1e-4:
            return
        window = self._window
        if entry[1] and window and window[-1] is entry:
            entry[0] = now  # the newest place: re-dating it keeps the window in time order
            return
        if entry[1]:  # still counted at its old date
            self._used -= entry[1]
            entry[1] = 0.0
        # Every date in the window is <= now, so appending keeps the window in time order.
        moved = [now, grant.cost]
        window.append(moved)
        self._used += grant.cost
        grant.entry = moved

    def release(self) -> None:
        """Give back the slot of one finished (or failed, or cancelled) attempt."""
        self._in_flight -= 1
        if self._probing and self._paused_until <= time.monotonic():
            self._half_open = self._probing = False  # the probe came back without a new pause
        if self._waiters:
            self._dispatch()

    async def __aenter__(self) -> Limiter:
        await self.acquire()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    # -- internals ---------------------------------------------------------------------

    def _ready(self, now: float, cost: float) -> float:
        """Seconds until an attempt of ``cost`` may start (<= 0: now); ``inf``: wait for a slot."""
        if self.max_concurrency is not None and self._in_flight >= self.max_concurrency:
            return float("inf")
        wait = self._paused_until - now
        if wait <= 0 and self._probing:
            return float("inf")  # half-open: the probe is out, the rest wait for it
        if self._capacity:
            window = self._window
            horizon = now - self.period
            while window and window[0][0] <= horizon:
                gone = window.popleft()
                if gone[1]:
                    self._used -= gone[1]
                    gone[1] = 0.0
            if not window:
                self._used = 0.0  # no float drift carried across idle periods
            need = self._used + cost - self._capacity
            if need > _EPS:
                freed = 0.0
                for since, spent in window:
                    if spent:
                        freed += spent
                        if freed >= need - _EPS:
                            wait = max(wait, since + self.period - now)
                            break
        return wait

    def _grant(self, now: float, cost: float) -> Grant | None:
        self._in_flight += 1
        if self._half_open:
            self._probing = True
        if not self._capacity:
            return None
        entry = [now, cost]
        self._window.append(entry)
        self._used += cost
        return Grant(entry)

    def _dispatch(self) -> None:
        """Grant the queue head while it can go; else arm one timer for when it can."""
        waiters = self._waiters
        while waiters:
            fut, cost = waiters[0]
            if fut.done():  # cancelled while queued
                waiters.popleft()
                continue
            now = time.monotonic()
            wait = self._ready(now, cost)
            if wait > 0:
                if wait != float("inf"):
                    self._arm(now + wait)
                return  # a release() will call us again
            waiters.popleft()
            fut.set_result(self._grant(now, cost))
        self._disarm()

    def _arm(self, at: float) -> None:
        timer = self._timer
        if timer is not None:
            if self._timer_at <= at + _EPS:
                return  # an earlier wake-up is due anyway; it re-checks and re-arms
            timer.cancel()
        loop = self._loop or asyncio.get_running_loop()
        self._timer_at = at
        self._timer = loop.call_later(max(0.0, at - time.monotonic()), self._on_timer)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _on_timer(self) -> None:
        self._timer = None
        self._dispatch()

    def _adopt(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start serving a new event loop (e.g. a second ``asyncio.run``), unless the current
        one still has attempts in flight or queued (another thread's loop, typically)."""
        with self._lock:
            old = self._loop
            if old is loop:
                return
            if old is not None and not old.is_closed():
                if self._in_flight > 0 or any(not f.done() for f, _ in self._waiters):
                    raise ConfigurationError(_BUSY)
            else:
                self._in_flight = 0  # grants of a loop that died without releasing them
            self._disarm()
            self._waiters = collections.deque()
            self._loop = loop


_BUSY = (
    "this client (its Limiter) is busy in another event loop or thread; a client serves one "
    "event loop at a time: create one client per thread or event loop (or wait until the "
    "other loop's calls have finished)"
)
