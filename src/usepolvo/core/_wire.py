"""The direct send of the aiohttp fast path: ``AsyncClient.send`` minus httpx's bookkeeping.

With ``transport="aiohttp"`` the wire work is aiohttp's, yet ``httpx.AsyncClient.send``
still ran its auth flow, redirect loop, timers and response wrappers around every request:
about a fifth of the client's CPU per request on the benchmark. :func:`send` does what
``send(request, stream=True)`` does on a pool the SDK built (no client auth, redirects
followed, the pool's response hooks, cookies kept, the pool's timeouts, httpx's
``HTTP Request`` log line), calling the
transport directly. Redirects are built by httpx's own ``_build_redirect_request`` (method
rewrite, ``Authorization`` dropped on another origin, cookies), so the policy is httpx's.

Pools that are not ours (``http_client=``, a :class:`usepolvo.testing.MockAPI` pool, the
httpx transport) keep going through ``AsyncClient.send``: :func:`direct_transport` says
which.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._lazy import lazy_module

if TYPE_CHECKING:
    import logging
    import urllib.parse as _parse

    import httpx
else:  # the client imports this module: a client import must not load logging or urllib.parse
    logging = lazy_module("logging", globals())
    _parse = lazy_module("urllib.parse", globals(), "_parse")

__all__ = ["build", "direct_transport", "header_of", "path_of", "safe_url_of", "send"]

#: httpx's logger: its "HTTP Request: …" line is kept (and masked like httpx's own); looked
#: up by the first send (:func:`_httpx_log`)
_HTTPX_LOG: logging.Logger | None = None


def _httpx_log() -> logging.Logger:
    global _HTTPX_LOG
    _HTTPX_LOG = logging.getLogger("httpx")
    return _HTTPX_LOG


_DIRECT: list[type] = []  # [AiohttpTransport], once a pool has asked


def direct_transport(http: httpx.AsyncClient) -> Any:
    """The pool's transport when requests may skip ``AsyncClient.send`` (our aiohttp one)."""
    transport = getattr(http, "_transport", None)
    if not _DIRECT:
        if type(transport).__name__ != "AiohttpTransport":
            return None  # the httpx path never loads the aiohttp one
        from ._aiohttp import AiohttpTransport

        _DIRECT.append(AiohttpTransport)
    if type(transport) is _DIRECT[0] and not http._mounts and http.auth is None:
        return transport
    return None


async def send(http: httpx.AsyncClient, transport: Any, request: httpx.Request) -> httpx.Response:
    """``await http.send(request, stream=True)`` on a pool whose transport is ``transport``.

    The answer comes back unread (its stream open), as with ``stream=True``.
    """
    import httpx

    if not getattr(type(request), "_polvo_lazy", False) and request.url.userinfo:
        # credentials in the URL (a server's next-page link): httpx's send turns them into
        # Basic auth over the request's own Authorization; only its auth flow does that
        return await http.send(request, stream=True)
    if "timeout" not in request.extensions:
        request.extensions = dict(**request.extensions, timeout=http.timeout.as_dict())
    hooks = http.event_hooks
    history = 0
    while True:
        if history > http.max_redirects:
            raise httpx.TooManyRedirects("Exceeded maximum allowed redirects.", request=request)
        for hook in hooks["request"]:
            await hook(request)
        response: httpx.Response = await transport.handle_async_request(request)
        response.request = request
        if response.extensions.get("usepolvo.set_cookie", True):
            http.cookies.extract_cookies(response)
        log = _HTTPX_LOG or _httpx_log()
        if log.isEnabledFor(logging.INFO):  # the line httpx's own send logs
            log.info(
                'HTTP Request: %s %s "%s %d %s"',
                request.method,
                request.url,
                response.http_version,
                response.status_code,
                response.reason_phrase,
            )
        try:
            for hook in hooks["response"]:
                await hook(response)
            if not response.has_redirect_location:
                return response
            request = http._build_redirect_request(request, response)
            history += 1
            await response.aread()
        except BaseException:
            await response.aclose()
            raise


def build(
    http: httpx.AsyncClient, method: str, url: str, headers: dict[str, str], content: bytes | None
) -> Any:
    """``http.build_request(method, url, headers=headers, content=content)`` for a pool the SDK
    built (no base URL, params or auth), or ``None`` where that shortcut would differ (the pool
    holds cookies). The same request, built without httpx's URL/header/cookie merging; on the
    aiohttp path a :class:`~usepolvo.core._seam.LazyRequest` whose URL and headers httpx
    parses only if something reads them."""
    import httpx

    if http.cookies:  # cookies a server set: let httpx merge them
        return None
    # httpx's merge: the pool's headers minus those the request names, then the request's
    # (names and values are checked ASCII by ``_check_header``)
    if direct_transport(http) is not None:
        from ._seam import LazyRequest
        from ._urls import wire_url

        parts = wire_url(url)
        if parts is not None:
            pairs = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in http.headers.raw]
            if headers:
                names = {k.lower() for k in headers}
                pairs = [kv for kv in pairs if kv[0].lower() not in names]
                pairs.extend(headers.items())
            return LazyRequest(
                method, parts[0], parts[1], parts[2], pairs, content, {"timeout": http.timeout.as_dict()}
            )
    items: list[tuple[Any, Any]] = list(http.headers.raw)
    if headers:
        names_b = {k.lower().encode("latin-1") for k in headers}
        items = [kv for kv in items if kv[0].lower() not in names_b]
        items.extend(headers.items())
    return httpx.Request(
        method,
        url,
        headers=items,
        content=content,
        extensions={"timeout": http.timeout.as_dict()},
    )


def header_of(request: Any, name: str) -> str | None:
    """``request.headers.get(name)`` without building a lazy request's headers."""
    if getattr(type(request), "_polvo_lazy", False) and request._polvo_own_headers is None:
        wanted = name.lower()
        values = [v for k, v in request._polvo_items if k.lower() == wanted]
        return ", ".join(values) if values else None
    value: str | None = request.headers.get(name)
    return value


def path_of(request: Any) -> str:
    """``request.url.path`` (percent-decoded) without parsing a lazy request's URL."""
    if getattr(type(request), "_polvo_lazy", False) and request._polvo_own_url is None:
        path: str = request._polvo_rest.partition("?")[0]
        return _parse.unquote(path) if "%" in path else path
    whole: str = request.url.path
    return whole


def safe_url_of(request: Any) -> str:
    """Scheme, host and path only (a query string may carry secrets)."""
    if getattr(type(request), "_polvo_lazy", False) and request._polvo_own_url is None:
        text: str = request._polvo_url
        netloc: str = request._polvo_netloc
        return text[: text.index("://") + 3] + netloc + path_of(request)
    url = request.url
    safe: str = f"{url.scheme}://{url.netloc.decode()}{url.path}"
    return safe
