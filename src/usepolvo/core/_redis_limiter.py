"""One rate-limit budget shared by many processes and hosts, kept in Redis.

An API key's limits are per account, not per process: four workers each limiting
themselves to Stripe's 100 req/s send 400/s together. A :class:`RedisLimiter` keeps what
the in-memory :class:`~usepolvo.core.Limiter` keeps, in Redis, so every process that uses
the same ``key`` draws from one budget:

- **rate**: a sliding log of grants (a sorted set scored by time, members ``id|cost``) and
  its running sum, so at most ``rate`` points go out in any window of ``period`` seconds
  (GitHub writes cost 5). As locally, a grant is re-dated at the end of its attempt
  (``mark_sent``), never earlier than the server saw the request;
- **concurrency**: slots held with a *lease* (a sorted set scored by expiry). A process
  killed while holding slots does not leak them: they expire. The lease is the attempt's
  longest expected duration (the client's connect + read timeout, plus a second), and a
  live process renews the leases of attempts that run longer;
- **pauses**: a key with a millisecond TTL. A 429/``Retry-After`` seen by one process
  pauses all of them.

Each decision is one Lua script run atomically by Redis (``register_script``: EVALSHA,
reloaded by redis-py if Redis restarted), on Redis's own clock, so hosts need no clock
agreement. Fairness across processes: a process refused a grant takes a ticket in a shared
queue; capacity is reserved for the tickets ahead of a caller, and a process served while
others wait goes to the back, so processes take turns (none is starved by a faster one).
Within a process callers are served first come, first served, and one Redis call grants a
whole batch of queued callers when nobody else waits.

When Redis is slow or down (no answer within ``redis_timeout``) the limiter either fails
closed (``on_unavailable="fail"``: :class:`LimiterUnavailableError`, the request is not
sent) or falls back to an in-memory :class:`~usepolvo.core.Limiter` with the same bounds
(``"local"``, the default, with a logged warning), and tries Redis again every
``retry_interval`` seconds; once Redis answers the shared budget resumes. No request is
sent twice or dropped by the limiter: a failure only changes who grants the next attempt.

Needs the ``usepolvo[redis]`` extra (``redis>=5``), imported on first use.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import itertools
import os
import time
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from ._errors import ConfigurationError
from ._lazy import lazy_module
from ._limiter_base import LimiterUnavailableError
from ._limits import Grant, Limiter
from ._logging import logger
from ._types import NOT_GIVEN, NotGiven

if TYPE_CHECKING:
    import asyncio

    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript
else:
    asyncio = lazy_module("asyncio", globals())

__all__ = ["RedisGrant", "RedisLimiter"]

OnUnavailable = Literal["fail", "local"]

#: The environment variables a client reads when it is given no ``limiter=``.
URL_ENV = "POLVO_LIMITER_URL"
KEY_ENV = "POLVO_LIMITER_KEY"
FALLBACK_ENV = "POLVO_LIMITER_ON_UNAVAILABLE"

_DEFAULT_LEASE = 71.0  # the client's default timeouts (60 s read + 10 s connect) + 1 s
_LOCAL = object()  # a queued caller's answer: Redis is unavailable, use the local limiter
_OP_SIZES = {"p": 2, "m": 3, "r": 2, "h": 2, "l": 1}  # a report's kind and arguments

# KEYS: 1 window (zset id|cost -> ms), 2 window sum, 3 slots (zset id -> lease expiry ms),
#       4 pause (string with a ms TTL), 5 queue (zset token -> ticket), 6 queue info
#       (hash token -> "cost:due ms:deadline ms": when it should ask again, and when it is
#       dropped as gone), 7 ticket counter.
#
# Every script starts on Redis's clock and with ``settle``, which applies what attempts
# reported since the last call, in order: p <ms> (pause), m <id> <cost> (re-date a grant to
# now), r <id> (release a slot), h <id> (renew a lease), l (leave the queue).
_PRELUDE = """
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local function settle(now, token, cap, lease, first, last)
  local i = first
  while i <= last do
    local op = ARGV[i]
    if op == 'p' then
      local ms = math.floor(tonumber(ARGV[i + 1]) + 0.5)
      if ms > 0 and redis.call('PTTL', KEYS[4]) < ms then redis.call('SET', KEYS[4], '1', 'PX', ms) end
      i = i + 2
    elseif op == 'm' then
      if cap > 0 then
        local member = ARGV[i + 1] .. '|' .. ARGV[i + 2]
        local since = redis.call('ZSCORE', KEYS[1], member)
        if since then
          if tonumber(since) < now then redis.call('ZADD', KEYS[1], now, member) end
        else
          redis.call('ZADD', KEYS[1], now, member)
          local used = (tonumber(redis.call('GET', KEYS[2]) or '0') or 0) + tonumber(ARGV[i + 2])
          redis.call('SET', KEYS[2], string.format('%.17g', used))
        end
      end
      i = i + 3
    elseif op == 'r' then
      redis.call('ZREM', KEYS[3], ARGV[i + 1])
      i = i + 2
    elseif op == 'h' then
      redis.call('ZADD', KEYS[3], 'XX', now + lease, ARGV[i + 1])
      i = i + 2
    elseif op == 'l' then
      redis.call('ZREM', KEYS[5], token)
      redis.call('HDEL', KEYS[6], token)
      i = i + 1
    else
      error('usepolvo limiter: unknown op ' .. tostring(op))
    end
  end
