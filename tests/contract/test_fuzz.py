"""Bounded model fuzzing (a few payloads per model); `make fuzz` runs the deep one."""

from __future__ import annotations

import os

import pytest

from tests.contract._fuzz import fuzz_spec
from tests.contract._schema import pinned, spec_for

SPECS = pinned()
EXAMPLES = int(os.environ.get("POLVO_FUZZ_EXAMPLES", "2"))
DEPTH = int(os.environ.get("POLVO_FUZZ_DEPTH", "2"))
SEEDS = int(os.environ.get("POLVO_FUZZ_SEEDS", "1"))

#: every operation (or model) of every pinned spec: minutes, so `make test-slow`
pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("provider", "version"), SPECS, ids=[f"{p}-{v}" for p, v in SPECS])
def test_models_read_and_round_trip(provider: str, version: str) -> None:
    spec = spec_for(provider, version)
    crashes, rejected = [], []
    for seed in range(SEEDS):
        report = fuzz_spec(spec, examples=EXAMPLES, depth=DEPTH, seed=seed)
        assert report.models == len(spec.ir.models)
        crashes += [f for f in report.failures if f[1] != "rejected"]
        rejected += [f for f in report.failures if f[1] == "rejected"]
    assert not crashes, "\n".join(f"{c}: {m}: {d[:300]}" for m, c, d in crashes[:30])
    # valid data a model rejects is a union-dispatch bug
    assert not rejected, "\n".join(f"{m}: {d[:300]}" for m, _, d in rejected[:30])
