"""JSON Schema (OpenAPI 3.0 and 3.1) → ``Ty`` expressions and ``Model`` classes.

Component object schemas become models named after their key; inline object schemas
become models named after where they sit (``Customer`` + ``address`` → ``CustomerAddress``)
and live in their parent's module.

Request objects (bodies, object-valued parameters, nested keys) become ``TypedDict``s
(:class:`RequestDict`, rendered into the version's ``params`` package): callers still pass
plain dicts, and type checkers see every key. A component gets one, ``<Component>Param``,
shared by every operation that takes it (its attrs model is accepted too); an inline object
gets one per distinct shape, named after its ``title`` (Stripe's ``optional_fields_address``
→ ``OptionalFieldsAddressParam``) or, without one or when that name is taken by another
shape, after where it first sits (``CreateCustomerAddressParam``). An object that allows keys
it does not list (``additionalProperties`` true or a schema) stays ``Mapping[str, Any]``: a
``TypedDict`` would reject the keys it allows.
"""

from __future__ import annotations

from typing import Any

import attrs

from ._ir import (
    ANY,
    DictTy,
    Field,
    ListTy,
    LiteralTy,
    MapTy,
    Model,
    ModelTy,
    NullableTy,
    PrimTy,
    RequestDict,
    Ty,
    UnionTy,
    UnixTimeTy,
)
from ._loader import Document
from ._naming import pascal, py_identifier, singular, snake

__all__ = ["SchemaConverter", "first_paragraph", "full_text", "rename_dicts"]

_PRIMS = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "null": "None"}
_RESERVED_FIELDS = {
    "extra_fields",
    "fields_set",
    "from_dict",
    "from_dict_strict",
    "to_dict",
    "to_json",
    "spec_mismatches",
    "wire_names",
    "wire_spec",
    "wire_extra",
    "wire_consts",
    "wire_required",
    "wire_models",
}


def first_paragraph(text: Any, limit: int = 400) -> str:
    if not isinstance(text, str):
        return ""
    para = text.strip().split("\n\n", 1)[0].replace("\n", " ").strip()
    return para if len(para) <= limit else para[: limit - 1].rstrip() + "…"


def full_text(text: Any) -> str:
    """A description kept whole (docstrings wrap it; nothing is cut)."""
    return text.strip() if isinstance(text, str) else ""


#: words that say nothing about what a title names: a title needs two other words to name
#: a TypedDict (``optional_fields_address``, ``range_query_specs``), else the object's place
#: does (Stripe titles 20 different shapes ``param``, and ``invoice_settings`` ``customer_param``)
_VAGUE_WORDS = frozenset(
    {"param", "params", "spec", "specs", "data", "config", "options", "option", "object", "body"}
)


