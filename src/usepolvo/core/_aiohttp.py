"""An httpx transport that sends through aiohttp (``pip install 'usepolvo[aiohttp]'``).

The client keeps speaking httpx (requests, responses, errors, timeouts), so every feature
works unchanged; only the wire work moves to aiohttp's C-accelerated HTTP parser, which on
our benchmark costs far less CPU per request than httpcore + h11. Select it with
``StripeClient(transport="aiohttp")`` (or any client), or ``POLVO_TRANSPORT=aiohttp``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import httpx

from ._body import FRAMING_HEADERS, BodyDecoder
from ._errors import ConfigurationError, ResponseTooLargeError
from ._seam import wire_parts

if TYPE_CHECKING:
    import aiohttp

__all__ = ["AiohttpTransport"]

# aiohttp computes these itself from the body it is given (``Host`` is passed on: httpx's,
# from the URL, or the caller's own, which httpx sends too)
_SKIP_TEXT = FRAMING_HEADERS
_SKIP = frozenset(name.encode() for name in FRAMING_HEADERS)


def _aiohttp() -> Any:
    try:
        import aiohttp
    except ImportError:
        raise ConfigurationError(
            "the aiohttp transport needs aiohttp: pip install 'usepolvo[aiohttp]'"
        ) from None
    return aiohttp


def _yarl_url(url: str, *, encoded: bool) -> Any:
    import yarl  # a dependency of aiohttp: present whenever this transport is

    return yarl.URL(url, encoded=encoded)


def _version(version: Any) -> bytes:
    """The status line's protocol, as httpx reports it (``HTTP/1.0`` stays ``HTTP/1.0``)."""
    if version is None or version == (1, 1):
        return b"HTTP/1.1"
    return f"HTTP/{version[0]}.{version[1]}".encode()


#: httpcore's bound on a response head (h11 ``max_incomplete_event_size``): aiohttp's own
#: default refuses any header line over 8190 bytes, which httpx accepts
_HEAD_LIMIT = 100 * 1024


def _head_limits(aiohttp: Any) -> dict[str, int]:
    """``ClientSession`` arguments that let one status or header line be as long as httpx allows."""
    import inspect

    params = inspect.signature(aiohttp.ClientSession.__init__).parameters
    limits = {k: _HEAD_LIMIT for k in ("max_line_size", "max_field_size") if k in params}
    if "max_headers" in params:  # aiohttp refuses more than 128 lines; h11 bounds only the size
        limits["max_headers"] = _HEAD_LIMIT // 4  # the fewest bytes a header line takes ("a:\r\n")
    return limits


class _NotPostLike:
    """A set of every method but ``POST``, ``PUT`` and ``PATCH`` (membership tests only)."""

    def __contains__(self, method: object) -> bool:
        return method not in ("POST", "PUT", "PATCH")


def _request_class(aiohttp: Any) -> Any:
    """aiohttp's request, minus its ``Content-Length: 0`` on a body-less DELETE (or any method
    but POST, PUT and PATCH, which httpx gives one): the same request head as httpx."""
    base = aiohttp.ClientRequest

    class _Request(base):  # type: ignore[misc, valid-type]
        # aiohttp asks `method in GET_METHODS` only: every method but POST, PUT and PATCH
        # (DELETE, CONNECT, PURGE, any extension method) is body-less unless given a body
        GET_METHODS = _NotPostLike()

        def update_expect_continue(self, expect: bool = False) -> None:
            # a caller's ``Expect: 100-continue`` is sent as a header, the body at once, as
            # httpx does: aiohttp would hold the body for a `100 Continue` that may never come
            return None

    return _Request


