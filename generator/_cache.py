"""Content-addressed caches that keep regeneration (``--force`` included) fast.

Three caches, from the coarsest:

- a pinned version's whole output (every generated file's final bytes and its report):
  :func:`load_output`/:func:`save_output`, keyed by the hash of everything that output is
  made from (see ``_build._output_key``) and checked against the bytes of every file the spec
  was read from, so a hit skips parsing, building and rendering that version altogether;

and the two steps that dominate a cold generation, which depend on nothing but their input
bytes:

- parsing a YAML spec (libyaml's C parser still builds every node in Python: ~2 s a spec):
  :func:`load_parsed` keeps the parsed document, pickled, under the sha256 of the file's bytes;
- ``ruff check --fix`` + ``ruff format`` of several thousand rendered files:
  :class:`FormatCache` keeps each file's formatted text under the sha256 of ruff's version,
  its settings, the file's path in the package and the rendered text.

A key changes whenever anything the result depends on changes, so a hit is always what the
slow path would produce; a corrupt or unreadable entry is a miss. The caches live in
``.cache/generator/`` (git-ignored); ``POLVO_GENERATOR_CACHE`` names another folder, or
turns them off with ``0``/``off`` (e.g. to time a cold run).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["FormatCache", "cache_dir", "load_output", "load_parsed", "save_output"]

_ROOT = Path(__file__).resolve().parent.parent
#: bump when the cached formats or what the keys cover change
_VERSION = b"polvo-generator-cache-2"
#: specs smaller than this parse faster than a cache file is written (tests' small specs)
_MIN_SPEC_BYTES = 64 * 1024


def cache_dir() -> Path | None:
    """The cache folder, or ``None`` when ``POLVO_GENERATOR_CACHE`` turns caching off."""
    setting = os.environ.get("POLVO_GENERATOR_CACHE", "").strip()
    if setting.lower() in ("0", "off", "no", "false"):
        return None
    return Path(setting) if setting else _ROOT / ".cache" / "generator"


def _read_pickle(path: Path) -> Any:
    try:
        with path.open("rb") as f:
            return pickle.load(f)
    except Exception:  # noqa: BLE001 — missing, truncated or foreign: a miss, rebuilt below
        return None


def _write_pickle(path: Path, value: Any) -> None:
    """Atomically (another generator may read it meanwhile); a full disk only costs speed."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        pass


def load_parsed(data: bytes, parse: Callable[[bytes], Any]) -> Any:
    """``parse(data)``, from the cache when these exact bytes were parsed before.

    The cached value is pickled before the caller sees (and may change) the document.
    """
    folder = cache_dir()
    if folder is None or len(data) < _MIN_SPEC_BYTES:
        return parse(data)
    key = hashlib.sha256(_VERSION + sys.version.encode() + b"\0" + data).hexdigest()
    path = folder / "specs" / f"{key}.pickle"
    cached = _read_pickle(path)
    if isinstance(cached, tuple) and len(cached) == 2 and cached[0] == key:
        return cached[1]
    value = parse(data)
    _write_pickle(path, (key, value))
    return value


class FormatCache:
    """Formatted text of rendered files, one pack per provider (``ruff-<name>.pickle``).

    Saving keeps only the entries this run used, so the pack tracks the current output
    instead of growing with every template change.
    """

    def __init__(self, name: str, salt: bytes) -> None:
        folder = cache_dir()
        self.path = folder / f"ruff-{name}.pickle" if folder is not None else None
        self.salt = hashlib.sha256(_VERSION + b"\0" + salt).digest()
        loaded = _read_pickle(self.path) if self.path is not None else None
        self._old: dict[bytes, bytes] = loaded if isinstance(loaded, dict) else {}
        self._new: dict[bytes, bytes] = {}

    def key(self, rel: str, text: bytes) -> bytes:
        h = hashlib.sha256(self.salt)
        h.update(rel.encode())
        h.update(b"\0")
        h.update(text)
        return h.digest()

    def get(self, key: bytes) -> bytes | None:
        found = self._old.get(key)
        if isinstance(found, bytes):
            self._new[key] = found
            return found
        return None

    def put(self, key: bytes, formatted: bytes) -> None:
        self._new[key] = formatted

    def save(self) -> None:
        if self.path is not None and self._new != self._old:
            _write_pickle(self.path, self._new)


def _output_path(provider: str, version: str) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{provider}-{version}")
    return folder / "output" / f"{safe}.pickle"


def _output_digest(key: str) -> str:
    """What an output entry stores of its key (the cache format's version included)."""
    return hashlib.sha256(_VERSION + b"\0output\0" + key.encode()).hexdigest()


def _sha256_file(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return None


def load_output(provider: str, version: str, key: str) -> tuple[dict[str, bytes], dict[str, Any]] | None:
    """The files (final bytes by path in the provider's folder) and report a run with the same
    ``key`` stored for this pin, or ``None``.

    A hit also needs every file the spec was read from to hash as it did then (the key covers
    the pinned spec; a multi-file spec's other files are checked here).
    """
    path = _output_path(provider, version)
    if path is None:
        return None
    entry = _read_pickle(path)
    if not (isinstance(entry, dict) and entry.get("key") == _output_digest(key)):
        return None
    sources = entry.get("sources")
    files = entry.get("files")
    report = entry.get("report")
    if not (isinstance(sources, dict) and isinstance(files, dict) and isinstance(report, dict)):
        return None
    if any(_sha256_file(src) != digest for src, digest in sources.items()):
        return None
    return files, report


def save_output(
    provider: str,
    version: str,
    key: str,
    sources: list[Path],
    files: dict[str, bytes],
    report: dict[str, Any],
) -> None:
    """Store one pin's output (replacing the previous one: one entry per pin)."""
    path = _output_path(provider, version)
    if path is None:
        return
    digests = {str(src): _sha256_file(str(src)) for src in sources}
    if None in digests.values():
        return  # a source vanished meanwhile: nothing to vouch for
    entry = {
        "key": _output_digest(key),
        "sources": digests,
        "files": files,
        "report": report,
    }
    _write_pickle(path, entry)
