"""What the attempt loop hands to ``with_raw_response`` (see ``_raw_response``), kept apart
so that the loop can look for a capture slot without loading the public types (internal)."""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from ._logging import redact

if TYPE_CHECKING:
    import httpx

    from ._client import BaseClient
    from ._errors import PolvoError
    from ._operation import Operation
    from ._raw_response import APIResponse

__all__ = ["CAPTURE", "Capture", "observe", "safe_headers"]


def safe_headers(headers: httpx.Headers, secret: str | None) -> httpx.Headers:
    """``headers`` with ``secret`` masked in every value (the same object when absent)."""
    if secret and len(secret) >= 6 and any(secret in v for v in headers.values()):
        import httpx

        return httpx.Headers([(k, redact(v, secret)) for k, v in headers.multi_items()])
    return headers


class Capture:
    """The slot one ``with_raw_response`` call gives the attempt loop to fill (internal).

    It holds the finished :class:`~usepolvo.core.APIResponse` of the call's last success,
    with ``parsed`` still ``None`` (the caller puts its result in), so the response's fields
    are declared once, on ``APIResponse``.
    """

    __slots__ = ("response", "task")

    def __init__(self) -> None:
        import asyncio

        #: the response so far (``None`` until an attempt of this task succeeds)
        self.response: APIResponse[Any] | None = None
        #: the task of the ``with_raw_response`` call: only its own attempts fill the slot (a
        #: task started inside the call copies the context, slot included, but is not the call)
        self.task = asyncio.current_task()

    @property
    def filled(self) -> bool:
        return self.response is not None


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
        from ._raw_response import APIResponse

        headers = safe_headers(response.headers, client._api_key)
        capture.response = APIResponse(
            None, response.status_code, headers, headers.get(cfg.request_id_header), took,
            asyncio.get_running_loop().time() - started, attempt, op.method, url, op.name, idem,
        )  # fmt: skip
