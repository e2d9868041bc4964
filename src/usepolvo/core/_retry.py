"""The one place that decides whether and when an attempt is repeated.

Retried: connection errors, timeouts, 408, 409, 429 and 5xx, a 403 that is a rate limit
(GitHub's secondary limit), and whatever the provider marks retryable
(``Stripe-Should-Retry``/``x-should-retry: true``); never what it marks ``false``. Only
requests that are safe to repeat are retried: idempotent methods, and POSTs that carry an
idempotency key (a request that never left the client, because the connection could not be
made, is always safe). Waits use exponential backoff with full jitter, unless the server
says how long to wait.

Server advice is read from ``retry-after-ms``, ``Retry-After`` (seconds or an HTTP date)
and, when a budget is spent (``x-ratelimit-remaining: 0``), its reset time:
``x-ratelimit-reset`` (epoch seconds, as GitHub sends it, or seconds from now),
OpenAI's ``x-ratelimit-reset-requests``/``-tokens`` durations (``"6m0s"``, ``"20ms"``) and the
IETF draft's ``ratelimit-reset``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ._errors import ConfigurationError
from ._lazy import lazy_module

if TYPE_CHECKING:
    import random
else:  # loaded by the first backoff: importing a client does not need it
    random = lazy_module("random", globals())

__all__ = ["RetryPolicy"]

_RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: (remaining header, reset header) pairs of the rate-limit budgets providers report.
_BUDGETS = (
    ("x-ratelimit-remaining", "x-ratelimit-reset"),
    ("x-ratelimit-remaining-requests", "x-ratelimit-reset-requests"),
    ("x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens"),
    ("ratelimit-remaining", "ratelimit-reset"),
)
_DURATION = r"(\d+(?:\.\d+)?)(ms|h|m|s)"  # compiled (and cached) by re on first use
_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
#: A reset value above this is a Unix time, below it a number of seconds from now.
_EPOCH_THRESHOLD = 1e9


class RetryPolicy:
    """Retry settings of a client (and, overridden per call, of one call).

    ``max_retries`` counts repeats after the first attempt; backoff doubles from
    ``initial_backoff`` up to ``max_backoff`` seconds with full jitter; server-advised waits
    are honoured up to ``max_retry_after`` seconds (longer advice ends the retries, and a
    client-wide pause is capped there, so no call waits longer than that on one signal).
    """

    __slots__ = ("initial_backoff", "max_backoff", "max_retries", "max_retry_after")

    def __init__(
        self,
        max_retries: int = 2,
        *,
        initial_backoff: float = 0.5,
        max_backoff: float = 8.0,
        max_retry_after: float = 60.0,
    ) -> None:
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigurationError(f"max_retries must be an integer, 0 or more, got {max_retries!r}")
        if initial_backoff < 0 or max_backoff < 0 or max_retry_after < 0:
            raise ConfigurationError("backoff bounds and max_retry_after must be 0 or more")
        self.max_retries = max_retries
        self.initial_backoff = float(initial_backoff)
        self.max_backoff = float(max_backoff)
        self.max_retry_after = float(max_retry_after)

    def __repr__(self) -> str:
        return (
            f"RetryPolicy(max_retries={self.max_retries}, initial_backoff={self.initial_backoff}, "
            f"max_backoff={self.max_backoff}, max_retry_after={self.max_retry_after})"
        )

    def replace(
        self,
        *,
        max_retries: int | None = None,
        initial_backoff: float | None = None,
        max_backoff: float | None = None,
        max_retry_after: float | None = None,
    ) -> RetryPolicy:
        """A copy with some settings changed (``None`` keeps the current value)."""
        return RetryPolicy(
            self.max_retries if max_retries is None else max_retries,
            initial_backoff=self.initial_backoff if initial_backoff is None else initial_backoff,
            max_backoff=self.max_backoff if max_backoff is None else max_backoff,
            max_retry_after=self.max_retry_after if max_retry_after is None else max_retry_after,
        )

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff after attempt number ``attempt`` (1-based)."""
        cap = min(self.max_backoff, self.initial_backoff * (2.0 ** min(attempt - 1, 62)))
        return random.uniform(0.0, cap)


