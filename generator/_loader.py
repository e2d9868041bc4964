"""Loading spec documents (YAML or JSON) and resolving ``$ref`` pointers.

YAML is read with libyaml's C loader when available, with timestamp resolution turned off
so dates such as ``2023-08-16`` stay strings, as JSON Schema expects.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

__all__ = ["Document", "RefError"]

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc]
    pass


_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in _Base.yaml_implicit_resolvers.items()
}


class RefError(Exception):
    """A ``$ref`` points nowhere."""


def load_file(path: Path) -> Any:
    text = path.read_bytes()
    if path.suffix == ".json":
        return json.loads(text)
    return yaml.load(text, Loader=_Loader)


class Document:
    """A spec and the files it references, with ``$ref`` resolution across them."""

    def __init__(self, path: Path) -> None:
        self.path = path.resolve()
        self._files: dict[Path, Any] = {self.path: load_file(self.path)}
        self.root = self._files[self.path]

    def _file(self, path: Path) -> Any:
        if path not in self._files:
            if not path.is_file():
                raise RefError(f"referenced file {path} does not exist")
            self._files[path] = load_file(path)
        return self._files[path]

    def resolve(self, ref: str, base: Path | None = None) -> tuple[Any, str]:
        """The target of ``ref`` and its canonical ``file#pointer`` key."""
        base = base or self.path
        file_part, _, pointer = ref.partition("#")
        path = (base.parent / file_part).resolve() if file_part else base
        node = self._file(path)
        for token in [t for t in pointer.split("/") if t]:
            token = unquote(token).replace("~1", "/").replace("~0", "~")
            try:
                node = node[int(token)] if isinstance(node, list) else node[token]
            except (KeyError, IndexError, ValueError):
                raise RefError(f"$ref {ref!r} points nowhere (no {token!r})") from None
        key = pointer if path == self.path else f"{path}#{pointer}"
        return node, key

    def deref(self, node: Any, seen: frozenset[str] = frozenset()) -> Any:
        """Follow ``$ref`` chains until a non-reference node."""
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if ref in seen:
                raise RefError(f"$ref cycle through {ref!r}")
            seen = seen | {ref}
            node, _ = self.resolve(ref)
        return node
