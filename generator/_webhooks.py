"""Webhooks: the events a spec describes → typed IR → the generated ``webhooks.py``.

A provider opts in with a ``[webhooks]`` table in ``specs/<provider>/provider.toml``:

- ``scheme``: how requests are signed — ``stripe``, ``standard`` (Standard Webhooks),
  ``github`` or ``hmac`` — plus optional overrides (``signature_header``,
  ``timestamp_header``, ``id_header``, ``prefix``, ``encoding``, ``algorithm``,
  ``tolerance``) and ``secret_env``, the variable holding the signing secret;
- events described by the spec's ``webhooks`` (OpenAPI 3.1) or ``x-webhooks`` section
  (``section`` to name another): each entry's JSON request body is its event model, found
  at run time by ``event_header`` (the header naming the event, its value taken from the
  entry's header parameter example) and ``event_field`` (the body field naming the
  action or type, its values from the schema's enum/const; none means any value);
- or, for providers that wrap every event in one envelope object (Stripe): ``envelope``
  (the component schema of the envelope), ``object_path`` (where the resource sits) and
  ``object_field`` (the field naming the resource's type): every component schema with an
  enum on that field becomes a candidate, so the resource decodes into its own model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from ._codegen import ModuleCode, split_union
from ._ir import ModelTy, Resource, Ty, UnionTy
from ._loader import Document
from ._naming import pascal, py_identifier
from ._pins import PinError
from ._schemas import SchemaConverter, first_paragraph

if TYPE_CHECKING:
    from ._ir import Provider
    from ._render import Renderer

__all__ = ["WebhookEvent", "WebhookObject", "WebhooksIR", "build_webhooks", "render_webhooks"]

SCHEMES = ("github", "hmac", "standard", "stripe")
_SCHEME_KEYS: dict[str, type | tuple[type, ...]] = {
    "signature_header": str,
    "timestamp_header": str,
    "id_header": str,
    "prefix": str,
    "encoding": str,
    "algorithm": str,
    "tolerance": (int, float),
    "secret_env": str,
}
_DISPATCH_KEYS: dict[str, type | tuple[type, ...]] = {
    "scheme": str,
    "section": str,
    "event_header": str,
    "event_field": str,
    "envelope": str,
    "object_path": list,
    "object_field": str,
}
_METHODS = ("post", "put", "patch", "get", "delete")


@attrs.define
class WebhookEvent:
    """One event of the spec: where it is described and how it is recognised."""

    key: str  # the spec's name for it (``push``, ``batch_completed``)
    event: str  # the event header's value ("" when the provider names events in the body)
    action: str | None  # the event field's value; None matches any
    ty: Ty
    description: str = ""


@attrs.define
class WebhookObject:
    """A resource type an envelope can carry: the value of its type field and its model."""

    value: str
    ty: Ty


@attrs.define
class WebhooksIR:
    """What ``webhooks.py`` is rendered from."""

    scheme: str
    options: dict[str, Any]
    class_name: str
    event_header: str | None = None
    event_field: str | None = None
    events: list[WebhookEvent] = attrs.field(factory=list)
    envelope: ModelTy | None = None
    envelope_consts: dict[str, object] = attrs.field(factory=dict)
    object_path: tuple[str, ...] = ()
    object_field: str = "object"
    objects: list[WebhookObject] = attrs.field(factory=list)


def _check(table: Any, label: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise PinError(f"{label}: [webhooks] must be a table")
    known = _SCHEME_KEYS | _DISPATCH_KEYS
    for key, value in table.items():
        if key not in known:
            raise PinError(f"{label}: unknown [webhooks] key {key!r} (known: {', '.join(sorted(known))})")
        if not isinstance(value, known[key]) or isinstance(value, bool):
            raise PinError(f"{label}: [webhooks] {key} has the wrong type ({type(value).__name__})")
    if table.get("scheme") not in SCHEMES:
        raise PinError(f"{label}: [webhooks] scheme must be one of {', '.join(SCHEMES)}")
    if table["scheme"] == "hmac" and "signature_header" not in table:
        raise PinError(f"{label}: [webhooks] scheme 'hmac' needs signature_header")
    if table.get("encoding", "hex") not in ("hex", "base64"):
        raise PinError(f"{label}: [webhooks] encoding must be 'hex' or 'base64'")
    return table


def build_webhooks(
    doc: Document, schemas: SchemaConverter, config: dict[str, Any], root: Resource
) -> WebhooksIR | None:
    """The provider's webhook IR, or None when its config has no ``[webhooks]`` table."""
    if config.get("webhooks") is None:
        return None
    label = f"specs/{config.get('name')}/provider.toml"
    table = _check(config["webhooks"], label)
    if any(res.attr == "webhooks" for res in root.children.values()):
        raise PinError(f"{label}: a resource is already called `webhooks`; rename it in [naming_overrides]")
    ir = WebhooksIR(
        scheme=table["scheme"],
        options={k: v for k, v in table.items() if k in _SCHEME_KEYS},
        class_name=str(config["client_class"]).removesuffix("Client") + "Webhooks",
        event_header=table.get("event_header"),
        event_field=table.get("event_field"),
    )
    if "envelope" in table:
        _envelope(doc, schemas, table, ir, label)
    else:
        _events(doc, schemas, table, ir)
    return ir


