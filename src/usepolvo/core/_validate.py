"""Checking JSON data against the spec's types: strict mode, mismatch reports, union dispatch.

Generated code describes types as small constant tuples (``"str"``, ``("list", item)``,
``("model", "Customer")``…) and every model lists its fields in ``wire_spec``. The same
walk serves three purposes:

- strict mode (``strict=True`` on a client, ``request_options={"strict": True}``, or the
  ``POLVO_STRICT=1`` environment variable): a response that departs from the spec raises
  :class:`ResponseValidationError` naming the field (``FullRepository.has_discussions:
  required field is missing``);
- lenient mode (the default) reads the body anyway and, when DEBUG logging is on for
  ``usepolvo.models``, logs one line per mismatch; ``model.spec_mismatches()`` lists them;
- telling union variants apart when the spec gives no discriminator (:func:`fits`).

Only a body of the wrong top-level kind for the operation (an array where the spec says
object, ``null`` or an empty body where it says object…) fails in lenient mode too.

Type descriptors: ``"str" "int" "float" "bool" "null" "any" "datetime" "date" "unix"``,
``("enum", values, base)``, ``("list", item)``, ``("map", value)``, ``("model", name)``,
``("nullable", inner)``, ``("union", variants)``. Messages name paths and kinds, never
values (a response may carry secrets), except an enum value the spec does not list.
"""

from __future__ import annotations

import datetime as _dt
import logging
from typing import Any

from ._errors import ResponseValidationError

__all__ = ["checked", "fits", "mismatches"]

_log = logging.getLogger("usepolvo.models")
_DEBUG = logging.DEBUG
_NUMBER = (int, float)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


_EXPECTED = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "null": "null",
    "datetime": "a date-time string",
    "date": "a date string",
    "unix": "unix seconds (an integer)",
}


def _scalar_ok(ty: str, value: Any) -> bool:
    if ty == "str":
        return value.__class__ is str or isinstance(value, str)
    if ty == "int" or ty == "unix":
        return isinstance(value, int) and not isinstance(value, bool)
    if ty == "float":
        return isinstance(value, _NUMBER) and not isinstance(value, bool)
    if ty == "bool":
        return isinstance(value, bool)
    if ty == "null":
        return value is None
    if ty == "datetime":
        if not isinstance(value, str):
            return False
        try:
            _dt.datetime.fromisoformat(value)
        except ValueError:
            return False
        return True
    if ty == "date":
        if not isinstance(value, str):
            return False
        try:
            _dt.date.fromisoformat(value)
        except ValueError:
            return False
        return True
    return True  # "any", "bytes" and anything unknown


def _fast_ok(ty: Any, value: Any) -> bool:
    """Whether ``value`` surely matches a plain scalar or enum type ``ty``; False means
    "look closer" (``_Walk.check``), never a verdict, so paths are built only then."""
    if ty.__class__ is str:
        return _scalar_ok(ty, value)
    if ty[0] == "enum":
        return (
            value in ty[1]
            and any(value == v and type(value) is type(v) for v in ty[1])
            and _scalar_ok(ty[2], value)
        )
    return False


