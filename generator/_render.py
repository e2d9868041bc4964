"""Rendering the IR through ``templates/`` into a package tree.

Output is written to a fresh temporary folder and swapped into place only when every file
rendered, so a failed generation leaves the previous ``generated/`` untouched.
"""

from __future__ import annotations

import functools
import html
import keyword
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._cache import cache_dir
from ._codegen import ModuleCode, split_union
from ._ir import LiteralTy, Model, NullableTy, Operation, Param, PrimTy, Provider, RequestDict, Resource, Ty
from ._naming import snake

if TYPE_CHECKING:
    import jinja2

__all__ = ["Renderer"]

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
_TAG = re.compile(r"<[^>]+>")
#: characters a docstring cannot hold as written (NUL, other control characters, CR)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")
#: a wire name whose Python name a reader could not guess (``page[size]``, ``DateSent<``)
_UNGUESSABLE = re.compile(r"[^A-Za-z0-9_.\-]")


def _pyrepr(value: Any) -> str:
    return repr(value)


def _tuple_repr(value: Any) -> str:
    items = list(value)
    return "(" + ", ".join(repr(v) for v in items) + ("," if len(items) == 1 else "") + ")"


@functools.lru_cache(maxsize=1 << 15)
def doc_text(text: str, limit: int = 0) -> str:
    """Spec prose as a safe docstring body (memoized: specs repeat their descriptions)."""
    text = html.unescape(_TAG.sub("", text or ""))
    text = _CONTROL.sub(" ", text.replace("\r\n", "\n")).strip()
    if limit and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if text.endswith('"'):
        text += " "
    return text


#: one environment per provider and templates folder in a process: templates compile once
_ENVIRONMENTS: dict[tuple[str, Path], jinja2.Environment] = {}

#: names a plain ``dict`` answers as attributes (its methods): ``view.items`` stays the method
_DICT_ATTRS = frozenset(dir(dict))


@functools.cache
def _environment_class() -> type[jinja2.Environment]:
    """Jinja's environment with a cheaper ``a.b`` on the views, which are plain dicts.

    Jinja tries ``getattr`` first and falls back to ``a["b"]``: on a dict that raises and
    catches an ``AttributeError`` per lookup (about half a million per generation, a third of
    the render time). For a plain dict and a name that is not one of its methods the answer
    is the same without the exception, so those go straight to the item. (Built on first
    use: a run whose every version comes from the output cache never imports Jinja.)
    """
    import jinja2

    class _Environment(jinja2.Environment):
        def getattr(self, obj: Any, attribute: str) -> Any:
            if type(obj) is dict and attribute not in _DICT_ATTRS:
                try:
                    return obj[attribute]
                except KeyError:
                    return self.undefined(obj=obj, name=attribute)
            return super().getattr(obj, attribute)

    return _Environment


def _environment(provider_name: str) -> jinja2.Environment:
    env = _ENVIRONMENTS.get((provider_name, TEMPLATES))
    if env is not None:
        return env
    import jinja2

    loaders: list[jinja2.BaseLoader] = []
    if (TEMPLATES / provider_name).is_dir():
        loaders.append(jinja2.FileSystemLoader(TEMPLATES / provider_name))
    loaders.append(jinja2.FileSystemLoader(TEMPLATES))
    folder = _mkdir(cache_dir(), "jinja")
    env = _environment_class()(
        loader=jinja2.ChoiceLoader(loaders),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        # no stat of every template (and every template it imports) on each render: each
        # Renderer starts from an emptied cache instead (see Renderer)
        auto_reload=False,
        # compiled templates, keyed by each template's source checksum (a fresh process
        # otherwise compiles every template again)
        bytecode_cache=jinja2.FileSystemBytecodeCache(str(folder)) if folder is not None else None,
    )
    env.filters["pyrepr"] = _pyrepr
    env.filters["tuple_repr"] = _tuple_repr
    _ENVIRONMENTS[(provider_name, TEMPLATES)] = env
    return env


def _mkdir(parent: Path | None, name: str) -> Path | None:
    if parent is None:
        return None
    try:
        (parent / name).mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # a read-only checkout: compile in memory
    return parent / name


