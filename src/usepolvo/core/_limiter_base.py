"""What a client needs from a limiter, so that an in-memory and a shared one are interchangeable.

A client calls, per attempt: ``grant = await acquire(cost)`` before sending,
``pause(seconds)`` when the server orders a pause (a 429, a spent budget), then
``mark_sent(grant)`` and ``release()`` once the attempt is over. :class:`~usepolvo.core.Limiter`
(one process) and :class:`~usepolvo.core.RedisLimiter` (a budget shared by processes and
hosts through Redis) both satisfy :class:`LimiterProtocol`; pass either as ``limiter=``.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from ._errors import APIConnectionError

__all__ = ["LimiterProtocol", "LimiterUnavailableError"]


@runtime_checkable
class LimiterProtocol(Protocol):
    """The limiter interface a client drives (see the module docstring for the call order)."""

    async def acquire(self, cost: float = 1.0) -> Any:
        """Wait for a slot, the end of any pause and room in the rate window; return a grant."""
        ...

    def mark_sent(self, grant: Any) -> None:
        """The granted request is over: date its place in the rate window from now."""
        ...

    def release(self) -> None:
        """Give back the slot of the attempt whose grant was last passed to ``mark_sent``."""
        ...

    def pause(self, seconds: float) -> None:
        """Hold every new attempt for ``seconds`` (a server-ordered pause)."""
        ...

    @property
    def in_flight(self) -> int:
        """Attempts granted by this limiter (in this process) and not yet released."""
        ...

    def paused_for(self) -> float:
        """Seconds left of the current pause, as far as this process knows (0: none)."""
        ...


class LimiterUnavailableError(APIConnectionError):
    """The shared limiter's backend (Redis) did not answer in time, and the limiter is set
    to fail closed (``on_unavailable="fail"``): the request was **not sent**.

    Nothing happened on the API's side, so the call can be repeated as it is once the
    backend is back; or choose ``on_unavailable="local"`` to fall back to an in-memory
    limiter during outages.
    """
