"""Helpers shared by generated models: the base class, lenient conversions, union dispatch.

Models read what APIs really send. ``from_dict`` never fails on a JSON object: a missing
field reads ``None``, a value of an unexpected shape (``null`` where the spec says object,
a number sent as a string, an unknown enum value) is kept exactly as sent, and unknown
fields go to ``extra_fields``; ``fields_set`` records which keys came, so ``to_dict()``
gives back exactly the JSON that was read. What did not match the spec is discoverable
(:meth:`BaseModel.spec_mismatches`, a DEBUG log line per field on ``usepolvo.models``) and
fatal only in strict mode (``strict=True`` on a client, per call, or ``POLVO_STRICT=1``),
see :mod:`usepolvo.core._validate`.

``from_dict`` is lazy: it keeps the JSON object and decodes it on first use (any attribute
read, assignment, comparison, ``repr``, copy or pickle), one object level at a time (see
:func:`lazy_model`). A page of 100 items whose fields nobody reads costs little more than
parsing its JSON; one that is read costs what an eager decode would, once.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from ._encoding import to_jsonable
from ._errors import ResponseValidationError

__all__ = [
    "UNSET",
    "BaseModel",
    "best_match",
    "dump",
    "extra",
    "from_iso",
    "from_iso_date",
    "from_unix",
    "invalid",
    "lazy_model",
    "pick",
    "to_iso",
    "to_unix",
]

_UTC = _dt.timezone.utc


class _Unset:
    """Type of :data:`UNSET`: the default of model constructor arguments not passed."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNSET"

    def __reduce__(self) -> str:
        return "UNSET"


#: default of every generated model's constructor arguments, replaced by ``None`` once the
#: model is built; the arguments actually passed make up its ``fields_set``
UNSET: Any = _Unset()


