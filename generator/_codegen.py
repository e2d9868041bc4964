"""Python source fragments for types: annotations, decoders and encoders.

Templates call these (as Jinja filters/globals) instead of deciding anything themselves.
A :class:`ModuleCode` collects what one generated module needs: the model names it refers
to (imported under ``TYPE_CHECKING``) and helper functions for unions.
"""

from __future__ import annotations

from ._ir import DictTy, ListTy, LiteralTy, MapTy, Model, ModelTy, NullableTy, PrimTy, Ty, UnionTy, UnixTimeTy
from ._naming import snake

__all__ = ["ModuleCode"]

_DESC_PRIM = {
    "str": "str",
    "int": "int",
    "float": "float",
    "bool": "bool",
    "None": "null",
    "Any": "any",
    "bytes": "str",
    "datetime": "datetime",
    "date": "date",
}

_PRIM_ANN = {
    "datetime": "datetime.datetime",
    "date": "datetime.date",
    "str": "str",
    "int": "int",
    "float": "float",
    "bool": "bool",
    "None": "None",
    "Any": "Any",
    "bytes": "bytes",
}


def needs_decode(ty: Ty) -> bool:
    if isinstance(ty, PrimTy):
        return ty.name in ("datetime", "date")
    if isinstance(ty, (LiteralTy, DictTy)):
        return False
    if isinstance(ty, ListTy):
        return needs_decode(ty.item)
    if isinstance(ty, MapTy):
        return needs_decode(ty.value)
    if isinstance(ty, NullableTy):
        return needs_decode(ty.inner)
    if isinstance(ty, UnionTy):
        return any(needs_decode(v) for v in ty.variants)
    return True


def _kinds(ty: Ty) -> set[str]:
    if isinstance(ty, PrimTy):
        return {
            {
                "str": "str",
                "int": "int",
                "float": "num",
                "bool": "bool",
                "None": "null",
                "bytes": "str",
                "datetime": "str",
                "date": "str",
            }.get(ty.name, "any")
        }
    if isinstance(ty, LiteralTy):
        return {{"str": "str", "int": "int", "bool": "bool", "float": "num"}[ty.base]}
    if isinstance(ty, UnixTimeTy):
        return {"int"}
    if isinstance(ty, ListTy):
        return {"list"}
    if isinstance(ty, (MapTy, ModelTy, DictTy)):
        return {"dict"}
    if isinstance(ty, NullableTy):
        return _kinds(ty.inner) | {"null"}
    if isinstance(ty, UnionTy):
        out: set[str] = set()
        for v in ty.variants:
            out |= _kinds(v)
        return out
    return {"any"}


_CHECKS = {
    "str": "isinstance(v, str)",
    "bool": "isinstance(v, bool)",
    "int": "isinstance(v, int) and not isinstance(v, bool)",
    "num": "isinstance(v, (int, float)) and not isinstance(v, bool)",
    "list": "isinstance(v, list)",
    "dict": "isinstance(v, dict)",
    "null": "v is None",
}


def _type_words(ty: Ty, limit: int = 60) -> str:
    """A snake-case name for a type, for helper functions (``list_of_customer``)."""
    if isinstance(ty, (ModelTy, DictTy)):
        words = snake(ty.name)
    elif isinstance(ty, ListTy):
        words = "list_of_" + _type_words(ty.item, limit)
    elif isinstance(ty, MapTy):
        words = "map_of_" + _type_words(ty.value, limit)
    elif isinstance(ty, NullableTy):
        words = "optional_" + _type_words(ty.inner, limit)
    elif isinstance(ty, UnionTy):
        words = "_or_".join(_type_words(v, limit) for v in ty.variants)
    elif isinstance(ty, UnixTimeTy):
        words = "timestamp"
    elif isinstance(ty, LiteralTy):
        words = ty.base
    else:
        words = snake(ty.name) or "value"
    if len(words) > limit:
        words = words[:limit].rsplit("_", 1)[0] + "_etc"
    return words


