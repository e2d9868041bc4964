"""The hand-written runtime shared by every generated provider client.

Generated code imports from here; users import errors, sentinels and the paginator types.
"""

from ._auth import Auth, GitHubAppAuth, TokenAuth
from ._client import BaseClient, ClientOptions, RequestOptions
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
    ResponseValidationError,
    UnprocessableEntityError,
)
from ._limits import Limiter
from ._models import BaseModel, extra, from_unix, invalid, to_unix
from ._multipart import FileTypes
from ._operation import Operation, ResponseSpec
from ._pagination import AsyncPaginator, Page
from ._ratelimit import RateLimitInfo
from ._retry import RetryPolicy
from ._streaming import AsyncStream
from ._types import NOT_GIVEN, NotGiven
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
    "ResponseValidationError",
    "RetryPolicy",
    "TokenAuth",
    "UnprocessableEntityError",
    "extra",
    "from_unix",
    "invalid",
    "to_unix",
]
