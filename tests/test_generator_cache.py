"""The generator's whole-version output cache (generator/_cache.py ``load_output``): a hit
gives exactly what rendering gives, ``--force`` with a hit still rewrites every file of the
output folder, and anything the output is made from (spec files a ``$ref`` reaches included)
changing is a miss.

Uses the small multi-file ``kitchen`` spec of ``tests/specs``, copied so it can be edited.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator._build import generate_all
from generator._pins import PinError

SPECS = Path(__file__).resolve().parent / "specs"


def _tree(root: Path) -> dict[str, bytes]:
    """Every generated file but the stamp (it records timings), by relative path."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and p.name != ".stamp.json" and "__pycache__" not in p.parts
    }


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    folder = tmp_path / "specs"
    shutil.copytree(SPECS / "kitchen", folder / "kitchen")
    return folder


def _cold(tmp_path: Path, specs: Path, monkeypatch: pytest.MonkeyPatch, name: str, fmt: bool = True) -> dict:
    """What a run without any cache writes."""
    with monkeypatch.context() as m:
        m.setenv("POLVO_GENERATOR_CACHE", "off")
        generate_all(tmp_path / name, specs=specs, force=True, fmt=fmt)
    return _tree(tmp_path / name)


def _run(out: Path, specs: Path, fmt: bool = True) -> list[bool]:
    """Generate with ``--force``; which pins came from the output cache."""
    return [r.reused for r in generate_all(out, specs=specs, force=True, fmt=fmt)]


def test_a_hit_is_the_rendered_output_and_force_still_repairs_the_folder(tmp_path, specs, monkeypatch):
    expected = _cold(tmp_path, specs, monkeypatch, "cold")
    monkeypatch.setenv("POLVO_GENERATOR_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out"
    assert _run(out, specs) == [False]  # empty cache: rendered, and stored
    assert _tree(out) == expected
    target = out / "usepolvo" / "kitchen"
    (target / "stale.py").write_text("x = 1\n")
    (target / "v1_0_0" / "models" / "__init__.py").unlink()
    (target / "__init__.py").write_text("# edited by hand\n")
    (target / ".stamp.json").unlink()
    assert _run(out, specs) == [True]  # --force: the cached output, written over the folder
    assert _tree(out) == expected
    assert (target / ".stamp.json").is_file()
    fresh = tmp_path / "fresh"
    assert _run(fresh, specs) == [True]  # into a new folder, too
    assert _tree(fresh) == expected


def test_unformatted_output_is_cached_apart(tmp_path, specs, monkeypatch):
    raw = _cold(tmp_path, specs, monkeypatch, "raw", fmt=False)
    monkeypatch.setenv("POLVO_GENERATOR_CACHE", str(tmp_path / "cache"))
    assert _run(tmp_path / "formatted", specs) == [False]
    assert _run(tmp_path / "unformatted", specs, fmt=False) == [False]  # not the formatted output
    assert _tree(tmp_path / "unformatted") == raw
    assert _run(tmp_path / "again", specs, fmt=False) == [True]
    assert _tree(tmp_path / "again") == raw


def test_a_changed_referenced_spec_file_is_a_miss(tmp_path, specs, monkeypatch):
    monkeypatch.setenv("POLVO_GENERATOR_CACHE", str(tmp_path / "cache"))
    assert _run(tmp_path / "first", specs) == [False]
    # not the pinned file (its sha256 is pinned) but one its $refs reach
    widget = specs / "kitchen" / "openapi" / "components" / "schemas" / "Widget.yaml"
    widget.write_text(
        widget.read_text().replace(
            "  name: {type: string}", "  name: {type: string, description: The label on the box.}"
        )
    )
    out = tmp_path / "second"
    assert _run(out, specs) == [False]
    assert (
        "The label on the box."
        in (out / "usepolvo" / "kitchen" / "v1_0_0" / "models" / "widget.py").read_text()
    )
    assert _tree(out) == _cold(tmp_path, specs, monkeypatch, "cold")
    assert _run(tmp_path / "third", specs) == [True]


def test_changed_provider_settings_and_a_corrupt_entry_are_misses(tmp_path, specs, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("POLVO_GENERATOR_CACHE", str(cache))
    assert _run(tmp_path / "a", specs) == [False]
    toml = specs / "kitchen" / "provider.toml"
    toml.write_text(toml.read_text() + "\n# an edit\n")  # an input of the digest
    assert _run(tmp_path / "b", specs) == [False]
    assert _run(tmp_path / "c", specs) == [True]
    [entry] = (cache / "output").iterdir()
    entry.write_bytes(b"not a pickle")
    assert _run(tmp_path / "d", specs) == [False]
    assert _tree(tmp_path / "d") == _tree(tmp_path / "c")
    assert _run(tmp_path / "e", specs) == [True]  # rewritten


def test_a_hit_still_checks_the_pinned_hash(tmp_path, specs, monkeypatch):
    monkeypatch.setenv("POLVO_GENERATOR_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out"
    assert _run(out, specs) == [False]
    before = _tree(out)
    spec = specs / "kitchen" / "openapi" / "openapi.yaml"
    spec.write_text(spec.read_text() + "\n# not the pinned bytes\n")
    with pytest.raises(PinError, match=r"kitchen 1\.0\.0.*sha256"):
        generate_all(out, specs=specs, force=True)
    assert _tree(out) == before