end
"""

# Grants queue heads. ARGV: 1 token, 2 capacity (0: none), 3 period ms, 4 max concurrency
# (0: none), 5 lease ms, 6 grace ms, 7 poll ms, 8 key TTL ms, 9 deadline (Redis ms; 0:
# none), 10 k, then k report entries, then (id, cost) pairs in queue order. Returns
# {granted, wait ms, pause ms, Redis's now ms}.
_ACQUIRE = (
    _PRELUDE
    + """
local token = ARGV[1]
local cap, period = tonumber(ARGV[2]), tonumber(ARGV[3])
local maxc, lease = tonumber(ARGV[4]), tonumber(ARGV[5])
local grace, poll, ttl = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local deadline, k = tonumber(ARGV[9]), tonumber(ARGV[10])
settle(now, token, cap, lease, 11, 10 + k)  -- reports first: a pause among them holds us too
if deadline > 0 and now > deadline then  -- the caller gave up on this call: grant nothing
  return {0, '0', '0', string.format('%.17g', now)}
end
local base = 11 + k
local n = (#ARGV - base + 1) / 2
local function cost_of(member) return tonumber(string.match(member, '|([^|]*)$')) or 0 end

local used = 0
if cap > 0 then
  used = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
  local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - period)
  if #gone > 0 then
    for i = 1, #gone do used = used - cost_of(gone[i]) end
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - period)
  end
  if used < 0 or redis.call('ZCARD', KEYS[1]) == 0 then used = 0 end
end
local inflight = 0
if maxc > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  inflight = redis.call('ZCARD', KEYS[3])
end

local mine = redis.call('ZSCORE', KEYS[5], token)
local ahead_n, ahead_cost, others, others_cost = 0, 0, 0, 0
local queue = redis.call('ZRANGE', KEYS[5], 0, -1, 'WITHSCORES')
for i = 1, #queue, 2 do
  local who = queue[i]
  if who ~= token then
    local info = redis.call('HGET', KEYS[6], who)
    local c, due, dl
    if info then c, due, dl = string.match(info, '^([^:]*):([^:]*):(.*)$') end
    if not dl or (tonumber(dl) or 0) < now then
      redis.call('ZREM', KEYS[5], who)
      redis.call('HDEL', KEYS[6], who)
    else
      c = tonumber(c) or 1
      others, others_cost = others + 1, others_cost + c
      -- capacity is kept for the waiters ahead, unless one is late for its turn (a busy or
      -- descheduled process): then whoever asks goes, and the late one keeps its place
      local on_time = (tonumber(due) or 0) + 2 * poll >= now
      if on_time and (not mine or tonumber(queue[i + 1]) < tonumber(mine)) then
        ahead_n, ahead_cost = ahead_n + 1, ahead_cost + c
      end
    end
  end
end

local pause = redis.call('PTTL', KEYS[4])
if pause < 0 then pause = 0 end
local granted = 0
if pause == 0 then
  local limit = n
  if others > 0 then limit = 1 end
  while granted < limit do
    local id, cs = ARGV[base + 2 * granted], ARGV[base + 1 + 2 * granted]
    local cost = tonumber(cs)
    if maxc > 0 and inflight + ahead_n + 1 > maxc then break end
    if cap > 0 and used + ahead_cost + cost > cap + 1e-9 then break end
    if cap > 0 then
      redis.call('ZADD', KEYS[1], now, id .. '|' .. cs)
      used = used + cost
    end
    if maxc > 0 then
      redis.call('ZADD', KEYS[3], now + lease, id)
      inflight = inflight + 1
    end
    granted = granted + 1
  end
end
if cap > 0 then redis.call('SET', KEYS[2], string.format('%.17g', used)) end

