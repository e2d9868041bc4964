"""Paths → operations grouped into resources, named by the provider's naming strategy.

Strategies (``naming`` in ``provider.toml``):

- ``path`` (Stripe, no tags): the resource is the chain of literal path segments; the verb
  comes from the method and the path's shape — ``GET /v1/customers`` → ``customers.
  list_customers``, ``POST /v1/charges/{charge}/capture`` → ``charges.capture_charge``.
- ``operation_id`` (GitHub): ``issues/list-for-repo`` → ``issues.list_for_repo``.
- ``operation_id_path`` (OpenAI): resource from the first path segment, method from the
  operation id: ``GET /models`` (``listModels``) → ``models.list_models``.

``naming_overrides`` maps an operation id to ``"resource.path:method"`` for the rare
operation the rules name badly; every override carries its reason in the TOML.
"""

from __future__ import annotations

import re
from typing import Any

from ._ir import (
    ANY,
    Body,
    ListTy,
    ModelTy,
    NullableTy,
    Operation,
    Paging,
    Param,
    PrimTy,
    Resource,
    Response,
    Ty,
    UnionTy,
)
from ._loader import Document
from ._naming import pascal, py_identifier, singular
from ._paging import resolve as resolve_paging
from ._schemas import SchemaConverter, full_text, rename_dicts
from ._security import requirement

__all__ = ["GenerationError", "OperationBuilder"]

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
_RESERVED_PARAMS = {"self", "request_options", "page", "size"}


class GenerationError(Exception):
    """The spec cannot be generated as configured (e.g. two operations share a name)."""


def _json_type(ct: str) -> bool:
    ct = ct.split(";")[0].strip().lower()
    return ct == "application/json" or ct.endswith("+json") or (ct == "*/*" and False)


