"""The typed intermediate representation the templates render.

Types (``Ty``) describe values as Python sees them; models, operations and resources
describe what gets generated. Nothing here knows about Jinja or about any one provider.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Union

import attrs

if TYPE_CHECKING:
    from ._webhooks import WebhooksIR

# -- types -------------------------------------------------------------------------------


@attrs.frozen
class PrimTy:
    """``str``, ``int``, ``float``, ``bool``, ``None``, ``Any``, ``bytes``; in responses also
    ``datetime`` and ``date`` (``format: date-time`` / ``date`` strings)."""

    name: str


@attrs.frozen
class LiteralTy:
    """A string/number enum or const; ``open`` when unknown values must still be accepted."""

    values: tuple[object, ...]
    base: str = "str"
    open: bool = False


@attrs.frozen
class UnixTimeTy:
    """Unix seconds on the wire, ``datetime`` in Python."""


@attrs.frozen
class ListTy:
    item: Ty


@attrs.frozen
class MapTy:
    value: Ty


@attrs.frozen
class ModelTy:
    name: str


@attrs.frozen
class DictTy:
    """A request object typed as the ``TypedDict`` ``name`` (in the version's ``params``
    package); ``model``: the component's attrs model, also accepted in its place."""

    name: str
    model: str | None = None


@attrs.frozen
class UnionTy:
    """``anyOf``/``oneOf``; ``discriminator`` = (property, {value: model name}) when known."""

    variants: tuple[Ty, ...]
    discriminator: tuple[str, tuple[tuple[str, str], ...]] | None = None


@attrs.frozen
class NullableTy:
    inner: Ty


Ty = Union[PrimTy, LiteralTy, UnixTimeTy, ListTy, MapTy, ModelTy, DictTy, UnionTy, NullableTy]

ANY = PrimTy("Any")


# -- models ------------------------------------------------------------------------------


@attrs.define
class Field:
    wire: str
    name: str
    ty: Ty
    required: bool
    description: str = ""


@attrs.define
class Model:
    name: str
    module: str
    fields: list[Field]
    description: str = ""
    source: str = ""
    additional: Ty | None = None
    #: the spec allows fields it does not list (``additionalProperties: true``)
    open: bool = False
    #: single-valued enum properties (e.g. Stripe's ``object: customer``), used to tell
    #: union variants apart when the spec has no discriminator
    consts: dict[str, object] = attrs.field(factory=dict)


@attrs.define
class RequestDict:
    """A request object schema as a ``TypedDict``: keys are the wire names, ``required``
    from the schema; one per component schema, one per distinct inline shape."""

    name: str
    module: str
    fields: list[Field]
    description: str = ""
    #: the component key (``#/components/schemas/<key>``), or "" for an inline schema
    source: str = ""


# -- operations --------------------------------------------------------------------------


@attrs.define
class Param:
    wire: str
    name: str
    location: str  # path | query | header | body
    ty: Ty
    required: bool
    description: str = ""
    style: str = "form"
    multi_segment: bool = False
    deprecated: bool = False


@attrs.define
class Body:
    content_type: str
    kind: str  # form | json | multipart | text | binary (media type)
    required: bool
    #: properties sent as keyword arguments, or None when the body is one value (``body=``)
    fields: list[Param] | None
    ty: Ty | None = None


@attrs.define
class Response:
    status: str
    content_type: str | None
    kind: str  # json | binary | text | sse | empty
    ty: Ty | None
    #: the ``text/event-stream`` alternative's event type, when the status documents one
    events: Ty | None = None


@attrs.define
class Paging:
    #: the ``usepolvo.core.PageStyle`` fields (``kind``, ``items``, …), see ``_paging``
    style: dict[str, object]
    item: Ty
    native_page: Param | None = None


@attrs.define
class Operation:
    operation_id: str
    method: str
    path: str
    resource: tuple[str, ...]
    name: str
    summary: str
    description: str
    docs_url: str
    params: list[Param]
    body: Body | None
    responses: list[Response]
    error: Ty | None = None
    paging: Paging | None = None
    server: str | None = None
    deprecated: bool = False
    #: the ``Accept`` header, when the success body is not plain ``application/json``
    accept: str | None = None
    #: the operation's own security requirement (auth from the spec only)
    security: tuple[tuple[str, ...], ...] | None = None

    @property
    def const_name(self) -> str:
        return "_OP_" + self.name.upper()

    @property
    def path_params(self) -> list[Param]:
        return [p for p in self.params if p.location == "path"]

    @property
    def success(self) -> list[Response]:
        return [r for r in self.responses if r.status.startswith("2")]


@attrs.define
class Resource:
    path: tuple[str, ...]
    attr: str
    class_name: str
    module: str
    operations: list[Operation] = attrs.field(factory=list)
    children: dict[str, Resource] = attrs.field(factory=dict)


@attrs.define
class Provider:
    name: str
    version: str
    package: str  # e.g. usepolvo.stripe.v2023_08_16
    client_class: str
    config: dict[str, object]
    title: str
    base_url: str
    root: Resource
    models: dict[str, Model]
    spec_operations: int
    spec_schemas: int
    documented_bodies: int
    represented_bodies: int
    #: operations rendered without some of their parameters, body or responses
    incomplete: int = 0
    #: credentials and server variables from the spec (``auth = "spec"``), see ``_security``
    client: object = None
    #: webhook events and signing scheme (``[webhooks]`` in provider.toml), or None
    webhooks: WebhooksIR | None = None
    #: request objects typed as ``TypedDict`` (the ``params`` package), by name
    request_dicts: dict[str, RequestDict] = attrs.field(factory=dict)

    @property
    def operations(self) -> list[Operation]:
        out: list[Operation] = []
        stack = [self.root]
        while stack:
            res = stack.pop()
            out.extend(res.operations)
            stack.extend(res.children.values())
        return out