class Renderer:
    def __init__(self, provider_name: str) -> None:
        self.env = _environment(provider_name)
        # templates as they are now (the environment does not look for edits while rendering:
        # a long-lived process that edits templates gets them at its next Renderer)
        if self.env.cache is not None:
            self.env.cache.clear()
        # looked up once per renderer (one version): Jinja otherwise stats the template's
        # file on every lookup to see whether it changed
        self._templates: dict[str, jinja2.Template] = {}

    def render(self, template: str, **ctx: Any) -> str:
        found = self._templates.get(template)
        if found is None:
            found = self._templates[template] = self.env.get_template(template)
        return found.render(**ctx)


# -- views: per-template data computed from the IR ---------------------------------------

_TYPING = ("Any", "Literal", "cast", "overload")
_ABC = ("Mapping", "Sequence", "AsyncIterator")
_CORE = (
    "AsyncStream",
    "FileTypes",
    "ResponseValidationError",
    "best_match",
    "checked",
    "dump",
    "fits",
    "from_iso",
    "from_iso_date",
    "from_unix",
    "lazy_model",
    "pick",
    "SequenceNotStr",
    "to_iso",
    "to_unix",
)


def imports(code: ModuleCode, *, typing: set[str], core: set[str]) -> list[str]:
    lines: list[str] = []
    if "builtins" in code.uses:
        lines.append("import builtins")
    if "datetime" in code.uses:
        lines.append("import datetime")
    if "warnings" in code.uses:
        lines.append("import warnings")
    abc = sorted(n for n in _ABC if n in code.uses)
    if abc:
        lines.append(f"from collections.abc import {', '.join(abc)}")
    for extra in ("cached_property",):
        if extra in typing:
            lines.append("from functools import cached_property")
    names = sorted({n for n in _TYPING if n in code.uses} | (typing - {"cached_property"}))
    lines.append(f"from typing import {', '.join(names)}")
    core_names = sorted(core | {n for n in _CORE if n in code.uses})
    lines.append("")
    lines.append(f"from usepolvo.core import {', '.join(core_names)}")
    return lines


def _signature(code: ModuleCode, op: Operation) -> list[str]:
    path = op.path_params
    params = [p for p in op.params if p.location != "path"]
    body = op.body.fields if op.body and op.body.fields is not None else []
    kw = [*params, *body]
    out = [f"{p.name}: {code.ann(p.ty, param=True)}" for p in path]
    whole = op.body is not None and op.body.fields is None
    required = [p for p in kw if p.required]
    optional = [p for p in kw if not p.required]
    out.append("*")  # everything but path parameters is keyword-only
    if whole and op.body is not None:
        ann = code.ann(op.body.ty, param=True) if op.body.ty is not None else "Any"
        if op.body.required:
            out.append(f"body: {ann}")
    for p in required:
        out.append(f"{p.name}: {code.ann(p.ty, param=True)}")
    if whole and op.body is not None and not op.body.required:
        ann = code.ann(op.body.ty, param=True) if op.body.ty is not None else "Any"
        out.append(f"body: {ann} | NotGiven = NOT_GIVEN")
    for p in optional:
        out.append(f"{p.name}: {code.ann(p.ty, param=True)} | NotGiven = NOT_GIVEN")
    if op.paging is not None:
        native = op.paging.native_page
        page_ann = "int | str" if native is not None and _is_str(native.ty) else "int"
        out.append(f"page: {page_ann} | NotGiven = NOT_GIVEN")
        out.append("size: int | NotGiven = NOT_GIVEN")
    out.append("request_options: RequestOptions | None = None")
    return out


def _is_str(ty: Ty) -> bool:
    return isinstance(ty, PrimTy) and ty.name == "str"


def _mapping(params: list[Param]) -> str:
    return "{" + ", ".join(f"{p.wire!r}: {p.name}" for p in params) + "}"


def _returns(code: ModuleCode, op: Operation) -> tuple[str, str | None]:
    """(annotation, parser helper name or None) of the success response."""
    if op.paging is not None:
        code.uses.add("AsyncPaginator")
        return f"AsyncPaginator[{code.ann(op.paging.item)}]", None
    anns: list[str] = []
    for r in op.success:
        if r.kind == "empty":
            ann = "None"
        elif r.kind == "binary":
            ann = "bytes"
        elif r.kind == "text":
            ann = "str"
        elif r.kind == "sse":
            code.uses.add("AsyncStream")
            ann = f"AsyncStream[{code.ann(r.ty) if r.ty is not None else 'Any'}]"
            if "[Any]" in ann:
                code.uses.add("Any")
        else:
            ann = code.ann(r.ty) if r.ty is not None else "Any"
        if ann not in anns:
            anns.append(ann)
    if not anns:
        code.uses.add("Any")
        return "Any", None
    return " | ".join(anns), None


