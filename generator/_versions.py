"""Living with spec versions: the API change report, the upgrade flow and the drift check.

- ``python -m generator api-diff --provider stripe --from 2022-11-15 --to 2023-08-16``
  prints the Markdown change report and writes it (default ``reports/api-diff-…md``).
- ``python -m generator update-spec --provider P --version V --source URL``: fetch the
  spec (mirror first, else ``URL``), hash it, check it parses and generates, write the pin
  ``specs/P/V.toml``, regenerate, and print the report against the current default.
- ``python -m generator --check``: exit 1 when ``generated/`` is missing or was built from
  other inputs (pins, ``provider.toml``, templates, generator) than the ones checked in.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

from ._build import GENERATED, build_provider, generate_all, input_hashes
from ._diff import diff_providers, render_markdown
from ._loader import RefError
from ._operations import GenerationError
from ._pins import CACHE, ROOT, SPECS, Pin, PinError, _download, load_providers, mirror_root

__all__ = ["api_diff", "check_generated", "main", "update_spec"]

REPORTS = ROOT / "reports"


class UpdateError(Exception):
    """The new spec cannot be pinned (not found, wrong hash, does not parse or generate)."""


# -- API change report -------------------------------------------------------------------


def api_diff(provider: str, old: str, new: str, *, specs: Path = SPECS) -> str:
    """The Markdown change report from pin ``old`` to pin ``new`` of ``provider``."""
    settings = load_providers(specs).get(provider)
    if settings is None:
        raise PinError(f"no provider {provider!r} under {specs}")
    for version in (old, new):
        if version not in settings.pins:
            known = ", ".join(sorted(settings.pins))
            raise PinError(f"{provider} has no pin {version!r} (pinned: {known})")
    a = build_provider(settings, settings.pins[old])
    b = build_provider(settings, settings.pins[new])
    return render_markdown(provider, old, new, diff_providers(a, b))


def default_report_path(provider: str, old: str, new: str) -> Path:
    return REPORTS / f"api-diff-{provider}-{old}-{new}.md"


def _write_report(text: str, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)


# -- upgrade flow ------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch_spec(provider: str, version: str, source: str, mirror: str) -> Path:
    """The spec file: from the mirror when it is there, else downloaded from ``source``."""
    in_mirror = mirror_root() / mirror
    if in_mirror.is_file():
        return in_mirror
    dest = CACHE / provider / version / Path(mirror).name
    probe = Pin(provider, version, source, "", mirror, SPECS / provider / f"{version}.toml")
    _download(probe, dest)
    return dest


def _pin_text(version: str, source: str, sha256: str, mirror: str) -> str:
    return f'version = "{version}"\nsource = "{source}"\nsha256 = "{sha256}"\nmirror = "{mirror}"\n'


def update_spec(
    provider: str,
    version: str,
    source: str,
    *,
    mirror: str | None = None,
    sha256: str | None = None,
    make_default: bool = False,
    specs: Path = SPECS,
    out: Path = GENERATED,
    fmt: bool = True,
) -> str:
    """Pin ``version`` of ``provider`` and regenerate; returns the change report.

    Nothing is written — pin, ``provider.toml`` or ``generated/`` — unless the spec matches
    ``sha256`` (when given), parses and generates; a failed regeneration removes the new pin.
    """
    settings_all = load_providers(specs)
    if provider not in settings_all:
        raise UpdateError(
            f"no provider {provider!r} under {specs} (add specs/{provider}/provider.toml first)"
        )
    settings = settings_all[provider]
    mirror = mirror or f"{provider}/{version}/{Path(source.split('?')[0]).name or 'openapi.yaml'}"
    path = fetch_spec(provider, version, source, mirror)
    digest = _sha256(path)
    if sha256 and digest != sha256.lower():
        raise UpdateError(f"{provider} {version}: sha256 of {path} is {digest}, expected {sha256}")
    pin_path = specs / provider / f"{version}.toml"
    existing = settings.pins.get(version)
    if existing is not None and existing.sha256 != digest:
        raise UpdateError(
            f"{existing.label} pins sha256 {existing.sha256}, but {path} has {digest}; the spec of a "
            "pinned version changed — delete the pin first if that is intended"
        )
    pin = Pin(provider, version, source, digest, mirror, pin_path)
    try:
        build_provider(settings, pin)  # parses and builds before anything is written
    except (GenerationError, RefError, PinError) as exc:
        raise UpdateError(f"{provider} {version}: the spec does not generate: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - a malformed document fails in many ways
        raise UpdateError(f"{provider} {version}: the spec at {path} does not parse: {exc}") from None
    provider_toml = specs / provider / "provider.toml"
    old_toml = provider_toml.read_text()
    wrote_pin = existing is None
    if wrote_pin:
        pin_path.write_text(_pin_text(version, source, digest, mirror))
    if make_default:
        provider_toml.write_text(
            re.sub(r'(?m)^default\s*=\s*".*"$', f'default = "{version}"', old_toml, count=1)
        )
    try:
        reports = generate_all(out, providers=[provider], fmt=fmt, specs=specs)
    except BaseException:
        if wrote_pin:
            pin_path.unlink(missing_ok=True)
        provider_toml.write_text(old_toml)
        raise
    for r in reports:
        print(r.line())
    base = settings.default
    if base == version:
        return render_markdown(provider, version, version, [])
    a = build_provider(settings, settings.pins[base])
    b = build_provider(settings, pin)
    return render_markdown(provider, base, version, diff_providers(a, b))


# -- drift check -------------------------------------------------------------------------


def check_generated(
    out: Path = GENERATED, providers: list[str] | None = None, *, specs: Path = SPECS
) -> list[str]:
    """Why ``out`` does not match the inputs, one line per provider; empty when current."""
    from ._build import _inputs_digest

    problems: list[str] = []
    for name, settings in load_providers(specs).items():
        if providers and name not in providers:
            continue
        stamp = out / "usepolvo" / name / ".stamp.json"
        if not stamp.is_file():
            problems.append(f"{name}: not generated ({stamp} is missing)")
            continue
        try:
            saved = json.loads(stamp.read_text())
        except ValueError:
            problems.append(f"{name}: {stamp} is unreadable")
            continue
        versions = sorted(str(r.get("version")) for r in saved.get("reports", []))
        if versions != sorted(settings.pins):
            problems.append(f"{name}: generated versions {versions} but pinned {sorted(settings.pins)}")
            continue
        if saved.get("digest") == _inputs_digest(settings):
            continue
        before: dict[str, str] = saved.get("inputs") or {}
        if not before:
            problems.append(
                f"{name}: generated/ is stale (built from other inputs; the stamp lists no files)"
            )
            continue
        now = input_hashes(settings)
        changed = sorted(k for k in now if k in before and before[k] != now[k])
        added = sorted(k for k in now if k not in before)
        removed = sorted(k for k in before if k not in now)
        why = "; ".join(
            f"{label}: {', '.join(files)}"
            for label, files in (("changed", changed), ("new", added), ("gone", removed))
            if files
        )
        problems.append(f"{name}: generated/ is stale ({why or 'the input digest differs'})")
    return problems


# -- command line ------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m generator")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("api-diff", help="the Markdown change report between two pins of a provider")
    d.add_argument("--provider", required=True)
    d.add_argument("--from", dest="old", required=True, help="the pinned version to compare from")
    d.add_argument("--to", dest="new", required=True, help="the pinned version to compare to")
    d.add_argument(
        "--out", help="write the report here (default: reports/api-diff-<provider>-<from>-<to>.md)"
    )
    u = sub.add_parser("update-spec", help="fetch, hash and pin a spec version, regenerate, show the report")
    u.add_argument("--provider", required=True)
    u.add_argument("--version", required=True)
    u.add_argument("--source", required=True, help="where the spec is downloaded from when not in the mirror")
    u.add_argument("--mirror", help="its path in the mirror (default: <provider>/<version>/<file name>)")
    u.add_argument("--sha256", help="the hash the file must have (optional)")
    u.add_argument("--make-default", action="store_true", help="also make it the default in provider.toml")
    u.add_argument("--report", help="write the report here (default under reports/)")
    u.add_argument("--out", default=str(GENERATED), help="output folder (default: generated/)")
    u.add_argument("--specs", default=str(SPECS), help=argparse.SUPPRESS)
    u.add_argument("--no-format", action="store_true", help="skip ruff format")
    args = parser.parse_args(argv)
    try:
        if args.command == "api-diff":
            text = api_diff(args.provider, args.old, args.new)
            target = Path(args.out) if args.out else default_report_path(args.provider, args.old, args.new)
        else:
            specs = Path(args.specs)
            known = load_providers(specs)
            base = known[args.provider].default if args.provider in known else "none"
            text = update_spec(
                args.provider,
                args.version,
                args.source,
                mirror=args.mirror,
                sha256=args.sha256,
                make_default=args.make_default,
                specs=specs,
                out=Path(args.out),
                fmt=not args.no_format,
            )
            target = (
                Path(args.report) if args.report else default_report_path(args.provider, base, args.version)
            )
    except (PinError, GenerationError, UpdateError) as exc:
        print(f"{args.command} failed: {exc}", file=sys.stderr)
        if args.command == "update-spec":
            print("no pin was written and the previous generated/ output was left untouched", file=sys.stderr)
        return 2
    print(text, end="")
    _write_report(text, target)
    print(f"\n{summary_line(text)} — report written to {_display(target)}", file=sys.stderr)
    return 0


def summary_line(report: str) -> str:
    return next((line for line in report.splitlines() if line.startswith("**")), "")


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def run_check(out: Path, providers: list[str] | None) -> int:
    problems = check_generated(out, providers)
    for line in problems:
        print(f"drift: {line}", file=sys.stderr)
    if problems:
        print("run `make generate` (python -m generator) to rebuild from the pinned inputs", file=sys.stderr)
        return 1
    print("generated/ matches the pins, provider.toml, templates and generator")
    return 0