# -- events described by a webhooks section ------------------------------------------------


def _events(doc: Document, schemas: SchemaConverter, table: dict[str, Any], ir: WebhooksIR) -> None:
    name = table.get("section") or ("webhooks" if "webhooks" in doc.root else "x-webhooks")
    section = doc.root.get(name) or {}
    grouped: dict[tuple[str, str | None], list[WebhookEvent]] = {}
    for key, item in section.items():
        item = doc.deref(item)
        if not isinstance(item, dict):
            continue
        for method in _METHODS:
            op = doc.deref(item.get(method))
            if not isinstance(op, dict):
                continue
            schema = _json_body(doc, op)
            if schema is None:
                continue
            hint = "Webhook" + pascal(key)
            ty = schemas.convert(schema, hint, py_identifier(hint))
            event = _header_value(doc, op, ir.event_header, key) if ir.event_header else ""
            actions: list[str | None] = (
                list(_field_values(doc, schema, ir.event_field)) if ir.event_field else []
            )
            desc = first_paragraph(op.get("description") or op.get("summary"), 200)
            for action in actions or [None]:
                grouped.setdefault((event, action), []).append(WebhookEvent(key, event, action, ty, desc))
    for (event, action), found in grouped.items():
        tys: list[Ty] = []
        for f in found:
            for t in f.ty.variants if isinstance(f.ty, UnionTy) else (f.ty,):
                if t not in tys:
                    tys.append(t)
        ty = tys[0] if len(tys) == 1 else UnionTy(tuple(tys))
        ir.events.append(WebhookEvent(found[0].key, event, action, ty, found[0].description))


def _json_body(doc: Document, op: dict[str, Any]) -> Any:
    body = doc.deref(op.get("requestBody"))
    content = body.get("content") if isinstance(body, dict) else None
    if not isinstance(content, dict):
        return None
    media = next((m for m in content if m.split(";")[0].strip() == "application/json"), None)
    media = media or next((m for m in content if "json" in m), None)
    if media is None or not isinstance(content[media], dict):
        return None
    return content[media].get("schema")


def _header_value(doc: Document, op: dict[str, Any], header: str | None, key: str) -> str:
    """The event header's value for an entry: its parameter's example (else the entry key)."""
    for p in op.get("parameters") or []:
        p = doc.deref(p)
        if not isinstance(p, dict) or p.get("in") != "header":
            continue
        if str(p.get("name", "")).lower() != str(header).lower():
            continue
        schema = doc.deref(p.get("schema")) or {}
        for value in (p.get("example"), schema.get("const"), schema.get("example"), *schema.get("enum", [])):
            if isinstance(value, str) and value:
                return value
    return key


def _field_values(doc: Document, schema: Any, field: str | None, depth: int = 0) -> list[str]:
    """The values the schema allows for ``field`` (enum/const), through unions and allOf."""
    s = doc.deref(schema)
    if not isinstance(s, dict) or depth > 8 or field is None:
        return []
    out: list[str] = []
    prop = doc.deref((s.get("properties") or {}).get(field))
    if isinstance(prop, dict):
        values = [prop["const"]] if "const" in prop else prop.get("enum") or []
        out.extend(v for v in values if isinstance(v, str))
    for key in ("oneOf", "anyOf", "allOf"):
        for part in s.get(key) or []:
            out.extend(_field_values(doc, part, field, depth + 1))
    return list(dict.fromkeys(out))