def _stream_switch(code: ModuleCode, op: Operation) -> tuple[Param, str, str, str] | None:
    """The body field that turns on server-sent events (``stream``, ``stream_format``).

    Returns (field, annotation that streams, annotation that does not, event annotation),
    or ``None`` when the operation has no such switch.
    """
    if op.paging is not None or op.body is None or not op.body.fields:
        return None
    for p in op.body.fields:
        nullable = isinstance(p.ty, NullableTy)
        inner = p.ty.inner if isinstance(p.ty, NullableTy) else p.ty
        none = " | None" if nullable else ""
        if p.wire == "stream" and isinstance(inner, PrimTy) and inner.name == "bool":
            on, off = "Literal[True]", f"Literal[False]{none}"
        elif p.wire == "stream_format" and isinstance(inner, LiteralTy) and "sse" in inner.values:
            rest = [v for v in inner.values if v != "sse"]
            on = "Literal['sse']"
            off = (f"Literal[{', '.join(repr(v) for v in rest)}]" if rest else "None") + (
                none if rest else ""
            )
        else:
            continue
        events = next((r.events for r in op.success if r.events is not None), None)
        if events is None:
            events = next((r.ty for r in op.success if r.kind == "sse"), None)
        event_ann = code.ann(events) if events is not None else "Any"
        if event_ann == "Any":
            code.uses.add("Any")
        code.uses.update(("Literal", "overload", "AsyncStream"))
        return p, on, off, event_ann
    return None


def _overloads(sig: list[str], switch: tuple[Param, str, str, str], returns: str) -> list[dict[str, Any]]:
    """``@overload`` signatures: streaming on → ``AsyncStream[Event]``, off → the body, either → both."""
    param, on, off, event = switch
    prefix = f"{param.name}: "
    at = next(i for i, line in enumerate(sig) if line.startswith(prefix))
    stream = f"AsyncStream[{event}]"
    on_sig = [*sig[:at], f"{param.name}: {on}", *sig[at + 1 :]]
    off_line = f"{param.name}: {off}" if param.required else f"{param.name}: {off} | NotGiven = NOT_GIVEN"
    off_sig = [*sig[:at], off_line, *sig[at + 1 :]]
    return [
        {"params": on_sig, "returns": stream},
        {"params": off_sig, "returns": returns},
        {"params": sig, "returns": f"{returns} | {stream}"},
    ]


def method_view(code: ModuleCode, op: Operation, parsers: dict[str, str]) -> dict[str, Any]:
    sig = _signature(code, op)
    returns, _ = _returns(code, op)
    overloads: list[dict[str, Any]] = []
    switch = _stream_switch(code, op) if returns not in ("Any", "None") else None
    if switch is not None:
        overloads = _overloads(sig, switch, returns)
        returns = overloads[-1]["returns"]
    path = op.path_params
    query = [p for p in op.params if p.location == "query"]
    headers = [p for p in op.params if p.location == "header"]
    args = [op.const_name]
    if op.paging is not None:
        args.append(parsers.get("item", "None"))
    if path:
        args.append("path=(" + "".join(f"{p.name}, " for p in path) + ")")
    if op.paging is not None or query:
        args.append(f"query={_mapping(query)}")
    if headers:
        args.append(f"headers={_mapping(headers)}")
    if op.body is not None:
        args.append("body=body" if op.body.fields is None else f"body={_mapping(op.body.fields)}")
    if op.paging is not None:
        args.extend(["page=page", "size=size"])
    args.append("request_options=request_options")
    call_args = ", ".join(args)
    if op.paging is not None:
        body = f"return self._client.paginate({call_args})"
    elif returns == "None":
        body = f"await self._client.request({call_args})"
    elif returns == "Any":
        body = f"return await self._client.request({call_args})"
    else:
        code.uses.add("cast")
        body = f"return cast({returns!r}, await self._client.request({call_args}))"
    doc = _method_doc(code, op)
    body = _deprecation_warnings(code, op) + body
    return {
        "name": op.name,
        "is_async": op.paging is None,
        "params": sig,
        "overloads": overloads,
        "returns": returns,
        "doc": doc,
        "body": body,
        "const": op.const_name,
        "op_ctor": "",
    }