def next_wait(
    policy: RetryPolicy,
    attempt: int,
    *,
    retryable: bool,
    replayable: bool,
    sent: bool,
    advice: float | None,
    time_left: float | None,
) -> float | None:
    """Seconds to wait before attempt ``attempt + 1``, or ``None``: the failure is final.

    Final when the failure is not worth repeating, when repeating could do the work twice
    (sent, and not replayable), when the attempts are spent, when the server's advice is
    longer than ``max_retry_after``, or when the wait would outlast the call (``time_left``).
    """
    if not retryable or not (replayable or not sent) or attempt > policy.max_retries:
        return None
    if advice is None:
        wait = policy.backoff(attempt)
    elif advice > policy.max_retry_after:
        return None
    else:
        wait = advice
    if time_left is not None and wait >= time_left:
        return None
    return wait


def is_replayable(method: str, has_idempotency_key: bool) -> bool:
    """Whether repeating the request cannot do the same thing twice."""
    return method in _IDEMPOTENT_METHODS or has_idempotency_key


def server_verdict(headers: Mapping[str, str]) -> bool | None:
    """``Stripe-Should-Retry`` / ``x-should-retry``: ``True``, ``False`` or no opinion."""
    verdict = headers.get("stripe-should-retry") or headers.get("x-should-retry")
    if verdict is None:
        return None
    verdict = verdict.strip().lower()
    if verdict == "true":
        return True
    if verdict == "false":
        return False
    return None


def should_retry_status(status: int, headers: Mapping[str, str]) -> bool:
    """Whether a status is worth another attempt, honouring the server's own verdict."""
    verdict = server_verdict(headers)
    if verdict is not None:
        return verdict
    return status in _RETRY_STATUSES


def is_rate_limited(status: int, headers: Mapping[str, str]) -> bool:
    """A 429, or a 403 that says when to come back (GitHub's secondary and primary limits)."""
    if status == 429:
        return True
    if status == 403:
        return retry_after(headers) is not None or budget_reset(headers) is not None
    return False


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the server asks us to wait, from ``retry-after-ms`` or ``retry-after``."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            value = float(ms) / 1000
        except ValueError:
            pass
        else:
            if value == value:  # not NaN
                return min(max(0.0, value), 1e9)
    text = headers.get("retry-after")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        pass
    else:
        return min(max(0.0, value), 1e9) if value == value else None
    try:
        import email.utils  # only for HTTP-date Retry-After values

        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def parse_duration(text: str) -> float | None:
    """``"6m0s"`` / ``"1h2m"`` / ``"20ms"`` / ``"1.5"`` → seconds (``None`` when unreadable)."""
    text = text.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    total = 0.0
    pos = 0
    for match in re.finditer(_DURATION, text):
        if match.start() != pos:
            return None
        total += float(match.group(1)) * _UNIT[match.group(2)]
        pos = match.end()
    return total if pos and pos == len(text) else None


def budget_reset(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds until a spent rate-limit budget (``*-remaining: 0``) resets, or ``None``."""
    names = getattr(headers, "_list", None)  # httpx.Headers: (name, lowercased name, value)
    if names is not None:  # the common case: no budget headers at all (one pass over the names)
        for item in names:
            if b"remaining" in item[1]:
                break
        else:
            return None
    wait: float | None = None
    for remaining, reset in _BUDGETS:
        left = headers.get(remaining)
        if left is None or left.strip() not in ("0", "0.0"):
            continue
        raw = headers.get(reset)
        if raw is None:
            continue
        seconds = parse_duration(raw)
        if seconds is None:
            continue
        if seconds > _EPOCH_THRESHOLD:  # a Unix time (GitHub)
            seconds = max(0.0, seconds - (time.time() if now is None else now))
        wait = seconds if wait is None else max(wait, seconds)
    return wait


def server_wait(status: int, headers: Mapping[str, str]) -> float | None:
    """How long the server asks the whole client to hold off, judging by this answer.

    An error answer's ``Retry-After`` counts; any answer (a success too) that reports a spent
    budget counts until that budget resets.
    """
    wait = retry_after(headers) if status >= 400 else None
    reset = budget_reset(headers)
    if reset is not None and (wait is None or reset > wait):
        wait = reset
    return wait
