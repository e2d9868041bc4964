"""Model fuzzing: schema-shaped payloads for every model; ``from_dict`` and the round trip.

For each model of each pinned spec, payloads valid for the model's schema are generated
(bounded depth; each choice drawn from ``choose``: seeded random, or hypothesis). A model
passes when ``from_dict_strict`` (strict mode: the payload is validated against the spec
first) accepts it and ``to_dict(from_dict(x)) == x``.
"""

from __future__ import annotations

import collections
import importlib
from collections.abc import Callable
from typing import Any

import attrs

from ._schema import Choose, Spec, Synth, Unsatisfiable, randomly


@attrs.define
class FuzzReport:
    provider: str
    version: str
    models: int = 0
    examples: int = 0
    rejected: int = 0  # ResponseValidationError on valid data
    failures: list[tuple[str, str, str]] = attrs.field(factory=list)  # (model, cause, detail)

    def causes(self) -> collections.Counter[str]:
        return collections.Counter(c for _, c, _ in self.failures)

    def line(self) -> str:
        return (
            f"{self.provider:<8} {self.version:<11} models {self.models:>5}  examples {self.examples:>6}  "
            f"rejected {self.rejected:>4}  failed {len({m for m, _, _ in self.failures}):>4}"
        )


def check_one(spec: Spec, cls: Any, schema: Any, choose: Choose, depth: int) -> tuple[str, str] | None:
    """None when the model reads and gives back the payload; else (cause, detail)."""
    from usepolvo.core import ResponseValidationError

    synth = Synth(spec, choose, max_depth=depth)
    payload = None
    for _ in range(4):  # a nullable model's payload may come out as null: that is its field's job
        try:
            payload = synth.value(schema)
        except Unsatisfiable:
            return None
        if payload is not None:
            break
    if payload is None:
        return None
    try:
        obj = cls.from_dict_strict(payload)  # strict: valid data must match the spec exactly
    except ResponseValidationError as exc:
        return "rejected", f"{exc} :: {str(payload)[:300]}"
    except Exception as exc:  # noqa: BLE001 - any other exception is the bug we look for
        return "crash", f"{type(exc).__name__}: {exc} :: {str(payload)[:300]}"
    try:
        back = obj.to_dict()
    except Exception as exc:  # noqa: BLE001
        return "to_dict", f"{type(exc).__name__}: {exc}"
    if back != payload:
        return "roundtrip", f"{_diff(payload, back)}"
    return None


def _diff(a: Any, b: Any, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                return f"{path}/{k}: {'missing in to_dict' if k not in b else 'added by to_dict'}"
            if a[k] != b[k]:
                return _diff(a[k], b[k], f"{path}/{k}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _diff(x, y, f"{path}/{i}")
    return f"{path}: sent {a!r:.120} got {b!r:.120}"


def fuzz_spec(
    spec: Spec,
    *,
    examples: int = 2,
    depth: int = 2,
    seed: int = 0,
    chooser: Callable[[int], Choose] = randomly,
) -> FuzzReport:
    models = importlib.import_module(spec.ir.package + ".models")
    report = FuzzReport(spec.provider, spec.version)
    for name in sorted(spec.ir.models):
        schema = spec.model_schemas.get(name)
        if schema is None:
            report.failures.append((name, "no-schema", "the model's schema was not recorded"))
            continue
        cls = getattr(models, name)
        report.models += 1
        for i in range(examples):
            report.examples += 1
            found = check_one(spec, cls, schema, chooser(seed * 100_003 + i * 7919 + hash_name(name)), depth)
            if found is not None:
                cause, detail = found
                if cause == "rejected":
                    report.rejected += 1
                report.failures.append((name, cause, detail))
                break
    return report


def hash_name(name: str) -> int:
    import zlib

    return zlib.crc32(name.encode())