def _sentences(text: str, limit: int) -> str:
    """``text`` as a docstring body: the whole sentences that fit in ``limit``, never cut
    inside one (a first sentence longer than ``limit`` is kept whole)."""
    truncated = text.endswith("…")  # a description the spec loader cut short (model fields)
    text = doc_text(text.rstrip("…") if truncated else text)
    if len(text) <= limit and not truncated:
        return text
    ends = [m.end() for m in _SENTENCE_END.finditer(text + " ")]
    fitting = [e for e in ends if e <= limit + 1]
    if fitting:
        return text[: fitting[-1]].rstrip()
    if ends:
        return text[: ends[0]].rstrip()
    return text + (" …" if truncated else "")


#: the end of a sentence: ``.``/``!``/``?`` before whitespace (not ``e.g.``, ``i.e.``, ``U.S.``)
_SENTENCE_END = re.compile(r"(?<!\be\.g)(?<!\bi\.e)(?<!\b[A-Z])[.!?](?=\s)")


def _paragraphs(text: str) -> list[str]:
    """Spec prose as docstring lines, whole: paragraphs and list items each start a line."""
    out: list[str] = []
    for para in re.split(r"\n\s*\n", doc_text(text)):
        item: list[str] = []
        for line in para.splitlines():
            if re.match(r"\s*(?:[-*+]|\d+\.)\s", line) and item:
                out.append(" ".join(item))
                item = []
            item.append(line.strip())
        if item:
            out.append(" ".join(item))
    return [p for p in out if p]


def _wrap(text: str, first: str = "", rest: str = "") -> list[str]:
    """``text`` wrapped at 100 columns (the docstring's own indent is added by the caller)."""
    return list(_wrapped(text, first, rest))


@functools.lru_cache(maxsize=8192)
def _wrapped(text: str, first: str, rest: str) -> tuple[str, ...]:
    # memoized: specs repeat the same argument descriptions across hundreds of operations,
    # and textwrap is the costliest step of a method's docstring
    import textwrap

    flat = " ".join(text.split())
    wrapped = textwrap.wrap(
        flat, 92, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False, break_long_words=False
    )
    return tuple(wrapped or [first.rstrip()])


def _method_doc(code: ModuleCode, op: Operation) -> str:
    """The method docstring: summary, description, route and docs link, deprecation, ``Args:``."""
    summary = op.summary or op.description.split("\n\n", 1)[0]
    lines = _wrap(_sentences(summary, 300) or op.name.replace("_", " ").capitalize())
    described = _sentences(op.description.split("\n\n", 1)[0], 600)
    if described and doc_text(summary) not in described:
        lines += ["", *_wrap(described)]
    lines += ["", f"``{op.method} {op.path}``" + (f" — {op.docs_url}" if op.docs_url else "")]
    if op.deprecated:
        lines += ["", "Deprecated by the provider: calling it emits a ``DeprecationWarning``."]
    renamed = [
        p for p in [*op.params, *(op.body.fields or [] if op.body else [])] if _UNGUESSABLE.search(p.wire)
    ]
    if renamed:
        lines += _wrap("Wire names: " + ", ".join(f"``{p.name}`` is ``{p.wire}``" for p in renamed) + ".")
    args = [*op.params, *(op.body.fields or [] if op.body is not None else [])]
    documented = [p for p in args if p.description or p.deprecated]
    if documented:
        lines += ["", "Args:"]
        for p in documented:
            paras = _paragraphs(p.description) or [""]
            paras[0] = ("Deprecated. " if p.deprecated else "") + paras[0]
            lines += _wrap(paras[0], f"    {p.name}: ", "        ")
            for para in paras[1:]:
                lines += _wrap(para, "        ", "        ")
    pad = "\n        "
    return pad.join(line.rstrip() for line in lines) + pad


