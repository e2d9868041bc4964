"""Orchestration: pins → IR → rendered package, swapped into ``generated/`` atomically."""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import attrs
import yaml

from ._cache import FormatCache, cache_dir, load_output, save_output
from ._codegen import ModuleCode
from ._ir import Provider, RequestDict, Resource
from ._loader import Document
from ._operations import GenerationError, OperationBuilder
from ._pins import ROOT, Pin, PinError, ProviderSettings, load_providers, locate_spec
from ._render import (
    Renderer,
    imports,
    method_view,
    model_modules,
    model_view,
    op_ctor,
    params_view,
    parsers_for,
    resource_files,
    version_module,
)
from ._schemas import SchemaConverter
from ._security import client_view
from ._webhooks import build_webhooks, render_provider_webhooks, render_webhooks

__all__ = ["GENERATED", "Report", "build_provider", "generate_all"]

GENERATED = ROOT / "generated"
RUFF_CONFIG = ROOT / "generator" / "ruff_generated.toml"


@attrs.define
class Report:
    provider: str
    version: str
    spec_operations: int
    operations: int
    spec_schemas: int
    models: int
    documented_bodies: int
    represented_bodies: int
    seconds: float
    cached: bool = False
    #: this run took the pin's output from the output cache (generator/_cache.py) instead of
    #: rendering it: every input was byte for byte that of the run that stored it
    reused: bool = False

    @property
    def dropped(self) -> bool:
        return self.operations < self.spec_operations or self.represented_bodies < self.documented_bodies

    def line(self) -> str:
        ops = f"{self.operations}/{self.spec_operations}"
        models = f"{self.spec_schemas}/{self.models}"
        bodies = f"{self.represented_bodies}/{self.documented_bodies}"
        note = " (up to date)" if self.cached else " (cached output)" if self.reused else ""
        return f"{self.provider:<10} {self.version:<12} {ops:>12} {models:>14} {bodies:>12} {self.seconds:>6.1f}s{note}"


def build_provider(settings: ProviderSettings, pin: Pin, sources: list[Path] | None = None) -> Provider:
    """Parse a pinned spec into the IR; ``sources`` receives every file the spec was read from
    (itself and the files its ``$ref``s reach)."""
    path = locate_spec(pin)
    try:
        doc = Document(path)
    except (yaml.YAMLError, ValueError) as exc:  # YAML/JSON syntax: name the pin, like a hash mismatch
        raise PinError(f"{pin.label}: {path} does not parse: {str(exc)[:300]}") from None
    if sources is not None:
        sources.extend(doc.files)
    if not isinstance(doc.root, dict) or not isinstance(doc.root.get("paths"), dict):
        raise PinError(f"{pin.label}: {path} is not an OpenAPI document (no `paths` object)")
    schemas = SchemaConverter(doc)
    schemas.convert_components()
    config = dict(settings.config)
    builder = OperationBuilder(doc, schemas, config)
    root, count = builder.build()
    webhooks = build_webhooks(doc, schemas, config, root)
    info = doc.root.get("info") or {}
    servers = doc.root.get("servers") or [{"url": ""}]
    client = None
    base_url = str(config.get("base_url") or servers[0].get("url", "")).rstrip("/")
    if config.get("auth") == "spec":
        client = client_view(doc.root, settings.name, list(config.get("api_key_env") or []))
        for _kw, wire, default, _enum in client.server_vars:
            base_url = base_url.replace("{" + wire + "}", default)
    package = f"usepolvo.{settings.name}.{version_module(pin.version)}"
    return Provider(
        name=settings.name,
        version=pin.version,
        package=package,
        client_class=str(config["client_class"]),
        config=config,
        title=str(info.get("title") or settings.name),
        base_url=base_url,
        root=root,
        models=schemas.models,
        spec_operations=count,
        spec_schemas=len((doc.root.get("components") or {}).get("schemas") or {}),
        documented_bodies=builder.documented_bodies,
        represented_bodies=builder.represented_bodies,
        incomplete=len(builder.incomplete),
        client=client,
        webhooks=webhooks,
        request_dicts=schemas.request_dicts,
    )


