"""The generator: pins and hashes, naming rules, counts, determinism, failure safety."""

from __future__ import annotations

import hashlib
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from generator._build import build_provider, generate_all
from generator._naming import plural, py_identifier, singular, snake
from generator._pins import Pin, PinError, load_providers, locate_spec

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def stripe_ir():
    settings = load_providers()["stripe"]
    return build_provider(settings, settings.pins["2023-08-16"])


def _names(provider):
    return {(".".join(op.resource), op.name): op for op in provider.operations}


def test_stripe_counts(stripe_ir):
    assert stripe_ir.spec_operations == 468
    assert len(stripe_ir.operations) == 468
    assert stripe_ir.spec_schemas == 819
    assert stripe_ir.represented_bodies == stripe_ir.documented_bodies == 936


def test_seed_and_verb_names(stripe_ir):
    names = _names(stripe_ir)
    expected = {
        ("customers", "list_customers"): ("GET", "/v1/customers"),
        ("customers", "create_customer"): ("POST", "/v1/customers"),
        ("customers", "retrieve_customer"): ("GET", "/v1/customers/{customer}"),
        ("customers", "update_customer"): ("POST", "/v1/customers/{customer}"),
        ("customers", "delete_customer"): ("DELETE", "/v1/customers/{customer}"),
        ("customers", "search_customers"): ("GET", "/v1/customers/search"),
        ("charges", "list_charges"): ("GET", "/v1/charges"),
        ("charges", "capture_charge"): ("POST", "/v1/charges/{charge}/capture"),
        ("customers.sources", "list_sources"): ("GET", "/v1/customers/{customer}/sources"),
        ("checkout.sessions", "create_session"): ("POST", "/v1/checkout/sessions"),
        ("customers.discount", "delete_discount"): ("DELETE", "/v1/customers/{customer}/discount"),
        ("invoices", "upcoming_invoice"): ("GET", "/v1/invoices/upcoming"),
    }
    for key, (method, path) in expected.items():
        assert key in names, key
        assert (names[key].method, names[key].path) == (method, path)


def test_names_unique_and_valid(stripe_ir):
    seen = set()
    for op in stripe_ir.operations:
        key = (op.resource, op.name)
        assert key not in seen
        seen.add(key)
        assert op.name.isidentifier() and not op.name.startswith("_")
        for p in op.params:
            assert p.name.isidentifier()


def test_paging_styles(stripe_ir):
    names = _names(stripe_ir)
    # page styles are data from provider.toml now (issue 12), not style names
    assert names[("customers", "list_customers")].paging.style["cursor_param"] == "starting_after"
    assert names[("customers", "search_customers")].paging.style["cursor_field"] == "next_page"
    assert names[("customers", "create_customer")].paging is None


def test_naming_helpers():
    assert singular("customers") == "customer"
    assert singular("people") == "person"
    assert singular("balance_transactions") == "balance_transaction"
    assert singular("statuses") == "status"
    assert plural("entry") == "entries"
    assert snake("listForRepo") == "list_for_repo"
    assert py_identifier("3d_secure") == "field_3d_secure"
    assert py_identifier("from") == "from_"


def test_collision_is_an_error(tmp_path, monkeypatch):
    settings = load_providers()["stripe"]
    config = dict(settings.config)
    config["naming_overrides"] = {
        "GetCustomers": "customers:same_name",
        "PostCustomers": "customers:same_name",
    }
    from generator._operations import GenerationError
    from generator._pins import ProviderSettings

    broken = ProviderSettings("stripe", config, settings.pins)
    with pytest.raises(GenerationError, match="same_name"):
        build_provider(broken, settings.pins["2023-08-16"])


def _pin(tmp_path: Path, sha: str, mirror: str) -> Pin:
    return Pin("stripe", "2023-08-16", "https://127.0.0.1:9/nowhere.yaml", sha, mirror, tmp_path / "pin.toml")


def test_hash_mismatch_names_the_pin(tmp_path, monkeypatch):
    spec = tmp_path / "stripe" / "spec3.yaml"
    spec.parent.mkdir()
    spec.write_text("openapi: 3.0.0\n")
    monkeypatch.setenv("POLVO_SPECS_MIRROR", str(tmp_path))
    with pytest.raises(PinError, match=r"stripe 2023-08-16 .*sha256"):
        locate_spec(_pin(tmp_path, "0" * 64, "stripe/spec3.yaml"), allow_download=False)
    good = hashlib.sha256(spec.read_bytes()).hexdigest()
    assert locate_spec(_pin(tmp_path, good, "stripe/spec3.yaml"), allow_download=False) == spec


def test_missing_file_names_the_pin(tmp_path, monkeypatch):
    monkeypatch.setenv("POLVO_SPECS_MIRROR", str(tmp_path))
    with pytest.raises(PinError, match="stripe 2023-08-16"):
        locate_spec(_pin(tmp_path, "0" * 64, "stripe/none.yaml"), allow_download=False)


def test_bad_pin_leaves_previous_output(tmp_path, monkeypatch):
    out = tmp_path / "gen"
    generate_all(out, providers=["openai"], fmt=False)
    init = out / "usepolvo" / "openai" / "__init__.py"
    before = init.read_text()
    monkeypatch.setenv("POLVO_SPECS_MIRROR", str(tmp_path / "empty"))
    monkeypatch.setattr("generator._pins.CACHE", tmp_path / "nocache")
    monkeypatch.setattr("generator._pins._download", _refuse)
    with pytest.raises(PinError, match=r"openai 2\.3\.0"):
        generate_all(out, providers=["openai"], fmt=False, force=True)
    assert init.read_text() == before


