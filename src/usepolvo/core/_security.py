"""Credentials from the spec's ``securitySchemes``: what a generated client sends, and how.

The generator turns each scheme into a :class:`Scheme` and each security requirement into
tuples of scheme names (alternatives of schemes sent together). :class:`SpecAuth` holds the
user's credentials and signs each request with the first alternative of its operation
whose credentials were given:

- ``apiKey`` in a ``header``, the ``query`` or a ``cookie``;
- HTTP ``bearer``; HTTP ``basic`` with a username and a password;
- OAuth2 ``clientCredentials``: a token fetched from ``tokenUrl`` (client id and secret as
  HTTP basic, RFC 6749 §2.3.1), cached, refreshed before it expires, and fetched again
  once when the API answers 401; other OAuth2 flows take an access token, sent as bearer.

Signing follows httpx's ``auth_flow`` pattern: :meth:`SpecAuth.flow` is a generator that
*yields* the requests it needs (a token fetch) and receives their responses; the client
sends them. The auth object never holds the client. Secrets never appear in reprs.
"""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncGenerator, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from ._auth import Auth
from ._errors import AuthenticationError, ConfigurationError

if TYPE_CHECKING:
    import asyncio

    from ._client import BaseClient, RequestOptions
    from ._operation import Operation

__all__ = ["Scheme", "SpecAuth", "send_signed"]

Requirement = tuple[tuple[str, ...], ...]
_SIGNED = "usepolvo.signed"