def _deprecation_warnings(code: ModuleCode, op: Operation) -> str:
    """Statements warning about a deprecated operation or argument, before the call."""
    where = f"{'.'.join((*op.resource, op.name))} ({op.method} {op.path})"
    out: list[str] = []
    if op.deprecated:
        out.append(
            f"warnings.warn({where + ' is deprecated by the provider'!r}, DeprecationWarning, stacklevel=2)"
        )
    args = [*op.params, *(op.body.fields or [] if op.body is not None else [])]
    for p in args:
        if p.deprecated and not p.required:
            message = f"argument {p.name!r} of {where} is deprecated by the provider"
            out.append(f"if not isinstance({p.name}, NotGiven):")
            out.append(f"    warnings.warn({message!r}, DeprecationWarning, stacklevel=2)")
        elif p.deprecated:
            message = f"argument {p.name!r} of {where} is deprecated by the provider"
            out.append(f"warnings.warn({message!r}, DeprecationWarning, stacklevel=2)")
    if not out:
        return ""
    code.uses.add("warnings")
    return "\n        ".join(out) + "\n        "


def op_ctor(code: ModuleCode, op: Operation, parsers: dict[str, str]) -> str:
    args = [repr(op.name), repr(op.method), repr(op.path)]
    path = op.path_params
    if path:
        args.append("path_params=" + "(" + "".join(f"{p.wire!r}, " for p in path) + ")")
    multi = [p.wire for p in path if p.multi_segment]
    if multi:
        args.append(f"multi_segment=frozenset({multi!r})")
    styles = {p.wire: p.style for p in op.params if p.location == "query" and p.style != "form"}
    if styles:
        args.append(f"query_styles={styles!r}")
    if op.body is not None:
        args.append(f"body={op.body.kind!r}")
    responses = []
    for r in op.responses:
        if not r.status.startswith("2") and r.status != "default":
            continue
        if r.status == "default" and any(x.status.startswith("2") for x in op.responses):
            continue
        parser = parsers.get(r.status)
        events = parsers.get(r.status + ":events")
        spec = (
            f"ResponseSpec({r.kind!r}"
            + (f", {parser}" if parser else "")
            + (f", events={events}" if events else "")
            + ")"
        )
        responses.append(f"{r.status!r}: {spec}")
    if responses:
        args.append("responses={" + ", ".join(responses) + "}")
    if parsers.get("error"):
        args.append(f"error={parsers['error']}")
    if op.paging is not None:
        style = dict(op.paging.style)
        kind = style.pop("kind")
        fields = "".join(f", {k}={v!r}" for k, v in style.items())
        args.append(f"paging=PageStyle({kind!r}{fields})")
    if op.server:
        args.append(f"server={op.server!r}")
    if op.security is not None:
        args.append(f"security={op.security!r}")
    if op.docs_url:
        args.append(f"docs_url={op.docs_url!r}")
    if op.accept:
        args.append(f"accept={op.accept!r}")
    return "Operation(" + ", ".join(args) + ")"


def parsers_for(code: ModuleCode, op: Operation) -> dict[str, str]:
    """Module-level parser functions for an operation's response bodies.

    Every JSON body, listed item and event gets one (the top-level kind check, strict mode
    and DEBUG mismatch logs need it even when nothing is decoded), except untyped ones.
    """
    out: dict[str, str] = {}

    def parser(ty: Ty | None, role: str) -> str | None:
        if ty is None or (isinstance(ty, PrimTy) and ty.name == "Any"):
            return None
        return code.parser(ty, role)

    if op.paging is not None:
        p = parser(op.paging.item, "item")
        if p:
            out["item"] = p
    # ``default`` reads a success only when no 2XX is documented (as in ``op_ctor``)
    has_2xx = any(r.status.startswith("2") for r in op.responses)
    for r in op.responses:
        if op.paging is not None:
            break  # the paginator decodes list bodies itself, with the item parser
        success = r.status.startswith("2") or (r.status == "default" and not has_2xx)
        if r.kind in ("json", "sse") and success:
            p = parser(r.ty, "body" if r.kind == "json" else "event")
            if p:
                out[r.status] = p
        if r.events is not None and success:
            p = parser(r.events, "event")
            if p:
                out[r.status + ":events"] = p
    if op.error is not None:
        p = parser(op.error, "error")
        if p:
            out["error"] = p
    return out


