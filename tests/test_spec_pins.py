"""Pins over time: drift check, corrupted pins, and the update-spec flow (temp folders only)."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from generator import _pins, _versions
from generator._build import generate_all
from generator._pins import PinError, mirror_root
from generator._versions import UpdateError, check_generated, update_spec

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    """A copy of the repository's OpenAI pin and settings (pins only, never spec files)."""
    folder = tmp_path / "specs" / "openai"
    folder.mkdir(parents=True)
    for name in ("provider.toml", "2.3.0.toml"):
        shutil.copy(ROOT / "specs" / "openai" / name, folder / name)
    return tmp_path / "specs"


@pytest.fixture
def generated(tmp_path: Path, specs: Path) -> Path:
    out = tmp_path / "out"
    generate_all(out, providers=["openai"], fmt=False, specs=specs)
    return out


def _import_from(out: Path) -> subprocess.CompletedProcess[str]:
    probe = (
        "import usepolvo.openai as m, usepolvo.openai.v2_3_0.models as models; "
        "print(m.__file__); print(m.OpenAIClient._config.spec_version)"
    )
    env = {**os.environ, "PYTHONPATH": str(out)}
    return subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "generator", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


# -- drift check -------------------------------------------------------------------------


def test_check_passes_on_fresh_output(generated: Path, specs: Path) -> None:
    assert check_generated(generated, ["openai"], specs=specs) == []
    stamp = json.loads((generated / "usepolvo" / "openai" / ".stamp.json").read_text())
    assert "specs/openai/2.3.0.toml" in stamp["inputs"]
    assert "templates/client.py.jinja" in stamp["inputs"]


def test_check_names_provider_and_changed_input(generated: Path, specs: Path) -> None:
    toml = specs / "openai" / "provider.toml"
    toml.write_text(toml.read_text() + "\n# a changed setting\n")
    (problem,) = check_generated(generated, ["openai"], specs=specs)
    assert problem.startswith("openai: generated/ is stale (changed: ")
    assert "specs/openai/provider.toml" in problem
    generate_all(generated, providers=["openai"], fmt=False, specs=specs)
    assert check_generated(generated, ["openai"], specs=specs) == []


def test_check_reports_missing_and_other_versions(tmp_path: Path, generated: Path, specs: Path) -> None:
    assert check_generated(tmp_path / "nothing", ["openai"], specs=specs) == [
        f"openai: not generated ({tmp_path / 'nothing' / 'usepolvo' / 'openai' / '.stamp.json'} is missing)"
    ]
    extra = specs / "openai" / "9.9.9.toml"
    extra.write_text((specs / "openai" / "2.3.0.toml").read_text().replace('"2.3.0"', '"9.9.9"', 1))
    problems = check_generated(generated, ["openai"], specs=specs)
    assert problems == ["openai: generated versions ['2.3.0'] but pinned ['2.3.0', '9.9.9']"]


def test_check_cli_exit_codes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    missing = _run("--check", "--out", str(out), "--provider", "openai")
    assert missing.returncode == 1
    assert "drift: openai: not generated" in missing.stderr
    generate_all(out, providers=["openai"], fmt=False)
    ok = _run("--check", "--out", str(out), "--provider", "openai")
    assert ok.returncode == 0, ok.stderr
    stamp = out / "usepolvo" / "openai" / ".stamp.json"
    data = json.loads(stamp.read_text())
    data["digest"] = "0" * 64
    data["inputs"]["templates/client.py.jinja"] = "0" * 64
    stamp.write_text(json.dumps(data))
    files = sorted(p for p in out.rglob("*") if p.is_file())
    stale = _run("--check", "--out", str(out), "--provider", "openai")
    assert stale.returncode == 1
    assert "drift: openai: generated/ is stale (changed: " in stale.stderr
    assert "templates/client.py.jinja" in stale.stderr
    assert sorted(p for p in out.rglob("*") if p.is_file()) == files  # --check never writes


# -- corrupted and wrong-hash pins ---------------------------------------------------------


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (
            lambda text: text.replace('sha256 = "', 'sha256 = "0'),
            r"openai 2\.3\.0 \(specs/openai/2\.3\.0\.toml\).*sha256",
        ),
        (
            lambda text: text.replace("sha256", "sha 256 ="),
            r"pin specs/openai/2\.3\.0\.toml is not valid TOML",
        ),
        (lambda text: text.replace("mirror =", "mirrors ="), r"pin specs/openai/2\.3\.0\.toml lacks mirror"),
    ],
    ids=["wrong-hash", "not-toml", "incomplete"],
)
def test_bad_pin_fails_and_previous_output_still_imports(
    generated: Path, specs: Path, corrupt: object, message: str
) -> None:
    pin = specs / "openai" / "2.3.0.toml"
    pin.write_text(corrupt(pin.read_text()))  # type: ignore[operator]
    before = {p: p.read_bytes() for p in generated.rglob("*") if p.is_file()}
    with pytest.raises(PinError, match=message):
        generate_all(generated, providers=["openai"], fmt=False, force=True, specs=specs)
    assert {p: p.read_bytes() for p in generated.rglob("*") if p.is_file()} == before
    proc = _import_from(generated)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [str(generated / "usepolvo" / "openai" / "__init__.py"), "2.3.0"]