class SchemaConverter:
    """Converts schemas, collecting every model it creates in ``models``."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.models: dict[str, Model] = {}
        self._names_by_key: dict[str, str] = {}
        self._alias: dict[str, Ty] = {}
        self._alias_busy: set[str] = set()
        #: request ``TypedDict``s by name; by component key; by inline shape
        self.request_dicts: dict[str, RequestDict] = {}
        self._dict_by_key: dict[str, str | None] = {}
        self._dict_by_shape: dict[tuple[object, ...], str] = {}
        self._request_alias: dict[str, Ty] = {}
        #: where each inline TypedDict sits: (title, hint, property name), for its name
        self._sites: dict[str, list[tuple[str, str, str]]] = {}
        #: the property whose value is being converted (set by whoever converts one)
        self.wire_context = ""

    # -- components --------------------------------------------------------------------

    def component_name(self, key: str) -> str:
        return pascal(key.rsplit("/", 1)[-1])

    def convert_components(self) -> None:
        schemas = (self.doc.root.get("components") or {}).get("schemas") or {}
        for key in sorted(schemas):
            self.ref(f"#/components/schemas/{key}")

    def ref(self, ref: str, request: bool = False) -> Ty:
        target, key = self.doc.resolve(ref)
        if key in self._names_by_key:
            if request:
                return self._component_dict(key, target, self._names_by_key[key])
            return ModelTy(self._names_by_key[key])
        if request and key in self._request_alias:
            return self._request_alias[key]
        if key in self._alias and not request:
            return self._alias[key]
        name = self.component_name(key)
        if self._is_model(target):
            self._names_by_key[key] = self._unique(name, key)
            name = self._names_by_key[key]
            self._build_model(target, name, py_identifier(name, prefix="m_"), source=key)
            if request:
                return self._component_dict(key, target, name)
            return ModelTy(name)
        if key in self._alias_busy:
            return ANY  # a recursive alias (e.g. a JSON value type); Any is the honest type
        self._alias_busy.add(key)
        try:
            ty = self.convert(target, name, py_identifier(name, prefix="m_"), request=request)
        finally:
            self._alias_busy.discard(key)
        if request:
            self._request_alias[key] = ty
        else:
            self._alias[key] = ty
        return ty

    def _unique(self, name: str, key: str) -> str:
        if (
            name not in self.models
            and name not in self._names_by_key.values()
            and name not in self.request_dicts
        ):
            return name
        n = 2
        while f"{name}{n}" in self.models or f"{name}{n}" in self.request_dicts:
            n += 1
        return f"{name}{n}"

    # -- shapes ------------------------------------------------------------------------

    def _is_model(self, s: Any) -> bool:
        s = self.doc.deref(s)
        if not isinstance(s, dict):
            return False
        if "allOf" in s and not any(k in s for k in ("anyOf", "oneOf")):
            parts = [self.doc.deref(p) for p in s["allOf"]]
            if len(parts) == 1 and not s.get("properties"):
                return self._is_model(s["allOf"][0]) if "$ref" not in s["allOf"][0] else False
            return any(self._is_model(p) or (isinstance(p, dict) and p.get("properties")) for p in parts)
        return bool(s.get("properties")) and not any(k in s for k in ("anyOf", "oneOf"))

    def _types(self, s: dict[str, Any]) -> tuple[list[str], bool]:
        t = s.get("type")
        types = [t] if isinstance(t, str) else list(t) if isinstance(t, list) else []
        nullable = bool(s.get("nullable")) or "null" in types
        return [x for x in types if x != "null"], nullable

    def convert(self, s: Any, hint: str, module: str, *, request: bool = False) -> Ty:
        """The type of schema ``s``; ``hint`` names any model it creates."""
        if not isinstance(s, dict):
            return ANY
        if "$ref" in s:
            ty = self.ref(s["$ref"], request=request)
            target = self.doc.deref(s)
            target_nullable = isinstance(target, dict) and self._types(target)[1]
            if (s.get("nullable") or target_nullable) and not isinstance(ty, NullableTy):
                ty = NullableTy(ty)
            return ty
        types, nullable = self._types(s)
        ty = self._convert(s, types, hint, module, request)
        nullable = nullable or ("enum" in s and None in s["enum"])
        if (
            nullable
            and not isinstance(ty, NullableTy)
            and not (isinstance(ty, PrimTy) and ty.name in ("None", "Any"))
        ):
            ty = NullableTy(ty)
        return ty

    def _convert(self, s: dict[str, Any], types: list[str], hint: str, module: str, request: bool) -> Ty:
        if "const" in s:
            return LiteralTy((s["const"],), _base(s["const"]))
        if "enum" in s:
            values = tuple(v for v in s["enum"] if v is not None)
            if values and all(isinstance(v, (str, int, bool)) for v in values):
                return LiteralTy(values, _base(values[0]))
            if not values:
                return PrimTy("None")
        for key in ("anyOf", "oneOf"):
            if key in s:
                return self._union(s, s[key], hint, module, request)
        if "allOf" in s:
            parts = s["allOf"]
            # ``allOf: [$ref, {nullable: true}]`` (OpenAI): a part that only annotates
            # (nullable, description…) is no type of its own
            real = [p for p in parts if not _annotation_only(self.doc.deref(p))]
            if len(real) == 1 and len(parts) > 1 and not s.get("properties"):
                ty = self.convert(real[0], hint, module, request=request)
                if any(isinstance(p, dict) and p.get("nullable") for p in parts) and not isinstance(
                    ty, NullableTy
                ):
                    ty = NullableTy(ty)
                return ty
            if len(parts) == 1 and not s.get("properties"):
                return self.convert(parts[0], hint, module, request=request)
            if request:
                merged = self._merge_all_of(s)
                merged.setdefault("title", s.get("title"))
                return self._request_object(merged, hint, module)
            return self._object(self._merge_all_of(s), hint, module)
        if len(types) > 1:
            return UnionTy(tuple(self._convert(s, [t], hint, module, request) for t in types))
        t = types[0] if types else ("object" if "properties" in s or "additionalProperties" in s else None)
        if t == "array" or (t is None and ("items" in s or "prefixItems" in s)):
            return self._array(s, hint, module, request)
        if t == "object":
            if request:
                return self._request_object(s, hint, module)
            return self._object(s, hint, module)
        if t == "integer" and s.get("format") == "unix-time":
            return UnixTimeTy()
        if t == "string" and s.get("format") == "binary":
            return PrimTy("bytes")
        if t == "string" and not request and s.get("format") in ("date-time", "date"):
            # responses only: request arguments stay the strings the API takes
            return PrimTy("datetime" if s["format"] == "date-time" else "date")
        if t in _PRIMS:
            return PrimTy(_PRIMS[t])
        return ANY

    def _array(self, s: dict[str, Any], hint: str, module: str, request: bool) -> Ty:
        prefix = s.get("prefixItems")
        if isinstance(prefix, list) and prefix:
            tys = [self.convert(p, f"{hint}Item{i}", module, request=request) for i, p in enumerate(prefix)]
            if isinstance(s.get("items"), dict):
                tys.append(self.convert(s["items"], hint + "Item", module, request=request))
            return ListTy(_union_of(tys))
        return ListTy(self.convert(s.get("items", {}), hint + "Item", module, request=request))

    def _union(self, s: dict[str, Any], options: list[Any], hint: str, module: str, request: bool) -> Ty:
        tys: list[Ty] = []
        nullable = False
        for i, opt in enumerate(options):
            d = self.doc.deref(opt)
            if isinstance(d, dict) and self._types(d)[0] == [] and d.get("type") in ("null", ["null"]):
                nullable = True
                continue
            ty = self.convert(opt, f"{hint}Option{i}" if len(options) > 1 else hint, module, request=request)
            if isinstance(ty, NullableTy):
                nullable, ty = True, ty.inner
            if ty not in tys:
                tys.append(ty)
        disc = None
        d = s.get("discriminator")
        if isinstance(d, dict) and isinstance(d.get("propertyName"), str) and not request:
            mapping = []
            for value, ref in sorted((d.get("mapping") or {}).items()):
                target = self.ref(ref)
                if isinstance(target, ModelTy):
                    mapping.append((str(value), target.name))
            disc = (d["propertyName"], tuple(mapping))
        ty = _union_of(tys, disc)
        return NullableTy(ty) if nullable else ty

    def _merge_all_of(self, s: dict[str, Any]) -> dict[str, Any]:
        props: dict[str, Any] = {}
        required: list[str] = []
        desc = s.get("description")
        ap: Any = None

        def visit(part: Any) -> None:
            nonlocal desc, ap
            part = self.doc.deref(part)
            if not isinstance(part, dict):
                return
            for sub in part.get("allOf", []):
                visit(sub)
            props.update(part.get("properties") or {})
            required.extend(r for r in part.get("required", []) if r not in required)
            desc = desc or part.get("description")
            if isinstance(part.get("additionalProperties"), dict):
                ap = part["additionalProperties"]
            elif ap is None and ("anyOf" in part or "oneOf" in part):
                ap = True  # a union part's fields are not listed here: allow what it brings

        for part in s.get("allOf", []):
            visit(part)
        props.update(s.get("properties") or {})
        required.extend(r for r in s.get("required", []) if r not in required)
        merged = {"type": "object", "properties": props, "required": required, "description": desc}
        if ap is not None:
            merged["additionalProperties"] = ap
        return merged

    def _object(self, s: dict[str, Any], hint: str, module: str) -> Ty:
        props = s.get("properties") or {}
        ap = s.get("additionalProperties")
        if not props:
            if isinstance(ap, dict) and ap:
                return MapTy(self.convert(ap, hint + "Value", module))
            return MapTy(ANY)
        name = self._unique(hint, hint) if hint in self.models else hint
        self._build_model(s, name, module, source="")
        return ModelTy(name)

    # -- request objects (TypedDicts) ---------------------------------------------------

    def _request_object(self, s: dict[str, Any], hint: str, module: str) -> Ty:
        """An inline request object: its ``TypedDict`` (one per distinct shape), or a mapping.

        Named once every operation is read (:meth:`name_request_dicts`): until then a
        ``TypedDict`` is known by a placeholder, and every place it sits is recorded."""
        wire = self.wire_context
        ap = s.get("additionalProperties")
        if not s.get("properties"):
            if isinstance(ap, dict) and ap:
                return MapTy(self.convert(ap, hint + "Value", module, request=True))
            return MapTy(ANY)
        if ap not in (None, False):
            return MapTy(ANY)  # keys it does not list are allowed: a TypedDict would refuse them
        fields = self._request_fields(s, hint, module)
        shape = tuple((f.wire, f.ty, f.required) for f in fields)
        key = self._dict_by_shape.get(shape)
        if key is None:
            key = f"~{len(self._dict_by_shape)}"
            self._dict_by_shape[shape] = key
            self.request_dicts[key] = RequestDict(key, module, fields, full_text(s.get("description")))
            self._sites[key] = []
        title = s.get("title")
        self._sites[key].append((title if isinstance(title, str) else "", hint, wire))
        return DictTy(key)

    def name_request_dicts(self) -> dict[str, str]:
        """Final names of the inline request ``TypedDict``s; returns placeholder → name.

        In order: a specific ``title`` (the most used one; two words besides "param",
        "specs"…), for one used in one place only that place (``CreateCustomerTaxParam``),
        for a shape shared by several places the key they share (``AddressParam``, an array's
        item singular: ``LineItemParam``), else its first place. Components keep
        ``<Model>Param``; a name taken by a model or another shape goes to the next choice,
        and numbered (``…Param2``) as a last resort.
        """
        taken = set(self.models) | {n for n in self.request_dicts if not n.startswith("~")}
        renames: dict[str, str] = {}
        for key, sites in self._sites.items():
            titles = [
                t for t, _, _ in sites if len([w for w in snake(t).split("_") if w not in _VAGUE_WORDS]) > 1
            ]
            candidates = []
            if titles:
                candidates.append(pascal(max(dict.fromkeys(titles), key=titles.count)))
            if len(sites) > 1:
                wires = [(w, h.endswith("Item")) for _, h, w in sites if w]
                if wires:
                    wire, item = max(dict.fromkeys(wires), key=wires.count)
                    candidates.append(pascal(singular(snake(wire)) if item else wire))
            candidates.append(sites[0][1])
            names = [_param_name(c) for c in candidates]
            name = next((n for n in names if n not in taken), None)
            if name is None:
                n = 2
                while f"{names[-1]}{n}" in taken:
                    n += 1
                name = f"{names[-1]}{n}"
            taken.add(name)
            renames[key] = name
        dicts = {}
        for key, rd in self.request_dicts.items():
            rd.name = renames.get(key, key)
            rd.fields = [attrs.evolve(f, ty=rename_dicts(f.ty, renames)) for f in rd.fields]
            dicts[rd.name] = rd
        self.request_dicts = dicts
        self._sites.clear()
        return renames

    def _component_dict(self, key: str, target: Any, model: str) -> Ty:
        """A component object in a request: its ``<Name>Param`` TypedDict (or its model)."""
        if key not in self._dict_by_key:
            s = self.doc.deref(target)
            if "allOf" in s:
                s = self._merge_all_of(s)
            if s.get("additionalProperties") not in (None, False) or not s.get("properties"):
                self._dict_by_key[key] = None  # open: the model or any mapping, as before
            else:
                # ``<Model>Param``, or ``<Model>Dict`` where a model has that name (OpenAI has
                # both ``BetaAgentTag`` and ``BetaAgentTagParam``; ``ApplyPatchToolParamDict``)
                own = [] if model.endswith(("Param", "Params")) else [model + "Param"]
                name = self._dict_name([*own, model + "Dict"])
                self._dict_by_key[key] = name
                # registered before its fields: recursive references resolve to it
                rd = RequestDict(
                    name,
                    py_identifier(model, prefix="m_"),
                    [],
                    description=full_text(s.get("description")),
                    source=key,
                )
                self.request_dicts[name] = rd
                rd.fields = self._request_fields(s, model, rd.module)
        found = self._dict_by_key[key]
        return ModelTy(model) if found is None else DictTy(found, model)

    def _request_fields(self, s: dict[str, Any], hint: str, module: str) -> list[Field]:
        required = set(s.get("required") or [])
        fields = []
        for wire, prop in (s.get("properties") or {}).items():
            p = self.doc.deref(prop) if isinstance(prop, dict) else {}
            read_only = isinstance(p, dict) and bool(p.get("readOnly"))
            self.wire_context = str(wire)
            ty = self.convert(prop, hint + pascal(str(wire)), module, request=True)
            desc = full_text(p.get("description")) if isinstance(p, dict) else ""
            fields.append(Field(str(wire), str(wire), ty, wire in required and not read_only, desc))
        return fields

    def _dict_name(self, candidates: list[str]) -> str:
        """The first candidate no model or other TypedDict has, else the last one numbered."""
        for name in candidates:
            if name not in self.request_dicts and name not in self.models:
                return name
        base, n = candidates[-1], 2
        while f"{base}{n}" in self.request_dicts or f"{base}{n}" in self.models:
            n += 1
        return f"{base}{n}"

    def _build_model(self, s: Any, name: str, module: str, *, source: str) -> None:
        s = self.doc.deref(s)
        if "allOf" in s:
            s = self._merge_all_of(s)
        model = Model(
            name=name,
            module=module,
            fields=[],
            description=first_paragraph(s.get("description")),
            source=source,
        )
        self.models[name] = model  # registered first: recursive references resolve to it
        required = set(s.get("required") or [])
        used: set[str] = set()
        for wire, prop in (s.get("properties") or {}).items():
            py = py_identifier(wire)
            if py in _RESERVED_FIELDS or py in used:
                py += "_"
            while py in used:
                py += "_"
            used.add(py)
            ty = self.convert(prop, name + pascal(wire), module)
            p = self.doc.deref(prop) if isinstance(prop, dict) else {}
            model.fields.append(
                Field(wire, py, ty, wire in required, first_paragraph(p.get("description"), 200))
            )
            if isinstance(p, dict) and isinstance(p.get("enum"), list) and len(p["enum"]) == 1:
                model.consts[wire] = p["enum"][0]
            elif isinstance(p, dict) and "const" in p:
                model.consts[wire] = p["const"]
        ap = s.get("additionalProperties")
        if isinstance(ap, dict) and ap:
            model.additional = self.convert(ap, name + "Value", module)
        elif ap is True or ap == {}:
            model.open = True


_TYPE_KEYWORDS = frozenset(
    {
        "$ref",
        "type",
        "properties",
        "additionalProperties",
        "items",
        "allOf",
        "anyOf",
        "oneOf",
        "enum",
        "const",
    }
)


def rename_dicts(ty: Ty, renames: dict[str, str]) -> Ty:
    """``ty`` with its placeholder TypedDict names replaced by their final names."""
    if not renames:
        return ty
    if isinstance(ty, DictTy):
        return attrs.evolve(ty, name=renames.get(ty.name, ty.name))
    if isinstance(ty, ListTy):
        return ListTy(rename_dicts(ty.item, renames))
    if isinstance(ty, MapTy):
        return MapTy(rename_dicts(ty.value, renames))
    if isinstance(ty, NullableTy):
        return NullableTy(rename_dicts(ty.inner, renames))
    if isinstance(ty, UnionTy):
        return attrs.evolve(ty, variants=tuple(rename_dicts(v, renames) for v in ty.variants))
    return ty


def _param_name(base: str) -> str:
    """``OptionalFieldsAddress`` → ``OptionalFieldsAddressParam`` (``TaxParam`` stays)."""
    return base if base.endswith(("Param", "Params")) else base + "Param"


def _annotation_only(s: Any) -> bool:
    """A schema that constrains nothing (``{nullable: true}``, ``{description: ...}``)."""
    return isinstance(s, dict) and not (_TYPE_KEYWORDS & s.keys())


def _has_time(ty: Ty) -> bool:
    """Whether ``ty`` holds a response-only ``datetime``/``date`` (requests send strings)."""
    if isinstance(ty, PrimTy):
        return ty.name in ("datetime", "date")
    if isinstance(ty, (ListTy,)):
        return _has_time(ty.item)
    if isinstance(ty, MapTy):
        return _has_time(ty.value)
    if isinstance(ty, NullableTy):
        return _has_time(ty.inner)
    if isinstance(ty, UnionTy):
        return any(_has_time(v) for v in ty.variants)
    return False


def _base(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "str"


def _union_of(tys: list[Ty], disc: tuple[str, tuple[tuple[str, str], ...]] | None = None) -> Ty:
    if not tys:
        return ANY
    if ANY in tys:
        return ANY
    literals = [t for t in tys if isinstance(t, LiteralTy)]
    if len(literals) > 1 and len({t.base for t in literals}) == 1:
        merged = LiteralTy(tuple(dict.fromkeys(v for t in literals for v in t.values)), literals[0].base)
        tys = [
            merged if t is literals[0] else t for t in tys if not isinstance(t, LiteralTy) or t is literals[0]
        ]
    # a literal next to its own base type adds nothing
    if any(isinstance(t, PrimTy) and t.name == "str" for t in tys):
        tys = [t for t in tys if not (isinstance(t, LiteralTy) and t.base == "str")]
    if len(tys) == 1:
        return tys[0]
    return UnionTy(tuple(tys), disc)