class _ReadErrors:
    """aiohttp's errors while reading a body, raised as httpx's (every read path of the body)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if exc is None:
            return
        aiohttp = _aiohttp()
        if isinstance(exc, aiohttp.ClientPayloadError):
            raise httpx.RemoteProtocolError(f"truncated or corrupt body: {exc}") from exc
        if isinstance(exc, aiohttp.ServerTimeoutError):  # a connection error *and* a timeout: the timeout
            raise httpx.ReadTimeout("timed out reading the body") from exc
        if isinstance(exc, aiohttp.ClientConnectionError):
            raise httpx.ReadError(str(exc) or type(exc).__name__) from exc
        if isinstance(exc, asyncio.TimeoutError):
            raise httpx.ReadTimeout("timed out reading the body") from exc


_READ_ERRORS = _ReadErrors()


class _Body(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self._done = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _READ_ERRORS:
            async for chunk in self._response.content.iter_any():
                yield chunk
            self._done = True

    async def read_bounded(self, encoding: str, limit: int | None, url: str) -> bytes:
        """The whole body, decoded: what ``_body.iter_body`` yields, read straight from
        aiohttp's buffer (none of httpx's stream wrappers), with the same bounds and errors."""
        content = self._response.content
        decoder = BodyDecoder(encoding, limit, url) if encoding else None
        chunks: list[bytes] = []
        raw = 0
        with _READ_ERRORS:
            while True:
                chunk = await content.readany()
                if not chunk:
                    break
                raw += len(chunk)
                if limit is not None and raw > limit:
                    raise ResponseTooLargeError(limit, url=url)
                if decoder is None:
                    chunks.append(chunk)
                else:
                    chunks.extend(decoder.feed(chunk))
            self._done = True
        if decoder is not None:
            rest = decoder.flush()  # raising: the body was read whole, aclose() releases
            if rest:
                chunks.append(rest)
        self._response.release()  # read to the end: the connection is reusable
        if len(chunks) == 1:
            return chunks[0]
        return b"".join(chunks)

    async def aclose(self) -> None:
        if self._done:
            self._response.release()  # read to the end: the connection is reusable
        else:
            self._response.close()  # left mid-body (timeout, bound, cancel): drop it


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One aiohttp session (connection pool) per transport, created on first request."""

    def __init__(self, *, max_connections: int = 0, keepalive_timeout: float = 15.0) -> None:
        _aiohttp()  # fail at construction, with the install hint, not on the first request
        self._limit = max_connections
        self._keepalive = keepalive_timeout
        self._session: aiohttp.ClientSession | None = None
        #: (connect, read) → ClientTimeout: a request's timeouts are almost always the client's
        self._timeouts: dict[tuple[Any, Any], Any] = {}

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            aiohttp = _aiohttp()
            connector = aiohttp.TCPConnector(limit=self._limit, keepalive_timeout=self._keepalive)
            # httpx decodes content-encoding itself and sets every header it wants (aiohttp
            # would add `Content-Type: application/octet-stream` to a body-less POST/PUT/PATCH)
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
                request_class=_request_class(aiohttp),
                **_head_limits(aiohttp),
            )
            # aiohttp >= 3.10 resends a GET/PUT/DELETE once, unseen, when the connection drops
            # (a reset, a close): polvo's attempt loop owns retries (counted, hooked, limited,
            # logged), so one attempt must be one request (aiohttp's own test client does this).
            if hasattr(self._session, "_retry_connection"):
                self._session._retry_connection = False
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        aiohttp = _aiohttp()
        session = self._get_session()
        t = request.extensions.get("timeout") or {}
        key = (t.get("connect"), t.get("read"))
        timeout = self._timeouts.get(key)
        if timeout is None:
            if len(self._timeouts) > 64:  # per-call timeouts that vary: keep the cache small
                self._timeouts.clear()
            timeout = self._timeouts[key] = aiohttp.ClientTimeout(
                total=None, connect=key[0], sock_connect=key[0], sock_read=key[1]
            )
        url_text, pairs, _, _ = wire_parts(request)
        if pairs is not None:  # a lazy request nobody touched: its parts as given
            headers = [kv for kv in pairs if kv[0].lower() not in _SKIP_TEXT]
            body = request._content
        else:
            headers = [
                (k.decode("latin-1"), v.decode("latin-1"))
                for k, v in request.headers.raw
                if k.lower() not in _SKIP
            ]
            body = await request.aread()
        if not url_text.startswith(("https://", "http://")):  # httpcore's check and error
            scheme = url_text.partition(":")[0]
            raise httpx.UnsupportedProtocol(
                f"Request URL has an unsupported protocol '{scheme}://'.", request=request
            )
        # httpx has already encoded the URL; letting yarl re-quote it would decode `%2E` and
        # resolve dot segments, sending the request to another route.
        url = _yarl_url(url_text, encoded=True)
        if "@" in url_text and (url.raw_user is not None or url.raw_password is not None):
            # a redirect to `user:pass@host`: httpx's transport sends no credentials from a
            # URL, aiohttp would turn them into `Authorization: Basic`
            url = url.with_user(None)
        try:
            response = await session.request(
                request.method,
                url,
                headers=headers,
                # httpx gives an empty body no `Content-Length` (POST, PUT and PATCH get `0`,
                # which aiohttp adds too)
                data=body or None,
                allow_redirects=False,
                timeout=timeout,
                compress=None,
            )
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
        except aiohttp.ServerTimeoutError as exc:
            raise httpx.ReadTimeout(str(exc) or "timed out", request=request) from exc
        except asyncio.TimeoutError as exc:
            raise httpx.ConnectTimeout("timed out connecting", request=request) from exc
        except aiohttp.ClientPayloadError as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc
        except aiohttp.ServerDisconnectedError as exc:  # closed before any answer: httpcore's error
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from exc
        except aiohttp.ClientConnectionError as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc
        except aiohttp.ClientResponseError as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc
        except (ValueError, TypeError, UnicodeError) as exc:  # a header or URL aiohttp refuses
            raise httpx.LocalProtocolError(type(exc).__name__, request=request) from None
        raw_headers = response.raw_headers
        # h11 refuses a head over ``_HEAD_LIMIT`` bytes (aiohttp bounds lines, not the head)
        if sum(len(k) + len(v) + 4 for k, v in raw_headers) > _HEAD_LIMIT:
            response.close()
            raise httpx.RemoteProtocolError("the response head is too large", request=request)
        trace = request.extensions.get("trace")
        if trace is not None:
            # Tell httpx's trace extension the request is written. aiohttp's own tracing
            # costs ~25% of a request, so this fires once the answer's head is in: later than
            # the write, which only makes the limiter's rate window more conservative.
            await trace("http11.send_request_body.complete", {})
        return httpx.Response(
            status_code=response.status,
            headers=list(raw_headers),
            stream=_Body(response),
            request=request,
            extensions={
                "http_version": _version(response.version),
                # aiohttp decodes a non-UTF-8 reason with surrogateescape: give the bytes back
                "reason_phrase": (response.reason or "").encode("utf-8", "surrogateescape"),
                # read from aiohttp's C multidict: spares the direct send an httpx header scan
                "usepolvo.set_cookie": "Set-Cookie" in response.headers,
            },
        )

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            with contextlib.suppress(RuntimeError):  # its loop is gone: nothing left to close
                await session.close()
