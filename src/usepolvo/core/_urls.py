"""Request URLs without httpx's parser, when httpx would send them as they are.

``httpx.URL("https://…")`` parses its URL character by character in pure Python (control
characters, the authority, IP addresses, percent-encoding of every component, dot segments):
on the benchmark's GETs that is a third of building a request, for URLs the client wrote
itself from its base URL, a percent-encoded path and a ``urlencode``-d query. This module
owns the one decision of when that parse can be skipped: each origin (scheme, host, port) is
parsed once by httpx and cached; the path and query are taken as they are when httpx would
leave them unchanged (characters of its own ``PATH_SAFE``/``QUERY_SAFE`` sets, which keep
``%`` escapes as written, no ``.``/``..`` segment, which httpx would remove, no credentials,
not longer than httpx allows). Any other URL gives ``None`` and is parsed by httpx as before,
so the URL sent is always exactly httpx's own.

Two forms of the answer: :func:`parsed_url` (an ``httpx.URL``, for the httpx transport) and
:func:`wire_url` (the URL text, for the aiohttp path's lazy request, ``core/_seam.py``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NamedTuple

import httpx
from httpx import _urlparse

if TYPE_CHECKING:
    from httpx._urlparse import ParseResult

__all__ = ["parsed_url", "wire_url"]

#: a path and query httpx leaves exactly as they are
_REST = re.compile(
    "(/[" + re.escape(_urlparse.PATH_SAFE) + "]*)(?:\\?([" + re.escape(_urlparse.QUERY_SAFE) + "]*))?"
)
_MAX_ORIGINS = 64


class _Origin(NamedTuple):
    """An origin as httpx parses it (path ``/``), as it writes it, and its ``netloc``."""

    ref: ParseResult
    text: str
    netloc: str


#: origin as given (``https://api.stripe.com``) → httpx's reading of it, or None (its parser's job)
_ORIGINS: dict[str, _Origin | None] = {}


def _origin(origin: str) -> _Origin | None:
    try:
        return _ORIGINS[origin]
    except KeyError:
        pass
    known: _Origin | None = None
    if "@" not in origin:  # credentials in the URL: httpx's own handling
        try:
            url = httpx.URL(origin + "/")
        except Exception:  # noqa: BLE001 - httpx raises it again, its usual way, on the slow path
            url = None
        if url is not None:
            ref = url._uri_reference
            text = str(url)
            if (
                ref.host
                and ref.path == "/"
                and ref.query is None
                and ref.fragment is None
                and text.endswith("/")
            ):
                known = _Origin(ref, text[:-1], url.netloc.decode("ascii"))
    if len(_ORIGINS) >= _MAX_ORIGINS:  # next-page URLs of many hosts: keep the cache small
        _ORIGINS.clear()
    _ORIGINS[origin] = known
    return known


def _split(url: str) -> tuple[_Origin, str, str | None, int] | None:
    """The cached origin, path, query and where the path starts, or None (httpx's parser)."""
    start = url.find("://")
    if start < 0:
        return None
    slash = url.find("/", start + 3)
    if slash < 0 or len(url) > _urlparse.MAX_URL_LENGTH:
        return None
    match = _REST.fullmatch(url, slash)
    if match is None:
        return None
    path, query = match.group(1, 2)
    if "." in path:
        segments = path.split("/")
        if "." in segments or ".." in segments:
            return None  # httpx removes dot segments
    origin = _origin(url[:slash])
    if origin is None:
        return None
    return origin, path, query, slash


def parsed_url(url: str) -> httpx.URL | None:
    """``httpx.URL(url)``, built from a cached origin, or ``None`` when only httpx's parser
    gives the right answer (then parse ``url`` the usual way)."""
    split = _split(url)
    if split is None:
        return None
    origin, path, query, _ = split
    made = httpx.URL.__new__(httpx.URL)
    made._uri_reference = origin.ref._replace(path=path, query=query)
    return made


def wire_url(url: str) -> tuple[str, str, str] | None:
    """``(str(httpx.URL(url)), netloc, path and query)`` without httpx's parser, or ``None``
    when ``url`` is not one httpx sends unchanged after its origin."""
    split = _split(url)
    if split is None:
        return None
    origin, _, _, slash = split
    rest = url[slash:]
    return origin.text + rest, origin.netloc, rest
