"""``python -m generator``: render every pinned spec into ``generated/``.

Prints, per provider and version, operations in the spec / generated, schemas / models,
documented / represented response bodies, and time; exits non-zero if anything was
dropped or a pin fails its checks.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from ._build import GENERATED, generate_all
from ._operations import GenerationError
from ._pins import PinError


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "new-provider":
        from ._newprovider import main as new_provider

        try:
            return new_provider(argv[1:])
        except (PinError, GenerationError) as exc:
            print(f"new-provider: generation failed: {exc}", file=sys.stderr)
            return 2
    if argv and argv[0] in ("api-diff", "update-spec"):
        from ._versions import main as versions_main

        return versions_main(argv)
    if argv and argv[0] == "docs":
        return docs_main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m generator",
        description=__doc__,
        epilog="subcommands: `new-provider`, `api-diff`, `update-spec` and `docs` (python -m generator new-provider --help)",
    )
    parser.add_argument("--provider", action="append", help="only this provider (repeatable)")
    parser.add_argument("--out", default=str(GENERATED), help="output folder (default: generated/)")
    parser.add_argument(
        "--specs", default=None, help="folder of provider folders (default: specs/; e.g. tests/corpus)"
    )
    parser.add_argument("--no-format", action="store_true", help="skip ruff format")
    parser.add_argument(
        "--force",
        action="store_true",
        help="rewrite the output even when the inputs did not change (a version whose inputs match "
        "a cached output reuses it; POLVO_GENERATOR_CACHE=off renders everything)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=_cores(),
        help="pins rendered at once, in worker processes (default: one per core)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="only check that the output matches the pinned inputs (exit 1 if not)",
    )
    args = parser.parse_args(argv)
    if args.check:
        from pathlib import Path

        from ._versions import run_check

        return run_check(Path(args.out), args.provider)
    started = time.perf_counter()
    try:
        from pathlib import Path as _Path

        reports = generate_all(
            args.out,
            providers=args.provider,
            fmt=not args.no_format,
            force=args.force,
            specs=_Path(args.specs) if args.specs else None,
            jobs=args.jobs,
        )
    except (PinError, GenerationError) as exc:
        print(f"generation failed: {exc}", file=sys.stderr)
        print("the previous generated/ output was left untouched", file=sys.stderr)
        return 2
    failed = False
    header = (
        f"{'provider':<10} {'version':<12} {'operations':>12} {'models':>14} {'responses':>12} {'time':>7}"
    )
    print(header)
    for r in reports:
        print(r.line())
        failed |= r.dropped
    print(f"total {time.perf_counter() - started:.1f}s")
    if failed:
        print("some operations or documented response bodies were dropped", file=sys.stderr)
        return 1
    return 0


def _cores() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def docs_main(argv: list[str]) -> int:
    """``python -m generator docs``: the Markdown API reference (``make docs``)."""
    from pathlib import Path

    from ._docs import DOCS, write_docs

    parser = argparse.ArgumentParser(prog="python -m generator docs", description=docs_main.__doc__)
    parser.add_argument("--provider", action="append", help="only this provider (repeatable)")
    parser.add_argument("--out", default=str(DOCS), help="output folder (default: docs/api/)")
    args = parser.parse_args(argv)
    try:
        written = write_docs(Path(args.out), args.provider)
    except (PinError, GenerationError) as exc:
        print(f"docs failed: {exc}", file=sys.stderr)
        return 2
    for provider, version, ops in written:
        print(f"{provider:<10} {version:<12} {ops:>5} operations → {Path(args.out) / provider / version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
