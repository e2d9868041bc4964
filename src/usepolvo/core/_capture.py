"""What the attempt loop hands to ``with_raw_response`` (see ``_raw_response``), kept apart
so that the loop can look for a capture slot without loading the public types (internal)."""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import TYPE_CHECKING

from ._logging import redact

if TYPE_CHECKING:
    import httpx

    from ._client import BaseClient
    from ._errors import PolvoError
    from ._operation import Operation

__all__ = ["CAPTURE", "Capture", "observe", "safe_headers"]


def safe_headers(headers: httpx.Headers, secret: str | None) -> httpx.Headers:
    """``headers`` with ``secret`` masked in every value (the same object when absent)."""
    if secret and len(secret) >= 6 and any(secret in v for v in headers.values()):
        import httpx

        return httpx.Headers([(k, redact(v, secret)) for k, v in headers.multi_items()])
    return headers


class Capture:
    """The slot one ``with_raw_response`` call gives the attempt loop to fill (internal)."""

    __slots__ = (
        "attempts",
        "elapsed",
        "filled",
        "headers",
        "idempotency_key",
        "method",
        "operation",
        "request_id",
        "status_code",
        "task",
        "total_elapsed",
        "url",
    )

    def __init__(self) -> None:
        import asyncio

        self.filled = False
        #: the task of the ``with_raw_response`` call: only its own attempts fill the slot (a
        #: task started inside the call copies the context, slot included, but is not the call)
        self.task = asyncio.current_task()

    def fill_from(self, other: Capture) -> None:
        """Take ``other``'s response (a nested ``with_raw_response`` of the same task)."""
        for name in self.__slots__:
            if name != "task":
                setattr(self, name, getattr(other, name))

    def fill(
        self,
        response: httpx.Response,
        headers: httpx.Headers,
        request_id: str | None,
        elapsed: float,
        total_elapsed: float,
        attempts: int,
        method: str,
        url: str,
        operation: str,
        idempotency_key: str | None,
    ) -> None:
        self.filled = True
        self.status_code = response.status_code
        self.headers = headers
        self.request_id = request_id
        self.elapsed = elapsed
        self.total_elapsed = total_elapsed
        self.attempts = attempts
        self.method = method
        self.url = url
        self.operation = operation
        self.idempotency_key = idempotency_key


#: the capture slot of the ``with_raw_response`` call running in this task, if any
CAPTURE: ContextVar[Capture | None] = ContextVar("polvo_capture", default=None)


async def observe(
    client: BaseClient,
    op: Operation,
    url: str,
    attempt: int,
    attempts: int,
    idem: str | None,
    response: httpx.Response | None,
    took: float,
    wait: float | None,
    error: PolvoError | None,
    started: float | None = None,
) -> None:
    """An attempt of ``client``'s attempt loop is over: tell its ``on_response`` hooks and, for
    a success (``started``: the call's start on the loop clock), fill the capture slot of
    ``with_raw_response``. A success handed back unread (a stream) is closed if a hook raises."""
    hooks = client._hooks
    cfg = client._config
    try:
        if hooks is not None and hooks.on_response:
            await hooks.response(
                op.name, op.method, url, attempt, attempts, idem, response,
                cfg.request_id_header, client._api_key, took, wait, error,
            )  # fmt: skip
    except BaseException:
        if response is not None and not response.is_closed:
            with contextlib.suppress(Exception):  # the connection is dropped either way
                await response.aclose()
        raise
    capture = CAPTURE.get()
    if capture is not None and started is not None and response is not None:
        import asyncio

        if capture.task is not asyncio.current_task():
            return
        headers = safe_headers(response.headers, client._api_key)
        capture.fill(
            response, headers, headers.get(cfg.request_id_header), took,
            asyncio.get_running_loop().time() - started, attempt, op.method, url, op.name, idem,
        )  # fmt: skip
