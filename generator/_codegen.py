"""Python source fragments for types: annotations, decoders and encoders.

Templates call these (as Jinja filters/globals) instead of deciding anything themselves.
A :class:`ModuleCode` collects what one generated module needs: the model names it refers
to (imported under ``TYPE_CHECKING``) and helper functions for unions.
"""

from __future__ import annotations

from ._ir import ListTy, LiteralTy, MapTy, Model, ModelTy, NullableTy, PrimTy, Ty, UnionTy, UnixTimeTy
from ._naming import snake

__all__ = ["ModuleCode"]

_PRIM_ANN = {
    "str": "str",
    "int": "int",
    "float": "float",
    "bool": "bool",
    "None": "None",
    "Any": "Any",
    "bytes": "bytes",
}


def needs_decode(ty: Ty) -> bool:
    if isinstance(ty, (PrimTy, LiteralTy)):
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
            {"str": "str", "int": "int", "float": "num", "bool": "bool", "None": "null", "bytes": "str"}.get(
                ty.name, "any"
            )
        }
    if isinstance(ty, LiteralTy):
        return {{"str": "str", "int": "int", "bool": "bool", "float": "num"}[ty.base]}
    if isinstance(ty, UnixTimeTy):
        return {"int"}
    if isinstance(ty, ListTy):
        return {"list"}
    if isinstance(ty, (MapTy, ModelTy)):
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
    if isinstance(ty, ModelTy):
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
                self.uses.add("Sequence")
                return f"Sequence[{self.ann(ty.item, param)}]"
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

    # -- decoding ----------------------------------------------------------------------

    def decode(self, ty: Ty, expr: str, depth: int = 0) -> str:
        """An expression turning JSON value ``expr`` into ``ty``."""
        if not needs_decode(ty):
            return expr
        if isinstance(ty, UnixTimeTy):
            self.uses.add("from_unix")
            return f"from_unix({expr})"
        if isinstance(ty, ModelTy):
            return f"_m.{ty.name}.from_dict({expr})"
        if isinstance(ty, ListTy):
            var = f"_i{depth}"
            return f"[{self.decode(ty.item, var, depth + 1)} for {var} in {expr}]"
        if isinstance(ty, MapTy):
            k, var = f"_k{depth}", f"_v{depth}"
            return f"{{{k}: {self.decode(ty.value, var, depth + 1)} for {k}, {var} in {expr}.items()}}"
        if isinstance(ty, NullableTy):
            return f"(None if {expr} is None else {self.decode(ty.inner, expr, depth)})"
        if isinstance(ty, UnionTy):
            return f"{self._union_helper(ty)}({expr})"
        return expr

    def _union_helper(self, ty: UnionTy) -> str:
        key = repr(ty)
        if key in self._helper_keys:
            return self._helper_keys[key]
        name = self._helper_name("_decode_", ty)
        self._helper_keys[key] = name
        self.uses.add("Any")
        lines = [f"def {name}(v: Any) -> Any:"]
        by_kind: dict[str, list[Ty]] = {}
        for variant in ty.variants:
            for kind in sorted(_kinds(variant)):
                by_kind.setdefault(kind, []).append(variant)
        order = ["null", "bool", "int", "num", "str", "list", "dict"]
        for kind in order:
            cands = by_kind.get(kind)
            if not cands:
                continue
            decoding = [c for c in cands if needs_decode(c)]
            if not decoding or kind == "null":
                continue
            lines.append(f"    if {_CHECKS[kind]}:")
            if kind == "dict":
                lines.extend(self._dict_dispatch(ty, cands))
            else:
                # several decoding variants of one JSON kind (``list[A] | list[B]``): try each
                # in turn, the last one unguarded so that its error is the one reported
                for i, cand in enumerate(decoding):
                    inner = cand.inner if isinstance(cand, NullableTy) else cand
                    if isinstance(inner, UnionTy):
                        expr = f"{self._union_helper(inner)}(v)"
                    else:
                        expr = self.decode(inner, "v", 1)
                    if i == len(decoding) - 1:
                        lines.append(f"        return {expr}")
                    else:
                        self.uses.add("ResponseValidationError")
                        lines.append("        try:")
                        lines.append(f"            return {expr}")
                        lines.append("        except ResponseValidationError:")
                        lines.append("            pass")
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
        models = [c for c in flat if isinstance(c, ModelTy)]
        maps = [c for c in flat if isinstance(c, MapTy)]
        out: list[str] = []
        if ty.discriminator and models:
            prop, mapping = ty.discriminator
            names = {m.name for m in models}
            entries = [(value, model) for value, model in mapping if model in names]
            if entries:
                out.append(f"        t = v.get({prop!r})")
                for value, model in entries:
                    out.append(f"        if t == {value!r}:")
                    out.append(f"            return _m.{model}.from_dict(v)")
        if len(models) == 1 and not maps and not out:
            out.append(f"        return _m.{models[0].name}.from_dict(v)")
            return out
        # implicit discriminators: single-valued enum properties (Stripe's ``object`` and
        # ``deleted``), most specific first
        const_checks: list[tuple[dict[str, object], str]] = []
        for m in models:
            found = self.models.get(m.name)
            if found is not None and found.consts:
                const_checks.append((found.consts, m.name))
        const_checks.sort(key=lambda c: -len(c[0]))
        if const_checks:
            # the error of a variant the object names itself as is the one worth reporting
            out.append("        first: ResponseValidationError | None = None")
        for consts, name in const_checks:
            # several variants may share a const (OpenAI's ``type: message``): a match that
            # does not parse falls through to the next candidate
            self.uses.add("ResponseValidationError")
            cond = " and ".join(
                f"v.get({k!r}) {'is' if val is None or isinstance(val, bool) else '=='} {val!r}"
                for k, val in sorted(consts.items())
            )
            out.append(f"        if {cond}:")
            out.append("            try:")
            out.append(f"                return _m.{name}.from_dict(v)")
            out.append("            except ResponseValidationError as exc:")
            out.append("                first = first or exc")
        remaining = [m for m in models if m.name not in {n for _, n in const_checks}]
        # the most specific shape first: more required fields
        remaining.sort(
            key=lambda m: (
                -sum(1 for f in self.models[m.name].fields if f.required) if m.name in self.models else 0
            )
        )
        for m in remaining:
            target = self.models.get(m.name)
            req = sorted(f.wire for f in target.fields if f.required) if target else []
            if req:
                self.uses.add("ResponseValidationError")
                cond = " and ".join(f"{r!r} in v" for r in req)
                out.append(f"        if {cond}:")
                out.append("            try:")
                out.append(f"                return _m.{m.name}.from_dict(v)")
                out.append("            except ResponseValidationError:")
                out.append("                pass")
        final = ""
        if maps:
            out.append(f"        return {self.decode(maps[0], 'v', 1)}")
        elif len(models) == 1:
            final = f"_m.{models[0].name}.from_dict(v)"
        elif models:
            # no shape matched outright: the variant whose fields cover most of the object
            self.uses.add("best_match")
            final = f"best_match(v, ({', '.join(f'_m.{m.name}' for m in models)}))"
        if final and const_checks:
            out.extend(
                [
                    "        try:",
                    f"            return {final}",
                    "        except ResponseValidationError:",
                    "            if first is not None:",
                    "                raise first from None",
                    "            raise",
                ]
            )
        elif final:
            out.append(f"        return {final}")
        return out

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

    def encode(self, ty: Ty, expr: str) -> str:
        """An expression turning a field value back into JSON data."""
        if not needs_decode(ty):
            return expr
        if isinstance(ty, ModelTy):
            return f"{expr}.to_dict()"
        self.uses.add("to_unix")
        return f"to_unix({expr})"


def split_union(ann: str) -> list[str]:
    """Split ``A | list[B | C] | D`` into its top-level members."""
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
