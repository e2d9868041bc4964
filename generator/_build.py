"""Orchestration: pins → IR → rendered package, swapped into ``generated/`` atomically."""

from __future__ import annotations

import hashlib
import json
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

    @property
    def dropped(self) -> bool:
        return self.operations < self.spec_operations or self.represented_bodies < self.documented_bodies

    def line(self) -> str:
        ops = f"{self.operations}/{self.spec_operations}"
        models = f"{self.spec_schemas}/{self.models}"
        bodies = f"{self.represented_bodies}/{self.documented_bodies}"
        note = " (up to date)" if self.cached else ""
        return f"{self.provider:<10} {self.version:<12} {ops:>12} {models:>14} {bodies:>12} {self.seconds:>6.1f}s{note}"


def build_provider(settings: ProviderSettings, pin: Pin) -> Provider:
    """Parse a pinned spec into the IR."""
    path = locate_spec(pin)
    try:
        doc = Document(path)
    except (yaml.YAMLError, ValueError) as exc:  # YAML/JSON syntax: name the pin, like a hash mismatch
        raise PinError(f"{pin.label}: {path} does not parse: {str(exc)[:300]}") from None
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


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def render_version(provider: Provider, pin: Pin, out: Path) -> None:
    """Write ``usepolvo/<provider>/v<version>/`` under ``out``."""
    r = Renderer(provider.name)
    base = out / version_module(pin.version)
    api_version = pin.extra.get("api_version", pin.version)
    ctx: dict[str, Any] = {"provider": provider, "config": provider.config, "api_version": api_version}
    _write(base / "__init__.py", r.render("version_init.py.jinja", **ctx))
    _write(base / "_client.py", r.render("client.py.jinja", **ctx))
    if provider.webhooks is not None:
        _write(base / "webhooks.py", render_webhooks(r, provider, ctx))
    _write(
        base / "resources" / "__init__.py",
        r.render("_header.jinja", **ctx)
        + '"""Resource classes (one module each, imported on first use)."""\n',
    )
    for res in resource_files(provider):
        _write(base / "resources" / f"{res.module}.py", _render_resource(r, provider, res, ctx))
    render_params(r, provider, base, ctx)
    modules = model_modules(provider)
    names = sorted((m.name, mod) for mod, ms in modules.items() for m in ms)
    _write(base / "models" / "__init__.py", r.render("models_init.py.jinja", names=names, **ctx))
    for mod, models in modules.items():
        code = ModuleCode(provider.models, mod)
        views = [model_view(code, m, provider.version) for m in models]
        local = {m.name for m in models}
        code.uses.add("Mapping")  # from_dict's argument
        code.imports = imports(
            code,
            typing={"TYPE_CHECKING", "Any", "ClassVar"},
            core={"BaseModel", "UNSET", "extra", "invalid"},
        )
        code.type_imports = sorted(f"{provider.models[n].module} import {n}" for n in code.type_names - local)
        _write(
            base / "models" / f"{mod}.py", r.render("model_module.py.jinja", models=views, code=code, **ctx)
        )


