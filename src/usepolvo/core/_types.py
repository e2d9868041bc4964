"""Sentinels and small shared types.

``NOT_GIVEN`` marks an argument or model field the caller did not supply. It is distinct
from ``None``, which APIs use to mean "null" (and Stripe, in form bodies, "clear this
field"). Generated signatures default every optional argument to ``NOT_GIVEN`` so that only
what the caller passed is sent.
"""

from __future__ import annotations

from typing import Any, Final, Literal

__all__ = ["NOT_GIVEN", "NotGiven"]


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
