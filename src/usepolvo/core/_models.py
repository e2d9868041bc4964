"""Helpers shared by generated models: the base class, conversions, validation errors."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any, ClassVar

from ._encoding import to_jsonable
from ._errors import ResponseValidationError

__all__ = ["BaseModel", "best_match", "extra", "from_unix", "invalid", "to_unix"]

_UTC = _dt.timezone.utc


class BaseModel:
    """Base of every generated model (attrs classes with ``from_dict``/``to_dict``).

    Unknown fields a response carries are kept in ``extra_fields``, so nothing the API
    sends is lost and ``to_dict()`` gives it back.
    """

    __slots__ = ()

    #: the JSON keys the spec lists for this model (used to pick among union variants)
    wire_names: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    def to_json(self) -> bytes:
        """The model as JSON bytes, the way the API sent it."""
        from ._json import dumps

        return dumps(self.to_dict())


def best_match(data: Any, candidates: tuple[type[BaseModel], ...]) -> Any:
    """Parse ``data`` as the candidate whose known fields cover most of its keys.

    For unions the spec gives no way to tell apart (no discriminator, no distinguishing
    required field): candidates are tried best-covering first; the last error is raised.
    """
    if not isinstance(data, Mapping):
        return candidates[0].from_dict(data)
    keys = data.keys()
    ranked = sorted(candidates, key=lambda c: -len(keys & c.wire_names))
    error: ResponseValidationError | None = None
    for cls in ranked:
        try:
            return cls.from_dict(data)
        except ResponseValidationError as exc:
            error = exc
    assert error is not None
    raise error


def extra(d: Mapping[str, Any], known: frozenset[str]) -> dict[str, Any]:
    """The entries of ``d`` whose keys the spec does not list."""
    keys = d.keys() - known
    return {k: d[k] for k in keys} if keys else {}


def from_unix(value: Any) -> _dt.datetime:
    """Unix seconds → timezone-aware UTC datetime."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected unix seconds, got {type(value).__name__}")
    try:
        return _dt.datetime.fromtimestamp(value, _UTC)
    except (OverflowError, OSError) as exc:
        raise ValueError(f"unix time {value} out of range") from exc


def to_unix(value: Any) -> Any:
    """Datetime → unix seconds (ints pass through)."""
    if isinstance(value, _dt.datetime):
        return int(value.timestamp())
    return to_jsonable(value)


def invalid(cls: type, data: Any, exc: BaseException) -> ResponseValidationError:
    """The error raised when ``cls.from_dict`` cannot read ``data``."""
    if isinstance(exc, ResponseValidationError):
        return ResponseValidationError(str(exc), path=cls.__name__)
    if isinstance(exc, KeyError):
        msg = f"required field {exc.args[0]!r} is missing"
    elif not isinstance(data, Mapping):
        msg = f"expected an object, got {type(data).__name__}"
    else:
        msg = f"{type(exc).__name__}: {exc}"
    return ResponseValidationError(msg, path=cls.__name__)
