"""The hand-written base of every generated client: transport, auth, retries, errors.

A generated ``StripeClient`` (or ``GitHubClient``…) subclasses :class:`BaseClient` and only
adds its provider settings and its resources. A client keeps one connection pool (an
``httpx.AsyncClient``) per event loop it is used in, created on first use in that loop and
closed by ``aclose()`` / ``async with``, or, for a loop that ends first (``asyncio.run``
returning), when that loop shuts down. After ``aclose()`` the client refuses new calls.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, ClassVar, ParamSpec, TypedDict, TypeVar, cast

from . import _testhooks
from ._body import ACCEPT_ENCODING, FRAMING_HEADERS, BadEncoding, read_body
from ._capture import CAPTURE, observe, safe_headers
from ._config import ProviderConfig
from ._encoding import encode_form, encode_path, encode_query, to_jsonable
from ._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    ConfigurationError,
    PolvoError,
    RateLimitError,
    ResponseTooLargeError,
    ResponseValidationError,
    error_class_for,
)
from ._json import dumps, loads
from ._lazy import lazy_module
from ._limiter_base import LimiterProtocol
from ._limits import Limiter
from ._logging import guard_wire_logs, log_attempt, redact
from ._operation import Operation
from ._retry import (
    READ_METHODS,
    RetryPolicy,
    budget_reset,
    is_replayable,
    next_wait,
    retry_after,
    server_verdict,
    should_retry_status,
)
from ._types import NOT_GIVEN, NotGiven

if TYPE_CHECKING:
    import asyncio
    import math
    import urllib.parse as _parse
    import uuid

    import httpx

    from . import _urls, _wire
    from ._auth import Auth
    from ._hooks import Hooks, RequestHook, ResponseHook
    from ._pagination import AsyncPaginator
    from ._ratelimit import RateLimitInfo
    from ._raw_response import APIResponse
else:
    asyncio = lazy_module("asyncio", globals())
    # the send path's helpers: loaded by the first request (a client import does not need
    # them); after that ``_wire`` is the module itself, no per-call import
    _wire = lazy_module("usepolvo.core._wire", globals(), "_wire")
    math = lazy_module("math", globals())
    uuid = lazy_module("uuid", globals())
    # loads with the first query or form body (it imports ipaddress): not at client import
    _parse = lazy_module("urllib.parse", globals(), "_parse")
    _urls = lazy_module("usepolvo.core._urls", globals())

__all__ = ["BaseClient", "ClientOptions", "RequestOptions"]

_P = ParamSpec("_P")
_T = TypeVar("_T")
_Self = TypeVar("_Self", bound="BaseClient")
#: the client whose next request, in this task, is sent by ``redirect_url`` (not followed)
_REDIRECT_ONLY: ContextVar[BaseClient | None] = ContextVar("polvo_redirect_only", default=None)

#: The default bound on one response body, compressed or decompressed (per call:
#: ``request_options={"max_response_bytes": n}``; ``None`` turns it off).
DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024


class RequestOptions(TypedDict, total=False):
    """Per-call settings, passed as ``request_options=`` to any generated method.

    ``timeout`` (between two reads, and with ``connect_timeout`` the bound of each attempt
    from connecting to the last byte of the answer), ``connect_timeout``, ``total_timeout`` (the whole call: waits for the
    limiter, every attempt with its body, the backoffs between them and a stream's events)
    and ``max_response_bytes`` override the client's; so do ``max_retries``,
    ``initial_backoff`` and ``max_backoff``. ``strict`` validates the response against the
    spec (see :class:`BaseClient`). An unknown key is a ``ConfigurationError``.
    """

    timeout: float | None
    connect_timeout: float | None
    total_timeout: float | None
    max_response_bytes: int | None
    max_retries: int
    initial_backoff: float
    max_backoff: float
    headers: Mapping[str, str]
    query: Mapping[str, Any]
    idempotency_key: str
    api_version: str
    strict: bool


class ClientOptions(TypedDict, total=False):
    """The keyword arguments of :class:`BaseClient`, for the signatures of generated clients
    (``**options: Unpack[ClientOptions]``); see :class:`BaseClient` for their meaning."""

    base_url: str | None
    timeout: float | None
    connect_timeout: float | None
    total_timeout: float | None
    max_response_bytes: int | None
    max_retries: int | RetryPolicy
    max_concurrency: int | NotGiven | None
    rate_limit: float | tuple[float, float] | NotGiven | None
    limiter: LimiterProtocol | None
    default_headers: Mapping[str, str] | None
    http_client: httpx.AsyncClient | None
    auth: Auth | None
    transport: str | None
    strict: bool | None
    on_request: Sequence[RequestHook] | None
    on_response: Sequence[ResponseHook] | None


class BaseClient:
    """Shared machinery of all provider clients. Subclasses set ``_config``.

    Limits, retries and timeouts (all optional; the defaults come from the provider):

    - ``max_concurrency``: requests in flight, shared by all resources (``None``: no limit);
    - ``rate_limit``: requests per second, or ``(points, seconds)`` (``None``: none);
      Stripe defaults to 100/s, 25/s with ``sk_test_``/``rk_test_`` keys;
    - ``limiter``: a :class:`Limiter` to use instead (share one between clients), or a
      :class:`RedisLimiter` to share one budget between processes and hosts (also chosen
      by ``POLVO_LIMITER_URL=redis://…``);
    - ``max_retries``: repeats after the first attempt, or a :class:`RetryPolicy`
      (backoff bounds, the longest server-advised wait honoured);
    - ``timeout`` (60 s) between two reads; ``connect_timeout`` (10 s) to connect; each
      attempt ends within ``connect_timeout + timeout``, from connecting to the last byte
      (a stream's events are bounded by ``total_timeout`` and by ``timeout`` between reads);
      ``total_timeout`` (per call, everything
      included: limiter waits, attempts, bodies, backoffs, a stream's events; ``None``:
      unbounded, the default);
    - ``max_response_bytes``: the largest body read, compressed or decompressed (16 MiB;
      ``None``: no bound).

    Credentials: ``api_key`` (or a provider alias such as GitHub's ``token``; default from
    the provider's env vars), or ``auth=`` an :class:`~usepolvo.core.Auth` (e.g.
    :class:`~usepolvo.core.GitHubAppAuth`, signing each request with a refreshed token).
    ``provider_options`` carries the generated subclass's own keywords (key aliases,
    optional headers such as OpenAI's ``organization``). ``client.last_rate_limit`` is the
    server's ``x-ratelimit-*`` budget from the last response.
        Transport: ``transport="aiohttp"`` (or ``POLVO_TRANSPORT=aiohttp``; needs the
    ``usepolvo[aiohttp]`` extra) sends through aiohttp behind the same httpx interface —
    same API, errors and features, a fraction of the CPU per request.

    Observing: ``on_request=`` / ``on_response=`` take hooks (sync or async callables) called
    with a frozen event for every attempt, retries included (see ``usepolvo.core._hooks``);
    :meth:`with_raw_response` gives a call's status, headers and request id with its result.

    Responses are read leniently (what the API sends, even where it departs from the spec);
    ``strict=True`` (or ``POLVO_STRICT=1``; per call ``request_options={"strict": True}``)
    raises :class:`~usepolvo.core.ResponseValidationError` naming the first field that does
    not match the spec instead.
    """

    _config: ClassVar[ProviderConfig]

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | None = 60.0,
        connect_timeout: float | None = 10.0,
        total_timeout: float | None = None,
        max_response_bytes: int | None = DEFAULT_MAX_RESPONSE_BYTES,
        max_retries: int | RetryPolicy = 2,
        max_concurrency: int | NotGiven | None = NOT_GIVEN,
        rate_limit: float | tuple[float, float] | NotGiven | None = NOT_GIVEN,
        limiter: LimiterProtocol | None = None,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        auth: Auth | None = None,
        transport: str | None = None,
        provider_options: Mapping[str, str | None] | None = None,
        strict: bool | None = None,
        on_request: Sequence[RequestHook] | None = None,
        on_response: Sequence[ResponseHook] | None = None,
    ) -> None:
        cfg = self._config
        options = provider_options or {}
        key = _key_from_aliases(cfg, api_key, options)
        self._auth: Auth | None = None
        if auth is not None:
            if key is not None:
                raise ConfigurationError("pass either api_key= or auth=, not both")
            key = auth.static_key()
            if key is None:
                self._auth = auth  # per request, in send(); the static path is untouched
        if key is None and self._auth is None:
            key = _first_env(cfg.api_key_env)
        if not key and self._auth is None:
            names = " or ".join(cfg.api_key_env)
            kwargs = " or ".join(f"{k}=..." for k in ("api_key", *cfg.api_key_aliases, "auth"))
            raise ConfigurationError(f"{cfg.client_name} needs an API key: pass {kwargs} or set {names}")
        key = key or ""
        _check_secret(key)
        self._api_key = key
        self._rate_seen: tuple[Mapping[str, str], float] | None = None
        url = base_url or os.environ.get(cfg.base_url_env) or cfg.base_url
        _check_base_url(url)
        self._custom_base_url = url != cfg.base_url
        self.base_url = url.rstrip("/")
        choice = transport or os.environ.get("POLVO_TRANSPORT") or "httpx"
        if choice not in ("httpx", "aiohttp"):
            raise ConfigurationError(f"transport must be 'httpx' or 'aiohttp', got {choice!r}")
        if choice == "aiohttp" and http_client is not None and transport is not None:
            raise ConfigurationError("pass either http_client= or transport=, not both")
        #: the wire layer of pools this client creates: ``httpx`` (httpcore) or ``aiohttp``
        self.transport = choice
        if strict is None:
            strict = os.environ.get("POLVO_STRICT", "").strip().lower() in ("1", "true", "yes", "on")
        #: validate every response against the spec (raise instead of reading leniently)
        self.strict = strict
        self.timeout = _check_seconds("timeout", timeout)
        self.connect_timeout = _check_seconds("connect_timeout", connect_timeout)
        self.total_timeout = _check_seconds("total_timeout", total_timeout)
        self.max_response_bytes = _check_size(max_response_bytes)
        self.retry = max_retries if isinstance(max_retries, RetryPolicy) else RetryPolicy(max_retries)
        self.limiter = self._make_limiter(key, limiter, max_concurrency, rate_limit)
        headers = {
            "User-Agent": f"usepolvo ({cfg.name} {cfg.spec_version})",
            "Accept": cfg.accept,
            "Accept-Encoding": ACCEPT_ENCODING,  # what _body can decode within its bound
        }
        if self._auth is None:
            headers.update(self._auth_headers(key))
        if cfg.version_header and cfg.api_version:
            headers[cfg.version_header] = cfg.api_version
        for kwarg, header, env in cfg.optional_headers:
            value = options.get(kwarg)
            if value is None and env:
                value = os.environ.get(env)
            if value:
                headers[header] = value
        if default_headers:
            headers.update({str(k): _check_header(k, v) for k, v in default_headers.items()})
        self._headers = headers
        self._user_http = http_client
        self._owns_http = http_client is None
        # One pool per event loop (the loop's closer task-less async generator closes it when
        # that loop shuts down); a given http_client= is the user's to manage.
        self._pools: dict[asyncio.AbstractEventLoop, _Pool] = {}
        self._closed = False
        self._user_timeouts: dict[str, float | None] | None = None
        if http_client is not None and _default_timeout(http_client):
            self._user_timeouts = self._timeout_ext(None)  # the SDK's, not httpx's 5 s
        #: the on_request/on_response hooks (see ``_hooks``), ``None`` when there are none
        self._hooks: Hooks | None = None
        if on_request is not None or on_response is not None:
            from ._hooks import make_hooks

            self._hooks = make_hooks(cfg.name, on_request, on_response)

    def _make_limiter(
        self,
        key: str,
        limiter: LimiterProtocol | None,
        max_concurrency: int | NotGiven | None,
        rate_limit: float | tuple[float, float] | NotGiven | None,
    ) -> LimiterProtocol:
        """The user's limiter, or one from their bounds and the provider's defaults
        (shared through Redis when ``POLVO_LIMITER_URL`` is set)."""
        if limiter is not None and (
            not isinstance(max_concurrency, NotGiven) or not isinstance(rate_limit, NotGiven)
        ):
            raise ConfigurationError("pass either limiter= or max_concurrency=/rate_limit=, not both")
        cfg = self._config
        concurrency = cfg.max_concurrency if isinstance(max_concurrency, NotGiven) else max_concurrency
        period = 1.0
        rate: float | None
        if isinstance(rate_limit, NotGiven) and _testhooks.default_rate_limit_off():
            rate_limit = None  # POLVO_RATE_LIMIT=off, or created inside usepolvo.testing.MockAPI
        if isinstance(rate_limit, NotGiven):
            test = cfg.rate_limit_test is not None and key.startswith(cfg.test_key_prefixes)
            rate = cfg.rate_limit_test if test else cfg.rate_limit
            period = cfg.rate_period
        elif isinstance(rate_limit, tuple):
            rate, period = rate_limit
        else:
            rate = rate_limit
        if limiter is None:
            url = os.environ.get("POLVO_LIMITER_URL")
            if not url:
                return Limiter(max_concurrency=concurrency, rate=rate, period=period)
            from ._redis_limiter import RedisLimiter

            limiter = RedisLimiter.from_env(url, provider=cfg.name, api_key=key)
        adopt = getattr(limiter, "adopt_defaults", None)  # a shared limiter: unset bounds, lease
        if adopt is not None:
            adopt(
                max_concurrency=concurrency,
                rate=rate,
                period=period,
                # unbounded reads (timeout=None): the limiter keeps its own lease
                attempt_timeout=(self.timeout or 0.0) + (self.connect_timeout or 0.0)
                if self.timeout
                else 0.0,
            )
        return limiter

    def _auth_headers(self, key: str) -> dict[str, str]:
        """Headers carrying the credential, per the provider's auth scheme."""
        scheme = self._config.auth
        if scheme == "bearer":
            return {"Authorization": f"Bearer {key}"}
        if scheme == "token":
            return {"Authorization": f"token {key}"}
        if scheme == "basic":
            import base64

            return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
        raise ConfigurationError(f"unknown auth scheme {scheme!r} in the {self._config.name} pin")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, api_key='***')"

    @property
    def last_rate_limit(self) -> RateLimitInfo | None:
        """The rate-limit budget the last response reported (``x-ratelimit-*``), or ``None``.

        (Not ``rate_limit``: that is the client-side limit argument, and GitHub's
        ``rate_limit`` resource.)
        """
        seen = self._rate_seen
        if seen is None:
            return None
        from ._ratelimit import parse_rate_limit

        return parse_rate_limit(seen[0], seen[1])

    # -- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self: _Self) -> _Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pools this client created; the client then refuses new calls.

        The pool of the running loop is closed here; one of a loop running in another
        thread is closed in that loop; one of a loop that has already shut down was closed
        when it did. A given ``http_client=`` is left open (it is yours).
        """
        self._closed = True
        pools, self._pools = self._pools, {}
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - called outside a loop
            current = None
        for loop, pool in pools.items():
            if loop.is_closed():
                continue
            try:
                if loop is current:
                    await pool.aclose()
                elif loop.is_running():
                    done = asyncio.run_coroutine_threadsafe(pool.aclose(), loop)
                    await asyncio.wait_for(asyncio.wrap_future(done), 5.0)
            except Exception:  # noqa: BLE001 - closing must not raise on a dying loop
                pass

    @property
    def _http(self) -> httpx.AsyncClient | None:
        """The pool of the running loop (or the given ``http_client=``), if any yet."""
        if not self._owns_http:
            return self._user_http
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        pool = self._pools.get(loop)
        return pool.http if pool is not None else None

    def _client(self) -> httpx.AsyncClient:
        if self._closed:
            raise ConfigurationError(
                f"this {type(self).__name__} was closed by aclose(): create a new client"
            )
        if _testhooks.interceptor is not None:  # a usepolvo.testing.MockAPI answers every request
            return _testhooks.interceptor.pool(self)
        if not self._owns_http:
            assert self._user_http is not None
            return self._user_http
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is not None:
            return pool.http
        import httpx

        for old in [lp for lp in self._pools if lp.is_closed()]:
            del self._pools[old]
        wire: httpx.AsyncBaseTransport | None = None
        if self.transport == "aiohttp":
            from ._aiohttp import AiohttpTransport

            wire = AiohttpTransport()
        http = httpx.AsyncClient(
            transport=wire,
            timeout=httpx.Timeout(self.timeout, connect=self.connect_timeout),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=100),
            follow_redirects=True,
            # the static headers live on our own pool once, instead of being merged per request
            headers=self._headers,
            # httpx reads a redirect's body itself before following it: bound that read too
            event_hooks={"response": [self._bound_redirect]},
        )
        self._pools[loop] = _Pool(http)
        guard_wire_logs(self._api_key)
        return http

    async def _bound_redirect(self, response: httpx.Response) -> None:
        if response.has_redirect_location:
            await read_body(response, self.max_response_bytes)

    def _timeout_ext(self, options: RequestOptions | None) -> dict[str, float | None]:
        """The per-request ``timeout`` extension: socket reads and connects of one attempt."""
        read = self.timeout
        connect = self.connect_timeout
        if options:
            read = options.get("timeout", read)
            connect = options.get("connect_timeout", connect)
        return {"connect": connect, "read": read, "write": read, "pool": read}

    # -- requests ----------------------------------------------------------------------

    def _url(self, op: Operation, path: tuple[Any, ...]) -> str:
        route = encode_path(op.path, op.path_params, path, op.multi_segment) if path else op.path
        if op.server and (not self._custom_base_url or "://" not in op.server):
            return self.resolve_server(op.server) + route
        return self.base_url + route

    #: values of the spec's server variables (``{site}``…), set by generated clients that have them
    _server_vars: Mapping[str, str] = {}

    def resolve_server(self, url: str) -> str:
        """A server URL of the spec with its ``{variables}`` filled in; a relative one is
        resolved against the client's base URL."""
        if "{" in url:
            for name, value in self._server_vars.items():
                url = url.replace("{" + name + "}", value)
        if "://" not in url:
            from urllib.parse import urljoin

            url = urljoin(self.base_url + "/", url)
        return url.rstrip("/")

    def build_request(
        self,
        op: Operation,
        *,
        path: tuple[Any, ...] = (),
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
        body: Any = None,
        request_options: RequestOptions | None = None,
        url: str | None = None,
    ) -> httpx.Request:
        """Turn call arguments into an ``httpx.Request`` (nothing is sent).

        Every argument is checked here, so a bad one is a ``ConfigurationError`` naming it
        before anything leaves: unknown ``request_options`` keys, wrong timeouts, header
        values that are not single-line ASCII, path values that would address another route,
        bodies nested too deeply.
        """
        if request_options:
            _check_options(request_options)
        if url is None:
            url = self._url(op, path)
            pairs = encode_query(query, op.query_styles) if query else []
            if request_options and "query" in request_options:
                pairs.extend(encode_query(request_options["query"]))
            if pairs:
                url = f"{url}{'&' if '?' in url else '?'}{_parse.urlencode(pairs)}"  # `/x?beta=true` routes
        if self.transport == "httpx":  # the origin parsed once, not the whole URL per request
            url = _parsed_url(url)
        # On a pool we created, the static headers are its defaults; a caller's pool gets
        # them on every request.
        hdrs = {} if self._owns_http else dict(self._headers)
        if op.accept is not None:  # a vendor media type (raw, diff, octocat-stream…)
            hdrs["Accept"] = op.accept
        if headers:
            for name, value in headers.items():
                if value is not None and not _not_given(value):
                    hdrs[name] = _check_header(name, _header_value(value))
        cfg = self._config
        if cfg.idempotency_header and op.method == "POST":
            key = (request_options or {}).get("idempotency_key") or str(uuid.uuid4())
            hdrs[cfg.idempotency_header] = _check_header("idempotency_key", key)
        if request_options:
            if "api_version" in request_options and cfg.version_header:
                version = request_options["api_version"]
                hdrs[cfg.version_header] = version
                if version != cfg.api_version:
                    _warn_api_version(cfg, version)
            if "headers" in request_options:
                extra = request_options["headers"]
                hdrs.update({str(k): _check_header(k, v) for k, v in extra.items()})
        content: bytes | None = None
        files: Any = None
        data: Any = None
        kind = op.body
        if kind is not None and body is not None and not _not_given(body):
            if kind == "form":
                content = _parse.urlencode(encode_form(body)).encode()
                hdrs["Content-Type"] = "application/x-www-form-urlencoded"
            elif kind == "json":
                content = dumps(to_jsonable(body))
                hdrs["Content-Type"] = "application/json"
            elif kind == "multipart":
                from ._multipart import split_multipart

                data, files = split_multipart(body)
                if not data and not files:
                    # httpx would send no body at all; like JSON's `{}`, send an empty form
                    boundary = uuid.uuid4().hex
                    content = f"--{boundary}--\r\n".encode()
                    hdrs["Content-Type"] = f"multipart/form-data; boundary={boundary}"
                    data = files = None
            elif kind == "text":
                content = str(body).encode()
                hdrs["Content-Type"] = "text/plain"
            else:
                content = body if isinstance(body, bytes) else _read_bytes(body)
                hdrs["Content-Type"] = kind
        if len({k.lower() for k in hdrs}) != len(hdrs):
            # one field per name, the last one set winning ("accept" over the operation's
            # "Accept"): httpx would send both, aiohttp one of them
            merged: dict[str, str] = {}
            for name, value in hdrs.items():
                for seen in [k for k in merged if k.lower() == name.lower()]:
                    del merged[seen]
                merged[name] = value
            hdrs = merged
        http = self._client()
        if http.cookies:
            _drop_unsendable_cookies(http)
        request = None
        if data is None and files is None and self._owns_http and _testhooks.interceptor is None:
            from ._wire import build  # the pool's own merge, without httpx's per-request overhead

            request = build(http, op.method, url, hdrs, content)
        if request is None:
            request = http.build_request(
                op.method, url, headers=hdrs or None, content=content, data=data, files=files
            )
        if request_options and ("timeout" in request_options or "connect_timeout" in request_options):
            request.extensions["timeout"] = self._timeout_ext(request_options)
        elif self._user_timeouts is not None:
            request.extensions["timeout"] = self._user_timeouts
        return request

    async def request(
        self,
        op: Operation,
        *,
        path: tuple[Any, ...] = (),
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
        body: Any = None,
        request_options: RequestOptions | None = None,
    ) -> Any:
        """Send one operation and return its parsed response (or raise a typed error).

        A ``text/event-stream`` answer comes back as an :class:`AsyncStream` of events.
        """
        request = self.build_request(
            op, path=path, query=query, headers=headers, body=body, request_options=request_options
        )
        if _REDIRECT_ONLY.get() is self:  # inside redirect_url(): the Location, not the body
            return await self._location(op, request)
        return await self._exchange(op, request, request_options, parse=True)

    async def with_raw_response(self, call: Awaitable[_T], /) -> APIResponse[_T]:
        """A call's result with the response it was read from: status, headers, request id,
        timings, attempts (see :class:`~usepolvo.core.APIResponse`).

        ``resp = await client.with_raw_response(client.customers.retrieve_customer("cus_1"))``;
        ``resp.parsed`` is what awaiting the call alone returns, typed the same. Pass the call
        itself, not awaited: any operation, a list call (its first page), a download, a stream.
        """
        from ._raw_response import with_raw_response

        return await with_raw_response(call)

    async def redirect_url(
        self, call: Callable[_P, Awaitable[Any]], /, *args: _P.args, **kwargs: _P.kwargs
    ) -> str:
        """The URL a download operation redirects to, without downloading it.

        ``url = await gh.redirect_url(gh.repos.download_tarball_archive, "o", "r", "main")``:
        the call is sent once (no retries), not following the redirect, and the absolute
        ``Location`` comes back (for GitHub a short-lived signed URL). Awaiting the
        operation itself follows the redirect and returns the downloaded bytes.
        """
        token = _REDIRECT_ONLY.set(self)
        try:
            location = await call(*args, **kwargs)
        finally:
            _REDIRECT_ONLY.reset(token)
        return str(location)

    async def _location(self, op: Operation, request: httpx.Request) -> str:
        """Send ``request`` once without following redirects; the absolute ``Location``."""
        if self._auth is not None and "authorization" not in request.headers:
            request.headers["Authorization"] = _check_header(
                "Authorization", await self._auth.authorization(self)
            )
        http = self._client()
        grant = await self.limiter.acquire(1.0)
        try:
            response = await http.send(request, follow_redirects=False, stream=True)
            try:  # only an error's body is read (bounded); a redirect's is not wanted
                content = (
                    await read_body(response, self.max_response_bytes) if response.status_code >= 400 else b""
                )
            finally:
                await _close_quietly(response)
        except PolvoError:
            raise
        except _testhooks.passthrough:
            raise
        except Exception as exc:  # noqa: BLE001 - no raw transport error reaches the caller
            raise _transport_error(exc, request.method, _safe_url(request), 1)[0] from None
        finally:
            self.limiter.mark_sent(grant)
            self.limiter.release()
        location = response.headers.get("location")
        if response.status_code >= 400:
            raise self._status_error(op, request, response, content, 1)
        if not response.is_redirect or not location:
            raise APIConnectionError(
                f"expected a redirect, got {response.status_code}",
                method=request.method,
                url=_safe_url(request),
            )
        return str(request.url.join(location))

    def paginate(
        self,
        op: Operation,
        item: Any,
        *,
        path: tuple[Any, ...] = (),
        query: dict[str, Any],
        headers: Mapping[str, Any] | None = None,
        page: Any = None,
        size: Any = None,
        request_options: RequestOptions | None = None,
    ) -> AsyncPaginator[Any]:
        """A lazy list call: await it for one page, ``async for`` it for every item."""
        from ._pagination import AsyncPaginator

        if item is not None and (request_options or {}).get("strict", self.strict):
            import functools

            item = functools.partial(item, strict=True)
        return AsyncPaginator(
            self,
            op,
            item,
            path=path,
            query=query,
            headers=headers,
            page=page,
            size=size,
            request_options=request_options,
        )

    async def send(
        self,
        op: Operation,
        request: httpx.Request,
        options: RequestOptions | None = None,
        *,
        stream: bool = False,
    ) -> httpx.Response:
        """Send with limits and retries; return a success response or raise a typed error.

        The body is read (bounded) inside the attempt, so ``response.content`` is ready; with
        ``stream=True`` a success comes back unread (the caller reads and closes it). See
        :meth:`_exchange` for what an attempt does.
        """
        response: httpx.Response = await self._exchange(op, request, options, parse=False, stream=stream)
        return response

    async def _exchange(
        self,
        op: Operation,
        request: httpx.Request,
        options: RequestOptions | None,
        *,
        parse: bool,
        stream: bool = False,
    ) -> Any:
        """The one attempt loop: acquire → send → read the body (bounded) → parse → classify
        → decide → log, until a result or a final typed error.

        Each attempt waits its turn at the client's :class:`Limiter` (slot, rate window,
        server-ordered pause) and is bounded by ``connect_timeout + timeout`` from connecting to
        the last byte;
        ``total_timeout`` bounds the whole call, waits, bodies and backoffs included.
        Connection errors, timeouts, unreadable bodies (truncated, corrupt compression,
        invalid JSON in a 200), 408/409/429/5xx and rate-limit 403s are retried with
        full-jitter backoff (or the server's advised wait) when the request is safe to repeat
        (idempotent method, or an idempotency key, which stays the same on every attempt); a
        429/403 rate limit or a spent ``x-ratelimit-*`` budget pauses every request of the
        client. The final error carries ``attempts`` and the ``idempotency_key`` sent. A
        ``text/event-stream`` success comes back as an :class:`AsyncStream` whose reads stay
        under the deadline and the same error translation. With a dynamic ``auth=`` the
        request is signed first, unless it has its own ``Authorization``.
        """
        auth = self._auth
        if auth is not None and getattr(auth, "signs_requests", False):
            if "usepolvo.signed" not in request.extensions:
                from ._security import send_signed  # credentials from the spec's securitySchemes

                return await send_signed(self, auth, op, request, options, stream=stream, parse=parse)  # type: ignore[arg-type]
        elif auth is not None and "authorization" not in request.headers:
            request.headers["Authorization"] = _check_header("Authorization", await auth.authorization(self))
        policy = self.retry
        strict = self.strict
        total = self.total_timeout
        per = self.timeout
        connect = self.connect_timeout
        limit = self.max_response_bytes
        if options:
            policy = _call_policy(policy, options)
            total = options.get("total_timeout", total)
            per = options.get("timeout", per)
            connect = options.get("connect_timeout", connect)
            limit = options.get("max_response_bytes", limit)
            strict = options.get("strict", strict)
            if "timeout" in options or "connect_timeout" in options:
                request.extensions["timeout"] = self._timeout_ext(options)
        # One attempt: connect_timeout to connect, timeout for the whole answer after that
        # (socket timeouts cut a silent server sooner; this also ends a dribbling one).
        if per is not None:
            per += connect or 0.0
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = None if total is None else started + total
        cfg = self._config
        hooks = self._hooks
        idem = _wire.header_of(request, cfg.idempotency_header) if cfg.idempotency_header else None
        method = request.method
        url = _safe_url(request)
        cost = 1.0 if method in READ_METHODS else cfg.write_cost
        http = self._client()
        direct = None  # the aiohttp fast path sends without AsyncClient.send (see _wire)
        if self.transport == "aiohttp" and self._owns_http:
            from ._wire import direct_transport
            from ._wire import send as direct_send

            direct = direct_transport(http)
        limiter = self.limiter
        quick = limiter if type(limiter) is Limiter else None  # ours: may grant without awaiting
        cap = policy.max_retry_after
        attempts = policy.max_retries + 1
        replayable: bool | None = None  # decided on the first failure (a header lookup)
        attempt = 0
        while True:
            attempt += 1
            response: httpx.Response | None = None
            content = b""
            error: PolvoError | None = None
            outcome: int | str = "error"
            status = 0
            sent = True  # False: the request never left (safe to repeat whatever it is)
            retryable = True
            opened = False  # a success handed back unread (an event stream, or stream=True)
            limited = False
            wait: float | None = None
            advice: float | None = None
            grant = False if quick is None else quick.try_acquire(cost, loop)
            if grant is False and deadline is None:
                grant = await limiter.acquire(cost)
            elif grant is False:
                late = False
                try:
                    async with _timeout_at(deadline):
                        grant = await limiter.acquire(cost)
                except TimeoutError:
                    late = True
                if late:
                    raise _total_error(total, method, url, attempt - 1, idem)
            if hooks is not None and hooks.on_request:  # one that raises: nothing sent, slot back
                await hooks.request(op.name, method, url, attempt, attempts, idem, limiter, grant)
            sent_at = loop.time()
            bound = deadline if per is None else sent_at + per
            if deadline is not None and bound is not None and deadline < bound:
                bound = deadline
            try:
                async with _timeout_at(bound):
                    if deadline is not None and loop.time() >= deadline:
                        # spent in a hook or a wait that never suspended: send nothing (aiohttp
                        # would write the request before the expired timeout cancels it)
                        raise TimeoutError
                    if direct is None:
                        response = await http.send(request, stream=True)
                    else:
                        response = await direct_send(http, direct, request)
                    # Read the server's signals before the slot goes back, so that no queued
                    # call slips out between this answer and the pause it orders.
                    status = outcome = response.status_code
                    headers = response.headers
                    self._rate_seen = (headers, time.time())  # parsed if last_rate_limit is read
                    advice = retry_after(headers) if status >= 400 else None
                    reset = budget_reset(headers)
                    if reset is not None:  # a spent budget: hold everyone until it resets
                        advice = reset if advice is None else max(advice, reset)
                    limited = status == 429 or (status == 403 and advice is not None)
                    if limited or (advice is not None and (status >= 400 or reset is not None)):
                        wait = advice if advice is not None else policy.backoff(attempt)
                        limiter.pause(min(wait, cap))
                    opened = status < 400 and (stream or (parse and self._streams(op, response)))
                    if not opened:
                        content = await read_body(response, limit)
            except TimeoutError:
                expired = deadline is not None and loop.time() >= deadline - 1e-3
                outcome = "Timeout"
                error = (
                    _total_error(total, method, url, attempt, idem)
                    if expired
                    else APITimeoutError(
                        f"no complete answer within {per:g}s (connect_timeout + timeout)",
                        method=method,
                        url=url,
                        attempts=attempt,
                    )
                )
                retryable = not expired
            except ResponseTooLargeError as exc:
                outcome = "TooLarge"
                error = ResponseTooLargeError(exc.limit, method=method, url=url, attempts=attempt)
                retryable = False
            except BadEncoding as exc:
                outcome = "BadEncoding"
                error = APIConnectionError(str(exc), method=method, url=url, attempts=attempt)
            except APIConnectionError as exc:  # an unsupported Content-Encoding
                outcome = "BadEncoding"
                error = APIConnectionError(str(exc), method=method, url=url, attempts=attempt)
                retryable = False
            except _testhooks.passthrough:
                if response is not None:
                    await _close_quietly(response)
                raise
            except Exception as exc:  # noqa: BLE001 - no raw transport error reaches the caller
                outcome = type(exc).__name__
                error, sent, retryable = _transport_error(exc, method, url, attempt)
            except BaseException:  # cancelled: give the connection back before leaving
                if response is not None:
                    await _close_quietly(response)
                raise
            finally:
                # Date the grant in the rate window once the attempt is over (the answer is
                # in, or it failed): never earlier than the server saw it, so the window errs
                # on the safe side.
                limiter.mark_sent(grant)
                limiter.release()
            took = loop.time() - sent_at
            if error is not None:
                if response is not None:
                    await _close_quietly(response)
            elif status < 400:
                assert response is not None
                result: Any = response
                if opened:
                    if not stream:
                        result = self._open_stream(op, response, deadline, limit, idem, strict)
                elif parse:
                    try:
                        result = self.parse_body(op, status, response.headers, content, strict)
                    except _Unreadable as exc:
                        outcome = "InvalidBody"
                        error = APIConnectionError(str(exc), method=method, url=url, attempts=attempt)
                    except ResponseValidationError as exc:
                        # the server answered 2xx (a create may have been committed): the key
                        # sent goes with the error so the caller can ask again under it
                        exc.idempotency_key = idem
                        if hooks is not None and hooks.on_response:
                            await observe(self, op, url, attempt, attempts, idem, response, took, None, exc)
                        raise
                if error is None:
                    log_attempt(
                        method,
                        _wire.path_of(request),
                        status,
                        attempt,
                        attempts,
                        None,
                        final=True,
                        secret=self._api_key,
                        elapsed=took,
                        headers=response.headers,
                        request_id_header=cfg.request_id_header,
                    )
                    if hooks is not None or CAPTURE.get() is not None:  # with_raw_response, hooks
                        await observe(
                            self, op, url, attempt, attempts, idem, response, took, None, None, started
                        )
                    return result
            else:
                assert response is not None
                error = self._status_error(op, request, response, content, attempt, rate_limited=limited)
                if isinstance(error, RateLimitError):
                    error.retry_after = advice
                verdict = server_verdict(response.headers)
                retryable = (
                    verdict
                    if verdict is not None
                    else (limited or should_retry_status(status, response.headers))
                )
            if replayable is None:
                replayable = is_replayable(method, idem is not None)
            wait = next_wait(
                policy,
                attempt,
                retryable=retryable,
                replayable=replayable,
                sent=sent,
                advice=wait,
                time_left=None if deadline is None else deadline - loop.time(),
            )
            final = wait is None
            log_attempt(
                method,
                _wire.path_of(request),
                outcome,
                attempt,
                attempts,
                None if final else wait,
                final=final,
                secret=self._api_key,
                elapsed=took,
                headers=None if response is None else response.headers,
                request_id_header=cfg.request_id_header,
            )
            if hooks is not None and hooks.on_response:
                await observe(self, op, url, attempt, attempts, idem, response, took, wait, error)
            if final:
                error.idempotency_key = idem
                raise error
            await asyncio.sleep(wait or 0.0)

    def _streams(self, op: Operation, response: httpx.Response) -> bool:
        """Whether a success is read as server-sent events rather than as one body."""
        return op.response_for(response.status_code).kind == "sse" or (
            op.streams and _is_event_stream(response)
        )

    def _open_stream(
        self,
        op: Operation,
        response: httpx.Response,
        deadline: float | None,
        limit: int | None,
        idem: str | None,
        strict: bool = False,
    ) -> Any:
        """An :class:`AsyncStream` over a success whose reads stay bounded and translated."""
        from ._body import iter_lines
        from ._streaming import AsyncStream

        lines = iter_lines(response, deadline, limit, _safe_url(response.request), idem, _transport_error)
        return AsyncStream(
            response, op.response_for(response.status_code).event_parser, lines=lines, strict=strict
        )

    def _status_error(
        self,
        op: Operation,
        request: httpx.Request,
        response: httpx.Response,
        content: bytes,
        attempt: int,
        *,
        rate_limited: bool = False,
    ) -> APIStatusError:
        """The typed error of an error answer; the client's key is masked everywhere in it."""
        body: Any
        secret = self._api_key
        try:
            body = loads(content) if content else None
        except ValueError:
            body = content.decode("utf-8", "replace")
        body = _redact_data(body, secret)
        parsed = None
        if op.error is not None and isinstance(body, dict):
            try:
                parsed = op.error(body)
            except Exception:  # noqa: BLE001 - an odd error body must not hide the error
                parsed = None
        headers = safe_headers(response.headers, secret)
        cls = RateLimitError if rate_limited else error_class_for(response.status_code)
        return cls(
            redact(_error_message(body, response.reason_phrase), secret),
            status_code=response.status_code,
            method=request.method,
            url=_safe_url(request),
            request_id=headers.get(self._config.request_id_header),
            body=body,
            headers=headers,
            error=parsed,
            attempts=attempt,
        )

    def parse_body(
        self,
        op: Operation,
        status: int,
        headers: Mapping[str, str],
        content: bytes,
        strict: bool | None = None,
    ) -> Any:
        """Read a success body the way the spec documents it for that status.

        The one place a success body becomes a result (bytes, text, or JSON through the
        spec's model). A body that cannot be read as its kind (invalid JSON) raises an
        internal "unreadable" error, which the attempt loop retries when that is safe. JSON is
        read leniently (``strict``: validated against the spec; default: the client's
        ``strict``); a body of the wrong top-level kind (an array or nothing where the spec
        says object) is a :class:`ResponseValidationError` either way.
        """
        if strict is None:
            strict = self.strict
        spec = op.response_for(status)
        kind = spec.kind
        if kind == "json" or kind == "sse":
            parser = spec.parser if kind == "json" else None
            if not content:
                return parser(None, strict) if parser is not None else None
            try:
                data = loads(content)
            except ValueError as exc:
                raise _Unreadable(f"response body is not valid JSON ({exc})") from None
            return parser(data, strict) if parser is not None else data
        if kind == "binary":
            return content
        if kind == "text":
            return content.decode(_charset(headers) or "utf-8", "replace")
        return None

    def parse_response(self, op: Operation, response: httpx.Response, *, strict: bool | None = None) -> Any:
        """:meth:`parse_body` of a response already read (an event stream is wrapped)."""
        if strict is None:
            strict = self.strict
        if self._streams(op, response) and not response.is_stream_consumed:
            return self._open_stream(op, response, None, self.max_response_bytes, None, strict)
        try:
            return self.parse_body(op, response.status_code, response.headers, response.content, strict)
        except _Unreadable as exc:
            raise APIConnectionError(
                str(exc), method=response.request.method, url=_safe_url(response.request)
            ) from None


def _is_event_stream(response: httpx.Response) -> bool:
    ctype: str = response.headers.get("content-type", "")
    return ctype.split(";", 1)[0].strip().lower() == "text/event-stream"


def _key_from_aliases(
    cfg: ProviderConfig, api_key: str | None, options: Mapping[str, str | None]
) -> str | None:
    """``api_key=`` or one of its provider aliases (GitHub's ``token=``)."""
    key = api_key
    for alias in cfg.api_key_aliases:
        value = options.get(alias)
        if value is not None:
            if key is not None and key != value:
                raise ConfigurationError(f"pass either api_key= or {alias}=, not both")
            key = value
    return key


def _header_value(value: Any) -> str:
    """A header parameter the OpenAPI ``simple`` way: ``true``, ``a,b`` for lists."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return ",".join(_header_value(v) for v in value)
    return str(value)


def _first_env(names: tuple[str, ...]) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def _not_given(value: object) -> bool:
    return isinstance(value, NotGiven)


def _read_bytes(body: Any) -> bytes:
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode()
    read = getattr(body, "read", None)
    if read is not None:
        data = read()
        return data.encode() if isinstance(data, str) else bytes(data)
    if isinstance(body, os.PathLike):
        with open(body, "rb") as fh:
            return fh.read()
    raise ConfigurationError(f"cannot send a {type(body).__name__} as a raw body: pass bytes or a file")


def _parsed_url(url: str) -> str:
    """``url``, or the ``httpx.URL`` httpx would parse it into, made without its parser
    (``_urls``): ``httpx.Request`` and ``AsyncClient.build_request`` take either."""
    parsed = _urls.parsed_url(url)
    return url if parsed is None else cast(str, parsed)


def _safe_url(request: httpx.Request) -> str:
    """Scheme, host and path only: query strings may carry secrets."""
    return _wire.safe_url_of(request)  # a lazy request of the aiohttp path keeps its URL unparsed


def _error_message(body: Any, reason: str) -> str:
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return str(err["message"])
        if isinstance(err, str):
            return err
        if isinstance(body.get("message"), str):
            return str(body["message"])
    if isinstance(body, str) and body.strip():
        return body.strip()[:500]
    return reason or "error"


def _call_policy(policy: RetryPolicy, options: RequestOptions) -> RetryPolicy:
    """The client's retry policy with this call's overrides."""
    if "max_retries" in options or "initial_backoff" in options or "max_backoff" in options:
        return policy.replace(
            max_retries=options.get("max_retries"),
            initial_backoff=options.get("initial_backoff"),
            max_backoff=options.get("max_backoff"),
        )
    return policy


class _Unreadable(Exception):
    """A success body that cannot be read as its documented kind (internal)."""


class _Pool:
    """The connection pool of one event loop, closed with that loop if nobody closes it first.

    An async generator, started here, is registered with the running loop's asyncgen hooks;
    ``asyncio.run`` (and every runner) closes such generators when the loop shuts down, which
    runs its ``finally`` inside that loop: the pool's sockets close in the loop they belong
    to, so a client used across several ``asyncio.run`` calls leaks nothing.
    """

    __slots__ = ("_closer", "http")

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self._closer = _close_at_shutdown(http)
        step: Any = self._closer.__anext__()  # calls the loop's firstiter hook
        with contextlib.suppress(StopIteration):
            step.send(None)  # run to the first yield, synchronously

    async def aclose(self) -> None:
        await self._closer.aclose()


async def _close_at_shutdown(http: httpx.AsyncClient) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        with contextlib.suppress(Exception):  # a dying loop must not turn this into noise
            await http.aclose()


async def _close_quietly(response: httpx.Response) -> None:
    with contextlib.suppress(Exception):  # the connection is dropped either way
        await response.aclose()


def _transport_error(exc: BaseException, method: str, url: str, attempts: int) -> tuple[APIError, bool, bool]:
    """A transport exception as ``(typed error, may have been sent, worth retrying)``.

    Only the exception's type name is kept: its message and its ``request`` may carry
    header values (credentials), so neither is attached.
    """
    import httpx

    name = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        sent = not isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout))
        return APITimeoutError(f"timed out ({name})", method=method, url=url, attempts=attempts), sent, True
    if isinstance(exc, httpx.ConnectError):
        return (
            APIConnectionError(f"connection failed ({name})", method=method, url=url, attempts=attempts),
            False,
            True,
        )
    local = (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.ProxyError)
    if isinstance(exc, (httpx.TransportError, httpx.DecodingError)) and not isinstance(exc, local):
        return (
            APIConnectionError(f"connection failed ({name})", method=method, url=url, attempts=attempts),
            True,
            True,
        )
    error = APIConnectionError(f"request failed ({name})", method=method, url=url, attempts=attempts)
    return error, not isinstance(exc, (httpx.InvalidURL, *local, ValueError, TypeError)), False


def _total_error(
    total: float | None, method: str, url: str, attempts: int, idem: str | None
) -> APITimeoutError:
    error = APITimeoutError(
        f"no answer within the total timeout of {total or 0:g}s",
        method=method,
        url=url,
        attempts=attempts,
    )
    error.idempotency_key = idem
    return error


def _redact_data(value: Any, secret: str) -> Any:
    """An error body with the client's key (and anything shaped like a key) masked."""
    if isinstance(value, str):
        return redact(value, secret)
    if isinstance(value, dict):
        return {k: _redact_data(v, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_data(v, secret) for v in value]
    return value


def _charset(headers: Mapping[str, str]) -> str | None:
    ctype = headers.get("content-type", "")
    for part in ctype.split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
            try:
                import codecs

                codecs.lookup(charset)
            except LookupError:
                return None
            return charset
    return None


# -- input checks (before any request) ---------------------------------------------------

_OPTION_KEYS = RequestOptions.__required_keys__ | RequestOptions.__optional_keys__


def _check_secret(key: str) -> None:
    """A key must be sendable in a header as it is; the message never shows it."""
    if not isinstance(key, str):
        raise ConfigurationError(f"the API key must be a string, got {type(key).__name__}")
    for i, ch in enumerate(key):
        if not ("!" <= ch <= "~"):
            raise ConfigurationError(
                f"the API key has a character that cannot be sent in an HTTP header at position {i} "
                "(non-ASCII, whitespace or a control character); check for a stray newline or quote"
            )


def _check_header(name: object, value: object) -> str:
    """A header value as sent: a single line of printable ASCII (the message names the
    header, never its value, which may be a credential)."""
    if not isinstance(name, str) or not name or any(not ("!" <= c <= "~") or c == ":" for c in name):
        raise ConfigurationError(f"header name {name!r} is not a valid HTTP header name")
    if not isinstance(value, str):
        raise ConfigurationError(f"header {name!r} must be a string, got {type(value).__name__}")
    if not (value.isascii() and all(" " <= c < "\x7f" or c == "\t" for c in value)):
        raise ConfigurationError(
            f"header {name!r} has a character that cannot be sent (non-ASCII, CR, LF or another "
            "control character)"
        )
    if value != value.strip(" \t"):
        # h11 (the httpx transport) refuses to send it, aiohttp would: neither, before sending
        raise ConfigurationError(f"header {name!r} has leading or trailing whitespace")
    if name.lower() in FRAMING_HEADERS:
        # h11 sends a chunked head or fails on a length that lies, aiohttp drops both: the
        # client frames each body itself, on both transports
        raise ConfigurationError(f"header {name!r} is set by the client from the body; do not pass it")
    return value


def _drop_unsendable_cookies(http: httpx.AsyncClient) -> None:
    """Forget cookies a server set with a non-ASCII name or value: no ``Cookie`` header can
    carry them, and httpx would fail every later request of the pool building it."""
    jar = http.cookies.jar
    for cookie in list(jar):
        if not (cookie.name.isascii() and (cookie.value or "").isascii()):
            jar.clear(cookie.domain, cookie.path, cookie.name)


def _check_seconds(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(f"{name} must be a number of seconds (or None), got {type(value).__name__}")
    try:
        seconds = float(value)
    except OverflowError:  # an int too large for a float
        seconds = math.inf
    if not seconds > 0 or not math.isfinite(seconds):  # also NaN; inf overflows aiohttp's timers
        raise ConfigurationError(
            f"{name} must be positive and finite, in seconds (or None for no bound), got {value!r}"
        )
    return seconds


def _check_size(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"max_response_bytes must be a positive integer (or None), got {value!r}")
    return value


def _check_base_url(url: Any) -> None:
    from urllib.parse import urlsplit

    if not isinstance(url, str):
        raise ConfigurationError(f"base_url must be a string, got {type(url).__name__}")
    authority = url.partition("://")[2].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if "@" in authority:
        # httpx would send them as Basic auth over the key's header, aiohttp refuses them:
        # credentials go in api_key= / auth=, never in the URL (and never in a message, even
        # when the rest of the URL is wrong too)
        raise ConfigurationError(
            "base_url must not carry credentials (user:password@): pass the key as api_key= "
            "or auth=, and the URL without them"
        )
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        _ = parts.port  # raises on a port that is not a number
    except ValueError:
        ok = False
    if not ok or any(not (" " < c < "\x7f") for c in url):
        raise ConfigurationError(
            f"base_url must be an absolute http:// or https:// URL such as 'https://api.example.com', "
            f"got {redact(url)!r}"
        )


def _check_options(options: Mapping[str, Any]) -> None:
    if not isinstance(options, Mapping):
        raise ConfigurationError(f"request_options must be a mapping, got {type(options).__name__}")
    unknown = set(options) - _OPTION_KEYS
    if unknown:
        raise ConfigurationError(
            f"unknown request_options {sorted(map(str, unknown))}; known: {', '.join(sorted(_OPTION_KEYS))}"
        )
    for name in ("timeout", "connect_timeout", "total_timeout"):
        if name in options:
            _check_seconds(name, options[name])
    for name in ("initial_backoff", "max_backoff"):
        value = options.get(name)
        if name in options and (
            isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0
        ):
            raise ConfigurationError(f"{name} must be a number of seconds, 0 or more, got {value!r}")
    if "max_response_bytes" in options:
        _check_size(options["max_response_bytes"])
    for name in ("headers", "query"):
        if name in options and not isinstance(options[name], Mapping):
            raise ConfigurationError(f"request_options[{name!r}] must be a mapping")
    for name in ("idempotency_key", "api_version"):
        if name in options and not isinstance(options[name], str):
            raise ConfigurationError(f"request_options[{name!r}] must be a string")


def _default_timeout(http: httpx.AsyncClient) -> bool:
    """Whether a given pool still has httpx's own default timeout (the user set none)."""
    import httpx

    return http.timeout == httpx.Timeout(5.0)


if sys.version_info >= (3, 11):

    class _timeout_at:
        """``asyncio.timeout_at(when)`` as the attempt loop uses it (entered once, never
        rescheduled), without its state machine: the same timer, the same cancellation
        accounting (a cancel from outside is never taken for the timeout), the same
        ``TimeoutError`` chained to the ``CancelledError``; about half the CPU per attempt."""

        __slots__ = ("_cancelling", "_expired", "_handle", "_task", "_when")

        def __init__(self, when: float | None) -> None:
            self._when = when
            self._handle: asyncio.Handle | None = None
            self._expired = False

        async def __aenter__(self) -> None:
            task = asyncio.current_task()
            if task is None:
                raise RuntimeError("Timeout should be used inside a task")
            self._task = task
            self._cancelling = task.cancelling()
            when = self._when
            if when is not None:
                loop = asyncio.get_running_loop()
                if when <= loop.time():
                    self._handle = loop.call_soon(self._on_timeout)
                else:
                    self._handle = loop.call_at(when, self._on_timeout)

        def _on_timeout(self) -> None:
            self._task.cancel()
            self._expired = True
            self._handle = None

        async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
            if self._handle is not None:
                self._handle.cancel()
                self._handle = None
            if (
                self._expired
                and self._task.uncancel() <= self._cancelling
                and exc_type is asyncio.CancelledError
            ):
                raise TimeoutError from exc

else:  # pragma: no cover - Python 3.10

    class _timeout_at:
        """``asyncio.timeout_at`` for 3.10: cancel the task at ``when``, raise TimeoutError."""

        def __init__(self, when: float | None) -> None:
            self._when = when
            self._handle: asyncio.TimerHandle | None = None
            self._fired = False

        async def __aenter__(self) -> None:
            if self._when is not None:
                task = asyncio.current_task()
                loop = asyncio.get_running_loop()
                assert task is not None

                def fire() -> None:
                    self._fired = True
                    task.cancel()

                self._handle = loop.call_at(self._when, fire)

        async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
            if self._handle is not None:
                self._handle.cancel()
            if self._fired and exc_type is asyncio.CancelledError:
                raise TimeoutError from None


def _warn_api_version(cfg: ProviderConfig, version: str) -> None:
    import warnings

    from ._warnings import ApiVersionWarning

    warnings.warn(
        f"request_options['api_version'] sends {cfg.version_header}: {version} for this call, but "
        f"{cfg.client_name}'s typed parameters and models follow the pinned version {cfg.api_version}; "
        f"responses may not match them (use a client generated for {version} where one is pinned)",
        ApiVersionWarning,
        stacklevel=3,
    )