def render_params(r: Renderer, provider: Provider, base: Path, ctx: dict[str, Any]) -> None:
    """``params/``: the request ``TypedDict``s, one module per resource or component, and a
    lazy index (like ``models/``)."""
    modules: dict[str, list[RequestDict]] = {}
    for rd in provider.request_dicts.values():
        modules.setdefault(rd.module, []).append(rd)
    names = sorted((rd.name, rd.module) for rd in provider.request_dicts.values())
    _write(base / "params" / "__init__.py", r.render("params_init.py.jinja", names=names, **ctx))
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
        _write(
            base / "params" / f"{mod}.py", r.render("params_module.py.jinja", dicts=views, code=code, **ctx)
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
    code.imports = imports(code, typing=typing, core=core)
    code.type_imports = sorted(code.type_names)
    return r.render("resource.py.jinja", resource=res, methods=methods, code=code, **ctx)


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


def _format(folder: Path) -> None:
    ruff = shutil.which(
        "ruff", path=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
    )
    if ruff is None:
        print("note: ruff not found, generated code left unformatted", file=sys.stderr)
        return
    # like openapi-python-client: lint-fix (unused imports, import order, union order), then
    # format, with generator/ruff_generated.toml — the settings `make lint` checks generated/ with
    config = ["--config", str(RUFF_CONFIG), "--no-cache"]
    for step in (["check", "--fix-only", "--exit-zero", "--quiet"], ["format"]):
        done = subprocess.run(
            [ruff, *step, *config, str(folder)], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            # the generated code does not parse: show ruff's own report (file, line, error)
            report = (done.stderr or done.stdout).strip()
            raise GenerationError(
                f"ruff {step[0]} failed on the generated code (exit {done.returncode}):\n{report[:4000]}"
            )


def generate_all(
    out: str | Path,
    *,
    providers: list[str] | None = None,
    fmt: bool = True,
    force: bool = False,
    specs: Path | None = None,
) -> list[Report]:
    out = Path(out)
    settings_all = load_providers(specs) if specs is not None else load_providers()
    reports: list[Report] = []
    for name, settings in settings_all.items():
        if providers and name not in providers:
            continue
        target = out / "usepolvo" / name
        stamp = target / ".stamp.json"
        digest = _inputs_digest(settings)
        if not force and stamp.is_file():
            saved = json.loads(stamp.read_text())
            if saved.get("digest") == digest:
                reports.extend(Report(**r, cached=True) for r in saved["reports"])
                continue
        tmp_root = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=out if out.is_dir() else None))
        try:
            staged = tmp_root / name
            staged.mkdir()
            provider_reports = []
            default_provider: Provider | None = None
            for version, pin in sorted(settings.pins.items()):
                t0 = time.perf_counter()
                provider = build_provider(settings, pin)
                render_version(provider, pin, staged)
                if version == settings.default:
                    default_provider = provider
                ops = len(provider.operations) - provider.incomplete
                provider_reports.append(
                    Report(
                        name,
                        version,
                        provider.spec_operations,
                        ops,
                        provider.spec_schemas,
                        len(provider.models),
                        provider.documented_bodies,
                        provider.represented_bodies,
                        round(time.perf_counter() - t0, 2),
                    )
                )
            assert default_provider is not None
            r = Renderer(name)
            _write(
                staged / "__init__.py",
                r.render(
                    "provider_init.py.jinja",
                    provider=default_provider,
                    default_version=settings.default,
                    default_module=version_module(settings.default),
                    versions=[version_module(v) for v in sorted(settings.pins)],
                ),
            )
            _write(
                staged / "models.py",
                r.render(
                    "provider_models.py.jinja",
                    provider=default_provider,
                    default_version=settings.default,
                    default_module=version_module(settings.default),
                ),
            )
            _write(
                staged / "params.py",
                r.render(
                    "provider_params.py.jinja",
                    provider=default_provider,
                    default_version=settings.default,
                    default_module=version_module(settings.default),
                ),
            )
            if default_provider.webhooks is not None:
                _write(
                    staged / "webhooks.py",
                    render_provider_webhooks(r, default_provider, version_module(settings.default)),
                )
            _write(staged / "py.typed", "")
            if fmt:
                _format(staged)
            _write(
                staged / ".stamp.json",
                json.dumps(
                    {
                        "digest": digest,
                        "inputs": input_hashes(settings),
                        "reports": [
                            attrs.asdict(x, filter=lambda a, _: a.name != "cached") for x in provider_reports
                        ],
                    },
                    indent=1,
                ),
            )
            target.parent.mkdir(parents=True, exist_ok=True)
            old = tmp_root / "old"
            if target.exists():
                target.replace(old)
            staged.replace(target)
            reports.extend(provider_reports)
        finally:
            shutil.rmtree(tmp_root, ignore_errors=True)
    return reports