def test_unparsable_spec_names_the_pin(
    tmp_path: Path, generated: Path, specs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = tmp_path / "mirror"
    broken = mirror / "openai" / "2.3.0" / "openapi.yaml"
    broken.parent.mkdir(parents=True)
    broken.write_text("openapi: 3.1.0\npaths: {unclosed: [\n")
    pin = specs / "openai" / "2.3.0.toml"
    text = pin.read_text()
    pin.write_text(
        text.replace(text.split('sha256 = "')[1][:64], hashlib.sha256(broken.read_bytes()).hexdigest())
    )
    monkeypatch.setenv("POLVO_SPECS_MIRROR", str(mirror))
    before = (generated / "usepolvo" / "openai" / "__init__.py").read_bytes()
    with pytest.raises(PinError, match=r"openai 2\.3\.0 \(specs/openai/2\.3\.0\.toml\): .* does not parse"):
        generate_all(generated, providers=["openai"], fmt=False, force=True, specs=specs)
    assert (generated / "usepolvo" / "openai" / "__init__.py").read_bytes() == before
    assert _import_from(generated).returncode == 0


# -- update-spec ---------------------------------------------------------------------------


@pytest.fixture
def http_folder(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_update_spec_pins_regenerates_and_reports(
    tmp_path: Path, generated: Path, specs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = update_spec(
        "openai",
        "2.3.1",
        "https://127.0.0.1:9/openapi.yaml",
        mirror="openai/2.3.0/openapi.yaml",
        specs=specs,
        out=generated,
        fmt=False,
    )
    spec = mirror_root() / "openai" / "2.3.0" / "openapi.yaml"
    pin = (specs / "openai" / "2.3.1.toml").read_text()
    assert f'sha256 = "{hashlib.sha256(spec.read_bytes()).hexdigest()}"' in pin
    assert 'mirror = "openai/2.3.0/openapi.yaml"' in pin
    assert report.startswith("# openai: API changes 2.3.0 → 2.3.1") and "**No changes**" in report
    assert (generated / "usepolvo" / "openai" / "v2_3_1" / "_client.py").is_file()
    assert "openai     2.3.1" in capsys.readouterr().out
    assert check_generated(generated, ["openai"], specs=specs) == []
    assert 'default = "2.3.0"' in (specs / "openai" / "provider.toml").read_text()


def test_update_spec_refuses_bad_hash_and_unparsable_downloads(
    tmp_path: Path,
    generated: Path,
    specs: Path,
    http_folder: tuple[Path, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_versions, "CACHE", tmp_path / "cache")
    monkeypatch.setattr(_pins, "CACHE", tmp_path / "cache")  # locate_spec's: never the repo's .cache
    folder, url = http_folder
    (folder / "openapi.yaml").write_text("openapi: 3.1.0\npaths: [unclosed\n")
    before = {p: p.read_bytes() for p in generated.rglob("*") if p.is_file()}
    pins_before = sorted(p.name for p in (specs / "openai").iterdir())
    with pytest.raises(UpdateError, match="expected 0000"):
        update_spec(
            "openai", "9.0.0", f"{url}/openapi.yaml", sha256="0" * 64, specs=specs, out=generated, fmt=False
        )
    with pytest.raises(UpdateError, match=r"openai 9\.0\.0.*does not parse"):
        update_spec("openai", "9.0.0", f"{url}/openapi.yaml", specs=specs, out=generated, fmt=False)
    assert (tmp_path / "cache" / "openai" / "9.0.0" / "openapi.yaml").is_file()  # it was downloaded
    assert sorted(p.name for p in (specs / "openai").iterdir()) == pins_before
    assert {p: p.read_bytes() for p in generated.rglob("*") if p.is_file()} == before
    # a pinned version whose file changed is refused too
    (folder / "other.yaml").write_text("openapi: 3.1.0\npaths: {}\n")
    with pytest.raises(UpdateError, match="the spec of a pinned version changed"):
        update_spec(
            "openai", "2.3.0", f"{url}/other.yaml", mirror="openai/x/other.yaml", specs=specs, out=generated
        )
