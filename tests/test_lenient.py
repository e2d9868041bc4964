"""Issue 11: models read what APIs really send — lenient by default, strict on request.

A corpus of *non-conforming* bodies, built here from each provider's pinned spec: a body
valid for a model (synthesized from its schema, every optional field included) gets one
realistic defect — a required field missing, ``null`` where the spec says object, array
item or enum, an enum value the spec does not list, an unknown field inside a nested
object, a number sent as a string — and, for every distinct union/expandable shape of
every provider, a defective object in the union's place. Each body must be read in lenient
mode (the default), give back exactly what came (``to_dict()``), show up in
``spec_mismatches()``, and be rejected in strict mode with the field named.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Iterator
from typing import Any

import pytest

from generator._ir import (
    ListTy,
    LiteralTy,
    MapTy,
    Model,
    ModelTy,
    NullableTy,
    PrimTy,
    Ty,
    UnionTy,
    UnixTimeTy,
)
from generator._pins import load_providers
from tests.contract._schema import Spec, Synth, Unsatisfiable, randomly, spec_for
from usepolvo.core import ResponseValidationError

#: the default pin of each provider, built on first use (collecting stays cheap)
SPECS = list(load_providers())
IDS = SPECS
KINDS = (
    "missing",
    "null_object",
    "null_array_item",
    "null_enum",
    "unknown_enum",
    "extra_nested",
    "number_as_string",
)
#: models sampled per provider for the defect kinds (every model would take minutes)
SAMPLE = 160


def _inner(ty: Ty) -> Ty:
    return ty.inner if isinstance(ty, NullableTy) else ty


def _allows_null(ty: Ty) -> bool:
    if isinstance(ty, NullableTy):
        return True
    if isinstance(ty, PrimTy):
        return ty.name in ("None", "Any")
    if isinstance(ty, UnionTy):
        return any(_allows_null(v) for v in ty.variants)
    return False


def _valid(spec: Spec, schema: Any, seed: int) -> Any:
    for attempt in range(6):
        try:
            value = Synth(spec, randomly(seed * 7 + attempt), max_depth=2, optional=1).value(schema)
        except Unsatisfiable:
            continue
        if isinstance(value, dict):
            return value
    return None


def _defect(kind: str, spec: Spec, model: Model, body: dict[str, Any]) -> str | None:
    """Give ``body`` (valid for ``model``) one defect of ``kind`` in place; the path it is at."""
    fields = {f.wire: f for f in model.fields}
    name = model.name
    for wire in sorted(body):
        f = fields.get(wire)
        if f is None:
            continue
        ty, value = f.ty, body[wire]
        inner = _inner(ty)
        if kind == "missing" and f.required:
            del body[wire]
            return f"{name}.{wire}"
        if kind == "null_object" and isinstance(inner, (ModelTy, MapTy)) and not _allows_null(ty):
            body[wire] = None
            return f"{name}.{wire}"
        if (
            kind == "null_array_item"
            and isinstance(inner, ListTy)
            and isinstance(value, list)
            and value
            and not _allows_null(inner.item)
        ):
            value[0] = None
            return f"{name}.{wire}[0]"
        if kind == "null_enum" and isinstance(ty, LiteralTy):
            body[wire] = None
            return f"{name}.{wire}"
        if (
            kind == "unknown_enum"
            and isinstance(inner, LiteralTy)
            and inner.base == "str"
            and value is not None
        ):
            body[wire] = "a_value_added_after_the_pin"
            return f"{name}.{wire}"
        if kind == "extra_nested" and isinstance(inner, ModelTy) and isinstance(value, dict):
            nested = spec.ir.models[inner.name]
            if not nested.open and nested.additional is None:
                value["added_after_the_pin"] = {"a": [1, None], "b": "x"}
                return f"{name}.{wire}.added_after_the_pin"
        if (
            kind == "number_as_string"
            and (
                isinstance(inner, UnixTimeTy)
                or (isinstance(inner, PrimTy) and inner.name in ("int", "float"))
            )
            and isinstance(value, (int, float))
            and not isinstance(value, bool)
        ):
            body[wire] = str(value)
            return f"{name}.{wire}"
    return None


def _check(spec: Spec, cls: Any, bad: dict[str, Any], where: str, *, exact: bool) -> None:
    sent = copy.deepcopy(bad)
    model = cls.from_dict(bad)  # lenient: never fails on an object
    assert model.to_dict() == sent, f"{where}: not lossless"
    assert bad == sent, "from_dict must not change its input"
    assert model.spec_mismatches(), f"{where}: the mismatch is not discoverable"
    with pytest.raises(ResponseValidationError) as info:
        cls.from_dict_strict(bad)
    path = info.value.path
    if exact:
        assert path == where, f"strict named {path!r}, the defect is at {where!r}: {info.value}"
    else:
        assert path.startswith(where), f"strict named {path!r}, the defect is in {where!r}: {info.value}"


def _sample(spec: Spec) -> list[str]:
    names = sorted(n for n in spec.ir.models if n in spec.model_schemas)
    step = max(1, len(names) // SAMPLE)
    return names[::step]


@pytest.mark.slow  # seven defect kinds over 160 models a provider
@pytest.mark.parametrize("provider", SPECS, ids=IDS)
def test_corpus_of_defective_bodies(provider: str) -> None:
    spec = spec_for(provider)
    models = importlib.import_module(spec.ir.package + ".models")
    done: dict[str, int] = dict.fromkeys(KINDS, 0)
    for i, name in enumerate(_sample(spec)):
        body = _valid(spec, spec.model_schemas[name], i)
        if body is None:
            continue
        cls = getattr(models, name)
        assert cls.from_dict_strict(copy.deepcopy(body)).to_dict() == body  # the valid one passes
        for kind in KINDS:
            bad = copy.deepcopy(body)
            where = _defect(kind, spec, spec.ir.models[name], bad)
            if where is None:
                continue
            done[kind] += 1
            wire = where.split(".", 2)[1].split("[", 1)[0]
            ty = next(f.ty for f in spec.ir.models[name].fields if f.wire == wire)
            union = isinstance(_inner(ty), UnionTy) or (
                isinstance(_inner(ty), ListTy) and isinstance(_inner(_inner(ty).item), UnionTy)  # type: ignore[union-attr]
            )
            _check(spec, cls, bad, where, exact=not union and kind != "extra_nested")
    # every kind of defect was met in this provider's corpus
    assert all(done.values()), done


def _union_sites(spec: Spec) -> Iterator[tuple[str, str, UnionTy, bool]]:
    """(model, field, union, in a list) for every distinct union shape of the spec's models."""
    seen: set[str] = set()
    for name in sorted(spec.ir.models):
        if name not in spec.model_schemas:
            continue
        for f in spec.ir.models[name].fields:
            ty = _inner(f.ty)
            listed = isinstance(ty, ListTy)
            if listed:
                ty = _inner(ty.item)  # type: ignore[union-attr]
            if not isinstance(ty, UnionTy) or not any(isinstance(_inner(v), ModelTy) for v in ty.variants):
                continue
            key = repr(ty)
            if key in seen:
                continue
            seen.add(key)
            yield name, f.wire, ty, listed


