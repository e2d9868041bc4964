"""Logging through ``logging.getLogger("usepolvo")`` and the redaction of secrets.

Every attempt of every call logs one DEBUG line, with the attempt's latency (sending to the
whole body read) and the provider's request id when the server sent one::

    POST /v1/customers -> 503 in 12.4ms (attempt 1/3, retry in 0.41s)
    POST /v1/customers -> 200 in 8.1ms, request id req_abc (attempt 2/3)

with the same facts as record attributes (``method``, ``path``, ``status``, ``attempt``,
``wait``, ``elapsed_ms``, ``request_id``) for structured handlers. Only the path is logged, never the query string, the
headers or the body. :func:`redact` masks credentials in any text that reaches a log line
or an exception message: the client's own key, and anything shaped like a Stripe, GitHub
or OpenAI key or an ``Authorization`` value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ._lazy import lazy_module

if TYPE_CHECKING:
    import logging
else:
    logging = lazy_module("logging", globals())

__all__ = ["guard_wire_logs", "log_attempt", "logger", "redact"]

_logger: logging.Logger | None = None


def logger() -> logging.Logger:
    """The ``usepolvo`` logger (``logging`` is imported on the first attempt, not at import)."""
    global _logger
    if _logger is None:
        _logger = logging.getLogger("usepolvo")
    return _logger


#: compiled on first use (:func:`_secret_patterns`): a client import should not compile it
_SECRET_SOURCE = r"""
    (?P<auth>(?i:\b(?:bearer|basic|token)\s+))(?=[A-Za-z._~+/=\-]*\d)[A-Za-z0-9._~+/=\-]{8,}
    | \b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{4,}    # Stripe secret / restricted / publishable
    | \bwhsec_[A-Za-z0-9]{4,}                        # Stripe webhook secret
    | \bgh[pousr]_[A-Za-z0-9]{16,}                   # GitHub tokens
    | \bgithub_pat_[A-Za-z0-9_]{16,}                 # GitHub fine-grained tokens
    | \bsk-[A-Za-z0-9_\-]{16,}                       # OpenAI keys (sk-..., sk-proj-...)
    """
_SECRET_PATTERNS: re.Pattern[str] | None = None


def _secret_patterns() -> re.Pattern[str]:
    global _SECRET_PATTERNS
    if _SECRET_PATTERNS is None:
        _SECRET_PATTERNS = re.compile(_SECRET_SOURCE, re.VERBOSE)
    return _SECRET_PATTERNS


#: Keys shorter than this are masked only when they match a known shape (masking a
#: two-letter string everywhere would garble messages without protecting anything).
_MIN_EXACT = 6


def _mask(match: re.Match[str]) -> str:
    auth = match.group("auth")
    if auth:  # "Bearer sk_..." keeps the scheme word
        return auth + "***"
    text = match.group(0)
    if text[:3] in ("sk_", "rk_", "pk_"):  # keep the mode: sk_test_***
        return text[: text.index("_", 3) + 1] + "***"
    return text[:4] + "***"


def redact(text: str, *secrets: str | None) -> str:
    """``text`` with the given secrets and anything that looks like a credential masked."""
    for secret in secrets:
        if secret and len(secret) >= _MIN_EXACT and secret in text:
            text = text.replace(secret, "***")
    return (_SECRET_PATTERNS or _secret_patterns()).sub(_mask, text)


def log_attempt(
    method: str,
    path: str,
    status: int | str,
    attempt: int,
    attempts: int,
    wait: float | None,
    *,
    final: bool = False,
    secret: str | None = None,
    elapsed: float | None = None,
    headers: Mapping[str, str] | None = None,
    request_id_header: str | None = None,
) -> None:
    """One DEBUG line for one attempt: what was sent, what came back, what happens next.

    ``headers`` (of the answer, if any) are read for ``request_id_header`` only when the line
    is logged: the lookup costs more than the rest of a disabled call."""
    log = logger()
    if not log.isEnabledFor(logging.DEBUG):
        return
    if wait is not None:
        then = f", retry in {wait:.2f}s"
    elif final and not (isinstance(status, int) and status < 400):
        then = ", giving up"
    else:
        then = ""
    ms = None if elapsed is None else round(elapsed * 1000, 1)
    took = "" if ms is None else f" in {ms:.1f}ms"
    request_id = headers.get(request_id_header) if headers is not None and request_id_header else None
    if request_id is not None:
        request_id = redact(request_id[:200], secret)  # a server's header: bounded, never a key
        took += f", request id {request_id}"
    log.debug(
        "%s %s -> %s%s (attempt %d/%d%s)",
        method,
        redact(path, secret),
        status,
        took,
        attempt,
        attempts,
        then,
        extra={
            "method": method,
            "path": redact(path, secret),
            "status": status,
            "attempt": attempt,
            "wait": wait,
            "elapsed_ms": ms,
            "request_id": request_id,
        },
    )


#: Keys of the clients that have sent requests, masked in the wire layer's own log lines.
_GUARDED: set[str] = set()
#: The loggers of httpx's wire layer, which log header tuples at DEBUG.
_WIRE_LOGGERS = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)
_filter: logging.Filter | None = None


def _mask_record(record: logging.LogRecord) -> bool:
    message = record.getMessage()
    masked = redact(message, *_GUARDED)
    if masked != message:
        record.msg, record.args = masked, None
    return True


def guard_wire_logs(secret: str | None) -> None:
    """Mask ``secret`` (and anything shaped like a key) in the DEBUG lines of httpx and
    httpcore, which log every header tuple, including a key a server echoes back."""
    global _filter
    if secret and len(secret) >= _MIN_EXACT:
        _GUARDED.add(secret)
    if _filter is None:
        _filter = logging.Filter()
        _filter.filter = _mask_record  # type: ignore[method-assign]
        for name in _WIRE_LOGGERS:
            logging.getLogger(name).addFilter(_filter)