class OperationBuilder:
    def __init__(self, doc: Document, schemas: SchemaConverter, config: dict[str, Any]) -> None:
        self.doc = doc
        self.schemas = schemas
        self.config = config
        self.prefix = str(config.get("path_prefix", "")).rstrip("/")
        self.overrides: dict[str, str] = dict(config.get("naming_overrides") or {})
        paths = doc.root.get("paths") or {}
        self.paths: dict[str, Any] = paths
        self._collections: set[tuple[str, ...]] = set()
        for path in paths:
            segs = self._segments(path)
            for i in range(len(segs) - 1):
                if not _is_param(segs[i]) and _is_param(segs[i + 1]):
                    self._collections.add(tuple(s for s in segs[: i + 1] if not _is_param(s)))
        self.documented_bodies = 0
        self.represented_bodies = 0
        #: operation ids generated without some of their parameters, body or responses
        self.incomplete: set[str] = set()

    def _segments(self, path: str) -> list[str]:
        rest = path[len(self.prefix) :] if self.prefix and path.startswith(self.prefix) else path
        return [s for s in rest.strip("/").split("/") if s]

    # -- main loop ---------------------------------------------------------------------

    def build(self) -> tuple[Resource, int]:
        root = Resource(path=(), attr="", class_name="", module="")
        seen: dict[tuple[tuple[str, ...], str], str] = {}
        count = 0
        for path, item in self.paths.items():
            item = self.doc.deref(item)
            shared = item.get("parameters") or []
            for method in METHODS:
                if method not in item:
                    continue
                count += 1
                op = self._operation(path, method, item[method], shared, item.get("servers"))
                key = (op.resource, op.name)
                if key in seen and not item[method].get("operationId"):
                    # no id to tell them apart: the method does (``delete_…`` beside ``create_…``)
                    verb = {"post": "create", "put": "replace", "patch": "update"}.get(method, method)
                    op.name = f"{verb}_{op.name}" if not op.name.startswith(verb) else f"{method}_{op.name}"
                    key = (op.resource, op.name)
                if key in seen:
                    raise GenerationError(
                        f"{method.upper()} {path} and {seen[key]} both map to "
                        f"{'.'.join(op.resource)}.{op.name}: add a naming_overrides entry "
                        "for one of them in the provider's provider.toml"
                    )
                seen[key] = f"{method.upper()} {path}"
                self._resource(root, op.resource).operations.append(op)
        renames = self.schemas.name_request_dicts()
        stack = [root]
        while stack:
            res = stack.pop()
            stack.extend(res.children.values())
            for op in res.operations:
                for p in [*op.params, *(op.body.fields or [] if op.body else [])]:
                    p.ty = rename_dicts(p.ty, renames)
                if op.body is not None and op.body.ty is not None:
                    op.body.ty = rename_dicts(op.body.ty, renames)
        return root, count

    def _resource(self, root: Resource, path: tuple[str, ...]) -> Resource:
        node = root
        for i, part in enumerate(path):
            attr = py_identifier(part)
            if attr not in node.children:
                chain = path[: i + 1]
                node.children[attr] = Resource(
                    path=chain,
                    attr=attr,
                    class_name=pascal("_".join(chain)) + "Resource",
                    module="_".join(py_identifier(p) for p in chain),
                )
            node = node.children[attr]
        return node

    # -- one operation -----------------------------------------------------------------

    def _operation(
        self, path: str, method: str, op: dict[str, Any], shared: list[Any], servers: Any
    ) -> Operation:
        op_id = str(op.get("operationId") or f"{method}_{path}")
        dicts_before = set(self.schemas.request_dicts)
        params = self._params(op_id, shared, op.get("parameters") or [])
        responses, error = self._responses(op_id, op)
        paging = self._paging(params, responses, op, op_id, method)
        resource, name = self._name(path, method, op, op_id, paging, responses)
        # what the body's TypedDicts are named after when nothing better names them: the
        # method, with its resource unless the method names it (``CreateCustomer``, ``IssuesCreate``)
        noun = singular(py_identifier(resource[-1])) if resource else ""
        hint = pascal(name if not noun or noun in name else f"{resource[-1]}_{name}")
        body = self._body(op.get("requestBody"), method, hint, params)
        self._home_request_dicts(dicts_before, resource, (op_id, hint))
        own_servers = op.get("servers") or servers
        srv = _server_url(own_servers[0], self.doc.root) if own_servers else None
        ext = op.get("externalDocs") or {}
        docs = ext.get("url") or self._docs(resource, name, op, op_id)
        if paging is not None and paging.native_page is not None:
            params = [p for p in params if p is not paging.native_page]
        return Operation(
            operation_id=op_id,
            method=method.upper(),
            path=path,
            resource=resource,
            name=name,
            summary=str(op.get("summary") or "").strip(),
            description=str(op.get("description") or "").strip(),
            docs_url=docs,
            params=params,
            body=body,
            responses=responses,
            error=error,
            paging=paging,
            server=srv if srv and srv.rstrip("/") != self._base_url() else None,
            deprecated=bool(op.get("deprecated")),
            accept=_accept(responses),
            security=requirement(op.get("security")) if self.config.get("auth") == "spec" else None,
        )

    def _home_request_dicts(
        self, before: set[str], resource: tuple[str, ...], hints: tuple[str, ...]
    ) -> None:
        """The inline request ``TypedDict``s an operation introduced live in its resource's
        ``params`` module (``params/customers.py``), not in one module per operation."""
        own = {py_identifier(h, prefix="m_") for h in hints}
        home = "_".join(py_identifier(p) for p in resource) or "default"
        for name, rd in self.schemas.request_dicts.items():
            if name not in before and not rd.source and rd.module in own:
                rd.module = home

    def _base_url(self) -> str:
        servers = self.doc.root.get("servers") or [{}]
        return str(servers[0].get("url", "")).rstrip("/")

    def _docs(self, resource: tuple[str, ...], name: str, op: dict[str, Any], op_id: str) -> str:
        """The operation's page: ``docs_template`` filled in, else ``docs_url``.

        Template fields: ``{resource}`` (last resource segment), ``{verb}`` (the method
        name's first word), ``{operation_id}``, ``{tag}`` (first tag, lower-case), and
        ``{x-ext.key}`` (a key of the operation's vendor extension); ``{a|b}`` takes the
        first that is set. A field no alternative fills falls back to ``docs_url``.
        """
        template = self.config.get("docs_template")
        fallback = str(self.config.get("docs_url", ""))
        if not template or not resource:
            return fallback
        tags = op.get("tags") or []
        known = {
            "resource": resource[-1],
            "verb": name.split("_", 1)[0],
            "operation_id": op_id,
            "tag": str(tags[0]).lower().replace(" ", "-") if tags else None,
        }

        def field(m: re.Match[str]) -> str:
            for alt in m.group(1).split("|"):
                ext, _, key = alt.partition(".")
                value = (op.get(ext) or {}).get(key) if alt.startswith("x-") and key else known.get(alt)
                words = str(value).split() if isinstance(value, (str, int)) else []
                if words and re.fullmatch(r"[\w./-]+", words[0]):  # a slug, not stray prose
                    return words[0]
            raise KeyError(m.group(1))

        try:
            return re.sub(r"\{([^{}]+)\}", field, str(template))
        except KeyError:
            return fallback

    def _params(self, op_id: str, shared: list[Any], own: list[Any]) -> list[Param]:
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for raw in [*shared, *own]:
            p = self.doc.deref(raw)
            if not isinstance(p, dict) or not isinstance(p.get("name"), str) or "in" not in p:
                raise GenerationError(f"{op_id}: a parameter without `name` and `in`: {str(p)[:200]}")
            merged[(p["name"], p["in"])] = p
        params: list[Param] = []
        used: set[str] = set()
        for (wire, loc), p in merged.items():
            if loc == "cookie":
                self.incomplete.add(op_id)  # not sent: the operation does not count as generated
                continue
            name = py_identifier(wire)
            while name in used or (name in _RESERVED_PARAMS and not (name == "page" and loc == "query")):
                name += "_"
            used.add(name)
            self.schemas.wire_context = wire
            ty = self.schemas.convert(
                p.get("schema") or _content_schema(p),
                pascal(op_id) + pascal(wire),
                py_identifier(op_id, prefix="m_"),
                request=True,
            )
            style = p.get("style") or ("form" if loc == "query" else "simple")
            if style == "form" and p.get("explode") is False:
                style = "form-flat"
            params.append(
                Param(
                    wire=wire,
                    name=name,
                    location=loc,
                    ty=ty,
                    required=bool(p.get("required")) or loc == "path",
                    description=full_text(p.get("description")),
                    style=style,
                    multi_segment=bool(p.get("x-multi-segment")),
                    deprecated=bool(p.get("deprecated")),
                )
            )
        # path parameters in the order they appear in the path
        return params

    def _body(self, raw: Any, method: str, hint: str, params: list[Param]) -> Body | None:
        if not raw:
            return None
        rb = self.doc.deref(raw)
        content = rb.get("content") or {}
        if not content:
            return None
        order = ["application/x-www-form-urlencoded", "application/json", "multipart/form-data"]
        ct = next((c for c in order if c in content), None) or next(
            (c for c in content if _json_type(c)), next(iter(content))
        )
        if ct == "application/json" and "multipart/form-data" in content:
            # a JSON alternative cannot carry the file fields: send those bodies as multipart
            js = self.doc.deref((content[ct] or {}).get("schema") or {})
            js_props = [
                self.doc.deref(p)
                for p in ((js.get("properties") if isinstance(js, dict) else None) or {}).values()
            ]
            if any(self._file_shape(p) for p in js_props):
                ct = "multipart/form-data"
        media = content[ct] or {}
        schema = media.get("schema") or {}
        s = self.doc.deref(schema)
        kind = {"application/x-www-form-urlencoded": "form", "multipart/form-data": "multipart"}.get(ct)
        if kind is None:
            if _json_type(ct):
                kind = "json"
            elif ct.startswith("text/"):
                kind = "text"
            else:
                kind = ct
        required = bool(rb.get("required"))
        is_object = isinstance(s, dict) and (s.get("type") == "object" or "properties" in s or "allOf" in s)
        if (
            kind in ("form", "json", "multipart")
            and is_object
            and not any(k in s for k in ("anyOf", "oneOf"))
        ):
            merged = self.schemas._merge_all_of(s) if "allOf" in s else s
            props = merged.get("properties") or {}
            if not props and merged.get("additionalProperties") in (False, None):
                if method in ("get", "delete", "head") or not required:
                    return None
                return Body(ct, kind, required, [])
            if props:
                req = set(merged.get("required") or [])
                used = {p.name for p in params}
                fields = []
                for wire, prop in props.items():
                    name = py_identifier(wire)
                    if name in used or name in _RESERVED_PARAMS:
                        name = py_identifier("body_" + wire)
                    used.add(name)
                    pd = self.doc.deref(prop)
                    self.schemas.wire_context = wire
                    ty = self.schemas.convert(
                        prop, hint + pascal(wire), py_identifier(hint, prefix="m_"), request=True
                    )
                    shape = self._file_shape(pd) if kind == "multipart" else None
                    if shape is not None:
                        ty = shape
                    fields.append(
                        Param(
                            wire=wire,
                            name=name,
                            location="body",
                            ty=ty,
                            required=wire in req,
                            description=full_text(pd.get("description") if isinstance(pd, dict) else ""),
                            deprecated=isinstance(pd, dict) and bool(pd.get("deprecated")),
                        )
                    )
                return Body(ct, kind, required, fields)
        whole: Ty
        if kind not in ("form", "json", "multipart", "text"):
            whole = PrimTy("file")
        else:
            self.schemas.wire_context = ""
            whole = self.schemas.convert(
                schema, hint + "Body", py_identifier(hint, prefix="m_"), request=True
            )
        return Body(ct, kind, required, None, whole)

    def _responses(self, op_id: str, op: dict[str, Any]) -> tuple[list[Response], Ty | None]:
        out: list[Response] = []
        error: Ty | None = None
        hint = pascal(op_id) + "Response"
        for status, raw in (op.get("responses") or {}).items():
            status = str(status)
            r = self.doc.deref(raw)
            content = r.get("content") or {}
            if content:
                self.documented_bodies += 1
            ct = next((c for c in content if _json_type(c)), None)
            kind = "json"
            if ct is None and content:
                ct = next(iter(content))
                base = ct.split(";")[0].strip()
                if base == "text/event-stream":
                    kind = "sse"
                elif base.startswith("text/") or base in ("application/x-ndjson",):
                    kind = "text"
                else:
                    kind = "binary"
            if not content:
                out.append(Response(status, None, "empty", None))
                continue
            schema = (content[ct] or {}).get("schema")
            ty: Ty | None = None
            if kind in ("json", "sse"):
                suffix = "" if status.startswith("2") else status.capitalize()
                ty = (
                    self.schemas.convert(
                        schema, hint + suffix, py_identifier(hint, prefix="m_"), request=False
                    )
                    if schema
                    else ANY
                )
            if kind == "binary":
                ty = PrimTy("bytes")
            if kind == "text":
                ty = PrimTy("str")
            events: Ty | None = None
            sse_ct = next((c for c in content if c.split(";")[0].strip() == "text/event-stream"), None)
            if kind != "sse" and sse_ct is not None and status.startswith("2"):
                sse_schema = (content[sse_ct] or {}).get("schema")
                events = (
                    self.schemas.convert(
                        sse_schema, hint + "Event", py_identifier(hint, prefix="m_"), request=False
                    )
                    if sse_schema
                    else ANY
                )
            out.append(Response(status, ct, kind, ty, events))
            self.represented_bodies += 1
            if not status.startswith("2") and error is None and kind == "json" and ty is not None:
                error = ty
        if not any(r.status.startswith("2") for r in out) and any(r.status.startswith("3") for r in out):
            # documented only as a redirect (GitHub's archive and log downloads): the client
            # follows it and the download is the body, bytes whatever its media type
            out.append(Response("2XX", None, "binary", PrimTy("bytes")))
        return out, error

    # -- pagination --------------------------------------------------------------------

    def _paging(
        self, params: list[Param], responses: list[Response], op: dict[str, Any], op_id: str, method: str
    ) -> Paging | None:
        ok = next((r for r in responses if r.status in ("200", "2XX")), None)
        if ok is None or ok.kind != "json" or ok.ty is None:
            return None
        styles = self.config.get("pagination")
        raw_ok = self.doc.deref((op.get("responses") or {}).get(ok.status) or {})
        found = resolve_paging(
            [] if styles == "none" else styles,
            (self.config.get("pagination_overrides") or {}).get(op_id),
            method=method,
            query={p.wire: p for p in params if p.location == "query"},
            ty=ok.ty,
            models=self.schemas.models,
            link_header=any(h.lower() == "link" for h in (raw_ok.get("headers") or {})),
            raw_params=self._raw_params(op),
        )
        if found is None:
            return None
        style, item, native = found
        return Paging(style, item, native_page=native)

    def _raw_params(self, op: dict[str, Any]) -> dict[str, dict[str, Any]]:
        out = {}
        for raw in op.get("parameters") or []:
            p = self.doc.deref(raw)
            if isinstance(p, dict) and "name" in p:
                out[str(p["name"])] = p
        return out

    # -- naming ------------------------------------------------------------------------

    def _name(
        self,
        path: str,
        method: str,
        op: dict[str, Any],
        op_id: str,
        paging: Paging | None,
        responses: list[Response],
    ) -> tuple[tuple[str, ...], str]:
        if op_id in self.overrides:
            res, _, name = self.overrides[op_id].rpartition(":")
            return tuple(x for x in res.split(".") if x), name
        strategy = self.config.get("naming", "operation_id")
        if strategy == "path" or not op.get("operationId"):  # no id to name it by: its path
            return self._path_name(path, method, paging, responses)
        if strategy == "operation_id":
            group, _, verb = op_id.partition("/")
            if not verb:
                group, verb = (op.get("tags") or ["default"])[0], op_id
            return (py_identifier(group),), py_identifier(verb)
        if strategy == "operation_id_path":
            segs = [s for s in self._segments(path) if not _is_param(s)]
            tags = op.get("tags") or []
            group = segs[0] if segs else (tags[0] if tags else "default")
            return (py_identifier(group),), py_identifier(op_id)
        raise GenerationError(f"unknown naming strategy {strategy!r}")

    def _file_shape(self, s: Any) -> Ty | None:
        """The upload type of a multipart field: a file, a list of files, or either
        (``oneOf: [binary, array of binary]``); ``None`` for a plain field."""
        s = self.doc.deref(s)
        if not isinstance(s, dict):
            return None
        if _is_binary(s):
            return PrimTy("file")
        if s.get("type") == "array" and _is_binary(self.doc.deref(s.get("items") or {})):
            return ListTy(PrimTy("file"))
        options = s.get("oneOf") or s.get("anyOf")
        if isinstance(options, list):
            shapes = [self._file_shape(o) for o in options]
            if shapes and all(shapes):
                found: list[Ty] = []
                for shape in shapes:
                    if shape is not None and shape not in found:
                        found.append(shape)
                return found[0] if len(found) == 1 else UnionTy(tuple(found))
        return None

    def _response_name(self, responses: list[Response]) -> str | None:
        ok = next((r for r in responses if r.status.startswith("2")), None)
        if ok is None or ok.ty is None:
            return None
        ty = ok.ty
        if isinstance(ty, NullableTy):
            ty = ty.inner
        if isinstance(ty, UnionTy):
            ty = ty.variants[0]
        if isinstance(ty, ModelTy):
            model = self.schemas.models[ty.name]
            return model.source.rsplit("/", 1)[-1].replace(".", "_") if model.source else None
        return None

    def _is_list_object(self, responses: list[Response]) -> bool:
        ok = next((r for r in responses if r.status.startswith("2")), None)
        if ok is None or not isinstance(ok.ty, ModelTy):
            return False
        model = self.schemas.models[ok.ty.name]
        wires = {f.wire: f for f in model.fields}
        obj = model.consts.get("object")
        return "data" in wires and "has_more" in wires and obj == "list"

    def _path_name(
        self, path: str, method: str, paging: Paging | None, responses: list[Response]
    ) -> tuple[tuple[str, ...], str]:
        segs = self._segments(path)
        lits = [s for s in segs if not _is_param(s)]
        last = segs[-1]
        ok = next((r for r in responses if r.status.startswith("2")), None)
        binary = ok is not None and ok.kind == "binary"
        if _is_param(last):
            coll = segs[-2]
            verb = {
                "get": "retrieve",
                "post": "update",
                "delete": "delete",
                "put": "replace",
                "patch": "update",
            }[method]
            return tuple(lits), f"{verb}_{singular(coll)}"
        name_of = self._response_name(responses) or ""
        chain = tuple(lits)
        is_list = (paging is not None and paging.native_page is None) or self._is_list_object(responses)
        plural_like = singular(last) != last
        one = singular(last)
        collection = (
            is_list
            or chain in self._collections
            or (plural_like and (name_of in (one, last) or name_of.endswith("_" + one)))
        )
        if collection:
            if method == "get":
                return chain, f"list_{last}" if is_list else f"retrieve_{last}"
            verb = {"post": "create", "delete": "delete", "put": "replace", "patch": "update"}[method]
            return chain, f"{verb}_{singular(last) if method == 'post' else last}"
        has_get = "get" in (self.doc.deref(self.paths[path]) or {})
        if name_of == last or name_of.endswith("_" + last) or (len(segs) == 1 and not binary):
            verb = {
                "get": "retrieve",
                "post": "update" if has_get else "create",
                "delete": "delete",
                "put": "replace",
                "patch": "update",
            }[method]
            return chain, f"{verb}_{last}"
        # an action on a collection or on one object: ``capture`` → ``capture_charge``
        parent_chain = chain[:-1]
        parent = parent_chain[-1] if parent_chain else last
        if binary:
            return parent_chain, f"download_{last}"
        noun = (
            parent
            if (paging is not None or not _is_param(segs[-2])) and paging is not None
            else singular(parent)
        )
        return parent_chain, last if "_" in last else f"{last}_{noun}"


