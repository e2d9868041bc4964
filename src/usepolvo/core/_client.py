"""The hand-written base of every generated client: transport, auth, retries, errors.

A generated ``StripeClient`` (or ``GitHubClient``…) subclasses :class:`BaseClient` and only
adds its provider settings and its resources. Each client owns one ``httpx.AsyncClient``,
created on first use inside the running event loop (and re-created if the client is later
used from another loop, e.g. a second ``asyncio.run``), and closed by ``aclose()`` or
``async with``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict, TypeVar
from urllib.parse import urlencode

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
from ._limits import Limiter
from ._operation import Operation
from ._retry import RetryPolicy, is_replayable, retry_after, should_retry_status

if TYPE_CHECKING:
    import httpx

    from ._pagination import AsyncPaginator

__all__ = ["BaseClient", "RequestOptions"]

logger = logging.getLogger("usepolvo")
_T = TypeVar("_T")
_Self = TypeVar("_Self", bound="BaseClient")


class RequestOptions(TypedDict, total=False):
    """Per-call settings, passed as ``request_options=`` to any generated method."""

    timeout: float
    max_retries: int
    headers: Mapping[str, str]
    query: Mapping[str, Any]
    idempotency_key: str
    api_version: str


class BaseClient:
    """Shared machinery of all provider clients. Subclasses set ``_config``."""

    _config: ClassVar[ProviderConfig]

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = 60.0,
        connect_timeout: float = 10.0,
        max_retries: int | RetryPolicy = 2,
        max_concurrency: int | None = None,
        rate_limit: float | None = None,
        limiter: Limiter | None = None,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        cfg = self._config
        key = api_key if api_key is not None else _first_env(cfg.api_key_env)
        if not key:
            names = " or ".join(cfg.api_key_env)
            raise ConfigurationError(
                f"{cfg.client_name} needs an API key: pass api_key=... or set {names}"
            )
        self._api_key = key
        url = base_url or os.environ.get(cfg.base_url_env) or cfg.base_url
        self._custom_base_url = url != cfg.base_url
        self.base_url = url.rstrip("/")
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.retry = max_retries if isinstance(max_retries, RetryPolicy) else RetryPolicy(max_retries)
        self.limiter = limiter or Limiter(max_concurrency=max_concurrency, rate=rate_limit)
        headers = {
            "User-Agent": f"usepolvo ({cfg.name} {cfg.spec_version})",
            "Accept": "application/json",
        }
        headers.update(self._auth_headers(key))
        if cfg.version_header and cfg.api_version:
            headers[cfg.version_header] = cfg.api_version
        if default_headers:
            headers.update(default_headers)
        self._headers = headers
        self._http = http_client
        self._owns_http = http_client is None
        self._loop: asyncio.AbstractEventLoop | None = None

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

    # -- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self: _Self) -> _Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (only if this client created it)."""
        http, self._http = self._http, None
        if http is not None and self._owns_http:
            await http.aclose()

    def _client(self) -> httpx.AsyncClient:
        http = self._http
        if http is not None and (not self._owns_http or self._loop is asyncio.get_running_loop()):
            return http
        import httpx

        self._loop = asyncio.get_running_loop()
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout, connect=self.connect_timeout),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=100),
            follow_redirects=True,
        )
        return self._http

    # -- requests ----------------------------------------------------------------------

    def _url(self, op: Operation, path: tuple[Any, ...]) -> str:
        route = encode_path(op.path, op.path_params, path, op.multi_segment) if path else op.path
        if op.server and not self._custom_base_url:
            return op.server.rstrip("/") + route
        return self.base_url + route

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
                url = f"{url}?{urlencode(pairs)}"
        hdrs = dict(self._headers)
        if headers:
            for name, value in headers.items():
                if value is not None and not _not_given(value):
                    hdrs[name] = str(value).lower() if isinstance(value, bool) else str(value)
        cfg = self._config
        if cfg.idempotency_header and op.method == "POST":
            key = (request_options or {}).get("idempotency_key") or str(uuid.uuid4())
            hdrs[cfg.idempotency_header] = key
        if request_options:
            if "api_version" in request_options and cfg.version_header:
                hdrs[cfg.version_header] = request_options["api_version"]
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
            elif kind == "text":
                content = str(body).encode()
                hdrs["Content-Type"] = "text/plain"
            else:
                content = body if isinstance(body, bytes) else _read_bytes(body)
                hdrs["Content-Type"] = kind
        request = self._client().build_request(
            op.method, url, headers=hdrs, content=content, data=data, files=files
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
        if not _wants_stream(op, body):
            response = await self.send(op, request, request_options)
            return self.parse_response(op, response)
        response = await self.send(op, request, request_options, stream=True)
        if _is_event_stream(response):
            return self.parse_response(op, response)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return self.parse_response(op, response)

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

        return AsyncPaginator(
            self, op, item, path=path, query=query, headers=headers, page=page, size=size,
            request_options=request_options,
        )

    async def send(
        self, op: Operation, request: httpx.Request, options: RequestOptions | None = None, *, stream: bool = False
    ) -> httpx.Response:
        """Send with limits and retries; return a success response or raise."""
        import httpx

        policy = self.retry
        max_retries = options["max_retries"] if options and "max_retries" in options else policy.max_retries
        cfg = self._config
        replayable = is_replayable(
            request.method, bool(cfg.idempotency_header and cfg.idempotency_header in request.headers)
        )
        http = self._client()
        limiter = self.limiter
        attempt = 0
        while True:
            attempt += 1
            response: httpx.Response | None = None
            error: APIError
            await limiter.acquire()
            try:
                response = await http.send(request, stream=stream)
            except httpx.TimeoutException as exc:
                error = APITimeoutError(
                    f"timed out ({type(exc).__name__})", method=request.method,
                    url=_safe_url(request), attempts=attempt,
                )
            except httpx.TransportError as exc:
                error = APIConnectionError(
                    f"connection failed ({type(exc).__name__})", method=request.method,
                    url=_safe_url(request), attempts=attempt,
                )
            finally:
                limiter.release()
            wait: float | None = None
            retryable = True
            if response is not None:
                status = response.status_code
                _log(request, status, attempt)
                if status < 400:
                    return response
                if stream:
                    await response.aread()
                error = self._status_error(op, request, response, attempt)
                wait = retry_after(response.headers)
                if status == 429 or (wait is not None and status in (403, 503)):
                    limiter.pause(wait if wait is not None else policy.backoff(attempt))
                    if isinstance(error, RateLimitError):
                        error.retry_after = wait
                retryable = should_retry_status(status, response.headers)
            if not retryable or not replayable or attempt > max_retries:
                raise error
            if wait is None:
                wait = policy.backoff(attempt)
            elif wait > policy.max_retry_after:
                raise error
            _log(request, getattr(error, "status_code", None), attempt, wait)
            await asyncio.sleep(wait)

    def _status_error(
        self, op: Operation, request: httpx.Request, response: httpx.Response, attempt: int
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
        return error_class_for(response.status_code)(
            _error_message(body, response.reason_phrase),
            status_code=response.status_code,
            method=request.method,
            url=_safe_url(request),
            request_id=response.headers.get(self._config.request_id_header),
            body=body,
            headers=response.headers,
            error=parsed,
            attempts=attempt,
        )

    def parse_response(self, op: Operation, response: httpx.Response) -> Any:
        """Read a success body the way the spec documents it for that status."""
        spec = op.response_for(response.status_code)
        if spec.kind == "sse" or _is_event_stream(response):
            from ._streaming import AsyncStream

            return AsyncStream(response, spec.event_parser)
        kind = spec.kind
        if kind == "json":
            content = response.content
            if not content:
                return None
            try:
                data = loads(content)
            except ValueError as exc:
                raise APIConnectionError(
                    f"response body is not valid JSON ({exc})", method=response.request.method,
                    url=_safe_url(response.request),
                ) from None
            return spec.parser(data) if spec.parser is not None else data
        if kind == "binary":
            return response.content
        if kind == "text":
            return response.text
        return None


def _wants_stream(op: Operation, body: Any) -> bool:
    """Whether to read the response lazily: it may be a stream of server-sent events."""
    if any(spec.kind == "sse" for spec in op.responses.values()):
        return True
    if isinstance(body, Mapping):
        return body.get("stream") is True or body.get("stream_format") == "sse"
    return False


def _is_event_stream(response: httpx.Response) -> bool:
    ctype = response.headers.get("content-type", "")
    return ctype.split(";", 1)[0].strip().lower() == "text/event-stream"


def _first_env(names: tuple[str, ...]) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def _not_given(value: object) -> bool:
    from ._types import NotGiven

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


def _log(request: httpx.Request, status: int | None, attempt: int, wait: float | None = None) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "%s %s -> %s (attempt %d%s)", request.method, request.url.path,
            status if status is not None else "error", attempt,
            f", retrying in {wait:.2f}s" if wait is not None else "",
        )
