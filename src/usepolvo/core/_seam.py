"""The request side of the aiohttp fast path: an ``httpx.Request`` whose parts are built on demand.

On the aiohttp path the wire needs a method, a URL string, header pairs and body bytes; an
``httpx.Request`` parses its URL (pure Python, character by character) and normalizes its
headers, which cost about a fifth of the client's CPU per call on the benchmark, for objects
nothing reads on a plain call. :class:`LazyRequest` *is* an ``httpx.Request`` (the public
contract of ``build_request`` and of errors' ``.request`` holds) that keeps those parts as
given and builds ``url``, ``headers`` and ``stream`` the first time anything asks (then
exactly what ``httpx.Request(method, url, headers=…, content=…)`` would have held).
The transport reads :func:`wire_parts` instead, which gives the given parts while they are
untouched and the built ones once something may have changed them.

A URL skips httpx's parser only when httpx would send it unchanged, which
:func:`usepolvo.core._urls.wire_url` decides (the same decision the httpx transport uses);
any other URL is parsed by httpx as before.
"""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["LazyRequest", "wire_parts"]


class LazyRequest(httpx.Request):
    """An ``httpx.Request`` whose ``url``, ``headers`` and ``stream`` are built when first read.

    Built only by :func:`usepolvo.core._wire.build`, for a URL :func:`usepolvo.core._urls.wire_url` accepts and
    bytes (or no) content.
    """

    #: what ``_wire``'s helpers look for (they stay clear of importing httpx)
    _polvo_lazy = True

    def __init__(
        self,
        method: str,
        url: str,
        netloc: str,
        rest: str,
        items: list[tuple[str, str]],
        content: bytes | None,
        extensions: dict[str, Any],
    ) -> None:
        # httpx.Request.__init__ is not called: it is what this class defers
        self.method = method.upper()
        self.extensions = extensions
        self._content = content or b""
        self._polvo_content = content
        self._polvo_url = url
        self._polvo_netloc = netloc
        self._polvo_rest = rest
        self._polvo_items = items
        self._polvo_built: httpx.Request | None = None
        self._polvo_own_url: httpx.URL | None = None
        self._polvo_own_headers: httpx.Headers | None = None
        self._polvo_own_stream: Any = None

    def _polvo_build(self) -> httpx.Request:
        built = self._polvo_built
        if built is None:
            built = self._polvo_built = httpx.Request(
                self.method, self._polvo_url, headers=self._polvo_items, content=self._polvo_content
            )
        return built

    # ``url``, ``headers`` and ``stream`` are plain attributes on httpx.Request: these
    # properties build them once and take assignments (a redirect, a signer) as httpx does.
    @property
    def url(self) -> httpx.URL:
        own = self._polvo_own_url
        if own is None:
            own = self._polvo_own_url = self._polvo_build().url
        return own

    @url.setter
    def url(self, value: httpx.URL) -> None:
        self._polvo_own_url = value

    @property
    def headers(self) -> httpx.Headers:
        own = self._polvo_own_headers
        if own is None:
            own = self._polvo_own_headers = self._polvo_build().headers
        return own

    @headers.setter
    def headers(self, value: httpx.Headers) -> None:
        self._polvo_own_headers = value

    @property
    def stream(self) -> Any:
        own = self._polvo_own_stream
        if own is None:
            own = self._polvo_own_stream = self._polvo_build().stream
        return own

    @stream.setter
    def stream(self, value: Any) -> None:
        self._polvo_own_stream = value

    def __repr__(self) -> str:  # httpx's own, naming the public type
        return f"<Request({self.method!r}, {str(self.url)!r})>"

    def __getstate__(self) -> dict[str, Any]:  # pickled as httpx pickles a request
        state = dict(self.__dict__)
        state.pop("_polvo_built", None)
        state["_polvo_own_url"] = self.url
        state["_polvo_own_headers"] = self.headers
        state["_polvo_own_stream"] = None
        return state


def wire_parts(request: httpx.Request) -> tuple[str, list[tuple[str, str]] | None, str | None, str]:
    """``(URL, header pairs, netloc, path and query)`` of ``request`` as it goes on the wire.

    Header pairs (and netloc, path) are ``None`` when the transport must read them from the
    built request (something read or replaced its headers or URL, so it may have changed
    them)."""
    if type(request) is LazyRequest:
        url = request._polvo_url if request._polvo_own_url is None else str(request._polvo_own_url)
        if request._polvo_own_headers is None:
            return url, request._polvo_items, request._polvo_netloc, request._polvo_rest
        return url, None, None, ""
    return str(request.url), None, None, ""
