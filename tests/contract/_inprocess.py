"""In-process contract run: every generated operation, called through the real client.

For each operation of the IR the generated method is called with its required arguments
(and a few optional ones) synthesized from the spec's schemas. An ``httpx.MockTransport``
handler checks the request the client built against the pinned spec — method and path
template, query parameters (style/deepObject decoded), headers, the body decoded from
its wire format (Stripe's bracket notation included) and validated with a JSON-schema
validator — then answers with schema-shaped data for the documented success response,
which must parse into the type the method declares.
"""

from __future__ import annotations

import asyncio
import collections
import email.parser
import importlib
import json
import re
import traceback
import zlib
from typing import Any
from urllib.parse import parse_qsl, unquote

import attrs
import httpx

from generator._ir import Operation

from ._schema import (
    Coercer,
    Spec,
    Synth,
    Unsatisfiable,
    conforms,
    decode_brackets,
    drop_empty,
    escape,
    operations,
    parse_form,
    path_regex,
    randomly,
)

#: Arguments that change the wire protocol (an event stream) are left to the stream tests.
_NEVER_OPTIONAL = {"stream"}


class Violation(Exception):
    def __init__(self, cause: str, detail: str) -> None:
        super().__init__(f"{cause}: {detail}")
        self.cause = cause
        self.detail = detail


@attrs.define
class Outcome:
    op: str
    exercised: bool = False
    accepted: bool = False
    parsed: bool = False
    cause: str | None = None
    detail: str = ""


@attrs.define
class Report:
    provider: str
    version: str
    outcomes: list[Outcome] = attrs.field(factory=list)

    @property
    def total(self) -> int:
        return len(self.outcomes)

    def count(self, what: str) -> int:
        return sum(1 for o in self.outcomes if getattr(o, what))

    def causes(self) -> collections.Counter[str]:
        return collections.Counter(o.cause for o in self.outcomes if o.cause)

    def line(self) -> str:
        n = self.total
        return (
            f"{self.provider:<8} {self.version:<11} ops {n:>5}  exercised {self.count('exercised'):>5}  "
            f"accepted {self.count('accepted'):>5}  parsed {self.count('parsed'):>5}  "
            f"failed {sum(1 for o in self.outcomes if o.cause):>4}"
        )


def _success(op: Operation) -> Any:
    for r in op.responses:
        if r.status.startswith("2"):
            return r
    for r in op.responses:
        if r.status == "default":
            return r
    return None


