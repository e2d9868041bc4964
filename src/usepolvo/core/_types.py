"""Sentinels and small shared types.

``NOT_GIVEN`` marks an argument or model field the caller did not supply. It is distinct
from ``None``, which APIs use to mean "null" (and Stripe, in form bodies, "clear this
field"). Generated signatures default every optional argument to ``NOT_GIVEN`` so that only
what the caller passed is sent.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Final, Literal, Protocol, SupportsIndex, TypeVar, overload

__all__ = ["NOT_GIVEN", "NotGiven", "SequenceNotStr"]

_T_co = TypeVar("_T_co", covariant=True)


class NotGiven:
    """Type of :data:`NOT_GIVEN`; there is exactly one instance."""

    __slots__ = ()
    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __copy__(self) -> NotGiven:
        return self

    def __deepcopy__(self, memo: Any) -> NotGiven:
        return self

    def __reduce__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()


class SequenceNotStr(Protocol[_T_co]):
    """A sequence that is not a ``str``: what generated signatures take for an array.

    ``Sequence[str]`` also accepts a plain string (a string is a sequence of strings), so
    ``expand="data.customer"`` where a list is expected would type-check and be sent as
    letters. ``str.__contains__`` only takes a ``str``, so a string does not match this
    protocol's ``__contains__(object)``; lists and tuples (what the encoders send as
    arrays) do, covariantly: a ``list[UserMessageParam]`` is a ``SequenceNotStr[MessageParam]``.
    (The same device as openai-python's ``SequenceNotStr``.)
    """

    @overload
    def __getitem__(self, index: SupportsIndex, /) -> _T_co: ...
    @overload
    def __getitem__(self, index: slice, /) -> Sequence[_T_co]: ...
    def __contains__(self, value: object, /) -> bool: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[_T_co]: ...
    def index(self, value: Any, start: int = 0, stop: int = ..., /) -> int: ...
    def count(self, value: Any, /) -> int: ...
    def __reversed__(self) -> Iterator[_T_co]: ...
