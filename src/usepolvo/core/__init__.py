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
from ._paging import PageStyle
from ._types import NOT_GIVEN, NotGiven, SequenceNotStr

if _typing.TYPE_CHECKING:
    from ._auth import Auth, GitHubAppAuth, TokenAuth
    from ._client import BaseClient, ClientOptions, RequestOptions
    from ._hooks import RequestEvent, RequestHook, ResponseEvent, ResponseHook
    from ._limiter_base import LimiterProtocol, LimiterUnavailableError
    from ._limits import Limiter
    from ._models import (
        UNSET,
        BaseModel,
        best_match,
        dump,
        extra,
        from_iso,
        from_iso_date,
        from_unix,
        invalid,
        lazy_model,
        pick,
        to_iso,
        to_unix,
    )
    from ._multipart import FileTypes
    from ._pagination import AsyncPaginator, Page, PaginationLoopError
    from ._ratelimit import RateLimitInfo
    from ._raw_response import APIResponse
    from ._redis_limiter import RedisLimiter
    from ._retry import RetryPolicy
    from ._streaming import AsyncStream
    from ._validate import checked, fits
    from ._warnings import ApiVersionWarning
    from ._webhooks import (
        EnvelopeWebhooks,
        MalformedWebhookHeaderError,
        MemoryReplayStore,
        MissingWebhookHeaderError,
        ReplayStore,
        UnknownWebhookEvent,
        WebhookBody,
        WebhookHeaders,
        WebhookPayloadError,
        WebhookReplayError,
        Webhooks,
        WebhookScheme,
        WebhookSecret,
        WebhookSignatureError,
        WebhookTimestampError,
        WebhookVerificationError,
        sign_webhook,
        verify_webhook,
    )

__all__ = [
    "NOT_GIVEN",
    "UNSET",
    "APIConnectionError",
    "APIError",
    "APIResponse",
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
    "LimiterProtocol",
    "LimiterUnavailableError",
    "NotFoundError",
    "NotGiven",
    "Operation",
    "Page",
    "PageStyle",
    "PaginationLoopError",
    "PermissionDeniedError",
    "PolvoError",
    "ProviderConfig",
    "RateLimitError",
    "RateLimitInfo",
    "RedisLimiter",
    "RequestEvent",
    "RequestHook",
    "RequestOptions",
    "ResponseEvent",
    "ResponseHook",
    "ResponseSpec",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "RetryPolicy",
    "SequenceNotStr",
    "TokenAuth",
    "UnprocessableEntityError",
    "best_match",
    "checked",
    "dump",
    "extra",
    "fits",
    "from_iso",
    "from_iso_date",
    "from_unix",
    "invalid",
    "lazy_model",
    "pick",
    "to_iso",
    "to_unix",
    # receiving webhooks (loaded on first use)
    "EnvelopeWebhooks",
    "MalformedWebhookHeaderError",
    "MemoryReplayStore",
    "MissingWebhookHeaderError",
    "ReplayStore",
    "UnknownWebhookEvent",
    "WebhookBody",
    "WebhookHeaders",
    "WebhookPayloadError",
    "WebhookReplayError",
    "WebhookScheme",
    "WebhookSecret",
    "WebhookSignatureError",
    "WebhookTimestampError",
    "WebhookVerificationError",
    "Webhooks",
    "sign_webhook",
    "verify_webhook",
]

# Everything else loads on first use (PEP 562): importing a client must stay cheap, and the
# client, pagination, streaming and auth machinery pull in asyncio, httpx glue and more.
_LAZY: dict[str, str] = {
    "APIResponse": "._raw_response",
    "RequestEvent": "._hooks",
    "RequestHook": "._hooks",
    "ResponseEvent": "._hooks",
    "ResponseHook": "._hooks",
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
    "LimiterProtocol": "._limiter_base",
    "LimiterUnavailableError": "._limiter_base",
    "Page": "._pagination",
    "PaginationLoopError": "._pagination",
    "RateLimitInfo": "._ratelimit",
    "RedisLimiter": "._redis_limiter",
    "RequestOptions": "._client",
    "RetryPolicy": "._retry",
    "TokenAuth": "._auth",
    "UNSET": "._models",
    "best_match": "._models",
    "checked": "._validate",
    "dump": "._models",
    "extra": "._models",
    "fits": "._validate",
    "from_iso": "._models",
    "from_iso_date": "._models",
    "from_unix": "._models",
    "invalid": "._models",
    "lazy_model": "._models",
    "pick": "._models",
    "to_iso": "._models",
    "to_unix": "._models",
    "EnvelopeWebhooks": "._webhooks",
    "MalformedWebhookHeaderError": "._webhooks",
    "MemoryReplayStore": "._webhooks",
    "MissingWebhookHeaderError": "._webhooks",
    "ReplayStore": "._webhooks",
    "UnknownWebhookEvent": "._webhooks",
    "WebhookBody": "._webhooks",
    "WebhookHeaders": "._webhooks",
    "WebhookPayloadError": "._webhooks",
    "WebhookReplayError": "._webhooks",
    "WebhookScheme": "._webhooks",
    "WebhookSecret": "._webhooks",
    "WebhookSignatureError": "._webhooks",
    "WebhookTimestampError": "._webhooks",
    "WebhookVerificationError": "._webhooks",
    "Webhooks": "._webhooks",
    "sign_webhook": "._webhooks",
    "verify_webhook": "._webhooks",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # ``from ._x import name`` by hand (importlib itself would cost a client import more)
    value = getattr(__import__(module[1:], globals(), None, (name,), 1), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return list(__all__)
