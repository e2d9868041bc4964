"""Server-sent events: ``text/event-stream`` responses read as an async stream of events.

``stream = await client.chat.create_chat_completion(..., stream=True)`` returns an
:class:`AsyncStream`; ``async for chunk in stream`` yields each event's ``data:`` payload
decoded from JSON and parsed into the spec's event model (raw JSON when the spec documents
none), leniently like every response: ``null`` or unknown fields in an event never stop
the stream (in strict mode, an event departing from the spec raises
:class:`ResponseValidationError`). A ``data: [DONE]`` event ends the stream. The HTTP response is closed when the
stream ends, when the loop over it is left early (``break``), on ``aclose()`` and on leaving
``async with stream:``.

Lines are parsed per the WHATWG SSE rules: ``\\n``, ``\\r`` or ``\\r\\n`` line ends, ``:``
comments, one optional space after the field colon, ``data:`` lines of one event joined by
``\\n``, events dispatched on a blank line, and an unterminated last event dropped.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._errors import APIConnectionError, ResponseValidationError
from ._json import loads

if TYPE_CHECKING:
    from types import TracebackType

    import httpx

__all__ = ["AsyncStream", "ServerSentEvent", "iter_sse"]

T = TypeVar("T")
_Self = TypeVar("_Self", bound="AsyncStream[Any]")


class ServerSentEvent:
    """One dispatched event: its type (``event``, ``"message"`` by default), data, id, retry."""

    __slots__ = ("data", "event", "id", "retry")

    def __init__(
        self, data: str, event: str = "message", id: str | None = None, retry: int | None = None
    ) -> None:
        self.data = data
        self.event = event
        self.id = id
        self.retry = retry

    def json(self) -> Any:
        """The data decoded as JSON."""
        return loads(self.data)

    def __repr__(self) -> str:
        return f"ServerSentEvent(event={self.event!r}, id={self.id!r}, data={self.data[:60]!r})"


async def iter_sse(lines: AsyncIterator[str]) -> AsyncIterator[ServerSentEvent]:
    """Turn the lines of an event stream (without line ends) into events."""
    data: list[str] = []
    event = ""
    last_id: str | None = None
    retry: int | None = None
    async for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if data:
                yield ServerSentEvent("\n".join(data), event or "message", last_id, retry)
            data = []
            event = ""
            continue
        if line.startswith(":"):
            continue
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
        elif name == "id":
            if "\0" not in value:
                last_id = value
        elif name == "retry" and value.isdigit():
            retry = int(value)
        # other field names are ignored, as the SSE spec requires
    # an event without its terminating blank line is discarded (SSE spec)


class AsyncStream(Generic[T]):
    """An async iterator over the parsed events of one streamed response.

    ``response`` is the underlying ``httpx.Response`` (status, headers); ``last_event_id``
    the last ``id:`` seen. Iterate it once; it closes its connection when done.
    """

    __slots__ = ("_done", "_iterator", "_parser", "_raw", "_strict", "last_event_id", "response")

    def __init__(
        self,
        response: httpx.Response,
        parser: Callable[..., Any] | None = None,
        *,
        lines: AsyncIterator[str] | None = None,
        strict: bool = False,
    ) -> None:
        self.response = response
        self.last_event_id: str | None = None
        self._parser = parser
        self._strict = strict
        self._done = False
        # the client passes its own line reader: bounded, under the call's deadline, typed errors
        self._raw = iter_sse(lines if lines is not None else response.aiter_lines())
        self._iterator: AsyncGenerator[T, None] = self._items()

    async def _items(self) -> AsyncGenerator[T, None]:
        parser = self._parser
        strict = self._strict
        async for sse in self._raw:
            if sse.id is not None:
                self.last_event_id = sse.id
            if sse.data == "[DONE]":
                break
            try:
                data = sse.json()
            except ValueError:
                req = self.response.request
                raise APIConnectionError(
                    f"event data is not valid JSON: {sse.data[:100]!r}",
                    method=req.method,
                    url=f"{req.url.scheme}://{req.url.netloc.decode()}{req.url.path}",
                ) from None
            if sse.event == "error" or (isinstance(data, dict) and set(data) == {"error"}):
                raise _stream_error(self.response, data)
            if parser is None:
                yield data
                continue
            try:
                item = parser(data, strict) if strict else parser(data)
            except ResponseValidationError:
                raise
            except Exception as exc:  # report which event failed
                raise ResponseValidationError(
                    f"{type(exc).__name__}: {exc}", path=f"event {sse.event!r}"
                ) from exc
            yield item

    async def __anext__(self) -> T:
        if self._done:
            raise StopAsyncIteration
        try:
            return await self._iterator.__anext__()
        except BaseException:
            await self.aclose()
            raise

    def __aiter__(self) -> AsyncIterator[T]:
        return self._guarded()

    async def _guarded(self) -> AsyncIterator[T]:
        # A generator, so that leaving an ``async for`` early (break, exception) closes the
        # response as soon as the loop drops it, not only when the stream is collected.
        try:
            while True:
                try:
                    item = await self.__anext__()
                except StopAsyncIteration:
                    return
                yield item
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Stop reading and close the connection (safe to call more than once)."""
        if self._done:
            return
        self._done = True
        try:
            await self._iterator.aclose()
        except RuntimeError:  # pragma: no cover - closed from inside its own iteration
            pass
        finally:
            await self.response.aclose()

    @property
    def closed(self) -> bool:
        """Whether the stream has ended or been closed."""
        return self._done

    async def __aenter__(self: _Self) -> _Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        state = "closed" if self._done else "open"
        return f"<AsyncStream {self.response.request.method} {self.response.request.url.path} ({state})>"


def _stream_error(response: httpx.Response, data: Any) -> Exception:
    from ._errors import APIStatusError

    err = data.get("error") if isinstance(data, dict) else None
    message = err.get("message") if isinstance(err, dict) else err if isinstance(err, str) else None
    req = response.request
    return APIStatusError(
        str(message or "the stream reported an error"),
        status_code=response.status_code,
        method=req.method,
        url=f"{req.url.scheme}://{req.url.netloc.decode()}{req.url.path}",
        request_id=None,
        body=data,
        headers=response.headers,
    )