local wait = 0
if granted < n then
  local cs = ARGV[base + 1 + 2 * granted]
  local cost = tonumber(cs)
  if granted > 0 then ahead_n, ahead_cost = others, others_cost end  -- served: to the back
  wait = pause
  if cap > 0 then
    local need = used + ahead_cost + cost - cap
    if need > 1e-9 then
      local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
      local freed, at = 0, nil
      for i = 1, #entries, 2 do
        freed = freed + cost_of(entries[i])
        if freed >= need - 1e-9 then at = tonumber(entries[i + 1]); break end
      end
      if at then
        wait = math.max(wait, at + period - now)
      else
        wait = math.max(wait, period * (1 + (need - freed) / cap))
      end
    end
  end
  if maxc > 0 and inflight + ahead_n + 1 > maxc then
    local first = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
    local w = poll
    if first[2] then w = math.min(poll, tonumber(first[2]) - now) end
    wait = math.max(wait, w)
  end
  if wait < 1 then wait = 1 end
  if granted > 0 or not mine then
    redis.call('ZADD', KEYS[5], redis.call('INCR', KEYS[7]), token)
  end
  local info = string.format('%s:%.17g:%.17g', cs, now + wait, now + wait + grace)
  redis.call('HSET', KEYS[6], token, info)
elseif mine then
  redis.call('ZREM', KEYS[5], token)
  redis.call('HDEL', KEYS[6], token)
