"""Credentials beyond a static API key, passed to a client as ``auth=``.

- :class:`TokenAuth`: a fixed token (an OAuth or personal access token), the same as
  ``api_key=``; its header is computed once, like any key's.
- :class:`GitHubAppAuth`: a GitHub App acting as one installation. It signs a short-lived
  RS256 JWT with the app's private key, exchanges it at ``POST /app/installations/{id}/
  access_tokens`` for an installation token, and sends that token until shortly before it
  expires; one refresh serves every request waiting for it. Needs PyJWT with cryptography
  (``pip install 'usepolvo[github-app]'``), imported on first use.

A custom scheme subclasses :class:`Auth` and implements :meth:`Auth.authorization`. Tokens,
keys and JWTs never appear in reprs, logs or error messages.
"""

from __future__ import annotations

import datetime
import time
from typing import TYPE_CHECKING, Any

from ._errors import ConfigurationError, ResponseValidationError
from ._json import loads
from ._lazy import lazy_module
from ._operation import Operation

if TYPE_CHECKING:
    import asyncio

    from ._client import BaseClient
else:
    asyncio = lazy_module("asyncio", globals())

__all__ = ["Auth", "GitHubAppAuth", "TokenAuth"]


class Auth:
    """Base class of ``auth=`` objects.

    A static credential returns it from :meth:`static_key` (the client then sends it with
    the provider's scheme, precomputed once). A dynamic one returns ``None`` there and
    implements :meth:`authorization`, awaited before each request that carries no
    ``Authorization`` header of its own.
    """

    def static_key(self) -> str | None:
        """A fixed credential, or ``None`` when the header is computed per request."""
        return None

    async def authorization(self, client: BaseClient) -> str:
        """The ``Authorization`` header value for the next request of ``client``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(***)"


class TokenAuth(Auth):
    """A fixed token (OAuth, personal access token): equivalent to ``api_key=token``."""

    __slots__ = ("_token",)

    def __init__(self, token: str) -> None:
        if not token:
            raise ConfigurationError("TokenAuth needs a non-empty token")
        self._token = token

    def static_key(self) -> str:
        return self._token


_ACCESS_TOKENS = Operation(
    "create_installation_access_token",
    "POST",
    "/app/installations/{installation_id}/access_tokens",
    path_params=("installation_id",),
)


class GitHubAppAuth(Auth):
    """Authenticate as a GitHub App installation.

    ``app_id`` (or the app's client id) is the JWT issuer; ``private_key`` the app's PEM
    private key; ``installation_id`` the installation to act as. The JWT is backdated 60 s
    (clock drift) and expires ``jwt_ttl`` seconds from now (at most 600, GitHub's limit).
    The installation token is refreshed ``refresh_before`` seconds before its
    ``expires_at`` (5 minutes by default), by one request however many calls wait for it.
    """

    def __init__(
        self,
        app_id: int | str,
        private_key: str | bytes,
        installation_id: int | str,
        *,
        refresh_before: float = 300.0,
        jwt_ttl: float = 540.0,
    ) -> None:
        if not private_key:
            raise ConfigurationError("GitHubAppAuth needs the app's private key (PEM)")
        if not 0 < jwt_ttl <= 600:
            raise ConfigurationError("jwt_ttl must be between 0 and 600 seconds (GitHub's limit)")
        self.app_id = str(app_id)
        self.installation_id = str(installation_id)
        self.refresh_before = refresh_before
        self.jwt_ttl = jwt_ttl
        self._private_key = private_key
        self._token: str | None = None
        self._expires = 0.0
        self._generation = 0
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"GitHubAppAuth(app_id={self.app_id!r}, installation_id={self.installation_id!r}, private_key='***')"

    @property
    def expires_at(self) -> datetime.datetime | None:
        """When the current installation token expires (``None`` before the first one)."""
        if self._token is None:
            return None
        return datetime.datetime.fromtimestamp(self._expires, tz=datetime.timezone.utc)

    def make_jwt(self, now: float | None = None) -> str:
        """The app's RS256 JWT: ``iss`` the app id, ``iat`` 60 s ago, ``exp`` within 10 minutes."""
        jwt = _pyjwt()
        at = int(time.time() if now is None else now)
        payload = {"iat": at - 60, "exp": at + int(self.jwt_ttl), "iss": self.app_id}
        try:
            token: str = jwt.encode(payload, self._private_key, algorithm="RS256")
        except NotImplementedError as exc:  # PyJWT without cryptography
            raise ConfigurationError(_MISSING) from exc
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise ConfigurationError(
                f"GitHubAppAuth: the private key is not a usable RSA key ({type(exc).__name__})"
            ) from None
        return token

    def _fresh(self) -> bool:
        return self._token is not None and time.time() < self._expires - self.refresh_before

    async def authorization(self, client: BaseClient) -> str:
        token = self._token
        if token is None or not self._fresh():
            token = await self._refresh(client)
        return f"Bearer {token}"

    async def _refresh(self, client: BaseClient) -> str:
        seen = self._generation
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        async with self._lock:
            token = self._token
            # another call refreshed while this one waited: use its (unexpired) token
            if (
                token is not None
                and (self._generation != seen or self._fresh())
                and time.time() < self._expires
            ):
                return token
            jwt = self.make_jwt()
            request = client.build_request(
                _ACCESS_TOKENS,
                path=(self.installation_id,),
                headers={"Authorization": f"Bearer {jwt}", "Accept": "application/vnd.github+json"},
            )
            response = await client.send(_ACCESS_TOKENS, request)
            try:
                data: Any = loads(response.content)
                token = str(data["token"])
                expires = _parse_time(str(data["expires_at"]))
            except (ValueError, KeyError, TypeError) as exc:
                raise ResponseValidationError(
                    "installation token response without a token and expires_at", path=type(exc).__name__
                ) from None
            self._token, self._expires = token, expires
            self._generation += 1
            return token


_MISSING = (
    "GitHub App auth needs PyJWT with cryptography: pip install 'usepolvo[github-app]' "
    "(or pip install 'pyjwt[crypto]')"
)


def _pyjwt() -> Any:
    try:
        import jwt
    except ImportError as exc:
        raise ConfigurationError(_MISSING) from exc
    return jwt


def _parse_time(text: str) -> float:
    """An ISO 8601 time (``2016-07-11T22:14:10Z``) as a Unix time."""
    value = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.timestamp()
