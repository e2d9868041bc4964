"""Loading spec documents (YAML or JSON) and resolving ``$ref`` pointers.

YAML is read with libyaml's C loader when available, with timestamp resolution turned off
so dates such as ``2023-08-16`` stay strings, as JSON Schema expects.

A multi-file description is *bundled* on load into one in-memory document, so that the
rest of the generator only ever meets local ``#/…`` references:

- every ``$ref`` is resolved relative to the file that holds it (``../common/x.yml#/Y``),
  to any depth and across folders;
- a reference reached where a schema is expected is *hoisted*: its target becomes
  ``#/components/schemas/<name>`` (named after the pointer's last token, or the file's
  stem), so recursive and shared schemas keep one model and cycles terminate;
- any other reference (path item, operation, parameter, request body, response, header,
  example) is replaced by its target, itself bundled relative to its own file;
- ``discriminator.mapping`` values are references too and get the same treatment;
- ``x-…`` extensions, examples, defaults and enums are data and are kept as written.

A single-file spec with local references only is used as parsed (nothing is copied).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import yaml

from ._cache import load_parsed

__all__ = ["Document", "RefError", "SpecError"]

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc]
    pass


_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in _Base.yaml_implicit_resolvers.items()
}


class RefError(Exception):
    """A ``$ref`` points nowhere."""


class SpecError(RefError):
    """The document is not an OpenAPI 3.x description the generator supports."""


def load_file(path: Path) -> Any:
    text = path.read_bytes()
    if path.suffix == ".json":
        return _load_json(text)
    # a big YAML spec takes seconds to parse: parsed once per content (generator/_cache.py)
    return load_parsed(text, _load_yaml)


def _load_yaml(text: bytes) -> Any:
    return yaml.load(text, Loader=_Loader)


def _load_json(text: bytes) -> Any:
    try:
        import orjson  # the runtime's dependency, 2-3x json's speed on GitHub's 13 MB spec
    except ImportError:  # (a wheel build's environment has the generator's dependencies only)
        return json.loads(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # what orjson refuses (NaN, integers past 64 bits) or the error


#: a ``$ref`` (or discriminator mapping value) that leaves the file: anything not ``#…``
#: (Stripe folds long local references into a YAML block scalar: ``$ref: >-`` + ``#/…``)
_EXTERNAL = re.compile(rb"""\$ref['"]?\s*:\s*(?!\s)(?!['"]?#)(?![>|][-+0-9]*\s+['"]?#)""")
#: keys whose values are literal data, never references
_DATA_KEYS = frozenset({"example", "default", "enum", "const"})
#: keys below which schemas sit
_SCHEMA_KEYS = frozenset({"schema", "schemas", "$defs", "definitions"})


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class Document:
    """A spec and the files it references, with ``$ref`` resolution across them."""

    def __init__(self, path: Path) -> None:
        self.path = path.resolve()
        #: resolved local references of the spec (``#/…``, thousands of lookups a spec):
        #: filled once the document is final (bundling replaces the root)
        self._local: dict[str, tuple[Any, str]] | None = None
        self._files: dict[Path, Any] = {self.path: load_file(self.path)}
        root = self._files[self.path]
        _check_version(root, self.path)
        if isinstance(root, dict) and _EXTERNAL.search(self.path.read_bytes()):
            root = _Bundler(self).bundle(root)
            self._files[self.path] = root
        self.root = root
        self._local = {}

    @property
    def files(self) -> list[Path]:
        """Every file this document was read from: the spec, then the files it references."""
        return list(self._files)

    def _file(self, path: Path) -> Any:
        if path not in self._files:
            if not path.is_file():
                raise RefError(f"referenced file {path} does not exist")
            try:
                self._files[path] = load_file(path)
            except (yaml.YAMLError, ValueError) as exc:
                raise RefError(f"referenced file {path} does not parse: {str(exc)[:300]}") from None
        return self._files[path]

    def resolve(self, ref: str, base: Path | None = None) -> tuple[Any, str]:
        """The target of ``ref`` and its canonical ``file#pointer`` key."""
        local = self._local
        if local is not None and ref[:1] == "#" and (base is None or base == self.path):
            found = local.get(ref)
            if found is None:
                found = local[ref] = self._resolve(ref, None)
            return found
        return self._resolve(ref, base)

    def _resolve(self, ref: str, base: Path | None) -> tuple[Any, str]:
        base = base or self.path
        file_part, _, pointer = ref.partition("#")
        path = (base.parent / unquote(file_part)).resolve() if file_part else base
        node = self._file(path)
        for token in [t for t in pointer.split("/") if t]:
            token = unquote(token).replace("~1", "/").replace("~0", "~")
            try:
                node = node[int(token)] if isinstance(node, list) else node[token]
            except (KeyError, IndexError, ValueError, TypeError):
                where = "" if path == self.path else f" in {path}"
                raise RefError(f"$ref {ref!r} points nowhere{where} (no {token!r})") from None
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


