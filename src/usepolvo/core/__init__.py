"""The hand-written runtime shared by every generated provider client.

Generated code imports from here; users import errors, sentinels and the paginator types.
"""

import typing as _typing

from ._config import ProviderConfig
from ._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    PolvoError,
    RateLimitError,
    ResponseTooLargeError,
    ResponseValidationError,
    UnprocessableEntityError,
)
from ._operation import Operation, ResponseSpec
from ._types import NOT_GIVEN, NotGiven

if _typing.TYPE_CHECKING:
    from ._auth import Auth, GitHubAppAuth, TokenAuth
    from ._client import BaseClient, ClientOptions, RequestOptions
    from ._limits import Limiter
    from ._models import BaseModel, best_match, extra, from_unix, invalid, to_unix
    from ._multipart import FileTypes
    from ._pagination import AsyncPaginator, Page
    from ._ratelimit import RateLimitInfo
    from ._retry import RetryPolicy
    from ._streaming import AsyncStream
    from ._warnings import ApiVersionWarning

__all__ = [
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "ApiVersionWarning",
    "AsyncPaginator",
    "AsyncStream",
    "Auth",
    "AuthenticationError",
    "BadRequestError",
    "BaseClient",
    "BaseModel",
    "ClientOptions",
    "ConfigurationError",
    "ConflictError",
    "FileTypes",
    "GitHubAppAuth",
    "InternalServerError",
    "Limiter",
    "NotFoundError",
    "NotGiven",
    "Operation",
    "Page",
    "PermissionDeniedError",
    "PolvoError",
    "ProviderConfig",
    "RateLimitError",
    "RateLimitInfo",
    "RequestOptions",
    "ResponseSpec",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "RetryPolicy",
    "TokenAuth",
    "UnprocessableEntityError",
    "best_match",
    "extra",
    "from_unix",
    "invalid",
    "to_unix",
]

# Everything else loads on first use (PEP 562): importing a client must stay cheap, and the
# client, pagination, streaming and auth machinery pull in asyncio, httpx glue and more.
_LAZY: dict[str, str] = {
    "ApiVersionWarning": "._warnings",
    "AsyncPaginator": "._pagination",
    "AsyncStream": "._streaming",
    "Auth": "._auth",
    "BaseClient": "._client",
    "BaseModel": "._models",
    "ClientOptions": "._client",
    "FileTypes": "._multipart",
    "GitHubAppAuth": "._auth",
    "Limiter": "._limits",
    "Page": "._pagination",
    "RateLimitInfo": "._ratelimit",
    "RequestOptions": "._client",
    "RetryPolicy": "._retry",
    "TokenAuth": "._auth",
    "best_match": "._models",
    "extra": "._models",
    "from_unix": "._models",
    "invalid": "._models",
    "to_unix": "._models",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return list(__all__)
