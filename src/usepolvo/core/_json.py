"""JSON encoding and decoding: orjson when installed, the standard library otherwise."""

from __future__ import annotations

from typing import Any

__all__ = ["dumps", "loads"]

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a dependency, but stay usable without it
    import json as _json

    def loads(data: bytes | str) -> Any:
        return _json.loads(data)

    def dumps(value: Any) -> bytes:
        return _json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()

else:

    def loads(data: bytes | str) -> Any:
        return _orjson.loads(data)

    def dumps(value: Any) -> bytes:
        return _orjson.dumps(value)
