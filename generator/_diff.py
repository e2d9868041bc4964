"""What changed between two pinned specs, as the SDK user sees it.

Both specs are built into the IR (:func:`generator._build.build_provider`), so the report
speaks the generated API: resource and method names, Python parameter names, model
classes and their fields, ``Literal`` enum values. Every entry is flagged breaking or not:

- operations: added (no), removed (yes), renamed — same method and path under another
  generated name (yes), moved — same name, another path (no; its parameters are compared);
- parameters (path, query, header and body fields): added (no, unless required), removed
  (yes), newly required (yes), no longer required (no), type changed (yes);
- response models (reachable from the operations' responses) and their fields: added (no),
  removed (yes), type changed (yes), no longer always present (yes);
- enum values: added (no — enums accept unknown values); removed from a request parameter
  (yes: the value is no longer accepted) or from a response field (no for readers, listed).

Nullability: ``None`` newly allowed in a request is additive; newly possible in a response
(or no longer accepted in a request) is breaking.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

import attrs

from ._ir import (
    DictTy,
    ListTy,
    LiteralTy,
    MapTy,
    Model,
    ModelTy,
    NullableTy,
    Operation,
    Param,
    PrimTy,
    Provider,
    Ty,
    UnionTy,
    UnixTimeTy,
)

__all__ = ["CATEGORIES", "Change", "diff_providers", "render_markdown"]

#: report sections, in order
CATEGORIES = {
    "operations": "Operations",
    "parameters": "Parameters and request fields",
    "responses": "Response types",
    "models": "Response models and fields",
    "enums": "Enum values",
}


@attrs.frozen(order=True)
class Change:
    category: str  # a key of CATEGORIES
    subject: str  # what changed: ``customers.list_customers``, ``Customer.email``, ``Customer``
    text: str  # how, in words
    breaking: bool

    def line(self) -> str:
        flag = "**breaking**" if self.breaking else "non-breaking"
        return f"- {flag} · {self.subject}: {self.text}"


# -- types -------------------------------------------------------------------------------


def show(ty: Ty | None, *, limit: int = 6) -> str:
    """A type as the generated code spells it (long enums shortened)."""
    if ty is None:
        return "None"
    if isinstance(ty, PrimTy):
        return ty.name
    if isinstance(ty, LiteralTy):
        values = [repr(v) for v in ty.values]
        if len(values) > limit:
            values = [*values[:limit], f"… {len(ty.values) - limit} more"]
        return f"Literal[{', '.join(values)}]"
    if isinstance(ty, UnixTimeTy):
        return "datetime"
    if isinstance(ty, ListTy):
        return f"list[{show(ty.item, limit=limit)}]"
    if isinstance(ty, MapTy):
        return f"dict[str, {show(ty.value, limit=limit)}]"
    if isinstance(ty, ModelTy):
        return ty.name
    if isinstance(ty, DictTy):
        return ty.name if ty.model is None else f"{ty.model} | {ty.name}"
    if isinstance(ty, UnionTy):
        return " | ".join(show(v, limit=limit) for v in ty.variants)
    return f"{show(ty.inner, limit=limit)} | None"


def _shape(ty: Ty) -> str:
    """The type with enum values erased: two types of one shape differ only in enums."""
    if isinstance(ty, LiteralTy):
        return f"Literal<{ty.base}>"
    if isinstance(ty, ListTy):
        return f"list[{_shape(ty.item)}]"
    if isinstance(ty, MapTy):
        return f"dict[{_shape(ty.value)}]"
    if isinstance(ty, UnionTy):
        return " | ".join(sorted(_shape(v) for v in ty.variants))
    if isinstance(ty, NullableTy):
        return f"{_shape(ty.inner)}?"
    if isinstance(ty, DictTy):
        # a request object: its keys are not compared here, and its TypedDict's name may
        # differ between versions without the argument changing (both are dicts)
        return "TypedDict" if ty.model is None else f"{ty.model} | TypedDict"
    return show(ty)


@attrs.frozen
class _TyChange:
    kind: str  # type | enum | nullable
    text: str
    breaking: bool


def _values(values: Iterable[object]) -> str:
    return ", ".join(f"`{v!r}`" if not isinstance(v, str) else f"`{v}`" for v in values)


def compare_types(old: Ty, new: Ty, *, request: bool) -> list[_TyChange]:
    """How ``old`` became ``new``; ``request`` says which side of the wire the value is on."""
    if old == new:
        return []
    out: list[_TyChange] = []
    o_null, n_null = isinstance(old, NullableTy), isinstance(new, NullableTy)
    if o_null != n_null:
        if n_null:
            text = "now accepts `None`" if request else "may now be `None`"
            out.append(_TyChange("nullable", text, breaking=not request))
        else:
            text = "no longer accepts `None`" if request else "is never `None` any more"
            out.append(_TyChange("nullable", text, breaking=request))
    if isinstance(old, NullableTy):
        old = old.inner
    if isinstance(new, NullableTy):
        new = new.inner
    if _shape(old) != _shape(new):
        a, b = _variants(old), _variants(new)
        sa, sb = set(a), set(b)
        if sa < sb:  # widened: a union gained members
            extra = " | ".join(show(b[k]) for k in b if k not in sa)
            text = f"now also accepts `{extra}`" if request else f"may now also be `{extra}`"
            out.append(_TyChange("type", text, breaking=not request))
        elif sb < sa:  # narrowed
            gone = " | ".join(show(a[k]) for k in a if k not in sb)
            text = f"no longer accepts `{gone}`" if request else f"is never `{gone}` any more"
            out.append(_TyChange("type", text, breaking=request))
        else:
            return [*out, _TyChange("type", f"type `{show(old)}` → `{show(new)}`", breaking=True)]
        for k in sa & sb:
            out.extend(_enum_changes(a[k], b[k], request))
        return out
    out.extend(_enum_changes(old, new, request))
    return out


def _variants(ty: Ty) -> dict[str, Ty]:
    """A type's union members by shape (a non-union is a union of one)."""
    members = ty.variants if isinstance(ty, UnionTy) else (ty,)
    return {_shape(v): v for v in members}


