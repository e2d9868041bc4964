"""Request/response event hooks: see every attempt of every call, for tracing and metrics.

``StripeClient(on_request=[...], on_response=[...])`` takes callables, sync or async (an
awaitable result is awaited). The attempt loop calls each ``on_request`` hook with a
:class:`RequestEvent` just before an attempt is sent (after it has waited its turn at the
limiter), and each ``on_response`` hook with a :class:`ResponseEvent` once the attempt is
over: answered (any status) or failed (timeout, connection error, unreadable body). Retries
are visible: one pair of events per attempt, ``attempt`` counting from 1, ``will_retry``
saying whether another attempt follows.

Events are frozen and carry no secret: the URL has no query string (a query may hold a key),
request headers are left out, and response headers have the client's key masked wherever a
server echoed it (like errors and log lines).

A hook that raises stops the call: its exception reaches the caller as it is, in place of
the call's result or error, and no further attempt is made. From ``on_request`` the attempt
is not sent. Hooks run inline in the call's task, in the order given; keep them quick (a slow
hook delays the call; its time counts against ``total_timeout`` from the next attempt on).
``on_request`` runs while the attempt holds its place at the client's limiter: a hook must
not wait for other calls of the same client (with every slot taken, they would never start).

Hooks see what goes through the attempt loop: every operation, each page of a list, a
:class:`~usepolvo.core.GitHubAppAuth` token exchange (``create_installation_access_token``).
Not reported: the one unfollowed request of ``redirect_url()`` and the token fetch of an
OAuth2 client-credentials scheme, which are not operations of the API.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ._capture import safe_headers
from ._errors import ConfigurationError

if TYPE_CHECKING:
    import httpx

    from ._errors import PolvoError
    from ._limiter_base import LimiterProtocol

__all__ = ["Hooks", "RequestEvent", "RequestHook", "ResponseEvent", "ResponseHook", "make_hooks"]


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class _Attempt:
    """What both events say about the attempt (internal: the shared fields, declared once)."""

    provider: str
    operation: str
    method: str
    url: str
    attempt: int
    max_attempts: int
    idempotency_key: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class RequestEvent(_Attempt):
    """One attempt about to be sent.

    ``operation`` is the generated method's name (``retrieve_customer``), ``provider`` the
    client's (``stripe``); ``url`` is scheme, host and path only; ``attempt`` counts from 1 up
    to ``max_attempts``; ``idempotency_key`` is the key sent (the same on every attempt of a
    call), or ``None``.
    """


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class ResponseEvent(_Attempt):
    """One attempt over: what came back and what happens next.

    The attempt's ``provider``, ``operation``, ``method``, ``url``, ``attempt``,
    ``max_attempts`` and ``idempotency_key`` as in :class:`RequestEvent`. ``status_code``,
    ``headers`` and ``request_id`` (the provider's request id header) are
    ``None`` when no answer came (a timeout, a connection error); ``error`` is the typed
    error of a failed attempt (an error status included), ``None`` on success. ``elapsed``
    is the attempt's seconds from sending to the whole body read (to the headers for a
    stream), ``will_retry`` whether another attempt follows, after ``retry_in`` seconds.
    """

    status_code: int | None
    headers: httpx.Headers | None
    request_id: str | None
    elapsed: float
    will_retry: bool
    retry_in: float | None
    error: PolvoError | None

    @property
    def is_success(self) -> bool:
        """Whether the attempt answered with a status below 400 and nothing failed."""
        return self.error is None and self.status_code is not None and self.status_code < 400


#: what ``on_request=`` takes: a callable of a :class:`RequestEvent`, sync or async
RequestHook = Callable[[RequestEvent], Any]
#: what ``on_response=`` takes: a callable of a :class:`ResponseEvent`, sync or async
ResponseHook = Callable[[ResponseEvent], Any]


class Hooks:
    """A client's hooks, checked once at construction (internal)."""

    __slots__ = ("on_request", "on_response", "provider")

    def __init__(
        self, provider: str, on_request: tuple[RequestHook, ...], on_response: tuple[ResponseHook, ...]
    ):
        self.provider = provider
        self.on_request = on_request
        self.on_response = on_response

    async def request(
        self,
        operation: str,
        method: str,
        url: str,
        attempt: int,
        max_attempts: int,
        idempotency_key: str | None,
        limiter: LimiterProtocol,
        grant: Any,
    ) -> None:
        """Run the ``on_request`` hooks; one that raises gives the limiter its slot back."""
        event = RequestEvent(self.provider, operation, method, url, attempt, max_attempts, idempotency_key)
        try:
            for hook in self.on_request:
                result = hook(event)
                if inspect.isawaitable(result):
                    await result
        except BaseException:
            limiter.mark_sent(grant)
            limiter.release()
            raise

    async def response(
        self,
        operation: str,
        method: str,
        url: str,
        attempt: int,
        max_attempts: int,
        idempotency_key: str | None,
        response: httpx.Response | None,
        request_id_header: str,
        secret: str | None,
        elapsed: float,
        retry_in: float | None,
        error: PolvoError | None,
    ) -> None:
        """Run the ``on_response`` hooks for one attempt that is over."""
        headers = None if response is None else safe_headers(response.headers, secret)
        event = ResponseEvent(
            self.provider,
            operation,
            method,
            url,
            attempt,
            max_attempts,
            idempotency_key,
            None if response is None else response.status_code,
            headers,
            None if headers is None else headers.get(request_id_header),
            elapsed,
            retry_in is not None,
            retry_in,
            error,
        )
        for hook in self.on_response:
            result = hook(event)
            if inspect.isawaitable(result):
                await result


def _checked(name: str, hooks: object) -> tuple[Any, ...]:
    if hooks is None:
        return ()
    if callable(hooks):
        _not_generator(name, hooks)
        return (hooks,)
    if isinstance(hooks, (str, bytes)) or not isinstance(hooks, Sequence):
        raise ConfigurationError(
            f"{name} must be a list of callables taking one event, got {type(hooks).__name__}"
        )
    for i, hook in enumerate(hooks):
        if not callable(hook):
            raise ConfigurationError(
                f"{name}[{i}] is a {type(hook).__name__}, not a callable: pass functions taking one event"
            )
        _not_generator(f"{name}[{i}]", hook)
    return tuple(hooks)


def _not_generator(name: str, hook: object) -> None:
    """A generator function is callable, but calling it runs none of its body: refuse it."""
    for fn in (hook, getattr(hook, "__call__", None)):  # noqa: B004
        if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
            raise ConfigurationError(
                f"{name} is a generator function (it has `yield`): calling it would run none of "
                "its body; pass a plain or `async def` function taking one event"
            )


def make_hooks(provider: str, on_request: object, on_response: object) -> Hooks | None:
    """A client's hooks from its constructor arguments; ``None`` when there are none, so the
    attempt loop skips building events altogether."""
    requests = _checked("on_request", on_request)
    responses = _checked("on_response", on_response)
    if not requests and not responses:
        return None
    return Hooks(provider, requests, responses)
