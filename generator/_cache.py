"""Content-addressed caches that keep regeneration (``--force`` included) fast.

Two steps dominate a cold generation and depend on nothing but their input bytes:

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

__all__ = ["FormatCache", "cache_dir", "load_parsed"]

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
