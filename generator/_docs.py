"""``make docs``: a Markdown API reference per provider and pinned version, from the IR.

For each pinned version, ``docs/api/<provider>/<version>/`` gets an ``index.md`` (the
client, every resource with its operations) and one page per resource: each method with
its HTTP route, provider docs link, full description, Python signature (the same one the
generated code has: it comes from :func:`generator._render.method_view`), return type, a
table of arguments with their (whole) descriptions, and deprecation notes. ``models.md`` lists
every response model's fields, ``params.md`` every request ``TypedDict``'s keys. The pages quote the specs' descriptions, so ``docs/api/`` is
build output (git-ignored) like ``generated/``.
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path
from typing import Any

from ._codegen import ModuleCode
from ._ir import Model, Operation, Param, Provider, Resource
from ._pins import ROOT, load_providers
from ._render import method_view, resource_files, version_module

__all__ = ["DOCS", "render_provider_docs", "write_docs"]

DOCS = ROOT / "docs" / "api"

_TAG = re.compile(r"<[^>]+>")


def _prose(text: str) -> str:
    """Spec prose as Markdown: HTML tags dropped, entities decoded, blank-line paragraphs kept."""
    text = html.unescape(_TAG.sub("", text or "")).strip()
    # a description the spec loader cut short inside a link: keep the label, drop the URL
    text = re.sub(r"\[([^\]]*)\]\([^)]*$", lambda m: m.group(1).rstrip("…") + "…", text)
    return re.sub(r"\n{3,}", "\n\n", text)


def _sentence(text: str, limit: int = 160) -> str:
    """The first sentence of the first paragraph, cut at a word if still long (for lists)."""
    para = " ".join(_prose(text).split("\n\n", 1)[0].split())
    para = re.split(r"(?<=[.!?])\s", para, maxsplit=1)[0]
    if len(para) > limit:
        para = para[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " …"
    return para.replace("|", "\\|")


def _absolute_links(text: str, docs_url: str) -> str:
    """Root-relative Markdown links of spec prose (``](/docs/…)``) made absolute on the
    provider's docs host, so they work outside the provider's site."""
    m = re.match(r"https?://[^/]+", docs_url)
    return text if m is None else re.sub(r"\]\((/[^)\s]*)\)", lambda x: f"]({m.group(0)}{x.group(1)})", text)


def _cell(text: str) -> str:
    """One Markdown table cell: a single line, pipes escaped."""
    return " ".join(_prose(text).split()).replace("|", "\\|")


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def _anchor(name: str) -> str:
    return name.lower().replace("_", "-")


def _accessor(res: Resource) -> str:
    return "client." + ".".join(res.path)


def _arguments(code: ModuleCode, op: Operation) -> list[tuple[Param | None, str, str, bool, str]]:
    """(param, python name, annotation, required, where) for every argument, signature order."""
    rows: list[tuple[Param | None, str, str, bool, str]] = []
    for p in op.params:
        where = p.location if not (op.paging and op.paging.native_page is p) else "query"
        rows.append((p, p.name, code.ann(p.ty, param=True), p.required, where))
    if op.body is not None:
        if op.body.fields is None:
            ann = code.ann(op.body.ty, param=True) if op.body.ty is not None else "Any"
            rows.append((None, "body", ann, op.body.required, f"body ({op.body.content_type})"))
        else:
            for p in op.body.fields:
                rows.append((p, p.name, code.ann(p.ty, param=True), p.required, f"body ({op.body.kind})"))
    return rows


def _method(provider: Provider, res: Resource, op: Operation) -> list[str]:
    code = ModuleCode(provider.models, res.module)
    code.shadowed = {o.name for o in res.operations} | set(res.children)
    view: dict[str, Any] = method_view(code, op, {})
    prefix = "async def" if view["is_async"] else "def"
    sig = ",\n    ".join(["self", *view["params"]])
    out = [f"### {_code(op.name)}", ""]
    route = f"{_code(f'{op.method} {op.path}')}"
    if op.docs_url:
        route += f" · [provider docs]({op.docs_url})"
    out += [f"{_code(f'{_accessor(res)}.{op.name}(…)')} — {route}", ""]
    if op.deprecated:
        out += ["> **Deprecated** by the provider: avoid in new code.", ""]
    for text in (op.summary, op.description):
        prose = _prose(text)
        if prose and prose not in "\n".join(out):
            out += [prose, ""]
    out += ["```python", f"{prefix} {op.name}(\n    {sig},\n) -> {view['returns']}", "```", ""]
    for o in view["overloads"][:-1]:
        switch = next((p for p in o["params"] if p.startswith(("stream:", "stream_format:"))), "")
        if switch:
            out.append(f"- with `{switch.split(' = ')[0]}` → `{o['returns']}`")
    if view["overloads"]:
        out.append("")
    returns = f"**Returns** {_code(view['returns'])}"
    if op.paging is not None:
        returns += (
            " — lazy: `await` it for one `Page` (`.data`, `.has_more`, `await page.next_page()`),"
            " or `async for` it for every item; `page=`/`size=` pick the page and its size."
        )
    out += [returns, ""]
    rows = _arguments(code, op)
    if rows:
        out += ["| argument | type | in | required | description |", "|---|---|---|---|---|"]
        for p, name, ann, required, where in rows:
            desc = _cell(p.description) if p is not None else ""
            if p is not None and p.deprecated:
                desc = ("**Deprecated.** " + desc).strip()
            if p is not None and p.wire != name:
                desc = (f"(wire name {_code(p.wire)}) " + desc).strip()
            out.append(
                f"| {_code(name)} | {_cell(_code(ann))} | {where} | {'yes' if required else ''} | {desc} |"
            )
        out.append("")
    out += [
        "`request_options=` per call: `timeout`, `total_timeout`, `max_retries`, `idempotency_key`,"
        " `headers`, `query`, `api_version`.",
        "",
    ]
    return out


def _resource_page(provider: Provider, res: Resource) -> str:
    title = f"{provider.title} {provider.version}: {_code(_accessor(res))}"
    out = [f"# {title}", "", "[← index](index.md) · [models](models.md)", ""]
    if res.children:
        subs = ", ".join(f"[{_code(c.attr)}]({c.module}.md)" for c in res.children.values())
        out += [f"Nested resources: {subs}", ""]
    for op in res.operations:
        what = _sentence(op.summary or op.description) or f"{op.method} {op.path}"
        out.append(f"- [{_code(op.name)}](#{_anchor(op.name)}) — {what}")
    out.append("")
    for op in res.operations:
        out += _method(provider, res, op)
    return "\n".join(out).rstrip() + "\n"


def _models_page(provider: Provider) -> str:
    out = [f"# {provider.title} {provider.version}: models", "", "[← index](index.md)", ""]
    out.append(
        f"Attrs classes in `{provider.package}.models` (and `usepolvo.{provider.name}.models` for the"
        " default pin): `Model.from_dict(data)`, `model.to_dict()`; optional fields are `NOT_GIVEN`"
        " when absent; unknown fields are kept in `extra_fields`."
    )
    out.append("")
    code = ModuleCode(provider.models, "models")
    for model in sorted(provider.models.values(), key=lambda m: m.name):
        out += _model(code, model)
    return "\n".join(out).rstrip() + "\n"


def _model(code: ModuleCode, model: Model) -> list[str]:
    out = [f"## {model.name}", ""]
    if model.description:
        out += [_prose(model.description), ""]
    if model.fields:
        out += ["| field | type | required | description |", "|---|---|---|---|"]
        for f in model.fields:
            out.append(
                f"| {_code(f.name)} | {_cell(_code(code.ann(f.ty)))} | {'yes' if f.required else ''} "
                f"| {_cell(f.description)} |"
            )
        out.append("")
    return out


def _params_page(provider: Provider) -> str:
    """``params.md``: every request ``TypedDict`` with its keys, whole descriptions included."""
    out = [f"# {provider.title} {provider.version}: request objects", "", "[← index](index.md)", ""]
    out.append(
        f"`TypedDict`s in `{provider.package}.params` (and `usepolvo.{provider.name}.params` for the"
        " default pin): the shapes of the dicts the methods take, for type checkers; at run time"
        " they are plain dicts."
    )
    out.append("")
    code = ModuleCode(provider.models, "params")
    for rd in sorted(provider.request_dicts.values(), key=lambda d: d.name):
        out += [f"## {rd.name}", ""]
        if rd.description:
            out += [_prose(rd.description), ""]
        out += ["| key | type | required | description |", "|---|---|---|---|"]
        for f in rd.fields:
            out.append(
                f"| {_code(f.wire)} | {_cell(_code(code.ann(f.ty, param=True)))} "
                f"| {'yes' if f.required else ''} | {_cell(f.description)} |"
            )
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _index(provider: Provider, resources: list[Resource]) -> str:
    ops = len(provider.operations)
    module = version_module(provider.version)
    out = [
        f"# {provider.title} {provider.version} — `usepolvo.{provider.name}.{module}`",
        "",
        f"{ops} operations in {len(resources)} resources, {len(provider.models)} models ([models](models.md)),"
        f" {len(provider.request_dicts)} request objects ([params](params.md)).",
        "",
        "```python",
        f"from usepolvo.{provider.name}.{module} import {provider.client_class}",
        "",
        f"async with {provider.client_class}() as client:",
        "    ...",
        "```",
        "",
        "| resource | operations |",
        "|---|---|",
    ]
    for res in resources:
        names = ", ".join(f"[{_code(o.name)}]({res.module}.md#{_anchor(o.name)})" for o in res.operations)
        out.append(f"| [{_code(_accessor(res))}]({res.module}.md) | {names} |")
    return "\n".join(out) + "\n"


def render_provider_docs(provider: Provider) -> dict[str, str]:
    """Every page of one provider version, by file name."""
    resources = resource_files(provider)
    pages = {
        "index.md": _index(provider, resources),
        "models.md": _models_page(provider),
        "params.md": _params_page(provider),
    }
    for res in resources:
        pages[f"{res.module}.md"] = _resource_page(provider, res)
    docs_url = str(provider.config.get("docs_url", ""))
    return {file: _absolute_links(text, docs_url) for file, text in pages.items()}


def write_docs(out: Path = DOCS, providers: list[str] | None = None) -> list[tuple[str, str, int]]:
    """Write every pinned version's reference under ``out``; returns (provider, version, operations)."""
    from ._build import build_provider

    written: list[tuple[str, str, int]] = []
    for name, settings in load_providers().items():
        if providers and name not in providers:
            continue
        for version, pin in sorted(settings.pins.items()):
            provider = build_provider(settings, pin)
            folder = out / name / version
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
            for file, text in render_provider_docs(provider).items():
                (folder / file).write_text(text)
            written.append((name, version, len(provider.operations)))
    top = ["# polvo API reference", "", "Written by `make docs` from the pinned specs.", ""]
    for index in sorted(out.glob("*/*/index.md")):
        title = index.read_text().split("\n", 1)[0].lstrip("# ")
        top.append(f"- [{title}]({index.relative_to(out).as_posix()})")
    out.mkdir(parents=True, exist_ok=True)
    (out / "README.md").write_text("\n".join(top) + "\n")
    return written