class ModuleCode:
    """Code fragments for one generated module, with the names and helpers they need."""

    def __init__(self, models: dict[str, Model], module: str = "") -> None:
        self.models = models
        self.module = module
        self.type_names: set[str] = set()
        #: request ``TypedDict`` names the annotations use (imported from ``params``)
        self.dict_names: set[str] = set()
        self.helpers: list[str] = []
        self._helper_keys: dict[str, str] = {}
        self.uses: set[str] = set()
        #: import lines and ``TYPE_CHECKING`` imports, filled in once the module is rendered
        self.imports: list[str] = []
        self.type_imports: list[str] = []
        #: names a class body in this module shadows (a method called ``list``)
        self.shadowed: set[str] = set()

    # -- annotations -------------------------------------------------------------------

    def ann(self, ty: Ty, param: bool = False) -> str:
        """The annotation of ``ty``: for a model field, or (``param``) for an argument."""
        if isinstance(ty, PrimTy):
            if ty.name == "file":
                self.uses.add("FileTypes")
                return "FileTypes"
            if ty.name == "Any":
                self.uses.add("Any")
            if ty.name in ("datetime", "date"):
                self.uses.add("datetime")
            if param and ty.name == "bytes":
                self.uses.add("FileTypes")
                return "FileTypes"
            return _PRIM_ANN[ty.name]
        if isinstance(ty, LiteralTy):
            if ty.base == "float":
                return "float"
            self.uses.add("Literal")
            lit = f"Literal[{', '.join(repr(v) for v in ty.values)}]"
            return lit if param or ty.base != "str" else f"{lit} | str"
        if isinstance(ty, UnixTimeTy):
            self.uses.add("datetime")
            return "int | datetime.datetime" if param else "datetime.datetime"
        if isinstance(ty, ListTy):
            if param:
                item = self.ann(ty.item, param)
                if "str" in split_union(item) and not _holds_dict(ty.item):
                    # a ``str`` is a ``Sequence[str]``: ``expand="data.customer"`` must not pass
                    self.uses.add("SequenceNotStr")
                    return f"SequenceNotStr[{item}]"
                # (pyright infers a dict literal's TypedDict from ``Sequence``, not from a protocol)
                self.uses.add("Sequence")
                return f"Sequence[{item}]"
            return f"{self._builtin('list')}[{self.ann(ty.item, param)}]"
        if isinstance(ty, MapTy):
            if param:
                self.uses.add("Mapping")
                return f"Mapping[str, {self.ann(ty.value, param)}]"
            return f"{self._builtin('dict')}[str, {self.ann(ty.value, param)}]"
        if isinstance(ty, ModelTy):
            self.type_names.add(ty.name)
            if param:
                self.uses.update(("Mapping", "Any"))
                return f"{ty.name} | Mapping[str, Any]"
            return ty.name
        if isinstance(ty, DictTy):
            self.dict_names.add(ty.name)
            if ty.model is None:
                return ty.name
            self.type_names.add(ty.model)
            return f"{ty.model} | {ty.name}"
        if isinstance(ty, NullableTy):
            inner = self.ann(ty.inner, param)
            return inner if "None" in split_union(inner) else f"{inner} | None"
        if isinstance(ty, UnionTy):
            parts: list[str] = []
            for v in ty.variants:
                for part in split_union(self.ann(v, param)):
                    if part not in parts:
                        parts.append(part)
            if "str" in parts:
                parts = [p for p in parts if not p.startswith("Literal['")]
            return " | ".join(parts)
        self.uses.add("Any")
        return "Any"

    def _builtin(self, name: str) -> str:
        if name in self.shadowed:
            self.uses.add("builtins")
            return f"builtins.{name}"
        return name

    # -- type descriptors (validation) --------------------------------------------------

    def desc(self, ty: Ty) -> str:
        """The constant tuple describing ``ty`` to the runtime validator (``_validate``)."""
        if isinstance(ty, PrimTy):
            return repr(_DESC_PRIM.get(ty.name, "any"))
        if isinstance(ty, LiteralTy):
            base = {"str": "str", "int": "int", "bool": "bool", "float": "float"}[ty.base]
            values = "(" + "".join(f"{v!r}, " for v in ty.values) + ")"
            return f"('enum', {values}, {base!r})"
        if isinstance(ty, UnixTimeTy):
            return "'unix'"
        if isinstance(ty, ListTy):
            return f"('list', {self.desc(ty.item)})"
        if isinstance(ty, MapTy):
            return f"('map', {self.desc(ty.value)})"
        if isinstance(ty, ModelTy):
            return f"('model', {ty.name!r})"
        if isinstance(ty, NullableTy):
            return f"('nullable', {self.desc(ty.inner)})"
        if isinstance(ty, UnionTy):
            return "('union', (" + "".join(self.desc(v) + ", " for v in ty.variants) + "))"
        return "'any'"

    def desc_const(self, ty: Ty) -> str:
        """A module-level ``_TN`` constant holding ``desc(ty)`` (deduplicated)."""
        text = self.desc(ty)
        key = "desc:" + text
        if key in self._helper_keys:
            return self._helper_keys[key]
        name = f"_T{sum(1 for k in self._helper_keys if k.startswith('desc:'))}"
        self._helper_keys[key] = name
        self.helpers.append(f"{name}: Any = {text}")
        self.uses.add("Any")
        return name

    # -- decoding (lenient: never raises, keeps what does not fit as sent) ---------------

    def _guard(self, ty: Ty, v: str, depth: int) -> tuple[str, str] | None:
        """(expression reading ``v``, the JSON type ``v`` must have) for containers/models."""
        if isinstance(ty, ModelTy):
            # ``from_dict`` without its frame: a dict is read lazily (see ``lazy_model``)
            self.uses.add("lazy_model")
            return f"lazy_model(_m.{ty.name}, {v})", "dict"
        if isinstance(ty, ListTy):
            i = f"_i{depth}"
            return f"[{self.decode(ty.item, i, depth + 1)} for {i} in {v}]", "list"
        if isinstance(ty, MapTy):
            k, w = f"_k{depth}", f"_w{depth}"
            return f"{{{k}: {self.decode(ty.value, w, depth + 1)} for {k}, {w} in {v}.items()}}", "dict"
        return None

    def decode(self, ty: Ty, expr: str, depth: int = 0) -> str:
        """An expression turning the JSON value in variable ``expr`` into ``ty``.

        Lenient by construction: a value of another shape than the spec says (``null``, a
        string for an object, an unparsable date) is kept as sent; it never raises.
        """
        if not needs_decode(ty):
            return expr
        if isinstance(ty, NullableTy):
            return self.decode(ty.inner, expr, depth)
        guard = self._guard(ty, expr, depth)
        if guard is not None:
            return f"({guard[0]} if isinstance({expr}, {guard[1]}) else {expr})"
        return self._call(ty, expr)

    def _call(self, ty: Ty, expr: str) -> str:
        if isinstance(ty, UnixTimeTy):
            self.uses.add("from_unix")
            return f"from_unix({expr})"
        if isinstance(ty, PrimTy) and ty.name == "datetime":
            self.uses.add("from_iso")
            return f"from_iso({expr})"
        if isinstance(ty, PrimTy) and ty.name == "date":
            self.uses.add("from_iso_date")
            return f"from_iso_date({expr})"
        if isinstance(ty, UnionTy):
            return f"{self._union_helper(ty)}({expr})"
        return expr

    def decode_field(self, ty: Ty, getter: str) -> str:
        """The right-hand side reading one model field from ``getter`` (``get("x")``)."""
        if not needs_decode(ty):
            return getter
        inner = ty.inner if isinstance(ty, NullableTy) else ty
        guard = self._guard(inner, "_v", 0)
        if guard is not None:
            return f"{guard[0]} if isinstance(_v := {getter}, {guard[1]}) else _v"
        return self._call(inner, getter)

    def _union_helper(self, ty: UnionTy) -> str:
        key = repr(ty)
        if key in self._helper_keys:
            return self._helper_keys[key]
        name = self._helper_name("_decode_", ty)
        self._helper_keys[key] = name
        self.uses.add("Any")
        lines = [f"def {name}(v: Any) -> Any:", "    if v is None:", "        return None"]
        by_kind: dict[str, list[Ty]] = {}
        for variant in ty.variants:
            for kind in sorted(_kinds(variant)):
                by_kind.setdefault(kind, []).append(variant)
        order = ["bool", "int", "num", "str", "list", "dict"]
        for kind in order:
            cands = by_kind.get(kind)
            if not cands:
                continue
            decoding = [c for c in cands if needs_decode(c)]
            if not decoding:
                continue
            lines.append(f"    if {_CHECKS[kind]}:")
            if kind == "dict":
                lines.extend(self._dict_dispatch(ty, cands))
                continue
            # several decoding variants of one JSON kind (``list[A] | list[B]``): the first
            # that matches the spec exactly, else the last one (leniently)
            for i, cand in enumerate(decoding):
                inner = cand.inner if isinstance(cand, NullableTy) else cand
                expr = self.decode(inner, "v", 1)
                if i == len(decoding) - 1:
                    lines.append(f"        return {expr}")
                else:
                    self.uses.add("fits")
                    lines.append(f"        if fits({self.desc_const(inner)}, v, _m):")
                    lines.append(f"            return {expr}")
        lines.append("    return v")
        self.helpers.append("\n".join(lines))
        return name

    def _dict_dispatch(self, ty: UnionTy, cands: list[Ty]) -> list[str]:
        flat: list[Ty] = []
        for c in cands:
            c = c.inner if isinstance(c, NullableTy) else c
            if isinstance(c, UnionTy):
                flat.extend(
                    v.inner if isinstance(v, NullableTy) else v for v in c.variants if "dict" in _kinds(v)
                )
            else:
                flat.append(c)
        models: list[ModelTy] = []
        for c in flat:
            if isinstance(c, ModelTy) and c not in models:
                models.append(c)
        maps = [c for c in flat if isinstance(c, MapTy)]
        out: list[str] = []
        if ty.discriminator and models:
            prop, mapping = ty.discriminator
            names = {m.name for m in models}
            entries = [(value, model) for value, model in mapping if model in names]
            if entries:
                out.append(f"        t = v.get({prop!r})")
                self.uses.add("lazy_model")
                for value, model in entries:
                    out.append(f"        if t == {value!r}:")
                    out.append(f"            return lazy_model(_m.{model}, v)")
        if len(models) == 1 and not maps:
            self.uses.add("lazy_model")
            out.append(f"        return lazy_model(_m.{models[0].name}, v)")
            return out
        # implicit discriminators: single-valued properties (Stripe's ``object`` and
        # ``deleted``), most specific first, inline while they name one variant only
        consts = [(self.models[m.name].consts, m.name) for m in models if m.name in self.models]
        consts = [c for c in consts if c[0]]
        consts.sort(key=lambda c: -len(c[0]))
        for i, (values, name) in enumerate(consts):
            if any(other == values for j, (other, _) in enumerate(consts) if j != i):
                break  # several variants share these values: ``pick`` decides
            cond = " and ".join(
                f"v.get({k!r}) {'is' if val is None or isinstance(val, bool) else '=='} {val!r}"
                for k, val in sorted(values.items())
            )
            self.uses.add("lazy_model")
            out.append(f"        if {cond}:")
            out.append(f"            return lazy_model(_m.{name}, v)")
        classes = "(" + "".join(f"_m.{m.name}, " for m in models) + ")"
        if models:
            self.uses.add("pick")
        if maps and models:
            out.append(f"        m = pick(v, {classes}, False)")
            out.append("        if m is not None:")
            out.append("            return m")
        if maps:
            out.append(f"        return {self.decode(maps[0], 'v', 1)}")
        elif models:
            out.append(f"        return pick(v, {classes})")
        return out

    def parser(self, ty: Ty, role: str) -> str:
        """A module-level ``_parse_<what>(v, strict=False)`` reading one response body, item or event.

        ``role`` ``"body"``: the body must be of the top-level kind ``ty`` allows (object,
        array…), else :class:`ResponseValidationError`; ``"item"``/``"event"``: no such
        check; both validated in strict mode (and logged at DEBUG). ``"error"``: read only.
        """
        expr = self.decode(ty, "v")
        key = f"fn:{role}:{ty!r}"
        if key in self._helper_keys:
            return self._helper_keys[key]
        name = self._helper_name("_parse_" if role == "body" else f"_parse_{role}_", ty)
        self._helper_keys[key] = name
        self.uses.add("Any")
        lines = [f"def {name}(v: Any, strict: bool = False) -> Any:"]
        if role != "error":
            self.uses.add("checked")
            top = "" if role == "body" else ", False"
            lines.append(f"    checked(v, {self.desc_const(ty)}, _m, strict{top})")
        lines.append(f"    return {expr}")
        self.helpers.append("\n".join(lines))
        return name

    def function(self, expr: str, ty: Ty | None = None) -> str:
        """A module-level ``_parse_<what>(v)`` returning ``expr`` (deduplicated), for use as a
        parser; a helper call on ``v`` alone is that helper itself (no trampoline)."""
        key = "fn:" + expr
        if key in self._helper_keys:
            return self._helper_keys[key]
        own = expr[: -len("(v)")] if expr.endswith("(v)") else ""
        if own in self._helper_keys.values():
            return own
        name = self._helper_name("_parse_", ty)
        self._helper_keys[key] = name
        self.uses.add("Any")
        self.helpers.append(f"def {name}(v: Any) -> Any:\n    return {expr}")
        return name

    def _helper_name(self, prefix: str, ty: Ty | None) -> str:
        """``_parse_customer``, ``_decode_customer_or_deleted_customer``: named after the type,
        numbered only when two different helpers would share a name."""
        base = prefix + (_type_words(ty) if ty is not None else "value")
        taken = set(self._helper_keys.values())
        name, n = base, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        return name

    # -- encoding ----------------------------------------------------------------------

    def encode(self, ty: Ty, expr: str, depth: int = 0) -> str:
        """An expression turning the field value in variable ``expr`` back into JSON data
        (values kept as sent pass through unchanged)."""
        if not needs_decode(ty):
            return expr
        if isinstance(ty, NullableTy):
            return self.encode(ty.inner, expr, depth)
        if isinstance(ty, ModelTy):
            return f"({expr}.to_dict() if isinstance({expr}, BaseModel) else {expr})"
        if isinstance(ty, ListTy):
            i = f"_i{depth}"
            return f"([{self.encode(ty.item, i, depth + 1)} for {i} in {expr}] if isinstance({expr}, list) else {expr})"
        if isinstance(ty, MapTy):
            k, w = f"_k{depth}", f"_w{depth}"
            inner = self.encode(ty.value, w, depth + 1)
            return (
                f"({{{k}: {inner} for {k}, {w} in {expr}.items()}} if isinstance({expr}, dict) else {expr})"
            )
        if isinstance(ty, UnixTimeTy):
            self.uses.add("to_unix")
            return f"to_unix({expr})"
        if isinstance(ty, PrimTy) and ty.name in ("datetime", "date"):
            self.uses.add("to_iso")
            return f"to_iso({expr})"
        self.uses.add("dump")
        return f"dump({expr})"


def _holds_dict(ty: Ty) -> bool:
    """Whether a value of ``ty`` may be a request ``TypedDict`` (a union member)."""
    if isinstance(ty, NullableTy):
        return _holds_dict(ty.inner)
    if isinstance(ty, UnionTy):
        return any(_holds_dict(v) for v in ty.variants)
    return isinstance(ty, DictTy)


def split_union(ann: str) -> tuple[str, ...]:
    """Split ``A | list[B | C] | D`` into its top-level members (the same annotations come
    back tens of thousands of times a generation: memoized)."""
    found = _SPLIT.get(ann)
    if found is None:
        found = _SPLIT[ann] = tuple(_split_union(ann))
    return found


_SPLIT: dict[str, tuple[str, ...]] = {}


def _split_union(ann: str) -> list[str]:
    if "[" not in ann:
        return [part.strip() for part in ann.split("|")]
    parts: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(ann):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(ann[start:i].strip())
            start = i + 1
    parts.append(ann[start:].strip())
    return parts