end
for _, i in ipairs({1, 2, 3, 5, 6, 7}) do redis.call('PEXPIRE', KEYS[i], ttl) end
return {granted, string.format('%.17g', wait), string.format('%.17g', pause), string.format('%.17g', now)}
"""
)

# Only reports. ARGV: 1 token, 2 capacity, 3 lease ms, then report entries.
_SETTLE = _PRELUDE + "settle(now, ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), 4, #ARGV)\nreturn 1\n"


class RedisGrant:
    """One granted attempt: its id in Redis (or the in-memory grant it fell back to)."""

    __slots__ = ("cost", "id", "local", "since")

    def __init__(self, id: str, cost: float, local: Grant | None = None, *, shared: bool = True) -> None:
        self.id = id
        self.cost = cost
        self.local = local
        self.since = time.monotonic() if shared else -1.0  # -1: granted by the local limiter

    @property
    def shared(self) -> bool:
        return self.since >= 0


class RedisLimiter:
    """Concurrency, rate and pause limits shared through Redis by every process using ``key``.

    ``RedisLimiter.from_url("redis://localhost:6379/0", key="stripe:acct_123")`` and pass
    it as ``limiter=`` to a client; bounds left out (``max_concurrency``, ``rate``,
    ``period``) take the client's provider defaults, the lease the client's timeouts.
    Every process sharing a key should use the same bounds.

    ``on_unavailable``: ``"local"`` (default) falls back to an in-memory limiter with the
    same bounds while Redis does not answer within ``redis_timeout`` seconds (each process
    then limits itself alone), ``"fail"`` raises :class:`LimiterUnavailableError` without
    sending. Redis is tried again every ``retry_interval`` seconds.
    """

    def __init__(
        self,
        redis: Redis | None = None,
        *,
        key: str,
        url: str | None = None,
        max_concurrency: int | NotGiven | None = NOT_GIVEN,
        rate: float | NotGiven | None = NOT_GIVEN,
        period: float | NotGiven = NOT_GIVEN,
        lease: float | None = None,
        on_unavailable: OnUnavailable = "local",
        redis_timeout: float = 2.0,
        retry_interval: float = 1.0,
        poll_interval: float = 0.01,
        batch: int = 16,
    ) -> None:
        if (redis is None) == (url is None):
            raise ConfigurationError("RedisLimiter needs exactly one of a redis.asyncio.Redis or url=")
        if not isinstance(key, str) or not key.strip() or any(c in key for c in "{}\r\n"):
            raise ConfigurationError(
                f"RedisLimiter key must be a non-empty string without braces or newlines, got {key!r} "
                "(e.g. key='stripe:acct_123': one key per API account)"
            )
        if on_unavailable not in ("fail", "local"):
            raise ConfigurationError(f"on_unavailable must be 'fail' or 'local', got {on_unavailable!r}")
        for name, value in (
            ("redis_timeout", redis_timeout),
            ("retry_interval", retry_interval),
            ("poll_interval", poll_interval),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ConfigurationError(f"{name} must be a positive number of seconds, got {value!r}")
        if lease is not None and (isinstance(lease, bool) or not lease > 0):
            raise ConfigurationError(f"lease must be a positive number of seconds, got {lease!r}")
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise ConfigurationError(f"batch must be a positive integer, got {batch!r}")
        if url is not None:
            _check_url(url)
            import importlib.util

            if importlib.util.find_spec("redis") is None:
                raise ConfigurationError(
                    "RedisLimiter needs the redis package: pip install 'usepolvo[redis]'"
                )
        self.key = key
        self.on_unavailable: OnUnavailable = on_unavailable
        self.redis_timeout = float(redis_timeout)
        self.retry_interval = float(retry_interval)
        self.poll_interval = float(poll_interval)
        self.batch = batch
        self._url = url
        self._given_redis = redis
        self._bounds: dict[str, Any] = {"max_concurrency": max_concurrency, "rate": rate, "period": period}
        self._lease_fixed = lease is not None
        self._lease = float(lease) if lease is not None else _DEFAULT_LEASE
        self._lease_adopted = False
        self._local: Limiter | None = None  # built from the bounds on first use
        self._fallback()  # checks the bounds given now
        self._local = None
        tag = "polvo:{" + key + "}:"
        self._keys = [tag + part for part in ("win", "used", "slots", "pause", "q", "qinfo", "seq")]
        self._token = os.urandom(6).hex()
        self._ids = itertools.count(1)
        self._held: dict[str, RedisGrant] = {}
        self._last: RedisGrant | None = None
        self._waiters: collections.deque[tuple[asyncio.Future[Any], float]] = collections.deque()
        self._outbox: list[Any] = []
        self._marks: list[Any] = []  # re-dates waiting for their release (same write)
        self._marks_due = False
        self._unsent: list[Any] = []  # releases that found Redis down
        self._offset: float | None = None  # Redis's clock minus ours (ms), from the last reply
        self._paused_until = 0.0
        self._down_until = 0.0
        self._down_reason: str | None = None
        self._queued_in_redis = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._conn: Redis | None = None
        self._scripts: tuple[AsyncScript, AsyncScript] | None = None
        self._driver: asyncio.Task[None] | None = None
        self._settler: asyncio.Task[None] | None = None
        self._keeper: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._bg: set[asyncio.Task[None]] = set()
        self._urgent: Any = None  # a dedicated connection whose writes leave at once (reports)
        self._urgent_pending: collections.deque[list[Any]] = collections.deque()
        self._urgent_reader: asyncio.Task[None] | None = None
        self._urgent_opening: asyncio.Task[None] | None = None

    @classmethod
    def from_url(cls, url: str, *, key: str, **options: Any) -> RedisLimiter:
        """A limiter on the Redis at ``url`` (``redis://[:password@]host:port/db``,
        ``rediss://`` for TLS, ``unix://``); connections are opened on first use, one pool
        per event loop. ``options`` are :class:`RedisLimiter`'s keywords."""
        return cls(url=url, key=key, **options)

    @classmethod
    def from_env(cls, url: str, *, provider: str, api_key: str) -> RedisLimiter:
        """The limiter a client builds from ``POLVO_LIMITER_URL``: keyed by
        ``POLVO_LIMITER_KEY``, or by the provider and a digest of the API key (never the key
        itself), so clients of one account share a budget and other accounts do not."""
        key = os.environ.get(KEY_ENV) or (
            f"{provider}:{hashlib.sha256(api_key.encode()).hexdigest()[:16]}" if api_key else provider
        )
        mode = os.environ.get(FALLBACK_ENV) or "local"
        if mode not in ("fail", "local"):
            raise ConfigurationError(f"{FALLBACK_ENV} must be 'fail' or 'local', got {mode!r}")
        return cls(url=url, key=key, on_unavailable="fail" if mode == "fail" else "local")

    def adopt_defaults(
        self,
        *,
        max_concurrency: int | None,
        rate: float | None,
        period: float,
        attempt_timeout: float,
    ) -> None:
        """Called by a client given this limiter: bounds not set take the client's provider
        defaults, and the lease covers the client's longest attempt (connect + read timeout
        + 1 s) unless ``lease=`` was given."""
        given = {"max_concurrency": max_concurrency, "rate": rate, "period": period}
        for name, value in given.items():
            if isinstance(self._bounds[name], NotGiven):
                self._bounds[name] = value
        if not self._lease_fixed and attempt_timeout > 0:
            wanted = attempt_timeout + 1.0
            self._lease = max(self._lease, wanted) if self._lease_adopted else wanted
            self._lease_adopted = True
        if self._local is not None and not self._local.in_flight and not self._local.waiting:
            self._local = None  # rebuilt with the new bounds

    def __repr__(self) -> str:
        where = _redact_url(self._url) if self._url is not None else "<redis client>"
        b = self._bounds
        return (
            f"RedisLimiter({where}, key={self.key!r}, max_concurrency={_show(b['max_concurrency'])}, "
            f"rate={_show(b['rate'])}, period={_show(b['period'])}, on_unavailable={self.on_unavailable!r})"
        )

    # -- state -------------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """Attempts this process was granted (by Redis or the fallback) and has not released."""
        return len(self._held)

    @property
    def waiting(self) -> int:
        """Callers of this process queued for a grant."""
        return sum(1 for fut, _ in self._waiters if not fut.done())

    @property
    def shared(self) -> bool:
        """Whether grants come from Redis now (``False`` while falling back or failing)."""
        return time.monotonic() >= self._down_until

    @property
    def lease(self) -> float:
        """Seconds a slot stays held without its process renewing it."""
        return self._lease

    def paused_for(self) -> float:
        """Seconds left of the last pause this process set or heard of from Redis."""
        return max(0.0, self._paused_until - time.monotonic())

    # -- the protocol ------------------------------------------------------------------

    def pause(self, seconds: float) -> None:
        """Hold every new attempt of every process for ``seconds`` (a longer pause stays)."""
        if not seconds > 0:
            return
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)
        self._fallback().pause(seconds)
        if not self._send_now("p", _num(seconds * 1000.0)):
            self._post("p", _num(seconds * 1000.0))

    async def acquire(self, cost: float = 1.0) -> RedisGrant:
        """Wait for a shared slot, the end of any pause and room in the shared window.

        Every ``acquire`` needs one :meth:`release`. Raises :class:`LimiterUnavailableError`
        when Redis does not answer and ``on_unavailable="fail"``.
        """
        local = self._fallback()
        cost = max(0.0, float(cost))  # a negative cost would hand points back to everyone
        if local._capacity and cost > local._capacity:
            cost = local._capacity
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._adopt(loop)
        if time.monotonic() < self._down_until:
            return await self._unavailable(cost)
        fut: asyncio.Future[Any] = loop.create_future()
        self._waiters.append((fut, cost))
        if self._driver is None:
            self._driver = self._spawn(self._drive())
        try:
            grant = await fut
        except BaseException:
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                if isinstance(fut.result(), RedisGrant):
                    self._give_back(fut.result())  # granted, but our caller was cancelled meanwhile
            else:
                fut.cancel()
            raise
        if grant is _LOCAL:
            return await self._unavailable(cost)
        assert isinstance(grant, RedisGrant)
        try:
            # Granted by Redis just before this process ordered a pause: hold the slot until
            # the pause ends rather than send into it.
            while (left := self._paused_until - time.monotonic()) > 0:
                await asyncio.sleep(left)
        except BaseException:
            self._give_back(grant)
            raise
        return grant

    def mark_sent(self, grant: Any) -> None:
        """The attempt is over: count it in the shared window from now (never earlier)."""
        if not isinstance(grant, RedisGrant):
            return
        self._last = grant
        if grant.shared:
            if self._fallback()._capacity:
                # held for the release() that follows (one write for both), else sent next turn
                self._marks += ["m", grant.id, _num(grant.cost)]
                if self._loop is not None and not self._marks_due:
                    self._marks_due = True
                    with contextlib.suppress(RuntimeError):  # the loop has closed
                        self._loop.call_soon(self._flush_marks)
        elif grant.local is not None:
            self._fallback().mark_sent(grant.local)

    def release(self) -> None:
        """Give back the slot of the attempt last passed to :meth:`mark_sent` (else the oldest)."""
        grant, self._last = self._last, None
        if grant is None or grant.id not in self._held:
            grant = next(iter(self._held.values()), None)
        if grant is not None:
            self._give_back(grant)

    async def __aenter__(self) -> RedisLimiter:
        await self.acquire()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release()

    async def aclose(self) -> None:
        """Send the last releases, then close the connections this limiter opened (a Redis
        client passed in stays open). Without it, slots still held by this process free
        themselves when their lease expires."""
        if self._loop is not asyncio.get_running_loop():
            # what this limiter opened belongs to an event loop that has finished (e.g. an
            # earlier asyncio.run): it cannot be closed from here and is dropped
            self._loop = None
            self._conn = self._scripts = self._urgent = None
            return
        settler = self._settler
        if settler is not None:
            await asyncio.gather(settler, return_exceptions=True)
        for task in list(self._bg):
            task.cancel()
        self._drop_urgent()
        conn, self._conn = self._conn, None
        self._scripts = None
        if conn is not None and self._given_redis is None:
            await conn.aclose()

    # -- internals: grants ---------------------------------------------------------------

    def _fallback(self) -> Limiter:
        """The in-memory limiter with the same bounds (also the bounds' parser)."""
        local = self._local
        if local is None:
            b = self._bounds
            period = b["period"]
            local = self._local = Limiter(
                max_concurrency=None if isinstance(b["max_concurrency"], NotGiven) else b["max_concurrency"],
                rate=None if isinstance(b["rate"], NotGiven) else b["rate"],
                period=1.0 if isinstance(period, NotGiven) else period,
            )
        return local

    async def _unavailable(self, cost: float) -> RedisGrant:
        if self.on_unavailable == "fail":
            raise LimiterUnavailableError(
                f"the shared rate limiter {self.key!r} is unavailable ({self._down_reason or 'no answer'}); "
                "the request was not sent"
            )
        grant = RedisGrant(self._new_id(), cost, await self._fallback().acquire(cost), shared=False)
        self._held[grant.id] = grant
        return grant

    def _give_back(self, grant: RedisGrant) -> None:
        if self._held.pop(grant.id, None) is None:
            return
        if not grant.shared:
            self._fallback().release()
            return
        ops, self._marks = [*self._marks, "r", grant.id], []
        if self._fallback().max_concurrency is None:
            ops = ops[:-2]
        if ops and not self._send_now(*ops):
            self._post_ops(ops)

    def _flush_marks(self) -> None:
        """Re-dates that no release() took along (``mark_sent`` alone)."""
        self._marks_due = False
        ops, self._marks = self._marks, []
        if ops and not self._send_now(*ops):
            self._post_ops(ops)

    def _post_ops(self, ops: list[Any]) -> None:
        i = 0
        while i < len(ops):
            size = _OP_SIZES[ops[i]]
            self._post(*ops[i : i + size])
            i += size

    def _new_id(self) -> str:
        return f"{self._token}.{next(self._ids)}"

    # -- internals: the driver (one per event loop) --------------------------------------

    async def _drive(self) -> None:
        """Ask Redis for the queue head (a batch while nobody else waits) until it is empty."""
        waiters = self._waiters
        try:
            while True:
                while waiters and waiters[0][0].done():
                    waiters.popleft()
                if not waiters:
                    return
                now = time.monotonic()
                if self._paused_until > now:
                    await self._sleep(self._paused_until - now)
                    continue
                if now < self._down_until:
                    self._divert()
                    return
                heads = [w for w in itertools.islice(waiters, self.batch * 2) if not w[0].done()]
                heads = heads[: self.batch]
                ids = [self._new_id() for _ in heads]
                assert self._wake is not None
                self._wake.clear()  # a release settled from now on wakes the sleep below
                try:
                    granted, wait, pause = await self._ask(ids, [c for _, c in heads])
                except Exception as exc:  # noqa: BLE001 - every Redis failure means "unavailable"
                    self._went_down(exc)
                    self._divert()
                    return
                self._came_back()
                if self._urgent is None and self._urgent_opening is None:
                    self._urgent_opening = self._spawn(self._open_urgent())
                now = time.monotonic()
                if pause > 0:
                    self._paused_until = max(self._paused_until, now + pause)
                self._queued_in_redis = granted < len(heads)
                for (fut, cost), gid in zip(heads[:granted], ids, strict=False):
                    grant = RedisGrant(gid, cost)
                    self._held[gid] = grant
                    waiters.remove((fut, cost))
                    if fut.done():
                        self._give_back(grant)  # cancelled while we asked
                    else:
                        fut.set_result(grant)
                if granted:
                    self._keep_leases()
                if granted < len(heads):
                    await self._sleep(wait)
        except BaseException as exc:
            self._divert(exc if not isinstance(exc, asyncio.CancelledError) else None)
            raise
        finally:
            self._driver = None
            if self._queued_in_redis:
                self._queued_in_redis = False
                self._post("l")

    async def _ask(self, ids: list[str], costs: list[float]) -> tuple[int, float, float]:
        ops, self._outbox = self._outbox, []  # pending reports ride along
        sent = time.monotonic() * 1000.0
        local = self._fallback()
        period = local.period
        args: list[Any] = [
            self._token,
            _num(local._capacity),
            _num(period * 1000.0),
            local.max_concurrency or 0,
            _num(self._lease * 1000.0),
            _num(max(250.0, self.poll_interval * 1000.0 * 5)),  # a waiter's grace to come back
            _num(self.poll_interval * 1000.0),
            int((max(period, self._lease) + 60.0) * 1000),  # idle keys vanish after this
            # A call that reaches Redis after we gave up on it (a slow or frozen Redis runs
            # it later) must not take slots nobody will release: past this, no grant.
            _num(sent + self._offset + self.redis_timeout * 1000.0) if self._offset is not None else 0,
            len(ops),
            *ops,
        ]
        for gid, cost in zip(ids, costs, strict=True):
            args += [gid, _num(cost)]
        reply = await self._run(0, args)
        granted, wait, pause, redis_now = reply
        # Redis's clock minus ours, under-estimated by the reply's travel: deadlines err early
        offset = float(redis_now) - time.monotonic() * 1000.0
        if self._offset is None or offset > self._offset or offset < self._offset - 1000.0:
            self._offset = offset
        return int(granted), float(wait) / 1000.0, float(pause) / 1000.0

    async def _run(self, which: int, args: list[Any]) -> Any:
        scripts = self._scripts
        if scripts is None:
            conn = self._connection()
            scripts = self._scripts = (conn.register_script(_ACQUIRE), conn.register_script(_SETTLE))
        return await asyncio.wait_for(
            scripts[which](keys=self._keys, args=args, client=self._conn), self.redis_timeout
        )

    def _connection(self) -> Redis:
        if self._conn is None:
            if self._given_redis is not None:
                self._conn = self._given_redis
            else:
                try:
                    from redis.asyncio import Redis
                    from redis.asyncio.retry import Retry
                    from redis.backoff import NoBackoff
                except ImportError:
                    raise ConfigurationError(
                        "RedisLimiter needs the redis package: pip install 'usepolvo[redis]'"
                    ) from None
                assert self._url is not None
                self._conn = Redis.from_url(
                    self._url,
                    socket_timeout=self.redis_timeout,
                    socket_connect_timeout=self.redis_timeout,
                    # one immediate retry on a fresh connection (a pooled one may be stale after a
                    # Redis restart); our deadline (redis_timeout) bounds both tries
                    retry=Retry(NoBackoff(), 1),
                )
        return self._conn

    def _divert(self, exc: BaseException | None = None) -> None:
        """Redis is down: queued callers fail or go to the local limiter."""
        waiters, self._waiters = self._waiters, collections.deque()
        for fut, _ in waiters:
            if fut.done():
                continue
            if exc is not None:
                fut.set_exception(exc)
            else:
                fut.set_result(_LOCAL)

    def _went_down(self, exc: BaseException) -> None:
        reason = type(exc).__name__ if isinstance(exc, asyncio.TimeoutError) else _describe(exc)
        if isinstance(exc, asyncio.TimeoutError):
            reason = f"no answer within {self.redis_timeout:g}s"
        first = self._down_reason is None
        self._down_reason = reason
        self._down_until = time.monotonic() + self.retry_interval
        self._offset = None  # it may come back as another server, on another clock
        self._drop_urgent()
        if self._given_redis is None and self._conn is not None and self._loop is not None:
            # reconnect from scratch next time: pooled connections died with the server
            self._spawn(self._conn.connection_pool.disconnect())
        if first:
            then = "failing calls" if self.on_unavailable == "fail" else "limiting this process alone"
            logger().warning(
                "shared rate limiter %r unavailable (%s): %s until it answers", self.key, reason, then
            )

    def _came_back(self) -> None:
        if self._down_reason is not None:
            self._down_reason = None
            logger().warning("shared rate limiter %r answers again: shared budget resumed", self.key)
        if self._unsent:
            unsent, self._unsent = self._unsent, []
            for i in range(0, len(unsent), 2):
                self._post(*unsent[i : i + 2])

    async def _sleep(self, seconds: float) -> None:
        wake = self._wake
        assert wake is not None
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(wake.wait(), max(0.0, seconds))

    # -- internals: reports sent without waiting for a loop turn --------------------------

    def _send_now(self, *op: Any) -> bool:
        """Write a report (pause, re-date, release) to Redis now, inside the call that makes
        it, on a dedicated pipelined connection. A queued report waits for a loop turn, and
        under load that is tens of milliseconds in which other processes keep being granted
        (a pause), or wait for a slot (a release), or in which a point stays dated too early
        (a re-date: it comes back later). ``False``: no such connection; use the outbox."""
        conn, scripts = self._urgent, self._scripts
        writer = getattr(conn, "_writer", None)
        if writer is None or scripts is None or writer.is_closing() or time.monotonic() < self._down_until:
            return False
        local = self._fallback()
        args = [self._token, _num(local._capacity), _num(self._lease * 1000.0), *op]
        try:
            writer.writelines(
                conn.pack_command("EVALSHA", scripts[1].sha, len(self._keys), *self._keys, *args)
            )
        except Exception:  # noqa: BLE001 - fall back to the ordinary path
            self._drop_urgent()
            return False
        self._urgent_pending.append(list(op))
        if self._urgent_reader is None:
            self._urgent_reader = self._spawn(self._read_urgent())
        return True

    async def _read_urgent(self) -> None:
        conn = self._urgent
        pending = self._urgent_pending
        try:
            while pending and conn is self._urgent:
                await asyncio.wait_for(conn.read_response(), self.redis_timeout)
                pending.popleft()
        except Exception:  # noqa: BLE001 - e.g. NOSCRIPT after a Redis restart: resend the usual way
            unanswered = list(pending)  # every report is safe to apply twice
            self._drop_urgent()
            for ops in unanswered:
                self._post_ops(ops)
        finally:
            self._urgent_reader = None
        if self._wake is not None:
            self._wake.set()  # a release of ours may let our own queue head go

    async def _open_urgent(self) -> None:
        conn: Any = None
        try:
            client = self._connection()
            conn = client.connection_pool.make_connection()  # type: ignore[no-untyped-call]
            await asyncio.wait_for(conn.connect(), self.redis_timeout)
            # the reports' script must be known to Redis before a write that names it
            await asyncio.wait_for(client.script_load(_SETTLE), self.redis_timeout)
            self._urgent = conn
        except Exception:  # noqa: BLE001 - reports then go through the outbox
            self._urgent = None
            writer = getattr(conn, "_writer", None)
            if writer is not None:
                writer.close()
        finally:
            self._urgent_opening = None

    def _drop_urgent(self) -> None:
        conn, self._urgent = self._urgent, None
        self._urgent_pending = collections.deque()
        writer = getattr(conn, "_writer", None)
        if writer is not None:
            with contextlib.suppress(RuntimeError):  # its loop has closed
                writer.close()

    # -- internals: settling and leases ---------------------------------------------------

    def _post(self, *op: Any) -> None:
        """Queue a report for Redis; one background task sends them in order, batched."""
        if self._loop is None:
            return
        if time.monotonic() < self._down_until:
            # Redis is down: window dates and leases expire by themselves, but a release is
            # kept for when it answers again (a short outage would otherwise hold the slot
            # for a whole lease)
            if op[0] == "r":
                self._unsent.extend(op)
            return
        self._outbox.extend(op)
        if self._settler is None:
            try:
                self._settler = self._spawn(self._settle())
            except RuntimeError:  # no running loop (e.g. release() after the loop ended)
                self._outbox.clear()

    async def _settle(self) -> None:
        try:
            await asyncio.sleep(0)  # a driver starting in this loop turn takes the reports along
            while self._outbox:
                ops, self._outbox = self._outbox, []
                local = self._fallback()
                try:
                    await self._run(1, [self._token, _num(local._capacity), _num(self._lease * 1000.0), *ops])
                except Exception as exc:  # noqa: BLE001 - reports are dropped; they expire in Redis
                    self._went_down(exc)
                    continue
                if self._wake is not None and "r" in ops:
                    self._wake.set()  # our own release may let our own queue head go
        finally:
            self._settler = None

    def _keep_leases(self) -> None:
        if self._keeper is None:
            self._keeper = self._spawn(self._keep())

    async def _keep(self) -> None:
        """Renew the leases of attempts running longer than a third of the lease."""
        try:
            while any(g.shared for g in self._held.values()):
                third = self._lease / 3
                await asyncio.sleep(third)
                old = time.monotonic() - third
                for grant in list(self._held.values()):
                    if grant.shared and grant.since <= old:
                        self._post("h", grant.id)
        finally:
            self._keeper = None

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        loop = self._loop or asyncio.get_running_loop()
        try:
            task: asyncio.Task[None] = loop.create_task(coro)
        except RuntimeError:  # the loop has closed
            coro.close()
            raise
        self._bg.add(task)
        task.add_done_callback(self._bg.discard)
        return task

    def _adopt(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start serving a new event loop (e.g. a second ``asyncio.run``)."""
        self._waiters = collections.deque((f, c) for f, c in self._waiters if f.get_loop() is loop)
        self._driver = self._settler = self._keeper = None
        self._bg = set()
        # Reports the last loop made but did not get to send (it ended first: a release
        # made just before asyncio.run returned) go with the first request of this one.
        carried = [*self._unsent, *self._outbox, *self._marks]
        for ops in self._urgent_pending:  # written, maybe unanswered: safe to apply twice
            carried += ops
        self._outbox = carried
        self._marks = []
        self._marks_due = False
        self._unsent = []
        self._held = {k: g for k, g in self._held.items() if not g.shared}  # old leases expire
        self._wake = asyncio.Event()
        self._urgent = self._urgent_reader = self._urgent_opening = None
        self._urgent_pending = collections.deque()
        if self._given_redis is None:
            self._conn = None  # a pool belongs to the loop it was opened on
            self._scripts = None
        self._loop = loop


def _num(value: float) -> str:
    return repr(float(value))


def _show(value: Any) -> str:
    return "default" if isinstance(value, NotGiven) else repr(value)


def _describe(exc: BaseException) -> str:
    """An error's type and message, without anything that may carry a password."""
    text = str(exc).split("\n", 1)[0][:200]
    if "@" in text or "password" in text.lower() or "auth" in text.lower():
        text = ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _check_url(url: str) -> None:
    if not isinstance(url, str):
        raise ConfigurationError(f"RedisLimiter url must be a string, got {type(url).__name__}")
    scheme = urlsplit(url).scheme
    if scheme not in ("redis", "rediss", "unix"):
        raise ConfigurationError(
            f"RedisLimiter url must start with redis://, rediss:// or unix://, got {_redact_url(url)!r}"
        )


def _redact_url(url: str) -> str:
    """The URL without its password (``redis://:***@host:6379/0``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid url>"
    if parts.password is None and "@" not in parts.netloc:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, "", ""))
