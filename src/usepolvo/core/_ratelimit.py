"""The server's rate-limit headers, parsed into a typed :class:`RateLimitInfo`.

Providers report their budgets in response headers; the same reader serves all of them:

- ``x-ratelimit-limit`` / ``-remaining`` / ``-used`` / ``-reset`` (a Unix time) /
  ``-resource`` (GitHub);
- ``x-ratelimit-limit-<kind>`` / ``-remaining-<kind>`` / ``-reset-<kind>`` with a duration
  reset such as ``"6m0s"`` or ``"20ms"`` (OpenAI's ``requests`` and ``tokens`` budgets),
  found in :attr:`RateLimitInfo.buckets`;
- the IETF draft's ``ratelimit-limit`` / ``-remaining`` / ``-reset`` (seconds from now).

``client.last_rate_limit`` is the budget reported by the last response (``None`` if none);
``APIStatusError.rate_limit`` the budget reported with that error.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Mapping
from typing import Any

from ._retry import parse_duration

__all__ = ["RateLimitInfo", "parse_rate_limit"]

_EPOCH_THRESHOLD = 1e9  # a reset above this is a Unix time, below it seconds from now
_PREFIXES = ("x-ratelimit-", "ratelimit-")
_FIELDS = ("limit", "remaining", "used", "reset")


class RateLimitInfo:
    """One rate-limit budget as the server reported it.

    ``limit`` is the size of the budget, ``remaining`` what is left, ``used`` what has been
    spent (computed as ``limit - remaining`` when not sent), ``reset`` when it refills (UTC),
    ``resource`` which budget it is (GitHub's ``core``, ``search``…; ``"requests"`` or
    ``"tokens"`` for suffixed headers). ``buckets`` holds the suffixed budgets by kind
    (``info.buckets["tokens"].remaining``); when the unsuffixed headers are absent the
    top-level fields are those of the ``requests`` bucket (or the first one).
    """

    __slots__ = ("buckets", "limit", "remaining", "reset", "resource", "used")

    def __init__(
        self,
        *,
        limit: int | None = None,
        remaining: int | None = None,
        used: int | None = None,
        reset: datetime.datetime | None = None,
        resource: str | None = None,
        buckets: Mapping[str, RateLimitInfo] | None = None,
    ) -> None:
        self.limit = limit
        self.remaining = remaining
        self.used = used
        self.reset = reset
        self.resource = resource
        self.buckets: Mapping[str, RateLimitInfo] = buckets or {}

    @property
    def exhausted(self) -> bool:
        """Whether this budget (or any bucket) has nothing left."""
        return self.remaining == 0 or any(b.remaining == 0 for b in self.buckets.values())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RateLimitInfo):
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        parts = [f"{k}={getattr(self, k)!r}" for k in ("limit", "remaining", "used", "reset", "resource")]
        if self.buckets:
            parts.append(f"buckets={dict(self.buckets)!r}")
        return f"RateLimitInfo({', '.join(parts)})"


def parse_rate_limit(headers: Mapping[str, str], now: float | None = None) -> RateLimitInfo | None:
    """The budget reported by ``headers`` (``None`` when they report none).

    ``now`` (a Unix time, default: the current time) anchors resets given as durations.
    """
    found: dict[str, dict[str, str]] = {}  # kind ("" for unsuffixed) -> field -> raw value
    for name, value in headers.items():
        lname = name.lower()
        for prefix in _PREFIXES:
            if lname.startswith(prefix):
                rest = lname[len(prefix) :]
                field, _, kind = rest.partition("-")
                if field in _FIELDS or (field == "resource" and not kind):
                    found.setdefault(kind, {}).setdefault(field, value)
                break
    if not found:
        return None
    at = time.time() if now is None else now
    buckets = {kind: _info(raw, at, kind) for kind, raw in found.items() if kind}
    top = found.get("")
    if top is not None:
        return _info(top, at, None, buckets)
    main = buckets.get("requests") or next(iter(buckets.values()))
    return RateLimitInfo(
        limit=main.limit,
        remaining=main.remaining,
        used=main.used,
        reset=main.reset,
        resource=main.resource,
        buckets=buckets,
    )


def _info(
    raw: Mapping[str, str], now: float, kind: str | None, buckets: Mapping[str, RateLimitInfo] | None = None
) -> RateLimitInfo:
    limit = _int(raw.get("limit"))
    remaining = _int(raw.get("remaining"))
    used = _int(raw.get("used"))
    if used is None and limit is not None and remaining is not None:
        used = max(0, limit - remaining)
    return RateLimitInfo(
        limit=limit,
        remaining=remaining,
        used=used,
        reset=_reset(raw.get("reset"), now),
        resource=raw.get("resource") or kind or None,
        buckets=buckets,
    )


def _int(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(float(str(value).strip()))
    except ValueError:
        return None


def _reset(value: str | None, now: float) -> datetime.datetime | None:
    if value is None:
        return None
    seconds = parse_duration(value)
    if seconds is None:
        return None
    stamp = seconds if seconds > _EPOCH_THRESHOLD else now + seconds
    return datetime.datetime.fromtimestamp(stamp, tz=datetime.timezone.utc)
