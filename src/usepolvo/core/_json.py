"""JSON encoding and decoding: orjson when installed, the standard library otherwise.

The backend is imported on the first call, not at import time: orjson pulls in ~9 ms of
modules that a client needs only once it sends a request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["dumps", "loads"]

_loads: Callable[[bytes | str], Any] | None = None
_dumps: Callable[[Any], bytes] | None = None


def _backend() -> tuple[Callable[[bytes | str], Any], Callable[[Any], bytes]]:
    global _loads, _dumps
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a dependency, but stay usable without it
        import json

        _loads = json.loads

        def _std_dumps(value: Any) -> bytes:
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()

        _dumps = _std_dumps
    else:
        _loads, _dumps = orjson.loads, orjson.dumps
    return _loads, _dumps


def loads(data: bytes | str) -> Any:
    return (_loads or _backend()[0])(data)


def dumps(value: Any) -> bytes:
    return (_dumps or _backend()[1])(value)
