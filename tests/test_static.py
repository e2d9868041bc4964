"""ruff and mypy --strict on the runtime, the generator and every generated provider."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_clean():
    proc = _run(str(BIN / "ruff"), "check", "src", "generator")
    assert proc.returncode == 0, proc.stdout + proc.stderr


# mypy --strict over ~50 MB of generated code takes minutes: `make test-slow` (and
# `make typecheck`, whose cache makes these quick after it)
@pytest.mark.slow
def test_mypy_strict_runtime_and_generator():
    proc = _run(str(BIN / "mypy"), "src/usepolvo", "generator")
    assert proc.returncode == 0, proc.stdout[-5000:]


@pytest.mark.slow
def test_mypy_strict_generated_code():
    proc = _run(str(BIN / "mypy"), "generated/usepolvo")
    assert proc.returncode == 0, proc.stdout[-5000:]