# -- envelope events (Stripe) -----------------------------------------------------------------


def _envelope(
    doc: Document, schemas: SchemaConverter, table: dict[str, Any], ir: WebhooksIR, label: str
) -> None:
    components = (doc.root.get("components") or {}).get("schemas") or {}
    envelope = table["envelope"]
    if envelope not in components:
        raise PinError(f"{label}: [webhooks] envelope {envelope!r} is not a component schema")
    ty = schemas.ref(f"#/components/schemas/{envelope}")
    if not isinstance(ty, ModelTy):
        raise PinError(f"{label}: [webhooks] envelope {envelope!r} is not an object schema")
    ir.envelope = ty
    ir.envelope_consts = dict(schemas.models[ty.name].consts)
    ir.object_path = tuple(str(p) for p in table.get("object_path", ["data", "object"]))
    ir.object_field = str(table.get("object_field", "object"))
    by_value: dict[str, list[Ty]] = {}
    for key in sorted(components):
        s = doc.deref(components[key])
        prop = doc.deref((s.get("properties") or {}).get(ir.object_field)) if isinstance(s, dict) else None
        if not isinstance(prop, dict):
            continue
        values = [prop["const"]] if "const" in prop else prop.get("enum") or []
        values = [v for v in values if isinstance(v, str)]
        if not values:
            continue
        model = schemas.ref(f"#/components/schemas/{key}")
        if not isinstance(model, ModelTy):
            continue
        for v in values:
            by_value.setdefault(v, []).append(model)
    for value, tys in sorted(by_value.items()):
        ir.objects.append(WebhookObject(value, tys[0] if len(tys) == 1 else UnionTy(tuple(tys))))


# -- rendering ----------------------------------------------------------------------------------


def _members(code: ModuleCode, tys: list[Ty]) -> list[str]:
    """The annotation members of a union of ``tys``, deduplicated, in order."""
    out: list[str] = []
    for ty in tys:
        for part in split_union(code.ann(ty)):
            if part not in out:
                out.append(part)
    return out


def render_webhooks(r: Renderer, provider: Provider, ctx: dict[str, Any]) -> str:
    """The source of ``usepolvo/<provider>/v<version>/webhooks.py``."""
    from ._render import imports

    ir: WebhooksIR | None = provider.webhooks
    assert ir is not None
    code = ModuleCode(provider.models, "webhooks")
    events = []
    for e in ir.events:
        events.append(
            {"event": e.event, "action": e.action, "decoder": code.function(code.decode(e.ty, "v"))}
        )
    objects = [{"value": o.value, "decoder": code.function(code.decode(o.ty, "v"))} for o in ir.objects]
    envelope = None
    if ir.envelope is not None:
        envelope = {
            "name": code.ann(ir.envelope),
            "decoder": code.function(code.decode(ir.envelope, "v")),
            "consts": ir.envelope_consts,
        }
        members = _members(code, [o.ty for o in ir.objects])
    else:
        members = [*_members(code, [e.ty for e in ir.events]), "UnknownWebhookEvent"]
    runtime = [f"_m.{m}" if m in code.type_names else m for m in members]
    core = {"UnknownWebhookEvent", "WebhookScheme", "EnvelopeWebhooks" if envelope else "Webhooks"}
    code.imports = imports(code, typing={"TYPE_CHECKING", "Any", "cast"}, core=core)
    code.type_imports = sorted(code.type_names)
    return r.render(
        "webhooks.py.jinja",
        ir=ir,
        code=code,
        events=events,
        objects=objects,
        envelope=envelope,
        members=members,
        runtime_members=runtime,
        **ctx,
    )


def render_provider_webhooks(r: Renderer, provider: Provider, default_module: str) -> str:
    """``usepolvo/<provider>/webhooks.py``: the default pin's webhooks, re-exported."""
    ir: WebhooksIR | None = provider.webhooks
    assert ir is not None
    return r.render("provider_webhooks.py.jinja", provider=provider, ir=ir, default_module=default_module)