def _refuse(pin, dest):
    raise PinError(f"{pin.label}: download refused in tests")


@pytest.mark.slow  # Stripe's two pins generated and formatted twice
def test_deterministic_output(tmp_path, monkeypatch):
    import shutil

    a, b = tmp_path / "a", tmp_path / "b"
    cache = tmp_path / "cache"
    monkeypatch.setenv("POLVO_GENERATOR_CACHE", str(cache))
    generate_all(a, providers=["stripe"], fmt=True, force=True)
    shutil.rmtree(cache / "output")  # the second run renders again (not the first run's output)
    generate_all(b, providers=["stripe"], fmt=True, force=True)
    # the stamp records timings; everything importable must be byte-identical
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file() and p.name != ".stamp.json")
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file() and p.name != ".stamp.json")
    assert files_a == files_b
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_every_generated_file_has_header():
    base = ROOT / "generated" / "usepolvo"
    for path in base.rglob("*.py"):
        head = path.read_text().splitlines()[:2]
        assert head[0].startswith("# Generated by polvo"), path
        assert "make generate" in head[1], path


def test_generator_exits_nonzero_on_wrong_hash(tmp_path):
    bad = tmp_path / "openai" / "2.3.0" / "openapi.yaml"
    bad.parent.mkdir(parents=True)
    bad.write_text("openapi: 3.1.0\npaths: {}\n")
    env = {"POLVO_SPECS_MIRROR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "generator",
            "--out",
            str(tmp_path / "out"),
            "--force",
            "--provider",
            "openai",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "openai 2.3.0 (specs/openai/2.3.0.toml)" in proc.stderr
    assert "sha256" in proc.stderr


def test_generated_packages_import():
    for provider in ("stripe", "github", "openai"):
        module = importlib.import_module(f"usepolvo.{provider}")
        assert module.__all__


def _tree(root: Path) -> dict[str, bytes]:
    """Every generated file but the stamp (it records timings), by relative path."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and p.name != ".stamp.json" and "__pycache__" not in p.parts
    }


@pytest.mark.slow  # openai rendered four times, once through ruff entirely
def test_caches_and_in_place_update_give_what_a_cold_run_gives(tmp_path, monkeypatch):
    """The ruff-output cache (generator/_cache.py) yields ruff's bytes, whether every file,
    some or none hit it, and updating an existing folder in place leaves exactly the output."""
    import pickle
    import shutil

    cache = tmp_path / "cache"
    monkeypatch.setenv("POLVO_GENERATOR_CACHE", str(cache))
    cold = tmp_path / "cold"
    generate_all(cold, providers=["openai"], force=True)  # empty cache: all through ruff
    expected = _tree(cold)
    assert expected and all(isinstance(v, bytes) for v in expected.values())
    pack = cache / "ruff-openai.pickle"
    entries = pickle.loads(pack.read_bytes())
    assert len(entries) == sum(rel.endswith((".py", ".pyi")) for rel in expected)
    for key in sorted(entries)[::2]:
        del entries[key]  # half the files miss: those go through ruff on their own
    pack.write_bytes(pickle.dumps(entries))
    shutil.rmtree(cache / "output")  # (else the whole version's output cache answers)
    partial = tmp_path / "partial"
    generate_all(partial, providers=["openai"], force=True)
    assert _tree(partial) == expected
    # an existing folder with a stale module, a missing file and an edited one, all fixed
    target = partial / "usepolvo" / "openai"
    (target / "stale.py").write_text("x = 1\n")
    (target / "v9_9_9" / "models").mkdir(parents=True)
    (target / "v9_9_9" / "models" / "x.py").write_text("")
    (target / "models.py").unlink()
    (target / "__init__.py").write_text("# edited\n")
    generate_all(partial, providers=["openai"], force=True)  # every file from the cache
    assert _tree(partial) == expected
    assert (target / ".stamp.json").is_file()
    monkeypatch.setenv("POLVO_GENERATOR_CACHE", "off")
    off = tmp_path / "off"
    generate_all(off, providers=["openai"], force=True)
    assert _tree(off) == expected


def test_parsed_spec_cache_is_keyed_by_content_and_survives_a_corrupt_entry(tmp_path, monkeypatch):
    from generator._loader import load_file

    monkeypatch.setenv("POLVO_GENERATOR_CACHE", str(tmp_path / "cache"))
    spec = tmp_path / "spec.yaml"
    body = "".join(
        f"  k{i}: {{type: string, description: 'on: yes', example: 2023-08-16}}\n" for i in range(2000)
    )
    spec.write_text("openapi: 3.0.0\nvalues: [yes, no, 1.5, 0x1f, ~]\nschemas:\n" + body)
    first = load_file(spec)
    assert first["values"] == [True, False, 1.5, 31, None]  # YAML 1.1 as PyYAML reads it
    assert first["schemas"]["k7"]["example"] == "2023-08-16"  # dates stay strings
    [entry] = (tmp_path / "cache" / "specs").iterdir()
    assert load_file(spec) == first
    entry.write_bytes(b"not a pickle")
    assert load_file(spec) == first  # a corrupt entry is a miss, rewritten
    spec.write_text(spec.read_text().replace("k7:", "k7x:"))
    assert "k7x" in load_file(spec)["schemas"]  # other bytes, other entry