#: rendered files of one provider by path in its folder, held until all rendered, then
#: formatted and written
Files = dict[Path, str]


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def render_version(provider: Provider, pin: Pin, out: Path, files: Files) -> None:
    """Render ``usepolvo/<provider>/v<version>/`` under ``out`` into ``files``."""
    put = files.__setitem__
    r = Renderer(provider.name)
    base = out / version_module(pin.version)
    api_version = pin.extra.get("api_version", pin.version)
    ctx: dict[str, Any] = {"provider": provider, "config": provider.config, "api_version": api_version}
    put(base / "__init__.py", r.render("version_init.py.jinja", **ctx))
    put(base / "_client.py", r.render("client.py.jinja", **ctx))
    if provider.webhooks is not None:
        put(base / "webhooks.py", render_webhooks(r, provider, ctx))
    put(
        base / "resources" / "__init__.py",
        r.render("_header.jinja", **ctx)
        + '"""Resource classes (one module each, imported on first use)."""\n',
    )
    for res in resource_files(provider):
        put(base / "resources" / f"{res.module}.py", _render_resource(r, provider, res, ctx))
    render_params(r, provider, base, ctx, files)
    modules = model_modules(provider)
    names = sorted((m.name, mod) for mod, ms in modules.items() for m in ms)
    put(base / "models" / "__init__.py", r.render("models_init.py.jinja", names=names, **ctx))
    # the index's re-exports for type checkers (the module itself is one string, see the template)
    put(base / "models" / "__init__.pyi", r.render("models_init.pyi.jinja", names=names, **ctx))
    for mod, models in modules.items():
        code = ModuleCode(provider.models, mod)
        views = [model_view(code, m, provider.version) for m in models]
        local = {m.name for m in models}
        code.uses.add("Mapping")  # from_dict's argument
        code.imports = imports(
            code,
            typing={"TYPE_CHECKING", "Any", "ClassVar"},
            core={"BaseModel", "UNSET", "extra", "lazy_model"},
        )
        code.type_imports = sorted(f"{provider.models[n].module} import {n}" for n in code.type_names - local)
        put(base / "models" / f"{mod}.py", r.render("model_module.py.jinja", models=views, code=code, **ctx))


def render_params(r: Renderer, provider: Provider, base: Path, ctx: dict[str, Any], files: Files) -> None:
    """``params/``: the request ``TypedDict``s, one module per resource or component, and a
    lazy index (like ``models/``)."""
    modules: dict[str, list[RequestDict]] = {}
    for rd in provider.request_dicts.values():
        modules.setdefault(rd.module, []).append(rd)
    names = sorted((rd.name, rd.module) for rd in provider.request_dicts.values())
    files[base / "params" / "__init__.py"] = r.render("params_init.py.jinja", names=names, **ctx)
    for mod, dicts in sorted(modules.items()):
        dicts.sort(key=lambda d: d.name)
        code = ModuleCode(provider.models, mod)
        views = [params_view(code, rd) for rd in dicts]
        local = {rd.name for rd in dicts}
        code.imports = [
            line
            for line in imports(code, typing={"TYPE_CHECKING", "TypedDict"}, core=set())
            if line != "from usepolvo.core import "
        ]
        # typing only, so under TYPE_CHECKING: ``NotRequired`` (typing_extensions: Python 3.10
        # too), the TypedDicts of other modules and the models a component also accepts
        type_imports = ["from typing_extensions import NotRequired"] if "NotRequired" in code.uses else []
        type_imports += sorted(
            f"from .{provider.request_dicts[n].module} import {n}" for n in code.dict_names - local
        )
        type_imports += sorted(f"from ..models import {n}" for n in code.type_names)
        code.type_imports = type_imports or ["pass"]
        files[base / "params" / f"{mod}.py"] = r.render(
            "params_module.py.jinja", dicts=views, code=code, **ctx
        )


