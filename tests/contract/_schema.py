"""Spec access for the contract tests: the pinned spec, its IR, schema-shaped data, validation.

Everything is derived from the pinned spec files in the mirror (read in place, never
copied) and from the generator's IR; nothing here is written per operation.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl

import attrs
from jsonschema import ValidationError, validators
from openapi_schema_validator import OAS30Validator, OAS31Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4, DRAFT202012

from generator._build import build_provider
from generator._ir import (
    ListTy,
    LiteralTy,
    MapTy,
    ModelTy,
    NullableTy,
    Operation,
    PrimTy,
    Provider,
    Ty,
    UnionTy,
    UnixTimeTy,
)
from generator._ir import (
    Resource as IRResource,
)
from generator._loader import Document
from generator._pins import load_providers, locate_spec
from generator._schemas import SchemaConverter

SPEC_URI = "urn:polvo:spec"

Choose = Callable[[int], int]  # choose(n) -> an index in range(n)


class Unsatisfiable(Exception):
    """The generator could not build a value within its depth bound."""


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


@attrs.define
class Spec:
    """One pinned spec version: raw document, IR, schemas of every model, validators."""

    provider: str
    version: str
    doc: Document
    ir: Provider
    model_schemas: dict[str, Any]
    is_default: bool
    _registry: Any = None
    _validators: dict[str, Any] = attrs.field(factory=dict)

    @property
    def root(self) -> Any:
        return self.doc.root

    @property
    def oas31(self) -> bool:
        return str(self.root.get("openapi", "3.0")).startswith("3.1")

    def resolve(self, node: Any) -> tuple[Any, str | None]:
        """Follow ``$ref``s; return the node and the pointer of the last reference."""
        pointer = None
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            node, pointer = self.doc.resolve(ref)
        return node, pointer

    def deref(self, node: Any) -> Any:
        return self.resolve(node)[0]

    def validator(self, pointer: str) -> Any:
        """A JSON-schema validator for the schema at ``pointer`` (refs resolved in the spec)."""
        v = self._validators.get(pointer)
        if v is None:
            if self._registry is None:
                spec = DRAFT202012 if self.oas31 else DRAFT4
                resource = Resource.from_contents(self.root, default_specification=spec)
                self._registry = Registry().with_resource(SPEC_URI, resource)
            cls = _ECMA_VALIDATORS[self.oas31]
            v = cls({"$ref": f"{SPEC_URI}#{pointer}"}, registry=self._registry)
            self._validators[pointer] = v
        return v

    def errors(self, pointer: str, value: Any, limit: int = 3) -> list[str]:
        out = []
        for err in self.validator(pointer).iter_errors(value):
            where = "/".join(str(p) for p in err.absolute_path)
            out.append(f"{where or '<root>'}: {err.message[:200]}")
            if len(out) >= limit:
                break
        return out

    # -- operations --------------------------------------------------------------------

    def raw_operation(self, op: Operation) -> tuple[dict[str, Any], str]:
        base = f"/paths/{escape(op.path)}"
        return self.root["paths"][op.path][op.method.lower()], f"{base}/{op.method.lower()}"

    def raw_params(self, op: Operation) -> dict[tuple[str, str], tuple[dict[str, Any], str]]:
        """(location, wire name) → (parameter object, pointer of its schema)."""
        raw, ptr = self.raw_operation(op)
        item = self.root["paths"][op.path]
        out: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
        sources = [(item.get("parameters") or [], f"/paths/{escape(op.path)}/parameters")]
        sources.append((raw.get("parameters") or [], f"{ptr}/parameters"))
        for params, base in sources:
            for i, p in enumerate(params):
                node, ref_ptr = self.resolve(p)
                schema_ptr = (ref_ptr if ref_ptr is not None else f"{base}/{i}") + "/schema"
                out[(node["in"], node["name"])] = (node, schema_ptr)
        return out

    def request_body(self, op: Operation) -> tuple[dict[str, Any] | None, str | None]:
        """The request body object and the pointer of its ``content``."""
        raw, ptr = self.raw_operation(op)
        if "requestBody" not in raw:
            return None, None
        node, ref_ptr = self.resolve(raw["requestBody"])
        return node, (ref_ptr if ref_ptr is not None else f"{ptr}/requestBody") + "/content"

    def response(self, op: Operation, status: str) -> tuple[dict[str, Any], str]:
        raw, ptr = self.raw_operation(op)
        node, ref_ptr = self.resolve(raw["responses"][status])
        return node, (ref_ptr if ref_ptr is not None else f"{ptr}/responses/{status}") + "/content"

    def at(self, pointer: str) -> Any:
        node, _ = self.doc.resolve("#" + pointer)
        return node


def _walk(res: IRResource, chain: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Operation]]:
    for op in res.operations:
        yield chain, op
    for attr, child in sorted(res.children.items()):
        yield from _walk(child, (*chain, attr))


def operations(spec: Spec) -> list[tuple[tuple[str, ...], Operation]]:
    """(resource attribute chain, operation) for every generated operation."""
    return list(_walk(spec.ir.root, ()))


def pinned() -> list[tuple[str, str]]:
    """(provider, version) of every pin, in :func:`load_specs`' order, without building any:
    collecting the tests stays cheap when they are not selected (`make test`)."""
    return [
        (name, version) for name, settings in load_providers().items() for version in sorted(settings.pins)
    ]


@functools.cache
def load_specs() -> list[Spec]:
    """Every pinned version of every provider (IR built the way `make generate` builds it)."""
    return [load_spec(provider, version) for provider, version in pinned()]


@functools.cache
def load_spec(provider: str, version: str) -> Spec:
    """One pinned version (built once per session, on first use)."""
    settings = load_providers()[provider]
    pin = settings.pins[version]
    seen: dict[str, Any] = {}
    orig = SchemaConverter._build_model

    def record(self: SchemaConverter, s: Any, model_name: str, module: str, *, source: str) -> None:
        seen[model_name] = s
        orig(self, s, model_name, module, source=source)

    SchemaConverter._build_model = record  # type: ignore[method-assign]
    try:
        ir = build_provider(settings, pin)
    finally:
        SchemaConverter._build_model = orig  # type: ignore[method-assign]
    doc = Document(locate_spec(pin))
    return Spec(provider, version, doc, ir, seen, version == settings.default)


def spec_for(provider: str, version: str | None = None) -> Spec:
    settings = load_providers().get(provider)
    if settings is None or (version is not None and version not in settings.pins):
        raise LookupError(f"{provider} {version}")
    return load_spec(provider, version if version is not None else settings.default)


# -- schema-shaped data --------------------------------------------------------------------

_STR_FORMATS = {
    "date-time": "2023-08-16T12:34:56Z",
    "date": "2023-08-16",
    "time": "12:34:56",
    "email": "octo@example.com",
    "uri": "https://example.com/x",
    "url": "https://example.com/x",
    "uri-template": "https://example.com/{x}",
    "uuid": "7f1c3a2e-5b6d-4c8e-9f0a-1b2c3d4e5f60",
    "hostname": "example.com",
    "ipv4": "127.0.0.1",
    "ipv6": "::1",
    "byte": "aGVsbG8=",
    "unix-time": "1692180000",
}
_WORDS = ("abc", "polvo", "x_1", "Hello world", "ünï", "a/b c")


def _types(s: dict[str, Any]) -> list[str]:
    t = s.get("type")
    if isinstance(t, list):
        return [x for x in t if isinstance(x, str)]
    if isinstance(t, str):
        return [t]
    if "properties" in s or "additionalProperties" in s:
        return ["object"]
    if "items" in s:
        return ["array"]
    return []


class Synth:
    """Builds values valid for a schema. ``choose`` decides every choice (random or hypothesis).

    Depth is bounded: past ``max_depth`` optional properties are left out, arrays take
    their minimum length and unions prefer variants without references (Stripe's
    expandable ``anyOf: [string, $ref]`` becomes the id string), so recursive ``$ref``s end.
    """

    def __init__(
        self, spec: Spec, choose: Choose, *, max_depth: int = 3, optional: int = 3, request: bool = False
    ):
        self.spec = spec
        self.choose = choose
        self.max_depth = max_depth
        self.optional = optional  # 1 in `optional` optional properties is included
        self.request = request
        self.oas31 = spec.oas31

    def value(self, schema: Any, depth: int = 0, name: str = "") -> Any:
        if depth > self.max_depth + 8:
            raise Unsatisfiable(name)
        s = self.spec.deref(schema) if isinstance(schema, dict) else {}
        if s is True or not isinstance(s, dict):
            return "any"
        if "allOf" in s:
            return self._all_of(s, depth, name)
        if _types(s) == ["null"]:
            return None
        deep = depth >= self.max_depth
        # OpenAPI 3.0 `nullable` (with a type); 3.1 has only `type: null` (its `nullable` is no keyword)
        nullable = (s.get("nullable") is True and "type" in s and not self.oas31) or "null" in _types(s)
        if "enum" in s and None not in s["enum"]:
            nullable = False
        if nullable and ((deep and not self._cheap(s)) or self.choose(5) == 0):
            return None
        if "const" in s:
            return s["const"]
        if "enum" in s:
            values = [v for v in s["enum"] if v is not None] or [None]
            return values[self.choose(len(values))]
        for key in ("oneOf", "anyOf"):
            if key in s:
                return self._union(s, key, depth, name)
        types = [t for t in _types(s) if t != "null"] or ["any"]
        t = types[self.choose(len(types))] if len(types) > 1 else types[0]
        if t == "object":
            return self._object(s, depth, name)
        if t == "array":
            return self._array(s, depth, name)
        if t == "string":
            return self._string(s, name)
        if t == "integer":
            return self._number(s, integer=True)
        if t == "number":
            return self._number(s, integer=False)
        if t == "boolean":
            return self.choose(2) == 1
        if "properties" in s:
            return self._object(s, depth, name)
        return ["abc", 1, True, {"k": "v"}][self.choose(4)]

    def _cheap(self, s: Any) -> bool:
        return (
            isinstance(s, dict)
            and "$ref" not in s
            and not ({"anyOf", "oneOf", "allOf", "properties", "items"} & s.keys())
        )

    def _union(self, s: dict[str, Any], key: str, depth: int, name: str) -> Any:
        variants = list(s[key])
        if depth >= self.max_depth:
            cheap = [v for v in variants if self._cheap(v)]
            if cheap:
                variants = cheap
        merged_extra = {k: v for k, v in s.items() if k in ("properties", "required")}
        v = variants[self.choose(len(variants))]
        if merged_extra:
            return self._all_of({"allOf": [v, merged_extra]}, depth, name)
        return self.value(v, depth, name)

    def _flatten(self, s: Any, parts: list[dict[str, Any]], depth: int = 0) -> None:
        s = self.spec.deref(s)
        if not isinstance(s, dict):
            return
        if "allOf" in s and depth < 8:
            for p in s["allOf"]:
                self._flatten(p, parts, depth + 1)
            parts.append({k: v for k, v in s.items() if k != "allOf"})
        else:
            parts.append(s)

    def _all_of(self, s: dict[str, Any], depth: int, name: str) -> Any:
        parts: list[dict[str, Any]] = []
        self._flatten(s, parts)
        merged: dict[str, Any] = {}
        props: dict[str, Any] = {}
        required: list[str] = []
        for p in parts:
            for k, v in p.items():
                if k == "properties":
                    props.update(v or {})
                elif k == "required":
                    required.extend(r for r in v or [] if r not in required)
                else:
                    merged.setdefault(k, v)
        if props or required:
            merged["properties"] = props
            merged["required"] = required
            merged.setdefault("type", "object")
        return self.value(merged, depth, name)

    def _object(self, s: dict[str, Any], depth: int, name: str) -> dict[str, Any]:
        props = s.get("properties") or {}
        required = set(s.get("required") or [])
        out: dict[str, Any] = {}
        deep = depth >= self.max_depth
        for key, prop in props.items():
            p = self.spec.deref(prop)
            hidden = isinstance(p, dict) and (p.get("readOnly") if self.request else p.get("writeOnly"))
            if hidden and key not in required:
                continue
            if key not in required and (deep or self.choose(self.optional) != 0):
                continue
            out[key] = self.value(prop, depth + 1, key)
        if self.request and not out and props:
            # form encoding cannot carry an empty object: send at least one property
            key = sorted(props)[self.choose(len(props))]
            out[key] = self.value(props[key], depth + 1, key)
        ap = s.get("additionalProperties")
        if not props and isinstance(ap, dict) and not deep:
            for i in range(self.choose(3)):
                out[f"key_{i}"] = self.value(ap, depth + 1, "value")
        return out

    def _array(self, s: dict[str, Any], depth: int, name: str) -> list[Any]:
        lo = int(s.get("minItems") or 0)
        hi = int(s.get("maxItems") if s.get("maxItems") is not None else lo + 2)
        if self.request:
            lo = max(lo, 1)  # form encoding cannot carry an empty list
        n = lo if depth >= self.max_depth else lo + self.choose(max(min(hi, lo + 2) - lo + 1, 1))
        items = s.get("items") or {}
        out: list[Any] = []
        tries = 0
        while len(out) < n and tries < n * 4 + 4:
            tries += 1
            v = self.value(items, depth + 1, name)
            if s.get("uniqueItems") and v in out:
                continue
            out.append(v)
        if len(out) < lo:
            raise Unsatisfiable(f"{name}: {lo} unique items")
        return out

    def _string(self, s: dict[str, Any], name: str) -> Any:
        fmt = s.get("format")
        if fmt == "binary":
            return b"polvo-bytes" if self.request else "binary"
        lo = int(s.get("minLength") or 0)
        hi = int(s.get("maxLength") or 10_000)
        if "pattern" in s:
            text = _from_pattern(s["pattern"], self.choose)
        elif fmt in _STR_FORMATS:
            text = _STR_FORMATS[fmt]
        else:
            text = _WORDS[self.choose(len(_WORDS))]
            if name:
                text = f"{name}_{text}" if self.choose(2) else text
        if len(text) < lo:
            text = text + "x" * (lo - len(text))
        if len(text) > hi:
            text = text[:hi]
        return text

    def _number(self, s: dict[str, Any], *, integer: bool) -> Any:
        lo = s.get("minimum")
        hi = s.get("maximum")
        if s.get("exclusiveMinimum") is True and lo is not None:
            lo = lo + (1 if integer else 0.5)
        elif isinstance(s.get("exclusiveMinimum"), (int, float)) and not isinstance(
            s.get("exclusiveMinimum"), bool
        ):
            lo = s["exclusiveMinimum"] + (1 if integer else 0.5)
        if s.get("exclusiveMaximum") is True and hi is not None:
            hi = hi - (1 if integer else 0.5)
        elif isinstance(s.get("exclusiveMaximum"), (int, float)) and not isinstance(
            s.get("exclusiveMaximum"), bool
        ):
            hi = s["exclusiveMaximum"] - (1 if integer else 0.5)
        base = [1, 0, 42, 1692180000] if integer else [1.5, 0.0, 42.25, 3.0]
        v = base[self.choose(len(base))]
        if lo is not None and v < lo:
            v = lo
        if hi is not None and v > hi:
            v = hi
        if s.get("multipleOf"):
            m = s["multipleOf"]
            v = (v // m) * m
            if lo is not None and v < lo:
                v += m
        if integer:
            return int(v)
        return float(v)


@functools.lru_cache(maxsize=512)
def _pattern_examples(pattern: str) -> tuple[str, ...]:
    import warnings

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    found: list[str] = []

    @settings(max_examples=8, database=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(st.from_regex(_ecma(pattern) or pattern, fullmatch=True))
    def collect(x: str) -> None:
        if x not in found:
            found.append(x)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with contextlib.suppress(Exception):  # an unsupported regex: fall back below
            collect()
    return tuple(found) or ("abc",)


@functools.lru_cache(maxsize=2048)
def _ecma(pattern: str) -> re.Pattern[str] | None:
    """``pattern`` with ECMA-262 class semantics: ``\\d``, ``\\w``, ``\\b`` are ASCII-only there
    (Prism is JavaScript), unlike Python's Unicode-aware defaults."""
    try:
        return re.compile(pattern, re.ASCII)
    except re.error:
        return None