class Checker:
    """Validates one expected request; synthesizes its answer."""

    def __init__(self, spec: Spec, op: Operation, sent: dict[str, Any], seed: int) -> None:
        self.spec = spec
        self.op = op
        self.sent = sent
        self.seed = seed
        self.coercer = Coercer(spec)
        self.accepted = False
        self.answer: Any = None
        self.error: Violation | None = None
        self.base_path = ""

    # request -> response
    def __call__(self, request: httpx.Request) -> httpx.Response:
        try:
            self.check(request)
            self.accepted = True
        except Violation as v:
            self.error = v
            return httpx.Response(400, json={"error": {"message": str(v)}})
        return self.respond()

    def check(self, request: httpx.Request) -> None:
        op, spec = self.op, self.spec
        if request.method != op.method:
            raise Violation("method", f"{request.method} != {op.method}")
        raw_path = request.url.raw_path.split(b"?", 1)[0].decode()
        if not raw_path.startswith(self.base_path):
            raise Violation("path", f"{raw_path} outside {self.base_path}")
        route = raw_path[len(self.base_path) :]
        params = spec.raw_params(op)
        multi = frozenset(p.wire for p in op.path_params if p.multi_segment)
        m = path_regex(op.path.partition("?")[0], multi).match(route)
        if m is None:
            raise Violation("path", f"{route} does not match {op.path}")
        # another template matching first (e.g. /customers/search vs /customers/{id}) would win
        for other in spec.root["paths"] if "?" not in op.path else ():
            if (
                other != op.path
                and "{" not in other
                and other == route
                and op.method.lower() in spec.root["paths"][other]
            ):
                raise Violation("path", f"{route} is the literal route {other}")
        for (loc, name), (node, ptr) in params.items():
            if loc != "path":
                continue
            group = "g_" + re.sub(r"[^0-9A-Za-z_]", "_", name)
            value = unquote(m.group(group))
            self._validate(ptr, self.coercer.coerce(value, node.get("schema") or {}), f"path {name}")
        self._check_query(request, params)
        self._check_headers(request, params)
        self._check_body(request)

    def _validate(self, pointer: str, value: Any, what: str) -> None:
        errs = self.spec.errors(pointer, value)
        if errs:
            raise Violation("schema", f"{what}: {'; '.join(errs)}")

    def _check_query(self, request: httpx.Request, params: dict[tuple[str, str], Any]) -> None:
        pairs = parse_qsl(request.url.query.decode(), keep_blank_values=True)
        literal = dict(parse_qsl(self.op.path.partition("?")[2]))  # `/x?beta=true` templates
        for k, v in literal.items():
            if (k, v) not in pairs:
                raise Violation("query", f"the template's {k}={v} is missing")
        query = {name: v for (loc, name), v in params.items() if loc == "query"}
        grouped: dict[str, list[tuple[str, str]]] = {}
        for key, value in pairs:
            base = key if key in query else key.split("[", 1)[0]
            if base in literal:
                continue
            if base not in query:
                # form-exploded objects send their properties as top-level keys
                owner = next(
                    (
                        n
                        for n, (node, _) in query.items()
                        if node.get("style", "form") == "form"
                        and node.get("explode", True)
                        and base in (self.spec.deref(node.get("schema") or {}).get("properties") or {})
                    ),
                    None,
                )
                if owner is None:
                    raise Violation("query", f"unknown query parameter {key!r}")
                base = owner
            grouped.setdefault(base, []).append((key, value))
        for name, (node, ptr) in query.items():
            if name not in grouped:
                if node.get("required"):
                    raise Violation("query", f"required query parameter {name!r} missing")
                continue
            schema = self.spec.deref(node.get("schema") or {})
            items = grouped[name]
            style = node.get("style", "form")
            explode = node.get("explode", style == "form")
            is_array = "array" in _types_of(schema)
            if style == "deepObject" or any("[" in k and k != name for k, _ in items):
                value: Any = decode_brackets(items)[name]
            elif is_array:
                if explode:
                    value = [v for _, v in items]
                else:
                    if len(items) != 1:
                        raise Violation("query", f"{name} sent {len(items)} times")
                    sep = {"spaceDelimited": " ", "pipeDelimited": "|"}.get(style, ",")
                    value = items[0][1].split(sep) if items[0][1] else []
            elif "object" in _types_of(schema) and style == "form" and explode:
                value = dict(items)
            else:
                if len(items) != 1:
                    raise Violation("query", f"{name} sent {len(items)} times")
                value = items[0][1]
            self._validate(ptr, self.coercer.coerce(value, schema), f"query {name}")

    def _check_headers(self, request: httpx.Request, params: dict[tuple[str, str], Any]) -> None:
        cfg = self.spec.ir.config
        if "authorization" not in request.headers:
            raise Violation("header", "no Authorization header")
        vh = cfg.get("version_header")
        if vh and vh not in request.headers:
            raise Violation("header", f"no {vh} header")
        for (loc, name), (node, ptr) in params.items():
            if loc != "header":
                continue
            if name not in request.headers:
                if node.get("required"):
                    raise Violation("header", f"required header {name!r} missing")
                continue
            raw_value: Any = request.headers[name]
            if "array" in _types_of(self.spec.deref(node.get("schema") or {})):
                raw_value = raw_value.split(",")
            value = self.coercer.coerce(raw_value, node.get("schema") or {})
            self._validate(ptr, value, f"header {name}")

    def _check_body(self, request: httpx.Request) -> None:
        body_node, content_ptr = self.spec.request_body(self.op)
        content = request.content
        if body_node is None:
            if content:
                raise Violation("body", "a body was sent to an operation that documents none")
            return
        if not content:
            if body_node.get("required") and self.sent.get("__body_required__"):
                raise Violation("body", "required request body missing")
            return
        ctype = request.headers.get("content-type", "")
        media = ctype.split(";", 1)[0].strip().lower()
        contents = body_node.get("content") or {}
        match = next((k for k in contents if k.split(";", 1)[0].strip().lower() == media), None)
        if match is None:
            if media == "application/json" and any(k.endswith("+json") or k == "*/*" for k in contents):
                match = next(k for k in contents if k.endswith("+json") or k == "*/*")
            else:
                raise Violation("content-type", f"{media!r} not in {sorted(contents)}")
        ptr = f"{content_ptr}/{escape(match)}/schema"
        schema = self.spec.at(ptr)
        if media == "application/x-www-form-urlencoded":
            try:
                decoded: Any = parse_form(content)
            except ValueError as exc:
                raise Violation("form-encoding", str(exc)) from None
            value = self.coercer.coerce(decoded, schema)
            expected = self.sent.get("__body__")
            if expected is not None and drop_empty(expected) != value:
                raise Violation(
                    "form-roundtrip", f"sent {drop_empty(expected)!r:.300} decoded {value!r:.300}"
                )
        elif media == "multipart/form-data":
            value = self.coercer.coerce(_parse_multipart(ctype, content), schema)
        elif media.endswith("json"):
            try:
                value = json.loads(content)
            except ValueError as exc:
                raise Violation("json", str(exc)) from None
        else:
            return  # text/binary bodies: the media type is what can be checked
        self._validate(ptr, value, "body")

    def respond(self) -> httpx.Response:
        r = _success(self.op)
        if r is None or r.kind == "empty":
            return httpx.Response(
                204 if r is None or r.status == "default" else int(r.status.replace("XX", "00"))
            )
        status = 200 if r.status in ("default", "2XX") else int(r.status)
        if r.kind == "binary":
            return httpx.Response(
                status,
                content=b"\x00binary",
                headers={"content-type": r.content_type or "application/octet-stream"},
            )
        if r.kind == "text":
            return httpx.Response(
                status, text="text", headers={"content-type": r.content_type or "text/plain"}
            )
        node, _ = self.spec.response(self.op, r.status)
        content = node.get("content") or {}
        ctype = r.content_type or "application/json"
        schema = (content.get(ctype) or next(iter(content.values()), {})).get("schema") or {}
        if r.kind == "sse":
            ev_schema = schema
            data = self._synth(ev_schema)
            self.answer = data
            payload = f"data: {json.dumps(data)}\n\ndata: [DONE]\n\n".encode()
            return httpx.Response(status, content=payload, headers={"content-type": "text/event-stream"})
        data = self._synth(schema)
        self.answer = data
        return httpx.Response(
            status, content=json.dumps(data).encode(), headers={"content-type": "application/json"}
        )

    def _synth(self, schema: Any) -> Any:
        for attempt in range(5):
            try:
                return Synth(self.spec, randomly(self.seed * 31 + attempt), max_depth=3).value(schema)
            except Unsatisfiable:
                continue
        raise Violation("synth", "no response value within the depth bound")