def _render_resource(r: Renderer, provider: Provider, res: Resource, ctx: dict[str, Any]) -> str:
    code = ModuleCode(provider.models, res.module)
    code.shadowed = {op.name for op in res.operations} | set(res.children)
    methods = []
    for op in res.operations:
        parsers = parsers_for(code, op)
        view = method_view(code, op, parsers)
        view["op_ctor"] = op_ctor(code, op, parsers)
        methods.append(view)
    typing = {"TYPE_CHECKING"}
    if res.children:
        typing.add("cached_property")
    core = {"NOT_GIVEN", "NotGiven", "Operation", "ResponseSpec"}
    if "AsyncPaginator" in code.uses:
        core.update(("AsyncPaginator", "PageStyle"))
    # annotation-only names: their modules (streaming, multipart) load with the first stream
    # or upload, not with the resource
    core_types = sorted(code.uses & {"AsyncStream", "FileTypes"})
    code.uses -= set(core_types)
    code.imports = imports(code, typing=typing, core=core)
    code.type_imports = sorted(code.type_names)
    return r.render(
        "resource.py.jinja", resource=res, methods=methods, code=code, core_types=core_types, **ctx
    )


#: generator modules that do not shape the generated code (CLI, API diff, upgrade flow)
OUTPUT_NEUTRAL = frozenset({"__main__.py", "_diff.py", "_docs.py", "_versions.py", "_newprovider.py"})


def input_files(settings: ProviderSettings) -> dict[str, Path]:
    """Everything a provider's generated code is built from, by repo-relative name."""
    folder = settings.pins[settings.default].path.parent
    files = {f"specs/{settings.name}/provider.toml": folder / "provider.toml"}
    files.update({f"specs/{settings.name}/{p.path.name}": p.path for p in settings.pins.values()})
    code = [RUFF_CONFIG, *sorted((ROOT / "templates").rglob("*.jinja"))]
    code += sorted(f for f in (ROOT / "generator").glob("*.py") if f.name not in OUTPUT_NEUTRAL)
    files.update({str(f.relative_to(ROOT)): f for f in code})
    return files


def input_hashes(settings: ProviderSettings) -> dict[str, str]:
    return {rel: hashlib.sha256(f.read_bytes()).hexdigest() for rel, f in input_files(settings).items()}