def model_view(code: ModuleCode, model: Model, version: str) -> dict[str, Any]:
    """What ``_model.jinja`` renders: every attribute ``X | None`` (absent and null read
    None), read leniently by ``from_dict``, written back by ``to_dict`` for the keys that
    came (``fields_set``) or hold a value."""
    fields = []
    for f in model.fields:
        ann = code.ann(f.ty)
        if "None" not in split_union(ann):
            ann += " | None"
        fields.append(
            {
                "name": f.name,
                "wire": f.wire,
                "required": f.required,
                "ann": ann,
                "decode": code.decode_field(f.ty, f"get({f.wire!r})"),
                "encode": code.encode(f.ty, "v"),
                "desc": f"({f.wire!r}, {f.name!r}, {f.required!r}, {code.desc(f.ty)})",
                "doc": doc_text(f.description, 200),
            }
        )
    known = f"_KNOWN_{model.name}"
    extra = f"{{}} if fs <= {known} else extra(d, {known})"
    extra_encode = "self.extra_fields"
    wire_extra = "None"
    if model.additional is not None:
        wire_extra = code.desc(model.additional)
        dec = code.decode(model.additional, "_w")
        if dec != "_w":
            extra = f"{{}} if fs <= {known} else {{_k: {dec} for _k, _w in extra(d, {known}).items()}}"
            code.uses.add("dump")
            extra_encode = "dump(self.extra_fields)"
    elif model.open:
        wire_extra = "'any'"
    consts = "".join(f"({k!r}, {v!r}), " for k, v in sorted(model.consts.items()))
    return {
        "name": model.name,
        "doc": doc_text(model.description, 400)
        or f"The ``{model.source.rsplit('/', 1)[-1] or model.name}`` object.",
        "fields": fields,
        "extra": extra,
        "extra_encode": extra_encode,
        "wire_extra": wire_extra,
        "consts": f"({consts})" if consts else "",
        "required": sum(1 for f in model.fields if f.required),
        "version": version,
    }


def resource_files(provider: Provider) -> list[Resource]:
    out: list[Resource] = []
    stack = list(provider.root.children.values())
    while stack:
        res = stack.pop()
        out.append(res)
        stack.extend(res.children.values())
    return sorted(out, key=lambda r: r.module)


def model_modules(provider: Provider) -> dict[str, list[Model]]:
    out: dict[str, list[Model]] = {}
    for model in provider.models.values():
        out.setdefault(model.module, []).append(model)
    return {k: sorted(v, key=lambda m: m.name) for k, v in sorted(out.items())}


def version_module(version: str) -> str:
    return "v" + snake(version.replace(".", "_").replace("-", "_"))


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: names ruff (E741) refuses as class attributes
_AMBIGUOUS = frozenset({"l", "O", "I"})


def params_view(code: ModuleCode, rd: RequestDict) -> dict[str, Any]:
    """What ``params_module.py.jinja`` renders for one request ``TypedDict``.

    ``total=False`` when no key is required, else required keys plain and the others
    ``NotRequired[...]``. The functional form (``X = TypedDict("X", {...})``, annotations
    quoted) when a key is no identifier (``from``, ``page[size]``) or is a name the
    annotations use, which a class body would shadow (a key ``str`` next to a ``str`` value).
    """
    total = any(f.required for f in rd.fields)
    fields = []
    for f in rd.fields:
        ann = code.ann(f.ty, param=True)
        if total and not f.required:
            code.uses.add("NotRequired")
            ann = f"NotRequired[{ann}]"
        comment = _sentences(f.description, 160).strip() if f.description else ""
        fields.append({"wire": f.wire, "ann": ann, "comment": _wrap(comment) if comment else []})
    used = {name for f in rd.fields for name in _NAME.findall(str(code.ann(f.ty, param=True)))}
    used |= {"TypedDict", "NotRequired"} | _AMBIGUOUS
    functional = any(
        not f.wire.isidentifier() or keyword.iskeyword(f.wire) or f.wire in used or f.wire.startswith("__")
        for f in rd.fields
    )
    text = _sentences(rd.description, 400) if rd.description else ""
    if not text:
        text = (
            f"The ``{rd.source.rsplit('/', 1)[-1]}`` object, as a request argument."
            if rd.source
            else "A request object (a plain ``dict`` at run time)."
        )
    doc = "\n    ".join(_wrap(text))
    return {"name": rd.name, "fields": fields, "total": total, "functional": functional, "doc": doc}
