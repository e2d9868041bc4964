"""Mock polvo clients in your own tests, on either transport.

pytest-httpx and respx patch httpx's own transport, so they see polvo's requests only on the
default ``httpx`` transport; with ``POLVO_TRANSPORT=aiohttp`` the requests slip past them.
:class:`MockAPI` sits in front of both: while it is active, every polvo client (whichever
transport it was built for, with or without your own ``http_client=``) sends to it instead
of the network, with the same headers, encoding, typed errors and retries as for real::

    from usepolvo.stripe import StripeClient
    from usepolvo.testing import MockAPI

    async def test_lists_customers() -> None:
        with MockAPI() as api:
            route = api.get("/v1/customers", json={"object": "list", "data": [], "has_more": False})
            async with StripeClient(api_key="sk_test_x") as stripe:
                page = await stripe.customers.list_customers(size=10)
        assert page.data == [] and route.calls[0].url.params["limit"] == "10"

Clients created while a mock is active skip their provider's default client-side rate limit
(``MockAPI(rate_limit=True)`` keeps it); for clients created elsewhere (at import time, in
fixtures), set ``POLVO_RATE_LIMIT=off`` before they are built, or pass ``rate_limit=None``.
"""

from __future__ import annotations

import inspect
import re
import weakref
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from .core import _testhooks

if TYPE_CHECKING:
    from .core import BaseClient

__all__ = ["MockAPI", "Route", "UnmatchedRequestError"]

Handler = Callable[[httpx.Request], "httpx.Response | Awaitable[httpx.Response]"]

_UNSET: Any = object()


class UnmatchedRequestError(AssertionError):
    """A request no route of the active :class:`MockAPI` answers (raised from the call)."""


class Route:
    """One registered answer: what it matches, what it returns, and the requests it got."""

    def __init__(
        self,
        method: str,
        path: str | re.Pattern[str],
        *,
        params: Mapping[str, str] | None,
        handler: Handler,
        times: int | None,
    ) -> None:
        self.method = method.upper()
        self.path = path
        self.params = dict(params or {})
        self.handler = handler
        self.times = times
        #: the requests this route answered, oldest first
        self.calls: list[httpx.Request] = []

    @property
    def called(self) -> bool:
        return bool(self.calls)

    @property
    def exhausted(self) -> bool:
        return self.times is not None and len(self.calls) >= self.times

    def matches(self, request: httpx.Request) -> bool:
        if request.method != self.method or self.exhausted:
            return False
        # The path as sent (percent-encoded) or decoded; a decoded path whose encoded form
        # carries a %2F (an id holding '/') only matches written encoded, so an id like
        # "cus/1" never answers as the sub-path /v1/customers/cus/1.
        raw = request.url.raw_path.split(b"?", 1)[0].decode("ascii")
        decoded = request.url.path
        candidates = (raw,) if "%2f" in raw.lower() else (raw, decoded)
        if isinstance(self.path, re.Pattern):
            pattern = self.path
            if not any(pattern.fullmatch(c) is not None for c in candidates):
                return False
        elif self.path not in candidates:
            return False
        query = request.url.params
        return all(query.get(k) == v for k, v in self.params.items())

    def __repr__(self) -> str:
        path = self.path.pattern if isinstance(self.path, re.Pattern) else self.path
        times = "" if self.times is None else f", {len(self.calls)}/{self.times} used"
        return f"<Route {self.method} {path}{times}>"


