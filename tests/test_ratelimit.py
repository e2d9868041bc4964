"""``parse_rate_limit``: the x-ratelimit-* header families of every provider."""

from __future__ import annotations

import datetime

from usepolvo.core import RateLimitInfo
from usepolvo.core._ratelimit import parse_rate_limit

UTC = datetime.timezone.utc
NOW = 1_700_000_000.0


def test_no_headers_no_info() -> None:
    assert parse_rate_limit({"content-type": "application/json"}, NOW) is None


def test_github_style() -> None:
    info = parse_rate_limit(
        {
            "X-RateLimit-Limit": "60",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Used": "60",
            "X-RateLimit-Reset": "1700000123",
            "X-RateLimit-Resource": "search",
        },
        NOW,
    )
    assert info == RateLimitInfo(
        limit=60,
        remaining=0,
        used=60,
        reset=datetime.datetime.fromtimestamp(1_700_000_123, UTC),
        resource="search",
    )
    assert info is not None and info.exhausted and not info.buckets


def test_openai_style_buckets() -> None:
    info = parse_rate_limit(
        {
            "x-ratelimit-limit-requests": "60",
            "x-ratelimit-remaining-requests": "59",
            "x-ratelimit-reset-requests": "1s",
            "x-ratelimit-limit-tokens": "150000",
            "x-ratelimit-remaining-tokens": "0",
            "x-ratelimit-reset-tokens": "6m0s",
        },
        NOW,
    )
    assert info is not None
    assert (info.limit, info.remaining, info.used, info.resource) == (60, 59, 1, "requests")
    assert info.reset == datetime.datetime.fromtimestamp(NOW + 1, UTC)
    tokens = info.buckets["tokens"]
    assert tokens.reset == datetime.datetime.fromtimestamp(NOW + 360, UTC)
    assert info.exhausted  # the tokens bucket is spent


def test_ietf_draft_and_bad_values() -> None:
    info = parse_rate_limit(
        {"RateLimit-Limit": "100", "RateLimit-Remaining": "n/a", "RateLimit-Reset": "30"}, NOW
    )
    assert info is not None
    assert (info.limit, info.remaining, info.used) == (100, None, None)
    assert info.reset == datetime.datetime.fromtimestamp(NOW + 30, UTC)
    assert "limit=100" in repr(info)