def _server_url(server: dict[str, Any], root: dict[str, Any]) -> str:
    """An operation's server URL; a variable whose default differs from the top-level
    server's (Datadog's ``subdomain: ip-ranges``) is filled in, the rest follow the client."""
    url = str(server.get("url") or "")
    top = ((root.get("servers") or [{}])[0] or {}).get("variables") or {}
    for var, spec in (server.get("variables") or {}).items():
        default = str((spec or {}).get("default", ""))
        if var not in top or str((top[var] or {}).get("default", "")) != default:
            url = url.replace("{" + var + "}", default)
    return url


def _accept(responses: list[Response]) -> str | None:
    """The media type to ask for when the first success body is not plain JSON."""
    ok = next((r for r in responses if r.status.startswith("2") and r.content_type), None)
    if ok is None or ok.content_type is None:
        return None
    ct = ok.content_type.split(";")[0].strip()
    if ct.lower() == "application/json":
        return None
    # a body that may also come as server-sent events (OpenAI speech with stream_format="sse")
    return f"{ct}, text/event-stream" if ok.events is not None else ct


def _is_param(seg: str) -> bool:
    return seg.startswith("{") and seg.endswith("}")


def _is_binary(s: Any) -> bool:
    return isinstance(s, dict) and s.get("type") == "string" and s.get("format") == "binary"


def _content_schema(p: dict[str, Any]) -> Any:
    content = p.get("content") or {}
    for media in content.values():
        return (media or {}).get("schema") or {}
    return {}