def _ecma_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "string"):
        return
    compiled = _ecma(pattern)
    if compiled is not None and not compiled.search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_ECMA_VALIDATORS = {
    oas31: validators.extend(cls, {"pattern": _ecma_pattern})
    for oas31, cls in ((False, OAS30Validator), (True, OAS31Validator))
}


def _from_pattern(pattern: str, choose: Choose) -> str:
    found = _pattern_examples(pattern)
    return found[choose(len(found))]


def randomly(seed: int) -> Choose:
    import random

    rng = random.Random(seed)
    return lambda n: rng.randrange(n) if n > 1 else 0


# -- wire decoding -----------------------------------------------------------------------

_KEY = re.compile(r"([^\[\]]+)|\[([^\]]*)\]")


def decode_brackets(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """``a[b][0][c]=v``, ``a[]=v`` pairs back into nested dicts (indexes stay string keys)."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        head, _, rest = key.partition("[")
        segs = [head] + (re.findall(r"\[([^\]]*)\]", "[" + rest) if rest else [])
        node: Any = root
        for i, seg in enumerate(segs):
            last = i == len(segs) - 1
            if seg == "":
                if not isinstance(node, list):
                    raise ValueError(f"{key}: [] on a non-list")
                if last:
                    node.append(value)
                    break
                node.append({})
                node = node[-1]
                continue
            if not isinstance(node, dict):
                raise ValueError(f"{key}: mixes list and object notation")
            if last:
                if seg in node:
                    raise ValueError(f"{key}: sent twice")
                node[seg] = value
            else:
                nxt = segs[i + 1]
                node = node.setdefault(seg, [] if nxt == "" else {})
    return root


def parse_form(body: bytes) -> dict[str, Any]:
    return decode_brackets(parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=bool(body)))


_INT = re.compile(r"-?\d+")
_FLOAT = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


class Coercer:
    """Turns decoded form/query strings back into typed JSON guided by the schema."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec

    def _variants(self, s: Any, depth: int = 0) -> list[dict[str, Any]]:
        s = self.spec.deref(s)
        if not isinstance(s, dict) or depth > 6:
            return []
        out = [s]
        for key in ("anyOf", "oneOf", "allOf"):
            for v in s.get(key) or []:
                out.extend(self._variants(v, depth + 1))
        return out

    def coerce(self, value: Any, schema: Any) -> Any:
        variants = self._variants(schema)
        if isinstance(value, dict):
            if value and all(k.isdigit() for k in value) and any("array" in _types(v) for v in variants):
                arr = next(v for v in variants if "array" in _types(v))
                return [self.coerce(value[k], arr.get("items") or {}) for k in sorted(value, key=int)]
            props: dict[str, Any] = {}
            ap: Any = None
            for v in variants:
                props.update(v.get("properties") or {})
                if isinstance(v.get("additionalProperties"), dict):
                    ap = v["additionalProperties"]
            return {k: self.coerce(x, props.get(k, ap or {})) for k, x in value.items()}
        if isinstance(value, list):
            arr = next((v for v in variants if "array" in _types(v)), {})
            return [self.coerce(x, arr.get("items") or {}) for x in value]
        if isinstance(value, str):
            types = {t for v in variants for t in _types(v)}
            enums = [e for v in variants for e in v.get("enum") or []]
            if value in enums and isinstance(value, str) and "string" in types:
                return value
            if "integer" in types and _INT.fullmatch(value):
                return int(value)
            if "number" in types and _FLOAT.fullmatch(value):
                f = float(value)
                return int(f) if _INT.fullmatch(value) else f
            if "boolean" in types and value in ("true", "false"):
                return value == "true"
            if value == "" and any(v.get("nullable") for v in variants) and "" not in enums:
                return None
        return value


def drop_empty(value: Any) -> Any:
    """What survives form encoding: empty lists and objects are not sent."""
    if isinstance(value, dict):
        out = {k: drop_empty(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v != [] and v != {}}
    if isinstance(value, list):
        return [drop_empty(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    return value


def path_regex(template: str, multi: frozenset[str] = frozenset()) -> re.Pattern[str]:
    """A regex matching a path template; ``multi`` parameters may span segments."""
    out = ""
    for part in re.split(r"(\{[^}]+\})", template):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            group = "g_" + re.sub(r"[^0-9A-Za-z_]", "_", name)
            out += f"(?P<{group}>.+)" if name in multi else f"(?P<{group}>[^/]+)"
        else:
            out += re.escape(part)
    return re.compile(out + "$")


# -- declared types ----------------------------------------------------------------------


def conforms(value: Any, ty: Ty | None, models: Any) -> bool:
    """Whether a parsed value has the Python type the IR declares."""
    import datetime as dt
    from collections.abc import Mapping

    if ty is None:
        return True
    if isinstance(ty, ModelTy):
        return isinstance(value, getattr(models, ty.name))
    if isinstance(ty, NullableTy):
        return value is None or conforms(value, ty.inner, models)
    if isinstance(ty, UnionTy):
        return any(conforms(value, v, models) for v in ty.variants)
    if isinstance(ty, ListTy):
        return isinstance(value, list) and all(conforms(v, ty.item, models) for v in value)
    if isinstance(ty, MapTy):
        return isinstance(value, Mapping) and all(conforms(v, ty.value, models) for v in value.values())
    if isinstance(ty, UnixTimeTy):
        return isinstance(value, dt.datetime)
    if isinstance(ty, LiteralTy):
        return ty.open or value in ty.values
    if isinstance(ty, PrimTy):
        expected = {
            "str": str,
            "int": int,
            "float": (int, float),
            "bool": bool,
            "None": type(None),
            "bytes": bytes,
        }
        return ty.name == "Any" or isinstance(value, expected.get(ty.name, object))
    return True
