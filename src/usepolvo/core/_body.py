"""Reading response bodies with a size bound: compressed bytes and decompressed bytes.

Neither httpx nor aiohttp caps a body, and both inflate a whole network chunk at once: a
1 MB gzip body that inflates to 1 GiB would be held in memory before anything could object.
Here the raw (still encoded) stream is counted as it arrives and decoded by our own
incremental decoder that never produces more than the bytes still allowed, so a body over
``max_response_bytes`` (compressed or decompressed) stops early with
:class:`~usepolvo.core.ResponseTooLargeError`.

Only the encodings the client asks for (``Accept-Encoding: gzip, deflate``) are decoded;
any other ``Content-Encoding`` is an error rather than bytes nobody can read.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from ._errors import APIConnectionError, APIError, APITimeoutError, ResponseTooLargeError
from ._lazy import lazy_module

if TYPE_CHECKING:
    import zlib

    import httpx
else:  # loaded by the first compressed body: importing a client does not need it
    zlib = lazy_module("zlib", globals())

__all__ = ["ACCEPT_ENCODING", "BodyDecoder", "FRAMING_HEADERS", "iter_body", "iter_lines", "read_body"]

#: What the client asks for: the encodings :class:`BodyDecoder` can bound.
ACCEPT_ENCODING = "gzip, deflate"
#: The most a decoder produces in one step (the bound is checked between steps).
_STEP = 256 * 1024
_EOL = r"\r\n|\r|\n"  # compiled (and cached) by re on first use


class BadEncoding(APIConnectionError):
    """The body's compression is corrupt: a transient fault, read again when safe."""


#: the headers that frame a body on the wire: each transport computes them from the body it
#: sends, so a caller may not set them (``_client._check_header``) and the aiohttp transport
#: leaves httpx's to aiohttp
FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding"})


class BodyDecoder:
    """Decode a ``Content-Encoding`` incrementally, never past ``limit`` output bytes."""

    __slots__ = ("_deflate_first", "_fed", "_out", "_z", "limit", "url")

    def __init__(self, encoding: str, limit: int | None, url: str = "") -> None:
        self.limit = limit
        self.url = url
        self._out = 0
        self._fed = False
        self._deflate_first = False
        names = [e.strip().lower() for e in encoding.split(",") if e.strip()]
        names = [e for e in names if e != "identity"]
        if not names:
            self._z = None
        elif names in (["gzip"], ["x-gzip"]):
            self._z = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif names == ["deflate"]:
            self._z = zlib.decompressobj()
            self._deflate_first = True  # zlib-wrapped, or raw deflate (both are sent)
        else:
            raise APIConnectionError(
                f"unsupported Content-Encoding {encoding!r} (asked for {ACCEPT_ENCODING})"
            )

    def _count(self, n: int) -> None:
        self._out += n
        if self.limit is not None and self._out > self.limit:
            raise ResponseTooLargeError(self.limit, url=self.url)

    def feed(self, data: bytes) -> list[bytes]:
        """The decoded bytes of one raw chunk (raises once the bound is passed)."""
        z = self._z
        if z is None:
            self._count(len(data))
            return [data]
        out: list[bytes] = []
        self._fed = self._fed or bool(data)
        while data:
            room = _STEP if self.limit is None else min(_STEP, self.limit - self._out + 1)
            try:
                piece = z.decompress(data, max(room, 1))
            except zlib.error as exc:
                if self._deflate_first:  # not zlib-wrapped: raw deflate
                    self._deflate_first = False
                    self._z = z = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise BadEncoding(f"corrupt compressed body ({exc})") from None
            self._deflate_first = False
            self._count(len(piece))
            if piece:
                out.append(piece)
            if z.eof:
                break
            data = z.unconsumed_tail
        return out

    def flush(self) -> bytes:
        """The rest, once the raw stream has ended."""
        z = self._z
        if z is None:
            return b""
        try:
            rest = z.flush()
        except zlib.error as exc:  # pragma: no cover - flush rarely fails after decompress
            raise BadEncoding(f"corrupt compressed body ({exc})") from None
        self._count(len(rest))
        if self._fed and not z.eof:
            raise BadEncoding("truncated compressed body")
        return rest


async def iter_body(response: httpx.Response, limit: int | None, url: str = "") -> AsyncIterator[bytes]:
    """The decoded body in chunks, raising once more than ``limit`` bytes (raw or decoded)
    have arrived. Transport errors pass through (the caller translates them)."""
    decoder = BodyDecoder(response.headers.get("content-encoding", ""), limit, url)
    raw = 0
    async for chunk in response.aiter_raw():
        raw += len(chunk)
        if limit is not None and raw > limit:
            raise ResponseTooLargeError(limit, url=url)
        for piece in decoder.feed(chunk):
            yield piece
    rest = decoder.flush()
    if rest:
        yield rest


