"""An ``httpx.URL`` for a request URL without httpx's parser, when httpx would keep it as it is.

``httpx.Request(method, "https://…")`` parses its URL character by character in pure Python
(control characters, the authority, IP addresses, percent-encoding of every component,
dot segments): on the benchmark's GETs that is a third of building a request, for URLs the
client wrote itself from its base URL, a percent-encoded path and a ``urlencode``-d query.
:func:`parsed_url` parses each origin (scheme, host, port) once with httpx and caches it;
the path and query are taken as they are when httpx would leave them unchanged (characters
of its own ``PATH_SAFE``/``QUERY_SAFE`` sets, which keep ``%`` escapes as written, and no
``.``/``..`` segment, which httpx would remove). Any other URL returns ``None`` and is
parsed by httpx as before, so the URL sent is always exactly httpx's own.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import httpx
from httpx import _urlparse

if TYPE_CHECKING:
    from httpx._urlparse import ParseResult

__all__ = ["parsed_url"]

#: a path and query httpx leaves exactly as they are
_REST = re.compile(
    "(/[" + re.escape(_urlparse.PATH_SAFE) + "]*)(?:\\?([" + re.escape(_urlparse.QUERY_SAFE) + "]*))?"
)
#: origin as given (``https://api.stripe.com``) → httpx's parse of it (no path, no query)
_ORIGINS: dict[str, ParseResult | None] = {}
_MAX_ORIGINS = 64


def _origin(origin: str) -> ParseResult | None:
    try:
        return _ORIGINS[origin]
    except KeyError:
        pass
    ref: ParseResult | None = None
    if "@" not in origin:  # credentials in the URL: httpx's own handling
        try:
            url = httpx.URL(origin)
        except Exception:  # noqa: BLE001 - httpx raises it again, its usual way, on the slow path
            url = None
        if url is not None:
            parsed = url._uri_reference
            if parsed.path == "" and parsed.query is None and parsed.fragment is None and parsed.host:
                ref = parsed
    if len(_ORIGINS) >= _MAX_ORIGINS:  # next-page URLs of many hosts: keep the cache small
        _ORIGINS.clear()
    _ORIGINS[origin] = ref
    return ref


def parsed_url(url: str) -> httpx.URL | None:
    """``httpx.URL(url)``, built from a cached origin, or ``None`` when only httpx's parser
    gives the right answer (then parse ``url`` the usual way)."""
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
    ref = _origin(url[:slash])
    if ref is None:
        return None
    made = httpx.URL.__new__(httpx.URL)
    made._uri_reference = ref._replace(path=path, query=query)
    return made