def _types_of(s: Any) -> list[str]:
    from ._schema import _types

    return _types(s) if isinstance(s, dict) else []


def _parse_multipart(ctype: str, content: bytes) -> dict[str, Any]:
    msg = email.parser.BytesParser().parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + content)
    pairs: list[tuple[str, Any]] = []
    files: dict[str, Any] = {}
    for part in msg.get_payload() or []:
        name = part.get_param("name", header="content-disposition")
        if part.get_param("filename", header="content-disposition") is not None:
            files.setdefault(name, []).append("binary")
        else:
            pairs.append((name, part.get_payload(decode=True).decode()))
    out = decode_brackets(pairs)
    for name, values in files.items():
        out[name] = values[0] if len(values) == 1 else values
    return out


def _arguments(
    spec: Spec, op: Operation, seed: int, optional: int
) -> tuple[list[Any], dict[str, Any], dict[str, Any]]:
    """Positional path values, keyword arguments, and what the body should decode to."""
    choose = randomly(seed)
    synth = Synth(spec, choose, max_depth=2, optional=4, request=True)
    raw = spec.raw_params(op)
    args = []
    for p in op.path_params:
        node, _ = raw[("path", p.wire)]
        schema = spec.deref(node.get("schema") or {})
        value = synth.value(schema, 0, p.wire)
        if isinstance(value, str):
            value = value or "x"
            if not p.multi_segment:
                value = value.replace("/", "_")
        args.append(value)
    kwargs: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    candidates: list[tuple[Any, Any]] = []
    for p in op.params:
        if p.location == "path":
            continue
        node, _ = raw[(p.location, p.wire)]
        if p.required:
            kwargs[p.name] = synth.value(node.get("schema") or {}, 0, p.wire)
        elif p.wire not in _NEVER_OPTIONAL and not p.deprecated:
            candidates.append((p, node.get("schema") or {}))
    body_node, _ = spec.request_body(op)
    if op.body is not None and body_node is not None:
        content = body_node.get("content") or {}
        schema = spec.deref(
            (content.get(op.body.content_type) or next(iter(content.values()))).get("schema") or {}
        )
        meta["__body_required__"] = bool(op.body.required)
        if op.body.fields is None:
            if op.body.kind in ("json", "form", "multipart"):
                kwargs["body"] = synth.value(schema, 0, "body")
            elif op.body.kind == "text":
                kwargs["body"] = "text"
            else:
                kwargs["body"] = b"binary"
        else:
            props = _merged_props(spec, schema)
            # what the schema requires once a body is sent (the IR relaxes it when the body is optional)
            schema_required = set(schema.get("required") or [])
            for f in op.body.fields:
                prop = props.get(f.wire, {})
                if f.required or f.wire in schema_required:
                    kwargs[f.name] = synth.value(prop, 1, f.wire)
                elif f.wire not in _NEVER_OPTIONAL and not f.deprecated:
                    candidates.append((f, prop))
    for _ in range(min(optional, len(candidates))):
        p, s = candidates.pop(choose(len(candidates)))
        kwargs[p.name] = synth.value(s, 1, p.wire)
    if op.body is not None and op.body.kind == "form":
        names = {f.name: f.wire for f in op.body.fields or []}
        if op.body.fields is None:
            meta["__body__"] = kwargs.get("body")
        else:
            meta["__body__"] = {names[k]: v for k, v in kwargs.items() if k in names}
    return args, kwargs, meta