class Scheme:
    """One security scheme: ``kind`` is ``api_key``, ``bearer``, ``basic``, ``oauth2`` (a
    token the user brings) or ``client_credentials``; ``keywords`` are the client's
    constructor arguments that carry its credentials, ``env`` their environment variables."""

    __slots__ = (
        "env",
        "keywords",
        "kind",
        "location",
        "name",
        "param",
        "scopes",
        "token_keyword",
        "token_url",
    )

    def __init__(
        self,
        name: str,
        kind: str,
        *,
        keywords: tuple[str, ...],
        env: tuple[str | None, ...] = (),
        location: str = "header",
        param: str = "",
        token_url: str = "",
        token_keyword: str = "",
        scopes: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.kind = kind
        self.keywords = keywords
        self.env = env or (None,) * len(keywords)
        self.location = location
        self.param = param
        self.token_url = token_url
        #: ``client_credentials``: the keyword of a token the user already has (used as is)
        self.token_keyword = token_keyword
        self.scopes = scopes

    def __repr__(self) -> str:
        return f"<Scheme {self.name} ({self.kind})>"


class _Token:
    __slots__ = ("expires", "value")

    def __init__(self, value: str, expires: float) -> None:
        self.value = value
        self.expires = expires


class SpecAuth(Auth):
    """The credentials of a client generated with auth from its spec.

    ``credentials`` maps constructor keywords to values (``None``: not given; the scheme's
    environment variable is read instead). ``default`` is the spec's top-level security
    requirement, used by operations that declare none. ``refresh_before`` is how long
    before its expiry an OAuth2 token is replaced.
    """

    signs_requests = True

    def __init__(
        self,
        schemes: tuple[Scheme, ...],
        default: Requirement,
        credentials: Mapping[str, str | None],
        *,
        client_name: str = "client",
        refresh_before: float = 60.0,
    ) -> None:
        import os

        self.schemes = {s.name: s for s in schemes}
        self.default = default
        self.client_name = client_name
        self.refresh_before = refresh_before
        values: dict[str, str] = {}
        for scheme in schemes:
            pairs = list(zip(scheme.keywords, scheme.env, strict=False))
            if scheme.token_keyword:
                pairs.append((scheme.token_keyword, None))
            for keyword, env in pairs:
                value = credentials.get(keyword)
                if value is None and env:
                    value = os.environ.get(env)
                if value:
                    values[keyword] = value
        self._values = values
        self._tokens: dict[str, _Token] = {}
        self._locks: dict[str, tuple[asyncio.Lock, asyncio.AbstractEventLoop]] = {}
        if default and () not in default and not any(self._has(alt) for alt in default):
            raise ConfigurationError(f"{client_name} needs credentials: {self._describe(default)}")

    def __repr__(self) -> str:
        return f"SpecAuth(schemes={sorted(self.schemes)!r}, credentials='***')"

    def static_key(self) -> None:
        return None

    # -- which credentials ---------------------------------------------------------------

    def _given(self, name: str) -> bool:
        scheme = self.schemes.get(name)
        if scheme is not None and scheme.token_keyword in self._values:
            return True
        return scheme is not None and all(k in self._values for k in scheme.keywords)

    def _has(self, alternative: tuple[str, ...]) -> bool:
        return all(self._given(n) for n in alternative)

    def _describe(self, requirement: Requirement) -> str:
        options = []
        for alt in requirement:
            parts = []
            for name in alt:
                scheme = self.schemes.get(name)
                if scheme is None:
                    continue
                for keyword, env in zip(scheme.keywords, scheme.env, strict=False):
                    parts.append(f"{keyword}=" + (f" (or {env})" if env else ""))
            options.append(" and ".join(parts))
        return "pass " + " or ".join(o for o in options if o)

    def choose(self, requirement: Requirement | None) -> tuple[str, ...]:
        """The schemes to send for an operation with this requirement (``None``: the default)."""
        req = self.default if requirement is None else requirement
        if not req or () in req:
            # optional auth: send what was given, nothing otherwise
            return next((alt for alt in req if alt and self._has(alt)), ())
        for alt in req:
            if self._has(alt):
                return alt
        raise ConfigurationError(f"this operation needs other credentials: {self._describe(req)}")

    # -- signing -------------------------------------------------------------------------

    async def flow(
        self, request: httpx.Request, requirement: Requirement | None
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Sign ``request``; yields any request needed first (a token fetch)."""
        cookies: list[str] = []
        for name in self.choose(requirement):
            scheme = self.schemes[name]
            kind = scheme.kind
            if kind == "api_key":
                value = self._values[scheme.keywords[0]]
                if scheme.location == "query":
                    request.url = request.url.copy_set_param(scheme.param, value)
                elif scheme.location == "cookie":
                    cookies.append(f"{scheme.param}={value}")
                else:
                    request.headers[scheme.param] = value
            elif kind in ("bearer", "oauth2"):
                request.headers["Authorization"] = f"Bearer {self._values[scheme.keywords[0]]}"
            elif kind == "basic":
                user, password = (self._values[k] for k in scheme.keywords)
                request.headers["Authorization"] = _basic(user, password)
            elif kind == "client_credentials" and scheme.token_keyword in self._values:
                request.headers["Authorization"] = f"Bearer {self._values[scheme.token_keyword]}"
            elif kind == "client_credentials":
                token = self._tokens.get(name)
                if token is None or time.time() >= token.expires - self.refresh_before:
                    async with self._lock(name):  # one fetch, however many calls wait for it
                        token = self._tokens.get(name)
                        if token is None or time.time() >= token.expires - self.refresh_before:
                            response = yield self._token_request(scheme, request)
                            token = self._read_token(scheme, response)
                            self._tokens[name] = token
                request.headers["Authorization"] = f"Bearer {token.value}"
        if cookies:
            request.headers["Cookie"] = "; ".join(cookies)

    def _token_request(self, scheme: Scheme, request: httpx.Request) -> httpx.Request:
        from urllib.parse import urlencode, urljoin

        client_id, secret = (self._values[k] for k in scheme.keywords)
        form = {"grant_type": "client_credentials"}
        if scheme.scopes:
            form["scope"] = " ".join(scheme.scopes)
        return httpx.Request(
            "POST",
            urljoin(str(request.url), scheme.token_url),  # a relative tokenUrl is on the API's host
            content=urlencode(form).encode(),
            headers={
                "Authorization": _basic(client_id, secret),
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
        )

    def _read_token(self, scheme: Scheme, response: httpx.Response) -> _Token:
        try:
            data: Any = response.json()
        except ValueError:
            data = None
        if response.status_code >= 400 or not isinstance(data, dict) or not data.get("access_token"):
            raise AuthenticationError(
                f"{scheme.name}: the token endpoint answered {response.status_code} without an access_token",
                status_code=response.status_code,
                method="POST",
                url=f"{response.request.url.scheme}://{response.request.url.netloc.decode()}{response.request.url.path}",
                request_id=None,
                body=None,
                headers=response.headers,
            )
        lifetime = data.get("expires_in")
        seconds = (
            float(lifetime)
            if isinstance(lifetime, (int, float)) and not isinstance(lifetime, bool)
            else 3600.0
        )
        return _Token(str(data["access_token"]), time.time() + seconds)

    def _lock(self, name: str) -> asyncio.Lock:
        import asyncio

        loop = asyncio.get_running_loop()
        lock = self._locks.get(name)
        if lock is None or lock[1] is not loop:
            lock = self._locks[name] = (asyncio.Lock(), loop)
        return lock[0]

    def forget_tokens(self) -> bool:
        """Drop fetched tokens (after a 401); whether there were any to fetch again."""
        had = bool(self._tokens)
        self._tokens.clear()
        return had


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def send_signed(
    client: BaseClient,
    auth: SpecAuth,
    op: Operation,
    request: httpx.Request,
    options: RequestOptions | None,
    *,
    stream: bool,
    parse: bool,
) -> Any:
    """Sign ``request`` (sending what the auth flow yields), then send it; on a 401 with a
    fetched token, fetch a new one and send once more."""
    requirement: Requirement | None = getattr(op, "security", None)
    request.extensions[_SIGNED] = True
    for attempt in (1, 2):
        flow = auth.flow(request, requirement)
        try:
            extra = await flow.__anext__()
            while True:
                response = await client._client().send(extra)
                await response.aread()
                extra = await flow.asend(response)
        except StopAsyncIteration:
            pass
        finally:
            await flow.aclose()  # releases a token lock if the fetch failed
        try:
            return await client._exchange(op, request, options, parse=parse, stream=stream)
        except AuthenticationError:
            if attempt == 2 or not auth.forget_tokens():
                raise
    raise AssertionError("unreachable")  # pragma: no cover
