"""The hand-written runtime shared by every generated provider client.

Generated code imports from here; users import errors, sentinels and the paginator types.
"""

from ._client import BaseClient, RequestOptions
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
from ._retry import RetryPolicy
from ._streaming import AsyncStream
from ._types import NOT_GIVEN, NotGiven

__all__ = [
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncPaginator",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "BaseClient",
    "BaseModel",
    "ConfigurationError",
    "ConflictError",
    "FileTypes",
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
    "RequestOptions",
    "ResponseSpec",
    "ResponseValidationError",
    "RetryPolicy",
    "UnprocessableEntityError",
    "extra",
    "from_unix",
    "invalid",
    "to_unix",
]