def _merged_props(spec: Spec, schema: Any) -> dict[str, Any]:
    s = spec.deref(schema)
    props = dict(s.get("properties") or {})
    for part in s.get("allOf") or []:
        props.update(_merged_props(spec, part))
    return props


def _client(spec: Spec, checker_box: list[Checker]) -> Any:
    pkg = importlib.import_module(spec.ir.package)
    cls = getattr(pkg, spec.ir.client_class)

    def handler(request: httpx.Request) -> httpx.Response:
        return checker_box[0](request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    # strict: every answer must match the pinned spec exactly (issue 11), not just be readable
    client = cls(api_key="sk_test_contract", http_client=http, max_retries=0, rate_limit=None, strict=True)
    return client, http


async def run_spec(spec: Spec, *, seeds: int = 1, optional: int = 3, only: set[str] | None = None) -> Report:
    """Exercise every operation of one pinned spec (``seeds`` argument sets each)."""
    report = Report(spec.provider, spec.version)
    models = importlib.import_module(spec.ir.package + ".models")
    box: list[Checker] = []
    client, http = _client(spec, box)
    base_path = httpx.URL(client.base_url).path.rstrip("/")
    try:
        for chain, op in operations(spec):
            if only and op.name not in only:
                continue
            outcome = Outcome(f"{op.method} {op.path} ({'.'.join(chain)}.{op.name})")
            report.outcomes.append(outcome)
            for seed in range(seeds):
                await _one(spec, client, chain, op, seed, optional, box, base_path, models, outcome)
                if outcome.cause:
                    break
    finally:
        await client.aclose()
        await http.aclose()
    return report


async def _one(
    spec: Spec,
    client: Any,
    chain: tuple[str, ...],
    op: Operation,
    seed: int,
    optional: int,
    box: list[Checker],
    base_path: str,
    models: Any,
    outcome: Outcome,
) -> None:
    from usepolvo.core import APIError

    try:
        args, kwargs, meta = _arguments(
            spec, op, seed * 1000 + zlib.crc32(op.operation_id.encode()) % 1000, optional
        )
    except Unsatisfiable as exc:
        outcome.cause, outcome.detail = "synth", f"arguments: {exc}"
        return
    checker = Checker(spec, op, meta, seed)
    checker.base_path = base_path
    if op.server:
        checker.base_path = httpx.URL(op.server).path.rstrip("/")
    box[:] = [checker]
    target: Any = client
    for attr in chain:
        target = getattr(target, attr)
    method = getattr(target, op.name)
    outcome.exercised = True
    try:
        result = method(*args, **kwargs)
        if op.paging is not None:
            page = await result
            value: Any = page.data
            declared: Any = None
            ok = all(conforms(v, op.paging.item, models) for v in value)
        else:
            value = await result
            r = _success(op)
            ok = True
            if hasattr(value, "__aiter__"):
                events = [e async for e in value]
                ok = all(conforms(e, r.events or r.ty, models) for e in events) if r is not None else True
            elif r is not None and r.kind == "json":
                declared = r.ty
                ok = conforms(value, declared, models)
    except APIError as exc:
        if checker.error is not None:
            outcome.cause, outcome.detail = checker.error.cause, checker.error.detail
        else:
            outcome.accepted = checker.accepted
            outcome.cause, outcome.detail = "parse", f"{type(exc).__name__}: {exc}"[:400]
        return
    except Exception as exc:  # noqa: BLE001 - every other failure is a finding
        outcome.accepted = checker.accepted
        where = "call" if not checker.accepted and checker.error is None else "parse"
        if checker.error is not None:
            outcome.cause, outcome.detail = checker.error.cause, checker.error.detail
        else:
            tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
            outcome.cause, outcome.detail = where, tb[:400]
        return
    outcome.accepted = checker.accepted
    if not ok:
        outcome.cause, outcome.detail = "type", f"parsed {type(value).__name__} is not the declared type"
        return
    outcome.parsed = True


def run(spec: Spec, **kw: Any) -> Report:
    return asyncio.run(run_spec(spec, **kw))