class _Walk:
    """One validation run: collects (path, problem) pairs, up to ``limit``."""

    __slots__ = ("detail", "limit", "models", "out")

    def __init__(self, models: Any, limit: int, detail: bool = True) -> None:
        self.models = models
        self.limit = limit
        #: rank union variants to report the closest one's problems (not needed by ``fits``)
        self.detail = detail
        self.out: list[tuple[str, str]] = []

    def full(self) -> bool:
        return len(self.out) >= self.limit

    def add(self, path: str, problem: str) -> None:
        if len(self.out) < self.limit:
            self.out.append((path or "body", problem))

    def check(self, ty: Any, value: Any, path: str) -> None:
        if ty.__class__ is str:
            if not _scalar_ok(ty, value):
                expected = _EXPECTED.get(ty, ty)
                self.add(path, f"expected {expected}, got {_kind(value)}")
            return
        tag = ty[0]
        if tag == "nullable":
            if value is not None:
                self.check(ty[1], value, path)
        elif tag == "model":
            if not isinstance(value, dict):
                self.add(path, f"expected an object ({ty[1]}), got {_kind(value)}")
                return
            self.model(getattr(self.models, ty[1]), value, path or ty[1])
        elif tag == "list":
            if not isinstance(value, list):
                self.add(path, f"expected an array, got {_kind(value)}")
                return
            inner = ty[1]
            for i, item in enumerate(value):
                if not _fast_ok(inner, item):
                    self.check(inner, item, f"{path or 'body'}[{i}]")
                    if self.full():
                        return
        elif tag == "map":
            if not isinstance(value, dict):
                self.add(path, f"expected an object, got {_kind(value)}")
                return
            inner = ty[1]
            for key, item in value.items():
                if not _fast_ok(inner, item):
                    self.check(inner, item, f"{path or 'body'}.{key}")
                    if self.full():
                        return
        elif tag == "enum":
            values, base = ty[1], ty[2]
            if not _scalar_ok(base, value):
                self.add(path, f"expected {_EXPECTED.get(base, base)}, got {_kind(value)}")
            elif not any(value == v and type(value) is type(v) for v in values):
                shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
                self.add(path, f"{shown} is not a value the spec lists ({', '.join(map(repr, values[:8]))}…)")
        elif tag == "union":
            self.union(ty[1], value, path)

    def union(self, variants: tuple[Any, ...], value: Any, path: str) -> None:
        ranked: list[tuple[tuple[int, int, int], list[tuple[str, str]]]] = []
        for variant in variants:
            sub = _Walk(self.models, 20 if self.detail else 1, self.detail)
            sub.check(variant, value, path)
            if not sub.out:
                return
            if self.detail:
                # report the variant the value most looks like: of its JSON kind, naming
                # itself by its single-valued properties, with the fewest problems
                kinds: set[str] = set()
                _top_kinds(variant, kinds)
                named = self._names_itself(variant, value)
                ranked.append(((_top_kind(value) not in kinds, not named, len(sub.out)), sub.out))
            elif not ranked:
                ranked.append(((0, 0, 0), sub.out))
        ranked.sort(key=lambda r: r[0])
        for p, m in ranked[0][1] if ranked else [(path, "matches none of the types the spec allows")]:
            self.add(p, m)

    def _names_itself(self, variant: Any, value: Any) -> bool:
        if variant.__class__ is tuple and variant[0] == "nullable":
            variant = variant[1]
        if not (variant.__class__ is tuple and variant[0] == "model" and isinstance(value, dict)):
            return False
        consts = getattr(self.models, variant[1]).wire_consts
        return bool(consts) and all(value.get(k) == x for k, x in consts)

    def model(self, cls: Any, value: dict[str, Any], path: str) -> None:
        # the hot loop of strict mode: plain scalars are checked inline and a field's path
        # is spelled out only for a value that needs a deeper look or departs from the spec
        out = self.out
        for wire, _, required, ty in cls.wire_spec:
            if wire in value:
                item = value[wire]
                if ty.__class__ is not str and ty[0] == "nullable":
                    if item is None:
                        continue
                    ty = ty[1]
                kind = item.__class__
                if (
                    (kind is str and ty == "str")
                    or (kind is int and (ty == "int" or ty == "unix"))
                    or (kind is bool and ty == "bool")
                ):
                    continue
                if not _fast_ok(ty, item):
                    self.check(ty, item, f"{path}.{wire}")
                    if out and self.full():
                        return
            elif required:
                self.add(f"{path}.{wire}", "required field is missing")
                if self.full():
                    return
        if value.keys() <= cls.wire_names:
            return
        unknown = value.keys() - cls.wire_names
        if unknown:
            allowed = cls.wire_extra
            for key in sorted(unknown):
                if allowed is None:
                    self.add(f"{path}.{key}", "field not in the spec")
                elif allowed != "any":
                    self.check(allowed, value[key], f"{path}.{key}")
                if self.full():
                    return


def _root(ty: Any) -> str:
    """What a body of type ``ty`` is called in messages: its model's name, or ``body``."""
    if ty.__class__ is tuple and ty[0] == "nullable":
        return _root(ty[1])
    if ty.__class__ is tuple and ty[0] == "model":
        return str(ty[1])
    if ty.__class__ is tuple and ty[0] == "union":
        names = [_root(v) for v in ty[1]]
        return next((n for n in names if n != "body"), "body")
    return "body"


def mismatches(
    ty: Any, value: Any, models: Any, *, limit: int = 100, path: str = ""
) -> list[tuple[str, str]]:
    """Every (path, problem) where ``value`` departs from type ``ty`` (up to ``limit``)."""
    walk = _Walk(models, limit)
    walk.check(ty, value, path)
    return walk.out


def fits(ty: Any, value: Any, models: Any) -> bool:
    """Whether ``value`` matches type ``ty`` exactly."""
    walk = _Walk(models, 1, False)
    walk.check(ty, value, "")
    return not walk.out


def _top_kinds(ty: Any, out: set[str]) -> bool:
    """Collect the JSON kinds ``ty`` allows at the top; False when it allows anything."""
    if ty.__class__ is str:
        if ty == "any":
            return False
        out.add("null" if ty == "null" else "scalar")
        return True
    tag = ty[0]
    if tag == "nullable":
        out.add("null")
        return _top_kinds(ty[1], out)
    if tag == "union":
        return all(_top_kinds(v, out) for v in ty[1])
    if tag == "list":
        out.add("array")
    elif tag in ("map", "model"):
        out.add("object")
    else:
        out.add("scalar")
    return True


def _top_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "scalar"


def checked(value: Any, ty: Any, models: Any, strict: bool, top: bool = True) -> None:
    """Vet a response body (``top``) or one item or event before it is read.

    Raises :class:`ResponseValidationError` when a body is of the wrong top-level kind, or,
    in strict mode, at the first place it departs from the spec; in lenient mode logs each
    mismatch at DEBUG level (only when that level is on).
    """
    if top:
        kinds: set[str] = set()
        if _top_kinds(ty, kinds) and _top_kind(value) not in kinds:
            want = " or ".join(
                {"object": "an object", "array": "an array", "scalar": "a plain value", "null": "null"}[k]
                for k in sorted(kinds)
            )
            got = "null (or an empty body)" if value is None else _kind(value)
            raise ResponseValidationError(f"expected {want}, got {got}", path=_root(ty))
    if strict:
        found = mismatches(ty, value, models, limit=1)
        if found:
            path, problem = found[0]
            raise ResponseValidationError(f"{problem} (strict mode)", path=path)
    elif _log.isEnabledFor(_DEBUG):
        for path, problem in mismatches(ty, value, models):
            _log.debug(
                "response departs from the spec at %s: %s (read leniently, kept as sent)", path, problem
            )