def _enum_changes(old: Ty, new: Ty, request: bool) -> Iterator[_TyChange]:
    """Walk two types of one shape in step, reporting the enums whose values differ."""
    if isinstance(old, LiteralTy) and isinstance(new, LiteralTy):
        added = [v for v in new.values if v not in old.values]
        removed = [v for v in old.values if v not in new.values]
        if added:
            yield _TyChange("enum", f"values added: {_values(added)}", breaking=False)
        if removed:
            note = "" if request else " (no longer sent; code handling them still works)"
            yield _TyChange("enum", f"values removed: {_values(removed)}{note}", breaking=request)
    elif isinstance(old, ListTy) and isinstance(new, ListTy):
        yield from _enum_changes(old.item, new.item, request)
    elif isinstance(old, MapTy) and isinstance(new, MapTy):
        yield from _enum_changes(old.value, new.value, request)
    elif isinstance(old, NullableTy) and isinstance(new, NullableTy):
        yield from _enum_changes(old.inner, new.inner, request)
    elif isinstance(old, UnionTy) and isinstance(new, UnionTy):
        by_shape = {_shape(v): v for v in old.variants}
        for v in new.variants:
            if _shape(v) in by_shape:
                yield from _enum_changes(by_shape[_shape(v)], v, request)


# -- the diff ----------------------------------------------------------------------------


def _op_label(op: Operation) -> str:
    return f"`{'.'.join((*op.resource, op.name))}`"


def _endpoint(op: Operation) -> str:
    return f"`{op.method.upper()} {op.path}`"


def _params(op: Operation) -> dict[tuple[str, str], Param]:
    """Parameters by (location, key): path parameters by position, the rest by wire name."""
    out: dict[tuple[str, str], Param] = {}
    for i, p in enumerate(op.path_params):
        out[("path", str(i))] = p
    for p in op.params:
        if p.location != "path":
            out[(p.location, p.wire)] = p
    if op.body is not None and op.body.fields is not None:
        for p in op.body.fields:
            out[("body", p.wire)] = p
    return out


def _where(p: Param) -> str:
    return {
        "path": "path parameter",
        "query": "query parameter",
        "header": "header",
        "body": "body field",
    }.get(p.location, p.location)