def _inputs_digest(settings: ProviderSettings) -> str:
    h = hashlib.sha256()
    for rel, f in input_files(settings).items():
        h.update(rel.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def _ruff() -> str | None:
    return shutil.which(
        "ruff", path=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
    )


def _run_ruff(ruff: str, targets: list[Path]) -> None:
    # like openapi-python-client: lint-fix (unused imports, import order, union order), then
    # format, with generator/ruff_generated.toml — the settings `make lint` checks generated/ with
    config = ["--config", str(RUFF_CONFIG), "--no-cache"]
    for step in (["check", "--fix-only", "--exit-zero", "--quiet"], ["format", "--quiet"]):
        for at in range(0, len(targets), 1000):  # (a bounded command line)
            chunk = [str(t) for t in targets[at : at + 1000]]
            done = subprocess.run([ruff, *step, *config, *chunk], capture_output=True, text=True, check=False)
            if done.returncode != 0:
                # the generated code does not parse: show ruff's own report (file, line, error)
                report = (done.stderr or done.stdout).strip()
                raise GenerationError(
                    f"ruff {step[0]} failed on the generated code (exit {done.returncode}):\n{report[:4000]}"
                )


def _format_salt(ruff: str) -> bytes:
    """What ruff's output depends on besides the file: its version and settings."""
    version = subprocess.run([ruff, "--version"], capture_output=True, check=False).stdout
    return version + b"\0" + RUFF_CONFIG.read_bytes()


def _formatted(name: str, folder: Path, files: Files, fmt: bool) -> dict[str, bytes]:
    """The final bytes of ``files`` by relative path: ruff-fixed and formatted when ``fmt``.

    Only files whose rendered text is new are written under ``folder`` and go through ruff: the
    formatted text of the others comes from the content-addressed cache (generator/_cache.py),
    byte for byte what ruff wrote for the same text before.
    """
    out = {path.as_posix(): text.encode() for path, text in files.items()}
    ruff = _ruff() if fmt else None
    if fmt and ruff is None:
        print("note: ruff not found, generated code left unformatted", file=sys.stderr)
    if ruff is None:
        return out
    cache = FormatCache(name, _format_salt(ruff))
    misses: dict[str, bytes] = {}
    for rel, raw in out.items():
        if not rel.endswith((".py", ".pyi")):
            continue
        key = cache.key(rel, raw)
        formatted = cache.get(key)
        if formatted is None:
            misses[rel] = key
            _write(folder / rel, raw)
        else:
            out[rel] = formatted
    if misses:
        every = len(misses) == sum(rel.endswith((".py", ".pyi")) for rel in out)
        _run_ruff(ruff, [folder] if every else [folder / rel for rel in sorted(misses)])
        for rel, key in misses.items():
            out[rel] = (folder / rel).read_bytes()
            cache.put(key, out[rel])
    cache.save()
    return out


def _sync(target: Path, files: dict[str, bytes], scratch: Path) -> None:
    """Make ``target`` hold exactly ``files`` (``.stamp.json`` last).

    A new target is written beside it and renamed into place. An existing one is updated in
    place, touching only files whose bytes changed: rewriting and deleting thousands of
    unchanged files costs seconds of disk time. Its stamp goes first, so an interrupted
    update leaves no stamp and the next run (and ``make drift``) sees it as not generated.
    (Plain ``os`` calls on string paths: ``pathlib`` costs more than the disk here.)
    """
    stamp = files.pop(".stamp.json")
    if not target.is_dir():
        writer = _Writer(str(scratch))
        for rel, data in files.items():
            writer.write(rel, data)
        writer.write(".stamp.json", stamp)
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch.replace(target)
        return
    (target / ".stamp.json").unlink(missing_ok=True)
    root = str(target)
    folders = {rel.rpartition("/")[0] for rel in files}
    for rel in list(folders):  # every ancestor of a generated file stays
        while rel:
            rel = rel.rpartition("/")[0]
            folders.add(rel)
    for dirpath, dirnames, filenames in os.walk(root):
        here = os.path.relpath(dirpath, root).replace(os.sep, "/")
        here = "" if here == "." else here + "/"
        kept = []
        for name in dirnames:
            path = os.path.join(dirpath, name)
            if name == "__pycache__":
                continue  # bytecode: Python checks it against its source (kept: faster imports)
            if os.path.islink(path):
                filenames.append(name)  # a link is removed like a file unless generated
            elif here + name in folders:
                kept.append(name)
            else:
                shutil.rmtree(path)  # a module folder no longer generated, its bytecode too
        dirnames[:] = kept
        for name in filenames:
            if here + name not in files:
                os.unlink(os.path.join(dirpath, name))
    writer = _Writer(root)
    for rel, data in files.items():
        path = os.path.join(root, rel)
        try:
            if os.stat(path).st_size == len(data):
                with open(path, "rb") as f:
                    if f.read() == data:
                        continue
        except OSError:
            pass  # new (or unreadable): written below
        writer.write(rel, data)
    writer.write(".stamp.json", stamp)


class _Writer:
    """Writes files under one folder, creating each parent folder once."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.made: set[str] = set()

    def write(self, rel: str, data: bytes) -> None:
        folder, _, _ = rel.rpartition("/")
        if folder not in self.made:
            os.makedirs(os.path.join(self.root, folder), exist_ok=True)
            self.made.add(folder)
        with open(os.path.join(self.root, rel), "wb") as f:
            f.write(data)


def _render_pin(settings: ProviderSettings, version: str) -> tuple[Files, Report, list[Path]]:
    """One pinned version rendered (paths relative to the provider's folder), its report and
    the files its spec was read from; the default version also renders the provider-level
    modules. Runs in a worker process when generation uses several."""
    pin = settings.pins[version]
    t0 = time.perf_counter()
    sources: list[Path] = []
    provider = build_provider(settings, pin, sources)
    files: Files = {}
    render_version(provider, pin, Path(), files)
    report = Report(
        settings.name,
        version,
        provider.spec_operations,
        len(provider.operations) - provider.incomplete,
        provider.spec_schemas,
        len(provider.models),
        provider.documented_bodies,
        provider.represented_bodies,
        round(time.perf_counter() - t0, 2),
    )
    if version != settings.default:
        return files, report, sources
    r = Renderer(settings.name)
    default_module = version_module(settings.default)
    files[Path("__init__.py")] = r.render(
        "provider_init.py.jinja",
        provider=provider,
        default_version=settings.default,
        default_module=default_module,
        versions=[version_module(v) for v in sorted(settings.pins)],
    )
    files[Path("models.py")] = r.render(
        "provider_models.py.jinja",
        provider=provider,
        default_version=settings.default,
        default_module=default_module,
    )
    files[Path("params.py")] = r.render(
        "provider_params.py.jinja",
        provider=provider,
        default_version=settings.default,
        default_module=default_module,
    )
    # stubs: a star import of either module, or a mistyped name, reads the versioned index
    for kind in ("models", "params"):
        files[Path(f"{kind}.pyi")] = r.render(
            "provider_reexport.pyi.jinja",
            provider=provider,
            kind=kind,
            default_version=settings.default,
            default_module=default_module,
        )
    if provider.webhooks is not None:
        files[Path("webhooks.py")] = render_provider_webhooks(r, provider, default_module)
    files[Path("py.typed")] = ""
    return files, report, sources


def _pool(jobs: int, work: int) -> concurrent.futures.Executor | None:
    """Worker processes for ``work`` pins, or ``None`` to render in this process."""
    jobs = min(jobs, work)
    if jobs < 2:
        return None
    methods = multiprocessing.get_all_start_methods()
    # fork: a worker starts with the generator already imported (spawn re-imports it)
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    return concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context)


def generate_all(
    out: str | Path,
    *,
    providers: list[str] | None = None,
    fmt: bool = True,
    force: bool = False,
    specs: Path | None = None,
    jobs: int = 1,
) -> list[Report]:
    """Generate every (or each named) provider under ``out``; ``jobs`` > 1 renders that many
    pins at once in worker processes (the CLI uses one per core)."""
    out = Path(out)
    settings_all = load_providers(specs) if specs is not None else load_providers()
    reports: list[Report] = []
    todo: list[tuple[ProviderSettings, str]] = []
    for name, settings in settings_all.items():
        if providers and name not in providers:
            continue
        digest = _inputs_digest(settings)
        stamp = out / "usepolvo" / name / ".stamp.json"
        if not force and stamp.is_file():
            saved = json.loads(stamp.read_text())
            if saved.get("digest") == digest:
                reports.extend(Report(**r, cached=True) for r in saved["reports"])
                continue
        todo.append((settings, digest))
    pins = [(settings, version) for settings, _ in todo for version in sorted(settings.pins)]
    keys, reused = _reuse_outputs(todo, fmt)
    pins = [(settings, version) for settings, version in pins if (settings.name, version) not in reused]
    pool = _pool(jobs, len(pins))
    try:
        pending: dict[tuple[str, str], concurrent.futures.Future[tuple[Files, Report, list[Path]]]] = {}
        if pool is not None:
            # the biggest spec first, so that the others share the second core meanwhile
            for settings, version in sorted(pins, key=lambda p: -_spec_size(p[0], p[1])):
                pending[(settings.name, version)] = pool.submit(_render_pin, settings, version)
        for settings, digest in todo:
            files: Files = {}
            ready: dict[str, bytes] = {}
            provider_reports = []
            fresh: list[tuple[str, list[str], list[Path], Report]] = []
            for version in sorted(settings.pins):
                hit = reused.pop((settings.name, version), None)
                if hit is not None:
                    ready.update(hit[0])
                    provider_reports.append(hit[1])
                    continue
                future = pending.pop((settings.name, version), None)
                rendered, report, sources = future.result() if future else _render_pin(settings, version)
                fresh.append((version, [p.as_posix() for p in rendered], sources, report))
                files.update(rendered)
                provider_reports.append(report)
            final = _write_provider(out, settings, digest, files, provider_reports, fmt, ready)
            for version, rels, sources, report in fresh:
                key = keys.get((settings.name, version))
                if key is not None:
                    save_output(
                        settings.name,
                        version,
                        key,
                        sources,
                        {rel: final[rel] for rel in rels},
                        _stamped(report),
                    )
            reports.extend(provider_reports)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return reports


def _stamped(report: Report) -> dict[str, Any]:
    """A report as the stamp (and the output cache) record it: without this run's flags."""
    return attrs.asdict(report, filter=lambda a, _: a.name not in ("cached", "reused"))


def _output_salt(fmt: bool) -> bytes:
    """What a version's output depends on besides the inputs ``input_files`` lists: how it is
    formatted (ruff's version and settings, or not at all), the Python and library versions
    that parse, build and render it."""
    ruff = _ruff() if fmt else None
    parts = [
        _format_salt(ruff) if ruff is not None else b"unformatted",
        sys.version.encode(),
        str(sys.flags.hash_randomization).encode(),
    ]
    import jinja2

    for module in (jinja2, yaml, attrs):
        parts.append(f"{module.__name__} {getattr(module, '__version__', '?')}".encode())
    parts.append(f"libyaml {getattr(yaml, '__with_libyaml__', False)}".encode())
    try:
        import orjson

        parts.append(f"orjson {orjson.__version__}".encode())
    except ImportError:
        parts.append(b"no orjson")
    return b"\0".join(parts)


def _output_key(settings: ProviderSettings, version: str, digest: str, salt: bytes) -> str:
    """The output cache's key of one pinned version: ``digest`` (``_inputs_digest``: the pins,
    ``provider.toml``, templates and generator source), the pinned spec's sha256 (checked
    against the file before a hit is used), which version is the default, and ``salt``."""
    pin = settings.pins[version]
    h = hashlib.sha256(salt)
    for part in (digest, settings.name, version, settings.default, pin.sha256):
        h.update(b"\0" + part.encode())
    return h.hexdigest()


def _reuse_outputs(
    todo: list[tuple[ProviderSettings, str]], fmt: bool
) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], tuple[dict[str, bytes], Report]]]:
    """The output cache's keys of the pins to generate, and the pins found in it (their final
    files and report). Empty when caching is off."""
    keys: dict[tuple[str, str], str] = {}
    reused: dict[tuple[str, str], tuple[dict[str, bytes], Report]] = {}
    if cache_dir() is None or not todo:
        return keys, reused
    salt = _output_salt(fmt)
    for settings, digest in todo:
        for version in sorted(settings.pins):
            t0 = time.perf_counter()
            key = keys[(settings.name, version)] = _output_key(settings, version, digest, salt)
            hit = load_output(settings.name, version, key)
            if hit is None:
                continue
            # the pin's own check (the file is there and hashes as pinned), as a render does it
            locate_spec(settings.pins[version])
            files, report = hit
            try:
                done = Report(**{**report, "seconds": round(time.perf_counter() - t0, 2)}, reused=True)
            except TypeError:  # an entry of another shape (the key should have told): a miss
                continue
            reused[(settings.name, version)] = (files, done)
    return keys, reused


def _spec_size(settings: ProviderSettings, version: str) -> int:
    try:
        return locate_spec(settings.pins[version]).stat().st_size
    except (OSError, PinError):
        return 0  # reported by the worker that parses it


def _write_provider(
    out: Path,
    settings: ProviderSettings,
    digest: str,
    files: Files,
    reports: list[Report],
    fmt: bool,
    ready: dict[str, bytes],
) -> dict[str, bytes]:
    """Format the rendered files of one provider, add the ``ready`` ones (final bytes, from the
    output cache) and swap them into ``out/usepolvo/<name>``; returns the final files."""
    name = settings.name
    tmp_root = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=out if out.is_dir() else None))
    try:
        staged = tmp_root / name
        staged.mkdir()
        final = _formatted(name, staged, files, fmt) if files else {}
        files.clear()
        final.update(ready)
        final[".stamp.json"] = json.dumps(
            {"digest": digest, "inputs": input_hashes(settings), "reports": [_stamped(x) for x in reports]},
            indent=1,
        ).encode()
        _sync(out / "usepolvo" / name, final, tmp_root / "new")
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    return final
