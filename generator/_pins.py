"""Spec pins: which file, from where, with which sha256 — and finding that file."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import attrs
import tomllib

from ._config import ConfigError, ProviderConfig, load_config

__all__ = ["Pin", "PinError", "ProviderSettings", "load_providers", "locate_spec"]

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
CACHE = ROOT / ".cache" / "specs"


class PinError(Exception):
    """A pin is wrong or its spec file cannot be found or trusted."""


class ProviderConfigError(PinError, ConfigError):
    """``provider.toml`` is wrong (an unknown, missing or mistyped key)."""


@attrs.frozen
class Pin:
    provider: str
    version: str
    source: str
    sha256: str
    mirror: str
    path: Path  # the pin file
    extra: dict[str, Any] = attrs.field(factory=dict)

    @property
    def label(self) -> str:
        return f"{self.provider} {self.version} (specs/{self.provider}/{self.path.name})"


@attrs.frozen
class ProviderSettings:
    name: str
    #: the validated settings with every default applied, as the templates read them
    config: dict[str, Any]
    pins: dict[str, Pin]
    typed: ProviderConfig | None = None

    @property
    def default(self) -> str:
        return str(self.config["default"])


def _load_pin(provider: str, path: Path) -> Pin:
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise PinError(f"pin specs/{provider}/{path.name} is not valid TOML: {exc}") from None
    if "file" in data:  # a spec kept beside its pin (tests, or a provider's own repo)
        data.setdefault("mirror", "")
    missing = [k for k in ("version", "source", "sha256", "mirror") if k not in data]
    if missing:
        raise PinError(f"pin specs/{provider}/{path.name} lacks {', '.join(missing)}")
    known = {"version", "source", "sha256", "mirror"}
    return Pin(
        provider=provider,
        version=str(data["version"]),
        source=str(data["source"]),
        sha256=str(data["sha256"]).lower(),
        mirror=str(data["mirror"]),
        path=path,
        extra={k: v for k, v in data.items() if k not in known},
    )


def load_providers(specs: Path = SPECS) -> dict[str, ProviderSettings]:
    """Every provider folder under ``specs/`` with its settings and pins."""
    out: dict[str, ProviderSettings] = {}
    for folder in sorted(p for p in specs.iterdir() if (p / "provider.toml").is_file()):
        pins = {}
        for path in sorted(folder.glob("*.toml")):
            if path.name == "provider.toml":
                continue
            pin = _load_pin(folder.name, path)
            pins[pin.version] = pin
        try:
            typed = load_config(folder / "provider.toml", name=folder.name, pins=sorted(pins))
        except ConfigError as exc:
            raise ProviderConfigError(str(exc)) from None
        if typed.default not in pins:
            raise PinError(
                f"specs/{folder.name}/provider.toml: default {typed.default!r} has no pin "
                f"(pinned: {', '.join(sorted(pins)) or 'none'})"
            )
        out[folder.name] = ProviderSettings(folder.name, typed.as_dict(), pins, typed)
    return out


def mirror_root() -> Path:
    env = os.environ.get("POLVO_SPECS_MIRROR")
    return Path(env) if env else ROOT.parent / "shared" / "specs"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _download(pin: Pin, dest: Path) -> None:
    source = pin.source
    if source.startswith("npm:"):
        # npm:<package>@<version>/<file> — fetched from the npm registry's tarball.
        raise PinError(
            f"{pin.label}: not in the mirror and npm sources are fetched with "
            f"`npm pack` — put the file at {mirror_root() / pin.mirror}"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".part")
    try:
        import urllib.request  # (only to download: not imported by every run)

        with urllib.request.urlopen(source, timeout=60) as resp, tmp.open("wb") as fh:
            while chunk := resp.read(1 << 20):
                fh.write(chunk)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise PinError(
            f"{pin.label}: spec not found in the mirror ({mirror_root() / pin.mirror}) "
            f"and downloading {source} failed: {exc}"
        ) from None
    tmp.replace(dest)


def locate_spec(pin: Pin, *, allow_download: bool = True) -> Path:
    """The verified spec file of a pin: from the mirror, the cache, or downloaded."""
    if "file" in pin.extra:
        local = pin.path.parent / str(pin.extra["file"])
        if not local.is_file():
            raise PinError(f"{pin.label}: spec file {local} (the pin's `file`) does not exist")
        digest = _sha256(local)
        if digest != pin.sha256:
            raise PinError(f"{pin.label}: sha256 of {local} is {digest}, the pin says {pin.sha256}")
        return local
    candidates = [mirror_root() / pin.mirror, CACHE / pin.provider / pin.version / Path(pin.mirror).name]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        if not allow_download:
            raise PinError(f"{pin.label}: spec file not found at {candidates[0]}")
        path = candidates[1]
        _download(pin, path)
    digest = _sha256(path)
    if digest != pin.sha256:
        raise PinError(
            f"{pin.label}: sha256 of {path} is {digest}, the pin says {pin.sha256} — "
            "the file changed or the pin is wrong; re-pin with `make update-spec` if the change is intended"
        )
    return path