def _compare_op(old: Operation, new: Operation) -> Iterator[Change]:
    label = _op_label(new)
    a, b = _params(old), _params(new)
    for key in [k for k in b if k not in a]:
        p = b[key]
        req = "required " if p.required else ""
        yield Change("parameters", label, f"new {req}{_where(p)} `{p.name}`", breaking=p.required)
    for key in [k for k in a if k not in b]:
        p = a[key]
        yield Change("parameters", label, f"{_where(p)} `{p.name}` removed", breaking=True)
    for key in [k for k in a if k in b]:
        p, q = a[key], b[key]
        if key[0] == "path" and p.wire != q.wire:
            yield Change(
                "parameters",
                label,
                f"path parameter `{p.name}` renamed `{q.name}` (positional)",
                breaking=False,
            )
        if q.required and not p.required:
            yield Change("parameters", label, f"{_where(q)} `{q.name}` is now required", breaking=True)
        elif p.required and not q.required:
            yield Change("parameters", label, f"{_where(q)} `{q.name}` is no longer required", breaking=False)
        for c in compare_types(p.ty, q.ty, request=True):
            category = "enums" if c.kind == "enum" else "parameters"
            yield Change(category, f"{label} {_where(q)} `{q.name}`", c.text, c.breaking)
    # a body sent whole (``body=``)
    old_whole = old.body.ty if old.body is not None and old.body.fields is None else None
    new_whole = new.body.ty if new.body is not None and new.body.fields is None else None
    if old_whole is not None and new_whole is not None:
        for c in compare_types(old_whole, new_whole, request=True):
            yield Change("enums" if c.kind == "enum" else "parameters", f"{label} `body`", c.text, c.breaking)
    elif (old.body is None) != (new.body is None):
        if new.body is None:
            yield Change("parameters", label, "no longer takes a request body", breaking=True)
        else:
            assert new.body is not None
            yield Change("parameters", label, "now takes a request body", breaking=new.body.required)
    # the success response
    o_ok = next(iter(old.success), None)
    n_ok = next(iter(new.success), None)
    if o_ok is not None and n_ok is not None and o_ok.ty is not None and n_ok.ty is not None:
        for c in compare_types(o_ok.ty, n_ok.ty, request=False):
            category = "enums" if c.kind == "enum" else "responses"
            yield Change(category, f"{label} returns", c.text, c.breaking)
    elif (o_ok is None or o_ok.ty is None) != (n_ok is None or n_ok.ty is None):
        yield Change(
            "responses",
            label,
            f"returns `{show(n_ok.ty if n_ok else None)}` (was `{show(o_ok.ty if o_ok else None)}`)",
            breaking=True,
        )


def _reachable(provider: Provider) -> set[str]:
    """Names of the models the operations' responses can return, directly or nested."""
    seen: set[str] = set()
    stack: list[Ty] = []
    for op in provider.operations:
        for r in op.responses:
            if r.ty is not None:
                stack.append(r.ty)
            if r.events is not None:
                stack.append(r.events)
    while stack:
        ty = stack.pop()
        if isinstance(ty, ModelTy):
            if ty.name in seen or ty.name not in provider.models:
                continue
            seen.add(ty.name)
            model = provider.models[ty.name]
            stack.extend(f.ty for f in model.fields)
            if model.additional is not None:
                stack.append(model.additional)
        elif isinstance(ty, (ListTy,)):
            stack.append(ty.item)
        elif isinstance(ty, MapTy):
            stack.append(ty.value)
        elif isinstance(ty, NullableTy):
            stack.append(ty.inner)
        elif isinstance(ty, UnionTy):
            stack.extend(ty.variants)
    return seen


