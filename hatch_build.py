"""Hatch build hook: generate the clients from the pinned specs before a wheel is built.

``generated/`` is build output (git-ignored), so a fresh clone, an sdist or ``pip install
git+…`` has no clients until the generator runs. This hook runs it for every wheel build —
``pip install .``, ``pip install git+URL``, ``python -m build`` (the wheel is built from the
sdist, which carries ``generator/``, ``templates/`` and ``specs/``) and editable installs —
and ships the result. The generator skips providers whose inputs did not change, so a
rebuild in a checkout that already ran ``make generate`` costs next to nothing.

Each pinned spec is found the way ``make generate`` finds it: the mirror folder
(``POLVO_SPECS_MIRROR``, default ``../shared/specs`` beside the source tree), the
``.cache/specs/`` folder, or a download from the pin's ``source``, checked against its
``sha256``. A missing or mismatching spec fails the build with a message naming the pin.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class GenerateClients(BuildHookInterface):  # type: ignore[misc]
    """Run the generator (in-process) into ``generated/``; the wheel target's ``artifacts``
    setting ships it (``generated/`` is git-ignored)."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return  # the sdist ships the generator's inputs, not its output
        root = Path(self.root)
        _forget_generator()  # import this tree's generator, not one imported before
        # the generator reads runtime helpers (usepolvo.core._paging), so src/ is importable too
        added = [str(root), str(root / "src")]
        for entry in reversed(added):
            sys.path.insert(0, entry)
        try:
            from generator._build import generate_all
            from generator._operations import GenerationError
            from generator._pins import PinError

            try:
                reports = generate_all(root / "generated")
            except (PinError, GenerationError) as exc:
                raise RuntimeError(
                    f"usepolvo: generating the clients failed: {exc}\n"
                    "Set POLVO_SPECS_MIRROR to a folder holding the pinned specs "
                    "(<provider>/<version>/<file>), or let the build download them from "
                    "each pin's `source` (specs/<provider>/<version>.toml)."
                ) from None
        finally:
            for entry in added:
                sys.path.remove(entry)
            _forget_generator()
        dropped = [r for r in reports if r.dropped]
        if dropped:
            raise RuntimeError(
                "usepolvo: generation dropped operations or response bodies: "
                + ", ".join(f"{r.provider} {r.version}" for r in dropped)
            )
        for r in reports:
            self.app.display_info(f"usepolvo: {r.line()}")


def _forget_generator() -> None:
    for name in [m for m in sys.modules if m == "generator" or m.startswith("generator.")]:
        del sys.modules[name]
