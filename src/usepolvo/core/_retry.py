"""The one place that decides whether and when an attempt is repeated.

Retried: connection errors, timeouts, 408, 409, 429 and 5xx, and whatever the provider
marks retryable (``Stripe-Should-Retry``/``x-should-retry: true``); never what it marks
``false``. Only requests that are safe to repeat are retried: idempotent methods, and
POSTs that carry an idempotency key. Waits use exponential backoff with full jitter,
unless the server says how long to wait.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping

__all__ = ["RetryPolicy"]

_RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})


class RetryPolicy:
    """Retry settings of a client (and, overridden per call, of one call).

    ``max_retries`` counts repeats after the first attempt; backoff doubles from
    ``initial_backoff`` up to ``max_backoff`` seconds with full jitter; server-advised waits
    are honoured up to ``max_retry_after`` seconds (longer advice ends the retries).
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
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        self.max_retries = max_retries
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after

    def __repr__(self) -> str:
        return (
            f"RetryPolicy(max_retries={self.max_retries}, initial_backoff={self.initial_backoff}, "
            f"max_backoff={self.max_backoff})"
        )

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff before repeat number ``attempt`` (1-based)."""
        cap = min(self.max_backoff, self.initial_backoff * (2 ** (attempt - 1)))
        return random.uniform(0, cap)


def is_replayable(method: str, has_idempotency_key: bool) -> bool:
    """Whether repeating the request cannot do the same thing twice."""
    return method in _IDEMPOTENT_METHODS or has_idempotency_key


def should_retry_status(status: int, headers: Mapping[str, str]) -> bool:
    """Whether a status is worth another attempt, honouring the server's own verdict."""
    verdict = headers.get("stripe-should-retry") or headers.get("x-should-retry")
    if verdict == "true":
        return True
    if verdict == "false":
        return False
    return status in _RETRY_STATUSES


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the server asks us to wait, from ``retry-after-ms`` or ``retry-after``."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