class BaseModel:
    """Base of every generated model (attrs classes with ``from_dict``/``to_dict``).

    Every attribute reads ``None`` when the API sent ``null`` or left the field out;
    ``fields_set`` (the JSON keys that came, or the constructor arguments passed) tells the
    two apart, and ``to_dict()`` writes back exactly those. Unknown fields are kept in
    ``extra_fields``.
    """

    #: the JSON object a lazily read model has not decoded yet (see :func:`lazy_model`)
    __slots__ = ("_polvo_wire",)

    #: the JSON keys the spec lists for this model (used to pick among union variants)
    wire_names: ClassVar[frozenset[str]] = frozenset()
    #: (JSON key, attribute, required, type) per field, for validation (see ``_validate``)
    wire_spec: ClassVar[tuple[tuple[str, str, bool, Any], ...]] = ()
    #: the type of fields the spec allows beyond ``wire_spec``: ``None`` (none), ``"any"``
    wire_extra: ClassVar[Any] = None
    #: single-valued properties (Stripe's ``object: "customer"``) that name the variant
    wire_consts: ClassVar[tuple[tuple[str, Any], ...]] = ()
    #: number of required fields (ranks union variants)
    wire_required: ClassVar[int] = 0
    #: the models package the type names in ``wire_spec`` resolve in
    wire_models: ClassVar[Any] = None

    if TYPE_CHECKING:  # declared by each generated attrs class
        fields_set: frozenset[str]
        extra_fields: dict[str, Any]

    def __attrs_post_init__(self) -> None:
        # Built by a constructor call (``from_dict`` bypasses ``__init__``): arguments not
        # passed read None and stay out of to_dict(); passed ones (None included) are sent.
        present: set[str] = set()
        for wire, name, _, _ in self.wire_spec:
            if getattr(self, name) is UNSET:
                object.__setattr__(self, name, None)
            else:
                present.add(wire)
        present.update(self.extra_fields)
        object.__setattr__(self, "fields_set", frozenset(present))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def _polvo_load(self, d: Mapping[str, Any]) -> None:  # pragma: no cover - overridden
        """Decode JSON object ``d`` into this model's fields (generated per model)."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    @classmethod
    def from_dict_strict(cls, d: Mapping[str, Any]) -> Any:
        """``from_dict`` in strict mode: :class:`ResponseValidationError` at the first place
        ``d`` departs from the spec (``Customer.address.city: expected a string, got an
        integer``), naming the field."""
        from ._validate import checked

        checked(d, ("model", cls.__name__), cls.wire_models, True)
        return cls.from_dict(d)

    def to_json(self) -> bytes:
        """The model as JSON bytes, the way the API sent it."""
        from ._json import dumps

        return dumps(self.to_dict())

    def spec_mismatches(self) -> list[str]:
        """Where this object departs from the spec, one ``"Model.path: problem"`` per line.

        Empty when it matches the spec exactly; these are the checks strict mode enforces
        (missing required fields, ``null`` or a value of another type where the spec does not
        allow it, enum values it does not list, fields it does not list).
        """
        from ._validate import mismatches

        return [
            f"{p}: {m}"
            for p, m in mismatches(("model", type(self).__name__), self.to_dict(), self.wire_models)
        ]

    if not TYPE_CHECKING:  # at run time only: mypy keeps flagging unknown attributes

        def __getattr__(self, name: str) -> Any:
            # Reached only for an attribute that is not set: a model another thread is
            # decoding right now (decode it here too: same JSON, same values), else a
            # genuinely missing attribute.
            try:
                pending = _wire_get(self)
            except AttributeError:
                # the thread decoding it may have set the field and dropped the JSON between
                # the failed lookup and here: look again before calling the attribute missing
                try:
                    return object.__getattribute__(self, name)
                except AttributeError:
                    pass
                raise AttributeError(
                    f"{type(self).__name__!r} object has no attribute {name!r}", name=name, obj=self
                ) from None
            self._polvo_load(pending)
            return object.__getattribute__(self, name)


# -- lazy reading -----------------------------------------------------------------------

_M = TypeVar("_M", bound=BaseModel)
_wire_get = BaseModel._polvo_wire.__get__  # type: ignore[attr-defined]
_wire_set = BaseModel._polvo_wire.__set__  # type: ignore[attr-defined]
_wire_del = BaseModel._polvo_wire.__delete__  # type: ignore[attr-defined]
_new = object.__new__
_set_class = object.__setattr__
#: model class → its lazy twin (built on first ``from_dict``), and back
_LAZY: dict[type, type] = {}
_REAL: dict[type, type] = {}


def lazy_model(cls: type[_M], d: Mapping[str, Any]) -> _M:
    """``cls.from_dict(d)``: a ``cls`` that decodes ``d`` the first time it is used.

    The object starts as an instance of a twin subclass of ``cls`` (same name, same
    layout) whose only job is to notice the first use — an attribute read or assignment,
    ``==``, ``repr``, ``copy``, ``pickle``: it then becomes a plain ``cls`` and runs the
    generated decoder (``_polvo_load``), exactly the eager decode of earlier versions, whose
    nested models are lazy in turn. ``d`` is kept until then: what is never read is never
    decoded. Not an object → :class:`ResponseValidationError`, at once, as before.
    """
    if d.__class__ is not dict:
        try:
            d.get  # noqa: B018 - what makes ``d`` readable: .get and iterable keys
            frozenset(d)
        except (AttributeError, TypeError):
            raise invalid(cls, d) from None
    twin = _LAZY.get(cls)
    if twin is None:
        twin = _twin(cls)
    self: _M = _new(twin)
    _wire_set(self, d)
    return self


def _load(self: Any) -> None:
    """Decode a lazily read model now (see :func:`_twin`)."""
    real = _REAL.get(type(self))
    if real is not None:
        _set_class(self, "__class__", real)
    try:
        d = _wire_get(self)
    except AttributeError:  # built another way (a copy of an undecoded model): nothing to read
        return
    self._polvo_load(d)
    try:  # noqa: SIM105 - not contextlib.suppress: this runs once per model read
        _wire_del(self)
    except AttributeError:  # another thread finished first
        pass


def _twin(cls: type) -> type:
    """The lazy twin of model class ``cls``: its first use decodes (``_polvo_load``).

    The twin turns the object into a plain ``cls`` first, then fills its fields, then drops
    the JSON. No lock: a thread that meets the object half-decoded (a plain ``cls`` with a
    field not set yet) decodes it again from the same JSON (``BaseModel.__getattr__``), to
    equal values.
    """
    load = cls._polvo_load  # type: ignore[attr-defined]
    getattribute = object.__getattribute__

    def __getattribute__(self: Any, name: str) -> Any:
        _set_class(self, "__class__", cls)
        try:
            d = _wire_get(self)
        except AttributeError:  # built another way (a copy of an undecoded model)
            return getattribute(self, name)
        load(self, d)
        try:  # noqa: SIM105 - as in _load
            _wire_del(self)
        except AttributeError:  # another thread finished first
            pass
        return getattribute(self, name)

    def __setattr__(self: Any, name: str, value: Any) -> None:
        _load(self)
        object.__setattr__(self, name, value)

    def __delattr__(self: Any, name: str) -> None:
        _load(self)
        object.__delattr__(self, name)

    def __reduce_ex__(self: Any, protocol: Any) -> Any:  # copy.copy looks it up on the type
        _load(self)
        return object.__reduce_ex__(self, protocol)

    ns = {
        "__slots__": (),
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
        "__getattribute__": __getattribute__,
        "__setattr__": __setattr__,
        "__delattr__": __delattr__,
        "__reduce_ex__": __reduce_ex__,
    }
    twin = type(cls.__name__, (cls,), ns)
    _LAZY[cls] = twin
    _REAL[twin] = cls
    return twin


def extra(d: Mapping[str, Any], known: frozenset[str]) -> dict[str, Any]:
    """The entries of ``d`` whose keys the spec does not list."""
    keys = d.keys() - known
    return {k: d[k] for k in keys} if keys else {}


# -- scalars -----------------------------------------------------------------------------


def from_unix(value: Any) -> Any:
    """Unix seconds → timezone-aware UTC datetime; anything else is kept as sent."""
    if value.__class__ is int:
        try:
            return _dt.datetime.fromtimestamp(value, _UTC)
        except (OverflowError, OSError, ValueError):
            return value
    return value


def to_unix(value: Any) -> Any:
    """Datetime → unix seconds; other values (kept as sent) pass through."""
    if isinstance(value, _dt.datetime):
        return int(value.timestamp())
    if value is None or value.__class__ in (str, int, float, bool):
        return value
    return to_jsonable(value)


class _WireDatetime(_dt.datetime):
    """A datetime read from a string, which it remembers so ``to_dict()`` gives it back."""

    __slots__ = ("wire",)
    wire: str

    def __reduce_ex__(self, protocol: Any) -> Any:  # copies and pickles keep the text
        return (from_iso, (self.wire,))

    def __repr__(self) -> str:
        return "datetime.datetime(" + super().__repr__().split("(", 1)[1]


class _WireDate(_dt.date):
    """A date read from a string, which it remembers so ``to_dict()`` gives it back."""

    __slots__ = ("wire",)
    wire: str

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (from_iso_date, (self.wire,))

    def __repr__(self) -> str:
        return "datetime.date(" + super().__repr__().split("(", 1)[1]


def from_iso(value: Any) -> Any:
    """An RFC 3339 ``date-time`` string → datetime; anything else is kept as sent."""
    if value.__class__ is str:
        try:
            out = _WireDatetime.fromisoformat(value)
        except ValueError:
            return value
        out.wire = value
        return out
    return value


def from_iso_date(value: Any) -> Any:
    """A ``date`` string (``2024-05-31``) → date; anything else is kept as sent."""
    if value.__class__ is str:
        try:
            out = _WireDate.fromisoformat(value)
        except ValueError:
            return value
        out.wire = value
        return out
    return value


def to_iso(value: Any) -> Any:
    """A date or datetime → its string (the one it was read from); others pass through."""
    wire = getattr(value, "wire", None)
    if wire is not None and isinstance(value, (_WireDatetime, _WireDate)):
        return wire
    if isinstance(value, _dt.datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, _dt.date):
        return value.isoformat()
    if value is None or value.__class__ in (str, int, float, bool):
        return value
    return to_jsonable(value)


def dump(value: Any) -> Any:
    """Any field value → JSON data: models, dates read from strings, unix datetimes."""
    if value is None or value.__class__ in (str, int, float, bool):
        return value
    if isinstance(value, BaseModel):
        return value.to_dict()
    if isinstance(value, (_WireDatetime, _WireDate)):
        return to_iso(value)
    if isinstance(value, list):
        return [dump(v) for v in value]
    if isinstance(value, dict):
        return {k: dump(v) for k, v in value.items()}
    return to_unix(value)


# -- unions ------------------------------------------------------------------------------


def pick(data: Mapping[str, Any], candidates: tuple[type[BaseModel], ...], fallback: bool = True) -> Any:
    """Read ``data`` as the union variant it is, when the spec gives no discriminator.

    A variant whose single-valued properties (``object: "card"``) all match wins outright;
    otherwise the first variant that matches the spec exactly, trying first those that
    leave fewest of the object's keys unknown and fewest of their own fields out; failing
    that (the API sent something none of them describes) the best-covering one, read
    leniently. With ``fallback=False``, ``None`` instead of that last resort.
    """
    keys = data.keys()
    named = [c for c in candidates if c.wire_consts and all(data.get(k) == x for k, x in c.wire_consts)]
    if len(named) == 1:
        return named[0].from_dict(data)
    if named:
        most = max(len(c.wire_consts) for c in named)
        named = [c for c in named if len(c.wire_consts) == most]
        if len(named) == 1:
            return named[0].from_dict(data)
    pool = named or [c for c in candidates if not c.wire_consts] or list(candidates)
    ranked = sorted(
        pool, key=lambda c: (len(keys - c.wire_names), len(c.wire_names - keys), -c.wire_required)
    )
    if len(ranked) > 1:
        from ._validate import fits

        for cls in ranked:
            if fits(("model", cls.__name__), data, cls.wire_models):
                return cls.from_dict(data)
    if not fallback and not named:
        return None
    return ranked[0].from_dict(data)


def best_match(data: Any, candidates: tuple[type[BaseModel], ...]) -> Any:
    """Parse ``data`` as the candidate whose known fields cover most of its keys."""
    if not isinstance(data, Mapping):
        return candidates[0].from_dict(data)
    return pick(data, candidates)


def invalid(cls: type, data: Any, exc: BaseException | None = None) -> ResponseValidationError:
    """The error raised when ``cls.from_dict`` is given something that is not an object."""
    if isinstance(exc, ResponseValidationError):
        return ResponseValidationError(str(exc), path=cls.__name__)
    if not isinstance(data, Mapping):
        return ResponseValidationError(f"expected an object, got {_kind(data)}", path=cls.__name__)
    return ResponseValidationError(f"{type(exc).__name__}: {exc}", path=cls.__name__)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__
