"""``specs/<provider>/provider.toml``, typed: every key, its type and its default, in one place.

A provider needs almost nothing: the pin says which spec, the spec says the servers, the
security schemes and the operations. ``provider.toml`` only names things and overrides
what the spec cannot say (rate limits, a naming strategy, a paging style). Mistakes are
errors naming the file and the key, with the closest known key when one was misspelt.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import attrs
import tomllib

from ._naming import pascal, snake

__all__ = ["ConfigError", "ProviderConfig", "load_config"]


class ConfigError(Exception):
    """``provider.toml`` has an unknown, missing or mistyped key."""


NAMINGS = ("path", "operation_id", "operation_id_path")
AUTH_KINDS = ("bearer", "token", "basic", "api_key_header", "api_key_query", "api_key_cookie", "spec")


@attrs.frozen
class RateLimit:
    #: requests in flight; ``None``: the runtime default
    max_concurrency: int | None = None
    #: client-side budget per minute (GitHub's secondary limit)
    points_per_minute: int | None = None
    #: cost of a non-read request against ``points_per_minute``
    write_cost: int | None = None
    #: requests per second in live / test mode (Stripe)
    live: int | None = None
    test: int | None = None
    test_key_prefixes: tuple[str, ...] = ("sk_test_", "rk_test_")


@attrs.frozen
class OptionalHeader:
    header: str
    env: str | None = None


@attrs.frozen
class ProviderConfig:
    """One provider's settings; field docs are the reference for ``provider.toml``."""

    #: the provider's package name: ``usepolvo.<name>``
    name: str
    #: the pinned version generated as the provider's default
    default: str
    #: the client's class name (default: ``<Name>Client``)
    client_class: str = ""
    #: env vars read for the credential, in order (default: ``<NAME>_API_KEY``)
    api_key_env: tuple[str, ...] = ()
    #: env var that overrides the base URL (default: ``<NAME>_BASE_URL``)
    base_url_env: str = ""
    #: how the credential is sent; ``spec`` (the default): from the spec's securitySchemes
    auth: str = "spec"
    #: other keyword names of ``api_key=`` (GitHub's ``token=``)
    api_key_aliases: tuple[str, ...] = ()
    version_header: str | None = None
    #: the ``Accept`` header of every request (operations documenting another media type
    #: send their own); empty: none
    accept: str = ""
    request_id_header: str = "x-request-id"
    idempotency_header: str | None = None
    #: page styles (``[[pagination]]`` tables, tried in order; see ``generator/_paging.py``);
    #: ``None``: proposed per GET list operation; ``"none"``: no operation pages
    pagination: list[dict[str, Any]] | str | None = None
    #: operationId → a page style table, or ``"none"``
    pagination_overrides: dict[str, Any] = attrs.field(factory=dict)
    naming: str = "operation_id"
    path_prefix: str = ""
    docs_url: str = ""
    docs_template: str = ""
    #: the server URL when the spec has none or a wrong one
    base_url: str = ""
    rate_limit: RateLimit = attrs.field(factory=RateLimit)
    optional_headers: dict[str, OptionalHeader] = attrs.field(factory=dict)
    #: operationId → ``"resource.path:method"``
    naming_overrides: dict[str, str] = attrs.field(factory=dict)
    #: webhook signing scheme and event lookup (``[webhooks]``; keys checked by ``_webhooks``)
    webhooks: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The settings as the templates read them (every key present, defaults applied)."""
        out = attrs.asdict(self, recurse=True)
        out["api_key_env"] = list(self.api_key_env)
        out["api_key_aliases"] = list(self.api_key_aliases)
        out["rate_limit"] = {k: v for k, v in out["rate_limit"].items() if v is not None}
        out["optional_headers"] = {
            k: {kk: vv for kk, vv in v.items() if vv is not None} for k, v in out["optional_headers"].items()
        }
        return out


def _suggest(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else f" (known keys: {', '.join(sorted(known))})"


def _check_keys(data: dict[str, Any], cls: type, where: str) -> None:
    known = [a.name for a in attrs.fields(cls)]
    for key in data:
        if key not in known:
            raise ConfigError(f"{where}: unknown key {key!r}{_suggest(key, known)}")


def _typed(value: Any, ty: type | tuple[type, ...], where: str, key: str) -> Any:
    if not isinstance(value, ty) or (isinstance(value, bool) and ty is int):
        names = ty.__name__ if isinstance(ty, type) else " or ".join(t.__name__ for t in ty)
        raise ConfigError(f"{where}: {key} must be a {names}, got {value!r}")
    return value


def _strs(value: Any, where: str, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key} must be a string or a list of strings, got {value!r}")
    return tuple(value)


def _style(value: Any, where: str, key: str) -> dict[str, Any]:
    from ._paging import KINDS, STYLE_KEYS

    if not isinstance(value, dict):
        raise ConfigError(f'{where}: {key} must be a table of page-style fields or "none", got {value!r}')
    for k in value:
        if k not in STYLE_KEYS:
            raise ConfigError(f"{where}: {key}: unknown key {k!r}{_suggest(k, sorted(STYLE_KEYS))}")
    if value.get("kind") not in KINDS:
        raise ConfigError(f"{where}: {key}.kind must be one of {', '.join(KINDS)}, got {value.get('kind')!r}")
    return dict(value)


def parse_config(data: dict[str, Any], where: str, *, name: str, pins: list[str]) -> ProviderConfig:
    """Validate the raw TOML table of ``where`` (a file name, for messages)."""
    _check_keys(data, ProviderConfig, where)
    data = dict(data)
    if "name" in data and data["name"] != name:
        raise ConfigError(f"{where}: name {data['name']!r} differs from its folder {name!r}")
    if "default" not in data:
        if len(pins) != 1:
            raise ConfigError(
                f"{where}: missing key 'default' (which pinned version to generate as the default; "
                f"pinned: {', '.join(pins) or 'none'})"
            )
        data["default"] = pins[0]
    default = str(data.pop("default"))
    data.pop("name", None)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("api_key_env", "api_key_aliases"):
            kwargs[key] = _strs(value, where, key)
        elif key == "rate_limit":
            _typed(value, dict, where, key)
            _check_keys(value, RateLimit, f"{where} [rate_limit]")
            limits = dict(value)
            for k, v in limits.items():
                if k == "test_key_prefixes":
                    limits[k] = _strs(v, where, f"rate_limit.{k}")
                else:
                    _typed(v, int, where, f"rate_limit.{k}")
            kwargs[key] = RateLimit(**limits)
        elif key == "optional_headers":
            _typed(value, dict, where, key)
            headers = {}
            for kwarg, spec in value.items():
                _typed(spec, dict, where, f"optional_headers.{kwarg}")
                _check_keys(spec, OptionalHeader, f"{where} [optional_headers.{kwarg}]")
                if "header" not in spec:
                    raise ConfigError(f"{where}: optional_headers.{kwarg} is missing key 'header'")
                headers[kwarg] = OptionalHeader(**spec)
            kwargs[key] = headers
        elif key == "naming_overrides":
            _typed(value, dict, where, key)
            for op_id, target in value.items():
                if not isinstance(target, str) or ":" not in target:
                    raise ConfigError(
                        f'{where}: naming_overrides.{op_id} must be "resource.path:method", got {target!r}'
                    )
            kwargs[key] = dict(value)
        elif key == "pagination":
            if value == "none":
                kwargs[key] = "none"
                continue
            if not isinstance(value, list):
                raise ConfigError(
                    f'{where}: pagination must be [[pagination]] tables (page styles) or "none", got {value!r}'
                )
            kwargs[key] = [_style(v, where, f"pagination[{i}]") for i, v in enumerate(value)]
        elif key == "pagination_overrides":
            _typed(value, dict, where, key)
            kwargs[key] = {
                op: v if v == "none" else _style(v, where, f"pagination_overrides.{op}")
                for op, v in value.items()
            }
        elif key == "webhooks":
            kwargs[key] = dict(_typed(value, dict, where, key))
        elif key in ("version_header", "idempotency_header"):
            kwargs[key] = _typed(value, str, where, key)
        else:
            kwargs[key] = _typed(value, str, where, key)
    if kwargs.get("naming", "operation_id") not in NAMINGS:
        raise ConfigError(f"{where}: naming must be one of {', '.join(NAMINGS)}, got {kwargs['naming']!r}")
    if kwargs.get("auth", "spec") not in AUTH_KINDS:
        raise ConfigError(f"{where}: auth must be one of {', '.join(AUTH_KINDS)}, got {kwargs['auth']!r}")
    upper = snake(name).upper()
    kwargs.setdefault("client_class", pascal(name) + "Client")
    kwargs.setdefault("api_key_env", (f"{upper}_API_KEY",))
    kwargs.setdefault("base_url_env", f"{upper}_BASE_URL")
    return ProviderConfig(name=name, default=default, **kwargs)


def load_config(path: Path, *, name: str, pins: list[str]) -> ProviderConfig:
    where = f"specs/{name}/{path.name}" if path.parent.parent.name == "specs" else str(path)
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where} is not valid TOML: {exc}") from None
    return parse_config(data, where, name=name, pins=pins)
