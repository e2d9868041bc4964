"""The seam :mod:`usepolvo.testing` plugs into; production code never sets it.

``interceptor``, while a :class:`usepolvo.testing.MockAPI` is active, hands every client a
pool whose transport is the mock, whatever wire the client would use (httpx or aiohttp).
``POLVO_RATE_LIMIT=off`` (or an active mock) drops the provider's default client-side rate
limit, so mocked calls do not wait for a window meant for the real API.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Protocol

from ._errors import ConfigurationError

if TYPE_CHECKING:
    import httpx

    from ._client import BaseClient

__all__ = ["Interceptor", "default_rate_limit_off", "interceptor", "passthrough"]


class Interceptor(Protocol):
    def pool(self, client: BaseClient) -> httpx.AsyncClient:
        """The pool ``client`` sends through while the interceptor is active."""
        ...

    @property
    def rate_limit(self) -> bool:
        """Whether clients created meanwhile keep their provider's default rate limit."""
        ...


interceptor: Interceptor | None = None
#: exceptions the active mock raises on purpose (an unmatched request): they reach the caller
#: as they are, not translated into ``APIConnectionError`` like a transport failure
passthrough: tuple[type[BaseException], ...] = ()


def default_rate_limit_off() -> bool:
    """True when a client built now should skip its provider's default rate limit."""
    value = os.environ.get("POLVO_RATE_LIMIT", "").strip().lower()
    if value not in ("", "on", "off"):
        raise ConfigurationError(f"POLVO_RATE_LIMIT must be 'off' or 'on', got {value!r}")
    if value == "off":
        return True
    return interceptor is not None and not interceptor.rate_limit
