"""Turning call arguments into wire format: paths, query strings, form and JSON bodies.

One set of rules serves every provider; what differs per parameter (OpenAPI ``style`` and
``explode``) is recorded on the generated :class:`~usepolvo.core.Operation`.

Form and ``deepObject`` encoding follow Stripe's conventions, the most demanding user of
them: nested objects become ``key[sub]=v``, arrays of scalars ``key[]=v``, arrays of
objects ``key[0][sub]=v``; ``True``/``False`` become ``true``/``false``; ``None`` becomes an
empty value (how Stripe clears a field); datetimes become unix seconds.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._errors import ConfigurationError
from ._lazy import lazy_module
from ._types import NotGiven

if TYPE_CHECKING:
    import datetime as _dt
    import urllib.parse as _parse
else:  # loaded on first use: importing a client needs neither (urllib.parse pulls in ipaddress)
    _dt = lazy_module("datetime", globals(), "_dt")
    _parse = lazy_module("urllib.parse", globals(), "_parse")

__all__ = ["encode_form", "encode_path", "encode_query", "to_jsonable"]

_SCALARS = (str, int, float)
#: How deeply a body may nest (Stripe's deepest documented parameter is 5 levels). A deeper
#: value (or a cycle) is a typed error, not a RecursionError.
MAX_DEPTH = 32


def _too_deep(key: str) -> ConfigurationError:
    return ConfigurationError(
        f"{key!r} nests more than {MAX_DEPTH} levels deep (or contains itself): pass plain "
        "mappings, lists and scalars"
    )


def _scalar(key: str, value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    if isinstance(value, _SCALARS):
        return str(value)
    if value is None:
        return ""
    if isinstance(value, _dt.datetime):
        return str(int(value.timestamp()))
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return _scalar(key, value.value)
    raise ConfigurationError(
        f"cannot encode {key!r}: a value of type {type(value).__name__} is not a string, "
        "number, boolean, date, mapping or list"
    )


def _flatten(out: list[tuple[str, str]], key: str, value: Any, depth: int = 0) -> None:
    if isinstance(value, NotGiven):
        return
    if depth > MAX_DEPTH:
        raise _too_deep(key.partition("[")[0])
    to_dict = getattr(value, "to_dict", None)
    if to_dict is not None and not isinstance(value, type):
        value = to_dict()
    if isinstance(value, Mapping):
        for sub, item in value.items():
            _flatten(out, f"{key}[{sub}]", item, depth + 1)
    elif isinstance(value, (list, tuple)):
        nested = any(isinstance(v, (Mapping, list, tuple)) or hasattr(v, "to_dict") for v in value)
        for i, item in enumerate(value):
            _flatten(out, f"{key}[{i}]" if nested else f"{key}[]", item, depth + 1)
    else:
        out.append((key, _scalar(key, value)))


def encode_form(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Flatten a body the way Stripe expects ``application/x-www-form-urlencoded``."""
    out: list[tuple[str, str]] = []
    for key, value in data.items():
        _flatten(out, key, value)
    return out


def encode_query(params: Mapping[str, Any], styles: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """Encode query parameters by their OpenAPI style.

    ``styles`` maps a parameter name to ``deepObject``, ``form`` (explode, the default),
    ``form-flat`` (``explode: false``: ``a,b``), ``spaceDelimited`` or ``pipeDelimited``.
    """
    out: list[tuple[str, str]] = []
    for key, value in params.items():
        if isinstance(value, NotGiven):
            continue
        style = styles.get(key, "form") if styles else "form"
        if style == "deepObject":
            _flatten(out, key, value)
        elif isinstance(value, (list, tuple)):
            if style == "form":
                out.extend((key, _scalar(key, v)) for v in value)
            else:
                sep = {"form-flat": ",", "spaceDelimited": " ", "pipeDelimited": "|"}[style]
                out.append((key, sep.join(_scalar(key, v) for v in value)))
        elif isinstance(value, Mapping):
            if style == "form":
                out.extend((str(k), _scalar(key, v)) for k, v in value.items())
            else:
                out.append((key, ",".join(f"{k},{_scalar(key, v)}" for k, v in value.items())))
        else:
            out.append((key, _scalar(key, value)))
    return out


def encode_path(template: str, names: Sequence[str], values: Sequence[Any], multi: frozenset[str]) -> str:
    """Fill ``{name}`` placeholders, percent-encoding each value.

    Parameters in ``multi`` may span several segments (GitHub's ``ref`` or ``path``), so
    their slashes are kept; such a parameter at the very end of the route may be empty
    (``contents/{path}`` with ``""`` is the repository root). No value can change which
    route is called: a segment that is exactly ``.`` or ``..`` (which HTTP clients and
    servers resolve away) is refused, and every other character that means something in a
    URL is percent-encoded.
    """
    path = template
    for name, value in zip(names, values, strict=True):
        if isinstance(value, enum.Enum):  # str() of a str/int mixin enum is "Cls.MEMBER"
            value = value.value
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ConfigurationError(
                f"path parameter {name!r} must be a string or an integer, got {type(value).__name__}"
            )
        text = str.__str__(value) if isinstance(value, str) else int.__repr__(value)
        placeholder = "{" + name + "}"
        spans = name in multi
        if not text and not (spans and path.endswith(placeholder)):
            raise ConfigurationError(
                f"path parameter {name!r} is empty: pass the id of the object, e.g. 'cus_123'"
            )
        segments = text.split("/") if spans else (text,)
        if any(seg in (".", "..") for seg in segments):
            raise ConfigurationError(
                f"path parameter {name!r} is or contains a '.' or '..' segment, which would "
                f"address another route; pass the object's own id or path"
            )
        path = path.replace(placeholder, _parse.quote(text, safe="/" if spans else ""))
    return path


def to_jsonable(value: Any, _depth: int = 0) -> Any:
    """Convert call arguments (models, mappings, datetimes, enums) to JSON-ready data."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if _depth > MAX_DEPTH:
        raise _too_deep("body")
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v, _depth + 1) for k, v in value.items() if not isinstance(v, NotGiven)}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v, _depth + 1) for v in value]
    to_dict = getattr(value, "to_dict", None)
    if to_dict is not None:
        return to_jsonable(to_dict(), _depth + 1)
    if isinstance(value, _dt.datetime):
        return int(value.timestamp())
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value, _depth + 1)
    raise ConfigurationError(f"cannot send a value of type {type(value).__name__} as JSON")
