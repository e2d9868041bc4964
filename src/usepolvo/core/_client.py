"""The hand-written base of every generated client: transport, auth, retries, errors.

A generated ``StripeClient`` (or ``GitHubClient``…) subclasses :class:`BaseClient` and only
adds its provider settings and its resources. Each client owns one ``httpx.AsyncClient``,
created on first use inside the running event loop (and re-created if the client is later
used from another loop, e.g. a second ``asyncio.run``), and closed by ``aclose()`` or
``async with``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, ClassVar, ParamSpec, TypedDict, TypeVar
from urllib.parse import urlencode

from . import _testhooks
from ._config import ProviderConfig
from ._encoding import encode_form, encode_path, encode_query, to_jsonable
from ._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    ConfigurationError,
    RateLimitError,
    error_class_for,
)
from ._json import dumps, loads
from ._lazy import lazy_module
from ._limiter_base import LimiterProtocol
from ._limits import Limiter
from ._logging import log_attempt, redact
from ._operation import Operation
from ._retry import (
    READ_METHODS,
    RetryPolicy,
    budget_reset,
    is_replayable,
    retry_after,
    server_verdict,
    should_retry_status,
)
from ._types import NOT_GIVEN, NotGiven

if TYPE_CHECKING:
    import asyncio
    import uuid

    import httpx

    from ._auth import Auth
    from ._pagination import AsyncPaginator
    from ._ratelimit import RateLimitInfo
else:
    asyncio = lazy_module("asyncio", globals())
    uuid = lazy_module("uuid", globals())

__all__ = ["BaseClient", "ClientOptions", "RequestOptions"]

_T = TypeVar("_T")
_P = ParamSpec("_P")
_Self = TypeVar("_Self", bound="BaseClient")
#: the client whose next request, in this task, is sent by ``redirect_url`` (not followed)
_REDIRECT_ONLY: ContextVar[BaseClient | None] = ContextVar("polvo_redirect_only", default=None)


class RequestOptions(TypedDict, total=False):
    """Per-call settings, passed as ``request_options=`` to any generated method.

    ``timeout`` (read/write, per attempt), ``connect_timeout`` (per attempt) and
    ``total_timeout`` (the whole call: waits for the limiter, every attempt and the backoffs
    between them) override the client's; so do ``max_retries``, ``initial_backoff`` and
    ``max_backoff``. ``strict`` validates the response against the spec (see
    :class:`BaseClient`).
    """

    timeout: float
    connect_timeout: float
    total_timeout: float
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
    timeout: float
    connect_timeout: float
    total_timeout: float | None
    max_retries: int | RetryPolicy
    max_concurrency: int | NotGiven | None
    rate_limit: float | tuple[float, float] | NotGiven | None
    limiter: LimiterProtocol | None
    default_headers: Mapping[str, str] | None
    http_client: httpx.AsyncClient | None
    auth: Auth | None
    transport: str | None
    strict: bool | None


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
    - ``timeout`` (read/write, per attempt), ``connect_timeout`` (per attempt),
      ``total_timeout`` (per call, everything included; ``None``: unbounded).

    Credentials: ``api_key`` (or a provider alias such as GitHub's ``token``; default from
    the provider's env vars), or ``auth=`` an :class:`~usepolvo.core.Auth` (e.g.
    :class:`~usepolvo.core.GitHubAppAuth`, signing each request with a refreshed token).
    ``provider_options`` carries the generated subclass's own keywords (key aliases,
    optional headers such as OpenAI's ``organization``). ``client.last_rate_limit`` is the
    server's ``x-ratelimit-*`` budget from the last response.
        Transport: ``transport="aiohttp"`` (or ``POLVO_TRANSPORT=aiohttp``; needs the
    ``usepolvo[aiohttp]`` extra) sends through aiohttp behind the same httpx interface —
    same API, errors and features, a fraction of the CPU per request.

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
        timeout: float = 60.0,
        connect_timeout: float = 10.0,
        total_timeout: float | None = None,
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
        self._api_key = key
        self._rate_seen: tuple[Mapping[str, str], float] | None = None
        url = base_url or os.environ.get(cfg.base_url_env) or cfg.base_url
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
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.total_timeout = total_timeout
        self.retry = max_retries if isinstance(max_retries, RetryPolicy) else RetryPolicy(max_retries)
        self.limiter = self._make_limiter(key, limiter, max_concurrency, rate_limit)
        headers = {
            "User-Agent": f"usepolvo ({cfg.name} {cfg.spec_version})",
            "Accept": cfg.accept,
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
            headers.update(default_headers)
        self._headers = headers
        self._http = http_client
        self._owns_http = http_client is None
        self._loop: asyncio.AbstractEventLoop | None = None

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
                attempt_timeout=self.timeout + self.connect_timeout,
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
        """Close the connection pool (only if this client created it)."""
        http, self._http = self._http, None
        if http is None or not self._owns_http:
            return
        if self._loop is not None and self._loop is not asyncio.get_running_loop():
            # The pool's connections belong to an event loop that has finished (e.g. an
            # earlier asyncio.run); they cannot be closed from this loop and are dropped.
            return
        await http.aclose()

    def _client(self) -> httpx.AsyncClient:
        if _testhooks.interceptor is not None:  # a usepolvo.testing.MockAPI answers every request
            return _testhooks.interceptor.pool(self)
        http = self._http
        if http is not None and (not self._owns_http or self._loop is asyncio.get_running_loop()):
            return http
        import httpx

        self._loop = asyncio.get_running_loop()
        wire: httpx.AsyncBaseTransport | None = None
        if self.transport == "aiohttp":
            from ._aiohttp import AiohttpTransport

            wire = AiohttpTransport()
        self._http = httpx.AsyncClient(
            transport=wire,
            timeout=httpx.Timeout(self.timeout, connect=self.connect_timeout),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=100),
            follow_redirects=True,
            # the static headers live on our own pool once, instead of being merged per request
            headers=self._headers,
        )
        return self._http

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
        """Turn call arguments into an ``httpx.Request`` (nothing is sent)."""
        import httpx

        if url is None:
            url = self._url(op, path)
            pairs = encode_query(query, op.query_styles) if query else []
            if request_options and "query" in request_options:
                pairs.extend(encode_query(request_options["query"]))
            if pairs:
                url = f"{url}{'&' if '?' in url else '?'}{urlencode(pairs)}"  # `/x?beta=true` routes
        # On a pool we created, the static headers are its defaults; a caller's pool gets
        # them on every request.
        hdrs = {} if self._owns_http else dict(self._headers)
        if op.accept is not None:  # a vendor media type (raw, diff, octocat-stream…)
            hdrs["Accept"] = op.accept
        if headers:
            for name, value in headers.items():
                if value is not None and not _not_given(value):
                    hdrs[name] = _header_value(value)
        cfg = self._config
        if cfg.idempotency_header and op.method == "POST":
            key = (request_options or {}).get("idempotency_key") or str(uuid.uuid4())
            hdrs[cfg.idempotency_header] = key
        if request_options:
            if "api_version" in request_options and cfg.version_header:
                version = request_options["api_version"]
                hdrs[cfg.version_header] = version
                if version != cfg.api_version:
                    _warn_api_version(cfg, version)
            if "headers" in request_options:
                hdrs.update(request_options["headers"])
        content: bytes | None = None
        files: Any = None
        data: Any = None
        kind = op.body
        if kind is not None and body is not None and not _not_given(body):
            if kind == "form":
                content = urlencode(encode_form(body)).encode()
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
        request = self._client().build_request(
            op.method, url, headers=hdrs or None, content=content, data=data, files=files
        )
        if request_options and "timeout" in request_options:
            t = request_options["timeout"]
            request.extensions["timeout"] = httpx.Timeout(t).as_dict()
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
        strict = self.strict if request_options is None else request_options.get("strict", self.strict)
        if not _wants_stream(op, body):
            response = await self.send(op, request, request_options)
            return self.parse_response(op, response, strict=strict)
        response = await self.send(op, request, request_options, stream=True)
        if _is_event_stream(response):
            from ._streaming import AsyncStream

            return AsyncStream(response, op.response_for(response.status_code).event_parser, strict=strict)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return self.parse_response(op, response, strict=strict)

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
            request.headers["Authorization"] = await self._auth.authorization(self)
        http = self._client()
        grant = await self.limiter.acquire(1.0)
        try:
            response = await http.send(request, follow_redirects=False)
        finally:
            self.limiter.mark_sent(grant)
            self.limiter.release()
        location = response.headers.get("location")
        if response.status_code >= 400:
            raise self._status_error(op, request, response, 1)
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

        Each attempt waits its turn at the client's :class:`Limiter` (slot, rate window,
        server-ordered pause). Connection errors, timeouts, 408/409/429/5xx and rate-limit
        403s are retried with full-jitter backoff (or the server's advised wait) when the
        request is safe to repeat; a 429/403 rate limit or a spent ``x-ratelimit-*`` budget
        pauses every request of the client. The error of the last attempt is raised with its
        ``attempts`` count; a ``total_timeout`` bounds the whole call, waits included.
        With a dynamic ``auth=`` the request is signed first, unless it has its own
        ``Authorization``.
        """
        auth = self._auth
        if (
            auth is not None
            and getattr(auth, "signs_requests", False)
            and "usepolvo.signed" not in request.extensions
        ):
            from ._security import send_signed  # credentials from the spec's securitySchemes

            return await send_signed(self, auth, op, request, options, stream)  # type: ignore[arg-type]
        if (
            auth is not None
            and "authorization" not in request.headers
            and not getattr(auth, "signs_requests", False)
        ):
            request.headers["Authorization"] = await auth.authorization(self)
        policy = self.retry
        total = self.total_timeout
        if options:
            policy = _call_policy(policy, options)
            total = options.get("total_timeout", total)
            self._attempt_timeouts(request, options)
        tries = [0]
        if total is None:
            return await self._attempts(op, request, policy, None, tries, stream)
        deadline = time.monotonic() + total
        try:
            return await _within(total, self._attempts(op, request, policy, deadline, tries, stream))
        except asyncio.TimeoutError:
            raise APITimeoutError(
                f"no answer within the total timeout of {total:g}s",
                method=request.method,
                url=_safe_url(request),
                attempts=tries[0],
            ) from None

    async def _attempts(
        self,
        op: Operation,
        request: httpx.Request,
        policy: RetryPolicy,
        deadline: float | None,
        tries: list[int],
        stream: bool,
    ) -> httpx.Response:
        import httpx

        cfg = self._config
        method = request.method
        replayable: bool | None = None  # decided on the first failure (a header lookup)
        cost = 1.0 if method in READ_METHODS else cfg.write_cost
        http = self._client()
        limiter = self.limiter
        cap = policy.max_retry_after
        attempts = policy.max_retries + 1
        attempt = 0
        while True:
            attempt += 1
            response: httpx.Response | None = None
            error: APIError
            outcome: int | str
            sent = True  # False: the request never left (safe to repeat whatever it is)
            retryable = True
            wait: float | None = None
            grant = await limiter.acquire(cost)
            tries[0] = attempt  # counted once it leaves the queue
            try:
                response = await http.send(request, stream=stream)
                # Read the server's signals before the slot goes back, so that no queued call
                # slips out between this answer and the pause it orders.
                status = outcome = response.status_code
                headers = response.headers
                self._rate_seen = (headers, time.time())  # parsed only if client.last_rate_limit is read
                advice = retry_after(headers) if status >= 400 else None
                reset = budget_reset(headers)
                if reset is not None:  # a spent budget: hold everyone until it resets
                    advice = reset if advice is None else max(advice, reset)
                limited = status == 429 or (status == 403 and advice is not None)
                if limited or (advice is not None and (status >= 400 or reset is not None)):
                    wait = advice if advice is not None else policy.backoff(attempt)
                    limiter.pause(min(wait, cap))
            except httpx.TimeoutException as exc:
                outcome = type(exc).__name__
                sent = not isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout))
                error = APITimeoutError(
                    f"timed out ({outcome})", method=method, url=_safe_url(request), attempts=attempt
                )
            except httpx.RequestError as exc:
                outcome = type(exc).__name__
                sent = not isinstance(exc, httpx.ConnectError)
                retryable = isinstance(exc, (httpx.TransportError, httpx.DecodingError))
                error = APIConnectionError(
                    f"connection failed ({outcome})", method=method, url=_safe_url(request), attempts=attempt
                )
            finally:
                # Date the grant in the rate window once the attempt is over (the answer's head
                # is in, or it failed): never earlier than the server saw it, so the window
                # errs on the safe side. (An httpx trace hook dating the write exactly costs
                # about a tenth of a request's CPU.)
                limiter.mark_sent(grant)
                limiter.release()
            if response is not None:
                if status < 400:
                    log_attempt(
                        method,
                        request.url.path,
                        status,
                        attempt,
                        attempts,
                        None,
                        final=True,
                        secret=self._api_key,
                    )
                    return response
                if stream:
                    await _drain(response)
                error = self._status_error(op, request, response, attempt, rate_limited=limited)
                if isinstance(error, RateLimitError):
                    error.retry_after = advice
                verdict = server_verdict(headers)
                retryable = (
                    verdict if verdict is not None else (limited or should_retry_status(status, headers))
                )
            if replayable is None:
                replayable = is_replayable(
                    method, (cfg.idempotency_header or "Idempotency-Key") in request.headers
                )
            final = not retryable or not (replayable or not sent) or attempt >= attempts
            if not final:
                if wait is None:
                    wait = policy.backoff(attempt)
                elif wait > cap:
                    final = True
                if deadline is not None and time.monotonic() + wait >= deadline:
                    final = True  # the wait would outlast the call: report what happened
            log_attempt(
                method,
                request.url.path,
                outcome,
                attempt,
                attempts,
                None if final else wait,
                final=final,
                secret=self._api_key,
            )
            if final:
                raise error
            await asyncio.sleep(wait or 0.0)

    def _attempt_timeouts(self, request: httpx.Request, options: RequestOptions) -> None:
        """Per-call connect/read timeouts on the request itself."""
        if "timeout" in options or "connect_timeout" in options:
            read = options.get("timeout", self.timeout)
            connect = options.get("connect_timeout", self.connect_timeout)
            request.extensions["timeout"] = {"connect": connect, "read": read, "write": read, "pool": read}

    def _status_error(
        self,
        op: Operation,
        request: httpx.Request,
        response: httpx.Response,
        attempt: int,
        *,
        rate_limited: bool = False,
    ) -> APIStatusError:
        body: Any
        try:
            body = loads(response.content) if response.content else None
        except ValueError:
            body = response.text
        parsed = None
        if op.error is not None and isinstance(body, dict):
            try:
                parsed = op.error(body)
            except Exception:  # noqa: BLE001 - an odd error body must not hide the error
                parsed = None
        cls = RateLimitError if rate_limited else error_class_for(response.status_code)
        return cls(
            redact(_error_message(body, response.reason_phrase), self._api_key),
            status_code=response.status_code,
            method=request.method,
            url=_safe_url(request),
            request_id=response.headers.get(self._config.request_id_header),
            body=body,
            headers=response.headers,
            error=parsed,
            attempts=attempt,
        )

    def parse_response(self, op: Operation, response: httpx.Response, *, strict: bool | None = None) -> Any:
        """Read a success body the way the spec documents it for that status.

        JSON is read leniently (``strict``: validated against the spec; default: the
        client's ``strict``); a body of the wrong top-level kind (an array or nothing where
        the spec says object) is a :class:`ResponseValidationError` either way.
        """
        if strict is None:
            strict = self.strict
        spec = op.response_for(response.status_code)
        if spec.kind == "sse" or (op.streams and _is_event_stream(response)):
            from ._streaming import AsyncStream

            return AsyncStream(response, spec.event_parser, strict=strict)
        kind = spec.kind
        if kind == "json":
            content = response.content
            if not content:
                return spec.parser(None, strict) if spec.parser is not None else None
            try:
                data = loads(content)
            except ValueError as exc:
                raise APIConnectionError(
                    f"response body is not valid JSON ({exc})",
                    method=response.request.method,
                    url=_safe_url(response.request),
                ) from None
            return spec.parser(data, strict) if spec.parser is not None else data
        if kind == "binary":
            return response.content
        if kind == "text":
            return response.text
        return None


def _wants_stream(op: Operation, body: Any) -> bool:
    """Whether to read the response lazily: it may be a stream of server-sent events."""
    if op.streams:
        return True
    if isinstance(body, Mapping) and ("stream" in body or "stream_format" in body):
        return body.get("stream") is True or body.get("stream_format") == "sse"
    return False


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


def _safe_url(request: httpx.Request) -> str:
    """Scheme, host and path only: query strings may carry secrets."""
    url = request.url
    return f"{url.scheme}://{url.netloc.decode()}{url.path}"


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


async def _drain(response: httpx.Response) -> None:
    """Read an error body of a streamed response (for the error), and close it."""
    import httpx

    try:
        await response.aread()
    except httpx.HTTPError:
        pass
    finally:
        await response.aclose()


if sys.version_info >= (3, 11):

    async def _within(seconds: float, awaitable: Awaitable[_T]) -> _T:
        async with asyncio.timeout(seconds):
            return await awaitable

else:  # pragma: no cover - Python 3.10

    async def _within(seconds: float, awaitable: Awaitable[_T]) -> _T:
        return await asyncio.wait_for(awaitable, seconds)


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