def _compare_model(old: Model, new: Model) -> Iterator[Change]:
    a = {f.wire: f for f in old.fields}
    b = {f.wire: f for f in new.fields}
    for wire in [w for w in b if w not in a]:
        yield Change(
            "models", f"`{new.name}`", f"new field `{b[wire].name}: {show(b[wire].ty)}`", breaking=False
        )
    for wire in [w for w in a if w not in b]:
        yield Change("models", f"`{old.name}`", f"field `{a[wire].name}` removed", breaking=True)
    for wire in [w for w in a if w in b]:
        f, g = a[wire], b[wire]
        subject = f"`{new.name}.{g.name}`"
        if f.required and not g.required:
            yield Change("models", subject, "no longer always present", breaking=True)
        for c in compare_types(f.ty, g.ty, request=False):
            yield Change("enums" if c.kind == "enum" else "models", subject, c.text, c.breaking)


def diff_providers(old: Provider, new: Provider) -> list[Change]:
    """Every change from ``old`` to ``new``, sorted by category and subject."""
    changes: list[Change] = []
    by_endpoint_a = {(op.method, op.path): op for op in old.operations}
    by_endpoint_b = {(op.method, op.path): op for op in new.operations}
    pairs: list[tuple[Operation, Operation]] = []
    for endpoint in [k for k in by_endpoint_a if k in by_endpoint_b]:
        a, b = by_endpoint_a[endpoint], by_endpoint_b[endpoint]
        if (a.resource, a.name) != (b.resource, b.name):
            changes.append(
                Change("operations", _op_label(a), f"renamed {_op_label(b)} ({_endpoint(b)})", breaking=True)
            )
        pairs.append((a, b))
    gone = {(op.resource, op.name): op for k, op in by_endpoint_a.items() if k not in by_endpoint_b}
    new_ops = {(op.resource, op.name): op for k, op in by_endpoint_b.items() if k not in by_endpoint_a}
    for key in [k for k in gone if k in new_ops]:
        a, b = gone.pop(key), new_ops.pop(key)
        changes.append(
            Change(
                "operations", _op_label(b), f"now calls {_endpoint(b)} (was {_endpoint(a)})", breaking=False
            )
        )
        pairs.append((a, b))
    for op in new_ops.values():
        changes.append(Change("operations", _op_label(op), f"new operation, {_endpoint(op)}", breaking=False))
    for op in gone.values():
        changes.append(Change("operations", _op_label(op), f"removed ({_endpoint(op)})", breaking=True))
    for a, b in pairs:
        changes.extend(_compare_op(a, b))
    models_a, models_b = _reachable(old), _reachable(new)
    for name in sorted(models_b - models_a):
        fields = len(new.models[name].fields)
        changes.append(Change("models", f"`{name}`", f"new model ({fields} fields)", breaking=False))
    for name in sorted(models_a - models_b):
        changes.append(Change("models", f"`{name}`", "model removed", breaking=True))
    for name in sorted(models_a & models_b):
        changes.extend(_compare_model(old.models[name], new.models[name]))
    order = list(CATEGORIES)
    return sorted(set(changes), key=lambda c: (order.index(c.category), not c.breaking, c.subject, c.text))


# -- Markdown ----------------------------------------------------------------------------


def summary(changes: list[Change]) -> str:
    breaking = sum(c.breaking for c in changes)
    per = Counter(c.category for c in changes)
    parts = ", ".join(f"{CATEGORIES[k].lower()} {per[k]}" for k in CATEGORIES if per[k])
    if not changes:
        return "**No changes** visible to SDK users."
    return (
        f"**{len(changes)} changes: {breaking} breaking, {len(changes) - breaking} non-breaking** ({parts})."
    )


def render_markdown(provider: str, old: str, new: str, changes: list[Change]) -> str:
    lines = [
        f"# {provider}: API changes {old} → {new}",
        "",
        summary(changes),
        "",
        f"What changes for code using `usepolvo.{provider}` when it moves from the {old} pin to "
        f"the {new} pin. **breaking** entries can stop existing code from working (or "
        "type checking); non-breaking ones are additions or relaxations existing code is unaffected by. "
        "Request bodies' nested objects are plain mappings in the SDK, so only their top-level fields "
        "are compared.",
    ]
    for key, title in CATEGORIES.items():
        group = [c for c in changes if c.category == key]
        if not group:
            continue
        breaking = sum(c.breaking for c in group)
        lines += ["", f"## {title} ({len(group)}, {breaking} breaking)", ""]
        lines += [c.line() for c in group]
    return "\n".join(lines) + "\n"