def _check_version(root: Any, path: Path) -> None:
    if not isinstance(root, dict):
        raise SpecError(f"{path}#/: not an OpenAPI document (the top level is not a mapping)")
    if "swagger" in root:
        raise SpecError(
            f"{path}#/swagger: Swagger {root['swagger']} (OpenAPI 2.0) is not supported; convert it "
            "to OpenAPI 3 first (e.g. `npx swagger2openapi spec.json -o openapi.yaml`) and pin that file"
        )
    version = str(root.get("openapi", ""))
    if not version.startswith("3."):
        raise SpecError(
            f"{path}#/openapi: expected an OpenAPI 3.0 or 3.1 document, found openapi={version or 'nothing'!r}"
        )


class _Bundler:
    """Rewrites a multi-file description into one document with local references only."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.root_path = doc.path
        #: (file, pointer) of a hoisted schema → its local ``#/components/schemas/…`` ref
        self.hoisted: dict[tuple[Path, str], str] = {}
        #: (file, pointer) of an inlined object → its bundled copy (shared, read-only)
        self.inlined: dict[tuple[Path, str], Any] = {}
        self.busy: set[tuple[Path, str]] = set()
        self.schemas: dict[str, Any] = {}

    def bundle(self, root: dict[str, Any]) -> dict[str, Any]:
        components: dict[str, Any] = root["components"] if isinstance(root.get("components"), dict) else {}
        own: dict[str, Any] = components["schemas"] if isinstance(components.get("schemas"), dict) else {}
        # component schemas that are one external $ref keep their name: hoist them there
        aliases: dict[str, tuple[Path, str]] = {}
        for name, entry in own.items():
            self.schemas[name] = None  # reserve every declared name first
            if isinstance(entry, dict) and set(entry) == {"$ref"} and isinstance(entry["$ref"], str):
                target = self._target(entry["$ref"], self.root_path)
                if target[0] != self.root_path:
                    aliases[name] = target
                    self.hoisted[target] = f"#/components/schemas/{_escape(name)}"
        for name, entry in own.items():
            where = f"#/components/schemas/{_escape(name)}"
            if name in aliases:
                file, pointer = aliases[name]
                self.schemas[name] = self._walk(self._node(file, pointer, where), file, True, where)
            else:
                self.schemas[name] = self._walk(entry, self.root_path, True, where)
        out: dict[str, Any] = {}
        for key, value in root.items():
            if key == "components":
                comp: dict[str, Any] = {}
                for ckey, cvalue in components.items():
                    if ckey != "schemas":
                        comp[ckey] = self._walk(cvalue, self.root_path, False, f"#/components/{ckey}")
                comp["schemas"] = self.schemas
                out[key] = comp
            else:
                out[key] = self._walk(value, self.root_path, False, f"#/{_escape(key)}")
        if "components" not in out and self.schemas:
            out["components"] = {"schemas": self.schemas}
        return out

    # -- references --------------------------------------------------------------------

    def _target(self, ref: str, file: Path) -> tuple[Path, str]:
        file_part, _, pointer = ref.partition("#")
        path = (file.parent / unquote(file_part)).resolve() if file_part else file
        return path, unquote(pointer)

    def _node(self, file: Path, pointer: str, where: str) -> Any:
        try:
            node = self.doc._file(file)
        except RefError as exc:
            raise RefError(f"{self._loc(where)}: {exc}") from None
        for token in [t for t in pointer.split("/") if t]:
            token = token.replace("~1", "/").replace("~0", "~")
            try:
                node = node[int(token)] if isinstance(node, list) else node[token]
            except (KeyError, IndexError, ValueError, TypeError):
                raise RefError(
                    f"{self._loc(where)}: $ref to {file}#{pointer} points nowhere (no {token!r})"
                ) from None
        return node

    def _loc(self, where: str) -> str:
        return f"{self.root_path}{where}" if where.startswith("#") else where

    def _ref(self, ref: str, file: Path, schema: bool, where: str) -> Any:
        """The bundled replacement of ``{"$ref": ref}`` found in ``file``."""
        target = self._target(ref, file)
        tfile, pointer = target
        if tfile == self.root_path:
            self._node(tfile, pointer, where)  # fail early on a dangling local ref
            return {"$ref": "#" + quote(pointer, safe="/~:@!$&'()*+,;=-._")}
        if schema:
            if target not in self.hoisted:
                name = self._unique(pointer.rsplit("/", 1)[-1] if pointer.strip("/") else tfile.stem)
                self.hoisted[target] = f"#/components/schemas/{_escape(name)}"
                self.schemas[name] = {}  # reserved: a cycle back here finds the ref above
                self.schemas[name] = self._walk(
                    self._node(tfile, pointer, where), tfile, True, f"{tfile}#{pointer}"
                )
            return {"$ref": self.hoisted[target]}
        if target in self.busy:
            raise RefError(f"{self._loc(where)}: $ref cycle through {tfile}#{pointer}")
        if target not in self.inlined:
            self.busy.add(target)
            try:
                self.inlined[target] = self._walk(
                    self._node(tfile, pointer, where), tfile, False, f"{tfile}#{pointer}"
                )
            finally:
                self.busy.discard(target)
        return self.inlined[target]

    def _unique(self, name: str) -> str:
        name = name or "Schema"
        candidate, n = name, 2
        while candidate in self.schemas:
            candidate, n = f"{name}{n}", n + 1
        return candidate

    # -- the walk ----------------------------------------------------------------------

    def _walk(self, node: Any, file: Path, schema: bool, where: str) -> Any:
        if isinstance(node, list):
            return [self._walk(x, file, schema, f"{where}/{i}") for i, x in enumerate(node)]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            replaced = self._ref(ref, file, schema, where)
            if len(node) == 1:
                return replaced
            # a $ref with sibling keywords (3.1): keep the siblings beside the reference
            out = {
                k: self._walk(v, file, schema, f"{where}/{_escape(k)}")
                for k, v in node.items()
                if k != "$ref"
            }
            if "$ref" in replaced:
                out["$ref"] = replaced["$ref"]
                return out
            return {**replaced, **{k: v for k, v in out.items() if k not in replaced}}
        out = {}
        for key, value in node.items():
            if key.startswith("x-") or (key in _DATA_KEYS and (schema or key == "example")):
                # (outside schemas `default` is a response code, not data)
                out[key] = value
                continue
            inner = f"{where}/{_escape(key)}"
            if schema and key == "discriminator" and isinstance(value, dict):
                out[key] = self._discriminator(value, file, inner)
                continue
            if key == "examples":
                out[key] = value if schema else self._examples(value, file, inner)
                continue
            out[key] = self._walk(value, file, schema or key in _SCHEMA_KEYS, inner)
        return out

    def _discriminator(self, value: dict[str, Any], file: Path, where: str) -> dict[str, Any]:
        mapping = value.get("mapping")
        if not isinstance(mapping, dict):
            return value
        out: dict[str, Any] = {}
        for tag, target in mapping.items():
            if isinstance(target, str) and not target.startswith("#") and ("/" in target or "." in target):
                target = self._ref(target, file, True, f"{where}/mapping/{_escape(str(tag))}")["$ref"]
            elif isinstance(target, str) and not target.startswith("#"):
                target = f"#/components/schemas/{_escape(target)}"  # a bare schema name
            out[tag] = target
        return {**value, "mapping": out}

    def _examples(self, value: Any, file: Path, where: str) -> Any:
        """Example objects may be references; their ``value`` is data."""
        if not isinstance(value, dict):
            return value
        out: dict[str, Any] = {}
        for name, ex in value.items():
            if isinstance(ex, dict) and isinstance(ex.get("$ref"), str):
                try:
                    out[name] = self._ref(ex["$ref"], file, False, f"{where}/{_escape(str(name))}")
                except RefError:
                    out[name] = {}  # an example file that cannot be read does not shape the code
            else:
                out[name] = ex
        return out
