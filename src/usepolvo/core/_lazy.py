"""Deferred imports of heavy standard modules (``asyncio``, ``logging``, ``uuid``…).

``from usepolvo.stripe import StripeClient`` should cost a few milliseconds, not the
~40 ms of importing asyncio and logging, which a client needs only once it sends. A module
does ``asyncio = lazy_module("asyncio", globals())``; the first attribute access imports the
real module and rebinds the global, so later accesses are plain module lookups.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["lazy_module"]


class _LazyModule:
    __slots__ = ("_bind", "_name", "_namespace")

    def __init__(self, name: str, namespace: dict[str, Any], bind: str) -> None:
        self._name = name
        self._namespace = namespace
        self._bind = bind

    def __getattr__(self, attr: str) -> Any:
        __import__(self._name)  # not importlib.import_module: importing importlib costs too
        module = sys.modules[self._name]
        self._namespace[self._bind] = module
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def lazy_module(name: str, namespace: dict[str, Any], bind: str | None = None) -> Any:
    """A stand-in for module ``name`` that imports it on first attribute access."""
    return _LazyModule(name, namespace, bind or name.rpartition(".")[2])
