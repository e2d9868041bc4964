"""The exception hierarchy every provider client raises.

All errors derive from :class:`PolvoError`. HTTP errors carry the status, the provider's
request id, the decoded error body and the number of attempts made, so a caller can log
or branch on them without re-reading the response. Messages never contain credentials.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._ratelimit import RateLimitInfo

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "PolvoError",
    "RateLimitError",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "UnprocessableEntityError",
]


class PolvoError(Exception):
    """Base class of every error raised by usepolvo.

    ``idempotency_key`` is the key the failed call sent (Stripe's automatic
    ``Idempotency-Key``, or yours), ``None`` when it sent none: retrying the call with
    ``request_options={"idempotency_key": err.idempotency_key}`` cannot create twice.
    """

    idempotency_key: str | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        # pickle and copy rebuild the error from its message and attributes: calling
        # ``__init__`` again (the default) fails on keyword-only arguments, or formats the
        # already formatted message a second time
        return (_rebuild, (type(self), self.args), self.__dict__)


def _rebuild(cls: type[PolvoError], args: tuple[Any, ...]) -> PolvoError:
    err = cls.__new__(cls)
    err.args = args
    return err


class ConfigurationError(PolvoError, ValueError):
    """The client or a call was set up wrongly (missing key, bad argument, bad option).

    Raised before anything is sent, so nothing is half-done.
    """


class ResponseValidationError(PolvoError, ValueError):
    """A response body could not be turned into the type the spec declares.

    ``idempotency_key`` is the key the request carried (``None`` when none was sent, or the
    error came from reading a model outside a call)."""

    def __init__(self, message: str, *, path: str = "") -> None:
        self.path = path
        self.idempotency_key: str | None = None
        super().__init__(f"{path}: {message}" if path else message)


class APIError(PolvoError):
    """Something went wrong talking to the API (base of status and connection errors)."""

    attempts: int = 1


class APIConnectionError(APIError):
    """The request could not be delivered or the response could not be read."""

    def __init__(self, message: str, *, method: str = "", url: str = "", attempts: int = 1) -> None:
        self.method = method
        self.url = url
        self.attempts = attempts
        where = f" ({method} {url})" if method else ""
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        super().__init__(f"{message}{where}{tries}")


class APITimeoutError(APIConnectionError):
    """The request timed out (connect, read, write, pool or the overall deadline)."""


class ResponseTooLargeError(APIConnectionError):
    """The response body passed ``max_response_bytes`` (compressed or decompressed).

    Reading stopped at the bound; raise it for one call with
    ``request_options={"max_response_bytes": n}`` (``None``: no bound).
    """

    def __init__(self, limit: int, *, method: str = "", url: str = "", attempts: int = 1) -> None:
        self.limit = limit
        super().__init__(
            f"response body larger than max_response_bytes={limit}", method=method, url=url, attempts=attempts
        )


class APIStatusError(APIError):
    """The API answered with a non-success HTTP status.

    ``body`` is the decoded JSON body (or text when it is not JSON); ``error`` is the body
    parsed into the spec's error model when one is declared; ``rate_limit`` the rate-limit
    budget the response reported (a :class:`RateLimitInfo`, or ``None``).
    """

    status_code: int

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        method: str,
        url: str,
        request_id: str | None,
        body: Any,
        headers: Mapping[str, str],
        error: Any = None,
        attempts: int = 1,
    ) -> None:
        self.status_code = status_code
        self.method = method
        self.url = url
        self.request_id = request_id
        self.body = body
        self.headers = headers
        self.error = error
        self.attempts = attempts
        self._received = time.time()
        rid = f", request id {request_id}" if request_id else ""
        tries = f", after {attempts} attempts" if attempts > 1 else ""
        super().__init__(f"{status_code} from {method} {url}{rid}{tries}: {message}")

    @property
    def rate_limit(self) -> RateLimitInfo | None:
        """The ``x-ratelimit-*`` budget reported with this error (``None``: none reported)."""
        from ._ratelimit import parse_rate_limit

        return parse_rate_limit(self.headers, self._received) if self.headers else None


class BadRequestError(APIStatusError):
    """400: the request was malformed or a parameter was invalid."""


class AuthenticationError(APIStatusError):
    """401: the credentials are missing, wrong or expired."""


class PermissionDeniedError(APIStatusError):
    """403: the credentials are valid but not allowed to do this."""


class NotFoundError(APIStatusError):
    """404: the object or route does not exist."""


class ConflictError(APIStatusError):
    """409: a conflicting request is in progress (Stripe: idempotency or lock conflict)."""


class UnprocessableEntityError(APIStatusError):
    """422: the request was well-formed but failed validation."""


class RateLimitError(APIStatusError):
    """429: too many requests; ``retry_after`` is the server's advice in seconds, if any."""

    retry_after: float | None = None


class InternalServerError(APIStatusError):
    """5xx: the provider failed; usually safe to retry idempotent requests."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def error_class_for(status: int) -> type[APIStatusError]:
    """The most specific error class for an HTTP status."""
    if status >= 500:
        return InternalServerError
    return _BY_STATUS.get(status, APIStatusError)