@pytest.mark.parametrize("provider", SPECS, ids=IDS)
def test_every_union_and_expandable_shape_reads_defective_variants(provider: str) -> None:
    spec = spec_for(provider)
    models = importlib.import_module(spec.ir.package + ".models")
    shapes = checked = 0
    for n, (host, wire, union, listed) in enumerate(_union_sites(spec)):
        shapes += 1
        body = _valid(spec, spec.model_schemas[host], n)
        if body is None:
            continue
        variants = [v for v in (_inner(x) for x in union.variants) if isinstance(v, ModelTy)]
        for k, variant in enumerate(variants[:3]):
            value = _valid(spec, spec.model_schemas.get(variant.name), n * 31 + k)
            if value is None:
                continue
            target = spec.ir.models[variant.name]
            bad_value = copy.deepcopy(value)
            if _defect("missing", spec, target, bad_value) is None and (
                _defect("null_object", spec, target, bad_value) is None
                and _defect("unknown_enum", spec, target, bad_value) is None
            ):
                if target.open or target.additional is not None:
                    continue
                bad_value["added_after_the_pin"] = None
            bad = copy.deepcopy(body)
            bad[wire] = [bad_value] if listed else bad_value
            cls = getattr(models, host)
            if not cls.from_dict(bad).spec_mismatches():
                continue  # another variant takes it as is (GitHub's `simple-user | empty-object`)
            _check(spec, cls, bad, f"{host}.{wire}", exact=False)
            # a variant that names itself (Stripe's object, a discriminator) is read as itself
            got = getattr(
                cls.from_dict(bad), next(f.name for f in spec.ir.models[host].fields if f.wire == wire)
            )
            got = got[0] if listed else got
            named = getattr(models, variant.name).wire_consts
            others = [getattr(models, v.name).wire_consts for v in variants if v.name != variant.name]
            if named and named not in others and all(bad_value.get(key) == val for key, val in named):
                assert type(got).__name__ == variant.name, f"{host}.{wire}: read as {type(got).__name__}"
            checked += 1
    assert shapes and checked, (shapes, checked)


_GARBAGE: list[Any] = [
    None,
    "x",
    "",
    0,
    -1,
    1.5,
    True,
    [],
    {},
    [None],
    {"a": None},
    {"object": "card"},
    "2024-13-45T99:99Z",
]


def _scramble(value: Any, rng: Any) -> None:
    """Replace, drop or add something somewhere inside ``value`` (hostile-server bodies)."""
    if isinstance(value, dict) and value:
        key = rng.choice(sorted(value))
        roll = rng.random()
        if roll < 0.3:
            value[key] = copy.deepcopy(rng.choice(_GARBAGE))
        elif roll < 0.45:
            del value[key]
        else:
            _scramble(value[key], rng)
        if rng.random() < 0.2:
            value["zz_extra"] = copy.deepcopy(rng.choice(_GARBAGE))
    elif isinstance(value, list) and value:
        i = rng.randrange(len(value))
        if rng.random() < 0.5:
            value[i] = copy.deepcopy(rng.choice(_GARBAGE))
        else:
            _scramble(value[i], rng)


@pytest.mark.parametrize("provider", SPECS, ids=IDS)
def test_scrambled_bodies_always_read_losslessly(provider: str) -> None:
    spec = spec_for(provider)
    import random

    models = importlib.import_module(spec.ir.package + ".models")
    rng = random.Random(11)
    names = sorted(n for n in spec.ir.models if n in spec.model_schemas)
    for name in rng.sample(names, min(60, len(names))):
        body = _valid(spec, spec.model_schemas[name], rng.randrange(1 << 20))
        if body is None:
            continue
        cls = getattr(models, name)
        for _ in range(4):
            bad = copy.deepcopy(body)
            for _ in range(rng.randint(1, 4)):
                _scramble(bad, rng)
            sent = copy.deepcopy(bad)
            model = cls.from_dict(bad)
            assert model.to_dict() == sent, name
            assert bad == sent
            model.spec_mismatches()
