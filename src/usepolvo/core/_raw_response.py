"""The raw response of any call, next to its parsed result: ``client.with_raw_response(...)``.

``resp = await client.with_raw_response(client.customers.retrieve_customer("cus_1"))``
gives an :class:`APIResponse` whose ``parsed`` is what awaiting the call alone returns
(typed: ``APIResponse[Customer | DeletedCustomer]``), with the status, headers, request id,
timings and attempts of the response it was read from. It works for every operation: a list
call gives its first :class:`~usepolvo.core.Page` (or page ``N`` with ``page=N``), a
download its bytes, ``stream=True`` its :class:`~usepolvo.core.AsyncStream` (headers as they
came; the events are read afterwards).

How: the call runs in the caller's task with a fresh capture slot in a context variable;
the attempt loop (``BaseClient._exchange``) fills it with the final attempt's response when
it succeeds. Context variables are per task, so calls under ``asyncio.gather`` each get
their own. Only the caller's task fills its slot: a task started inside the call copies the
context but is another call (its response never stands in for the one ``parsed`` came
from). Nested, ``with_raw_response(with_raw_response(call))`` gives the inner
``APIResponse`` as ``parsed``, with the same response. Errors need none of this: they carry
their response already.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Generic, TypeVar

from ._capture import CAPTURE, Capture
from ._errors import ConfigurationError

if TYPE_CHECKING:
    import httpx

__all__ = ["APIResponse", "with_raw_response"]

T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True, repr=False, eq=False)
class APIResponse(Generic[T]):
    """A call's parsed result with the HTTP response it came from.

    - ``parsed``: the result, as awaiting the call returns it;
    - ``status_code``, ``headers`` (the client's key masked wherever a server echoed it),
      ``request_id`` (the provider's request id header: Stripe ``Request-Id``, GitHub
      ``X-GitHub-Request-Id``, OpenAI ``x-request-id``; ``None`` when absent);
    - ``elapsed``: seconds of the final attempt, from sending to the whole body read (to the
      headers for a stream); ``total_elapsed``: the whole call, limiter waits, every attempt
      and backoffs included;
    - ``attempts``: attempts made (1 + retries); ``method``, ``url`` (scheme, host and path:
      no query string, which may carry a key), ``operation`` (the generated method's name)
      and ``idempotency_key`` (the key sent, or ``None``).
    """

    parsed: T
    status_code: int
    headers: httpx.Headers
    request_id: str | None
    elapsed: float
    total_elapsed: float
    attempts: int
    method: str
    url: str
    operation: str
    idempotency_key: str | None

    def __repr__(self) -> str:
        rid = f", request_id={self.request_id!r}" if self.request_id else ""
        return (
            f"<APIResponse [{self.status_code}] {self.method} {self.url}{rid}, "
            f"elapsed={self.elapsed:.3f}s, attempts={self.attempts}: {type(self.parsed).__name__}>"
        )


async def with_raw_response(call: Awaitable[T]) -> APIResponse[T]:
    """Await ``call`` (a generated operation's call, not yet awaited) and return its result
    with the response of the last request it sent."""
    if not hasattr(call, "__await__"):
        raise ConfigurationError(
            f"with_raw_response() takes a call such as client.customers.retrieve_customer('cus_1') "
            f"(not awaited), got {type(call).__name__}"
        )
    parent = CAPTURE.get()
    capture = Capture()
    token = CAPTURE.set(capture)
    try:
        parsed = await call
    finally:
        CAPTURE.reset(token)
    response = capture.response
    if response is None:
        raise ConfigurationError(
            "with_raw_response(): the call sent no request of a polvo client in this task; pass "
            "the call itself, not yet awaited (client.customers.retrieve_customer('cus_1')), "
            "not a Task or an already awaited result"
        )
    if parent is not None and parent.task is capture.task:
        parent.response = response  # nested: the outer call sent this request too
    return dataclasses.replace(response, parsed=parsed)