class MockAPI:
    """Answer every polvo client's requests from registered routes, without a network.

    Register with :meth:`add` (or :meth:`get`, :meth:`post`, :meth:`delete`, …): a method,
    the URL path (exact, or a compiled regex matched in full; decoded, ``/v1/customers/cus é``,
    or as sent, ``/v1/customers/cus%20%C3%A9`` — an id holding ``/`` only as sent,
    ``/v1/customers/cus%2F1``), optionally query ``params``
    the request must carry, and the answer — ``status``, ``json`` or ``content``,
    ``headers`` — or a ``handler`` (sync or async) that builds an ``httpx.Response`` (or
    raises ``httpx.ConnectError``, ``httpx.ReadTimeout``… to play a network failure).
    Routes are tried in the order added; ``times=n`` answers n requests, then lets later
    routes answer (e.g. a 500 once, then a 200, to exercise retries). A request no route
    answers raises :class:`UnmatchedRequestError` from the call. Leaving the block asserts
    that every route was called (``assert_all_called=False`` to skip). ``requests`` lists
    everything sent, in order.

    Use as ``with MockAPI() as api:`` or ``async with``; one mock is active at a time.
    """

    def __init__(self, *, assert_all_called: bool = True, rate_limit: bool = False) -> None:
        self.assert_all_called = assert_all_called
        self._rate_limit = rate_limit
        self.routes: list[Route] = []
        #: every request sent while the mock was active, oldest first
        self.requests: list[httpx.Request] = []
        self._transport = httpx.MockTransport(self._dispatch)
        self._pools: weakref.WeakKeyDictionary[BaseClient, httpx.AsyncClient] = weakref.WeakKeyDictionary()

    # -- registering ----------------------------------------------------------------------

    def add(
        self,
        method: str,
        path: str | re.Pattern[str],
        *,
        status: int = 200,
        json: Any = _UNSET,
        content: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        handler: Handler | None = None,
        times: int | None = None,
    ) -> Route:
        """Register an answer for ``method path``; returns the :class:`Route` (see ``calls``)."""
        if handler is not None and (json is not _UNSET or content is not None):
            raise ValueError("pass either handler= or json=/content=, not both")
        if json is not _UNSET and content is not None:
            raise ValueError("pass either json= or content=, not both")
        if isinstance(path, str) and not path.startswith("/"):
            raise ValueError(f"path must be the URL path, starting with '/': got {path!r}")
        if handler is None:
            handler = _static(status, json, content, headers)
        route = Route(method, path, params=params, handler=handler, times=times)
        self.routes.append(route)
        return route

    def get(self, path: str | re.Pattern[str], **kwargs: Any) -> Route:
        return self.add("GET", path, **kwargs)

    def post(self, path: str | re.Pattern[str], **kwargs: Any) -> Route:
        return self.add("POST", path, **kwargs)

    def put(self, path: str | re.Pattern[str], **kwargs: Any) -> Route:
        return self.add("PUT", path, **kwargs)

    def patch(self, path: str | re.Pattern[str], **kwargs: Any) -> Route:
        return self.add("PATCH", path, **kwargs)

    def delete(self, path: str | re.Pattern[str], **kwargs: Any) -> Route:
        return self.add("DELETE", path, **kwargs)

    # -- the interceptor seam -------------------------------------------------------------

    @property
    def rate_limit(self) -> bool:
        return self._rate_limit

    def pool(self, client: BaseClient) -> httpx.AsyncClient:
        pool = self._pools.get(client)
        if pool is None:
            pool = httpx.AsyncClient(
                transport=self._transport,
                headers=client._headers,
                timeout=httpx.Timeout(client.timeout, connect=client.connect_timeout),
                follow_redirects=True,
            )
            self._pools[client] = pool
        return pool

    async def _dispatch(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        for route in self.routes:
            if route.matches(request):
                route.calls.append(request)
                answer = route.handler(request)
                if inspect.isawaitable(answer):
                    answer = await answer
                if answer.is_stream_consumed:
                    # httpx.Response(content=...) arrives already read; the client reads
                    # every body as a stream, so hand it an unread copy
                    answer = httpx.Response(
                        answer.status_code,
                        headers=answer.headers,
                        stream=httpx.ByteStream(answer.content),
                        extensions=answer.extensions,
                    )
                return answer
        known = "\n".join(f"  {r!r}" for r in self.routes) or "  (none)"
        raise UnmatchedRequestError(
            f"no route of the MockAPI answers {request.method} {request.url}; routes:\n{known}"
        )

    # -- activation ---------------------------------------------------------------------------

    def start(self) -> MockAPI:
        if _testhooks.interceptor is not None:
            raise RuntimeError("another MockAPI is already active")
        _testhooks.interceptor = self
        _testhooks.passthrough = (UnmatchedRequestError,)
        return self

    def stop(self, *, check: bool = True) -> None:
        if _testhooks.interceptor is self:
            _testhooks.interceptor = None
            _testhooks.passthrough = ()
        self._pools.clear()
        if check and self.assert_all_called:
            unused = [r for r in self.routes if not r.called]
            if unused:
                raise AssertionError(f"routes never called: {unused}")

    def __enter__(self) -> MockAPI:
        return self.start()

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.stop(check=exc_type is None)

    async def __aenter__(self) -> MockAPI:
        return self.start()

    async def __aexit__(self, exc_type: object, *_: object) -> None:
        self.stop(check=exc_type is None)


def _static(
    status: int, json: Any, content: bytes | str | None, headers: Mapping[str, str] | None
) -> Handler:
    def answer(request: httpx.Request) -> httpx.Response:
        if json is not _UNSET:
            return httpx.Response(status, json=json, headers=headers)
        return httpx.Response(status, content=content or b"", headers=headers)

    return answer