def _framing(headers: httpx.Headers) -> tuple[str | None, bool]:
    """``headers.get("content-length")`` and whether a ``Content-Encoding`` is present, in
    one pass over httpx's header list (two lookups cost more than the rest of a plain read)."""
    items = getattr(headers, "_list", None)  # (name, lowercased name, value), as bytes
    if items is None:
        return headers.get("content-length"), "content-encoding" in headers
    lengths: list[bytes] = []
    encoded = False
    for _, name, value in items:
        if name == b"content-length":
            lengths.append(value)
        elif name == b"content-encoding":
            encoded = True
    if not lengths:
        return None, encoded
    encoding = headers.encoding
    return ", ".join(v.decode(encoding) for v in lengths), encoded


async def _read_plain(response: httpx.Response, limit: int | None, url: str) -> list[bytes]:
    """:func:`iter_body` of a body sent without ``Content-Encoding``, inline: the raw bytes
    are the body, so one count bounds both (the common case, without a decoder and a
    generator per call)."""
    chunks: list[bytes] = []
    raw = 0
    async for chunk in response.aiter_raw():
        raw += len(chunk)
        if limit is not None and raw > limit:
            raise ResponseTooLargeError(limit, url=url)
        if chunk:
            chunks.append(chunk)
    return chunks


async def read_body(response: httpx.Response, limit: int | None, url: str = "") -> bytes:
    """Read the whole (bounded, decoded) body, close the response and keep the bytes on it,
    so ``response.content``/``.text``/``.json()`` work as after httpx's own ``aread()``."""
    if response.is_stream_consumed:  # built with its content (a mock transport): already read
        content = response.content
        if limit is not None and len(content) > limit:
            raise ResponseTooLargeError(limit, url=url)
        return content
    try:
        length, encoded = _framing(response.headers)
        if response.request.method == "HEAD" or response.status_code in (204, 304):
            length = None  # the length of a body that is not sent
        if limit is not None and length is not None and length.isdigit() and int(length) > limit:
            raise ResponseTooLargeError(limit, url=url)  # refused before reading a byte
        fast = getattr(response.stream, "read_bounded", None)  # the aiohttp path: no wrappers
        if fast is not None:
            response.is_stream_consumed = True
            content = await fast(response.headers.get("content-encoding", "") if encoded else "", limit, url)
            response.is_closed = True  # read to the end and given back: nothing left to close
        else:
            if encoded:
                chunks = [piece async for piece in iter_body(response, limit, url)]
            else:
                chunks = await _read_plain(response, limit, url)
            content = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    finally:
        await response.aclose()
    response._content = content  # what Response.aread() stores
    return content


async def iter_lines(
    response: httpx.Response,
    deadline: float | None,
    limit: int | None,
    url: str,
    idempotency_key: str | None,
    translate: Callable[[BaseException, str, str, int], tuple[APIError, bool, bool]],
) -> AsyncIterator[str]:
    """The lines of an event stream (without line ends), read under the call's deadline.

    Each read waits at most until ``deadline`` (the call's ``total_timeout``; the socket
    read timeout bounds a stall between reads); a transport failure becomes the typed error
    ``translate`` makes of it; one line longer than ``limit`` is a
    :class:`ResponseTooLargeError`. Errors are raised outside any ``except`` block, so none
    drags the transport exception (and its request headers) along as its context.
    """
    import asyncio
    import codecs
    import sys

    method = response.request.method
    decoder = BodyDecoder(response.headers.get("content-encoding", ""), None, url)
    text = codecs.getincrementaldecoder("utf-8")("replace")
    raw = response.aiter_raw().__aiter__()
    buf = ""
    while True:
        error: APIError | None = None
        chunk = b""
        ended = False
        try:
            if deadline is None:
                chunk = await raw.__anext__()
            elif sys.version_info >= (3, 11):
                async with asyncio.timeout_at(deadline):
                    chunk = await raw.__anext__()
            else:  # pragma: no cover - Python 3.10
                chunk = await asyncio.wait_for(
                    raw.__anext__(), max(0.0, deadline - asyncio.get_running_loop().time())
                )
        except StopAsyncIteration:
            ended = True
        except TimeoutError:
            error = APITimeoutError("the stream did not end within the total timeout", method=method, url=url)
        except APIConnectionError as exc:  # from the decoder
            error = APIConnectionError(str(exc), method=method, url=url)
        except Exception as exc:  # noqa: BLE001 - no raw transport error reaches the caller
            error = translate(exc, method, url, 1)[0]
            error = type(error)(
                f"the stream broke: {error.args[0].split(' (')[0]} ({type(exc).__name__})",
                method=method,
                url=url,
            )  # type: ignore[call-arg]
        if error is not None:
            error.idempotency_key = idempotency_key
            raise error
        if ended:
            tail = text.decode(decoder.flush(), final=True)
            buf += tail
            for line in re.split(_EOL, buf) if buf else ():
                yield line
            return
        pieces = decoder.feed(chunk)
        buf += "".join(text.decode(p) for p in pieces)
        pos = 0
        for match in re.finditer(_EOL, buf):
            if match.group() == "\r" and match.end() == len(buf):
                break  # maybe the first half of \r\n: wait for the next chunk
            yield buf[pos : match.start()]
            pos = match.end()
        buf = buf[pos:]
        if limit is not None and len(buf) > limit:
            too_large = ResponseTooLargeError(limit, method=method, url=url)
            too_large.idempotency_key = idempotency_key
            raise too_large
